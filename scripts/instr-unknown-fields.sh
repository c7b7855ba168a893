#!/usr/bin/env bash
# Instruction counts (valgrind callgrind) of the typed decode of a chat chunk and of a
# Responses event, without and with unknown fields (benches/unknown_fields.rs), per object.
#   bash scripts/instr-unknown-fields.sh [n=2000]
# BIN=path/to/an/older/unknown_fields-binary compares against another build of the bench
# (e.g. one built before a change to the generator). The README's "before, same spec" binary:
#   git worktree add /tmp/before 69c2bde && cp openapi/patches.json /tmp/before/openapi/ &&
#   cp benches/unknown_fields.rs /tmp/before/benches/, add its [[bench]] entry of Cargo.toml
#   (harness = false) there, then in /tmp/before: cargo xtask gen &&
#   cargo bench --bench unknown_fields --no-run (the executable it prints is BIN).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
bin="${BIN:-}"
if [ -z "$bin" ]; then
  bin="$(cargo bench --bench unknown_fields --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="unknown_fields" and m.get("executable"): print(m["executable"])' | tail -1)"
fi
count() {
  BENCH_ONCE="$1/$n" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '| object | no unknown field, Ir | with unknown fields, Ir |\n|---|---|---|\n'
for family in chat responses; do
  sp="$(count "$family/setup-plain")"; p="$(count "$family/plain")"
  su="$(count "$family/setup-unknown")"; u="$(count "$family/unknown")"
  python3 -c "print(f'| $family | {($p-$sp)/$n:.0f} | {($u-$su)/$n:.0f} |')"
done
