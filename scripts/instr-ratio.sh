#!/usr/bin/env bash
# Instruction counts (valgrind callgrind) of the chat pipeline against a typed decode of
# the same chunks: a ratio that does not depend on the machine's load, unlike wall time.
#   bash scripts/instr-ratio.sh [n=4000] [modes="text json tools logprobs"]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-4000}"
modes="${2:-text json tools logprobs}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
. scripts/instr-lib.sh
bin="$(bench_bin chat_stream)"
printf '| mode | pipeline Ir/chunk | typed decode Ir/chunk | ratio |\n|---|---|---|---|\n'
for mode in $modes; do
  setup="$(instr_count "$mode/setup/$n")"
  pipe="$(instr_count "$mode/pipeline/$n")"
  typed="$(instr_count "$mode/typed_decode/$n")"
  python3 -c "s,p,t,n=$setup,$pipe,$typed,$n; print(f'| $mode | {(p-s)/n:.0f} | {(t-s)/n:.0f} | {(p-s)/(t-s):.2f} |')"
done
