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
. scripts/instr-lib.sh
bin="${BIN:-$(bench_bin unknown_fields)}"
printf '| object | no unknown field, Ir | with unknown fields, Ir |\n|---|---|---|\n'
for family in chat responses; do
  sp="$(instr_count "$family/setup-plain/$n")"; p="$(instr_count "$family/plain/$n")"
  su="$(instr_count "$family/setup-unknown/$n")"; u="$(instr_count "$family/unknown/$n")"
  python3 -c "print(f'| $family | {($p-$sp)/$n:.0f} | {($u-$su)/$n:.0f} |')"
done
