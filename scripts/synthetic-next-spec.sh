#!/usr/bin/env bash
# The next spec regenerates and builds with no code change. On a scratch copy of the
# project: `cargo xtask synth-next` makes today's spec plus a new ResponseStreamEvent
# member, a new enum value, a new optional response field and a new operation under a
# new tag and x-oaiMeta group; `cargo xtask gen --spec` takes it; then `cargo check` of
# the default features plus the new group's feature (derived: `agents`). CI runs it.
#   bash scripts/synthetic-next-spec.sh [SCRATCH_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${1:-$(mktemp -d)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cd "$root"
cargo build --quiet -p xtask
xtask="$CARGO_TARGET_DIR/debug/xtask"
bash scripts/scratch-copy.sh "$scratch/project"
"$xtask" synth-next "$scratch/next.yaml"
log="$scratch/gen.log"
start=$(date +%s%N)
XTASK_ROOT="$scratch/project" "$xtask" gen --spec "$scratch/next.yaml" \
  --source "scripts/synthetic-next-spec.sh" | tee "$log"
end=$(date +%s%N)
echo "gen of the synthetic next spec: $(( (end - start) / 1000000 )) ms"
# What the generator must have said about it.
grep -q "feature \`agents\` from path /agents/sessions" "$log" \
  || { echo "FAIL: the new API group was not reported"; exit 1; }
grep -q "API changes against the spec this replaces: 1 operations added, 0 removed" "$log" \
  || { echo "FAIL: the API diff did not report the one new operation"; exit 1; }
grep -q '^agents = \[\]' "$scratch/project/Cargo.toml" \
  || { echo "FAIL: Cargo.toml did not get the agents feature"; exit 1; }
grep -q 'ResponseFutureThingDeltaEvent' "$scratch/project/generated/types/"*.rs \
  || { echo "FAIL: the new event type was not generated"; exit 1; }
XTASK_ROOT="$scratch/project" "$xtask" gen --check >/dev/null
cd "$scratch/project"
cargo check --quiet --lib --features agents
echo "synthetic next spec: gen and cargo check (default features + agents) pass with no code change"
