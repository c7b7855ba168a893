#!/usr/bin/env bash
# Instruction counts (valgrind callgrind) of the Responses pipeline against a typed decode
# of the same events (benches/responses_stream.rs): a ratio that does not depend on the
# machine's load, unlike wall time.
#   bash scripts/instr-responses.sh [n=2000] [modes="text function"]
# BIN=path/to/another/responses_stream-binary measures another build of the bench.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
modes="${2:-text function}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
. scripts/instr-lib.sh
bin="${BIN:-$(bench_bin responses_stream)}"
printf '| mode | pipeline Ir/event | typed decode Ir/event | ratio |\n|---|---|---|---|\n'
for mode in $modes; do
  setup="$(instr_count "$mode/setup/$n")"
  pipe="$(instr_count "$mode/pipeline/$n")"
  typed="$(instr_count "$mode/typed_decode/$n")"
  python3 -c "s,p,t,n=$setup,$pipe,$typed,$n; print(f'| $mode | {(p-s)/n:.0f} | {(t-s)/n:.0f} | {(p-s)/(t-s):.2f} |')"
done
