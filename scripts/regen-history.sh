#!/usr/bin/env bash
# Regenerates the SDK from every revision of the public spec, on a scratch copy of the
# project, oldest first, each revision taken with `cargo xtask gen --spec` (so each gen
# also diffs against the revision before it). Then `cargo check` (default features) at the
# first, middle and last revision since SINCE_CHECK, and the synthetic next spec.
#
#   bash scripts/regen-history.sh GITDIR [OUT.md]
#
# GITDIR: a git directory of github.com/openai/openai-openapi (e.g. a bare clone).
# Environment: SINCE (default 2024-01-01): the oldest revision taken; UNTIL: the newest;
#   NEXT=0 skips the synthetic next spec;
#   SINCE_CHECK (default 2026-05-13): the revisions among which first/middle/last are
#   checked; CHECK=0 skips the cargo checks; SCRATCH: the scratch directory;
#   PROFILE=release: an optimised build of the generator.
# Prints a Markdown table (revision, date, operations, gen time, result, diff vs the
# previous revision, cargo check) and writes it to OUT.md (default
# target/regen-history.md). The fetched specs are never written into the project.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
gitdir="${1:?usage: regen-history.sh GITDIR [OUT.md]}"
out="${2:-$root/target/regen-history.md}"
since="${SINCE:-2024-01-01}"
until="${UNTIL:-}"
since_check="${SINCE_CHECK:-2026-05-13}"
scratch="${SCRATCH:-$(mktemp -d)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_INCREMENTAL=0

# PROFILE=release runs an optimised generator (CPU-bound runs over many revisions).
profile="${PROFILE:-debug}"
(cd "$root" && cargo build --quiet -p xtask $([ "$profile" = release ] && echo --release))
bash "$root/scripts/scratch-copy.sh" "$scratch/project"
mkdir -p "$scratch/specs" "$scratch/logs"
# A copy of the generator: rebuilding it during the run changes nothing here.
cp "$CARGO_TARGET_DIR/$profile/xtask" "$scratch/xtask"
xtask="$scratch/xtask"

mapfile -t revs < <(git --git-dir="$gitdir" log --reverse --format='%h %ad' --date=short \
  --since="$since" ${until:+--until="$until"} -- openapi.yaml)
# The revisions checked with cargo: first, middle and last since SINCE_CHECK.
mapfile -t recent < <(printf '%s\n' "${revs[@]}" | awk -v s="$since_check" '$2 >= s {print $1}')
checks=""
if [ "${CHECK:-1}" != 0 ] && [ "${#recent[@]}" -gt 0 ]; then
  checks="${recent[0]} ${recent[$(( ${#recent[@]} / 2 ))]} ${recent[$(( ${#recent[@]} - 1 ))]}"
fi

