#!/usr/bin/env bash
# Instruction counts (valgrind callgrind) of the chat pipeline against a typed decode of
# the same chunks: a ratio that does not depend on the machine's load, unlike wall time.
#   bash scripts/instr-ratio.sh [n=4000] [modes="text json tools logprobs"]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-4000}"
modes="${2:-text json tools logprobs}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
cargo bench --bench chat_stream --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="chat_stream" and m.get("executable"): print(m["executable"])' > /tmp/instr-ratio-bin
bin="$(tail -1 /tmp/instr-ratio-bin)"
count() {
  BENCH_ONCE="$1" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '| mode | pipeline Ir/chunk | typed decode Ir/chunk | ratio |\n|---|---|---|---|\n'
for mode in $modes; do
  setup="$(count "$mode/setup/$n")"
  pipe="$(count "$mode/pipeline/$n")"
  typed="$(count "$mode/typed_decode/$n")"
  python3 -c "s,p,t,n=$setup,$pipe,$typed,$n; print(f'| $mode | {(p-s)/n:.0f} | {(t-s)/n:.0f} | {(p-s)/(t-s):.2f} |')"
done