ms() { date +%s%N; }
# CPU seconds (user + system) of each gen, when GNU time is there: on a busy machine the
# wall time says little.
timed() { # timed CPUFILE CMD...
  local f="$1"; shift
  if [ -x /usr/bin/time ]; then /usr/bin/time -f %U+%S -o "$f" "$@"; else "$@"; fi
}
cpu_of() { tail -1 "$1" | awk -F+ '{printf "%.1f s", $1 + $2}'; }
row() { printf '%s\n' "$1" | tee -a "$out"; }
mkdir -p "$(dirname "$out")"
: > "$out"
row "| revision | date | operations | gen time, wall (CPU) | result | API changes vs the previous revision | cargo check (default features) |"
row "|---|---|---|---|---|---|---|"
ok=0; failed=0
for line in "${revs[@]}"; do
  rev="${line%% *}"; date="${line#* }"
  spec="$scratch/specs/$rev.yaml"
  # A commit that deleted the file has no spec to take.
  git --git-dir="$gitdir" show "$rev:openapi.yaml" > "$spec" 2>/dev/null || continue
  ops="$(grep -cE '^    (get|put|post|delete|patch|head|options|trace):' "$spec" || true)"
  log="$scratch/logs/$rev.log"
  t0=$(ms)
  if XTASK_ROOT="$scratch/project" timed "$scratch/logs/$rev.cpu" "$xtask" gen --spec "$spec" \
      --source "github.com/openai/openai-openapi@$rev ($date)" > "$log" 2>&1; then
    result="ok"; ok=$((ok + 1))
    ops="$(sed -n 's/^coverage: \([0-9]*\) operations.*/\1/p' "$log")"
  else
    result="FAIL: $(grep -m1 '^error' "$log" | cut -c1-160 | tr '|' '/')"; failed=$((failed + 1))
  fi
  t1=$(ms)
  secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f s", (b - a) / 1e9}')"
  [ -s "$scratch/logs/$rev.cpu" ] && secs="$secs ($(cpu_of "$scratch/logs/$rev.cpu") CPU)"
  changes="$(sed -n 's/^API changes against the spec this replaces: //p' "$log" \
    | sed 's/ schemas added.*; \([0-9]*\) breaking change(s).*/ …; \1 breaking/')"
  stale="$(sed -n 's/^patches (openapi\/patches.json): .*, \([0-9]*\) stale/\1/p' "$log")"
  [ -n "$stale" ] && [ "$stale" != 0 ] && result="$result ($stale stale patch(es))"
  repaired="$(sed -n 's/^spec errors repaired (\([0-9]*\);.*/\1/p' "$log")"
  [ -n "$repaired" ] && result="$result ($repaired spec error(s) repaired)"
  derived="$(grep -c "^  feature \`" "$log" || true)"
  [ "$derived" != 0 ] && result="$result ($derived derived group feature(s))"
  check="-"
  if [[ " $checks " == *" $rev "* ]] && [ "$result" != "${result#ok}" ]; then
    t2=$(ms)
    if (cd "$scratch/project" && cargo check --quiet --lib) > "$scratch/logs/$rev.check.log" 2>&1; then
      check="ok ($(awk -v a="$t2" -v b="$(ms)" 'BEGIN {printf "%.0f s", (b - a) / 1e9}'))"
    else
      check="FAIL: $(grep -m1 '^error' "$scratch/logs/$rev.check.log" | cut -c1-120 | tr '|' '/')"
    fi
  fi
  row "| $rev | $date | $ops | $secs | $result | ${changes:--} | $check |"
done

if [ "${NEXT:-1}" = 0 ]; then
  echo; echo "$ok generated, $failed failed; logs in $scratch/logs; table in $out"
  [ "$failed" = 0 ]; exit
fi
# The synthetic next spec, on top of the last revision.
"$xtask" synth-next "$scratch/specs/next.yaml" "$scratch/project/openapi/openapi.yaml" >/dev/null
t0=$(ms)
if XTASK_ROOT="$scratch/project" "$xtask" gen --spec "$scratch/specs/next.yaml" \
    --source "synthetic next spec" > "$scratch/logs/next.log" 2>&1; then
  result="ok"; ok=$((ok + 1))
else
  result="FAIL: $(grep -m1 '^error' "$scratch/logs/next.log" | cut -c1-160)"; failed=$((failed + 1))
fi
secs="$(awk -v a="$t0" -v b="$(ms)" 'BEGIN {printf "%.1f s", (b - a) / 1e9}')"
changes="$(sed -n 's/^API changes against the spec this replaces: //p' "$scratch/logs/next.log" \
  | sed 's/ schemas added.*; \([0-9]*\) breaking change(s).*/ …; \1 breaking/')"
check="-"
if [ "${CHECK:-1}" != 0 ] && [ "$result" = ok ]; then
  t2=$(ms)
  if (cd "$scratch/project" && cargo check --quiet --lib --features agents) > "$scratch/logs/next.check.log" 2>&1; then
    check="ok, + \`agents\` ($(awk -v a="$t2" -v b="$(ms)" 'BEGIN {printf "%.0f s", (b - a) / 1e9}'))"
  else
    check="FAIL: $(grep -m1 '^error' "$scratch/logs/next.check.log" | cut -c1-120)"
  fi
fi
ops="$(sed -n 's/^coverage: \([0-9]*\) operations.*/\1/p' "$scratch/logs/next.log")"
row "| synthetic next | - | ${ops:-?} | $secs | $result | ${changes:--} | $check |"
echo
echo "$ok generated, $failed failed; logs in $scratch/logs; table in $out"
[ "$failed" = 0 ]
