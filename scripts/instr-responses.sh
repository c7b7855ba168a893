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
bin="${BIN:-}"
if [ -z "$bin" ]; then
  bin="$(cargo bench --bench responses_stream --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="responses_stream" and m.get("executable"): print(m["executable"])' | tail -1)"
fi
count() {
  BENCH_ONCE="$1" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '| mode | pipeline Ir/event | typed decode Ir/event | ratio |\n|---|---|---|---|\n'
for mode in $modes; do
  setup="$(count "$mode/setup/$n")"
  pipe="$(count "$mode/pipeline/$n")"
  typed="$(count "$mode/typed_decode/$n")"
  python3 -c "s,p,t,n=$setup,$pipe,$typed,$n; print(f'| $mode | {(p-s)/n:.0f} | {(t-s)/n:.0f} | {(p-s)/(t-s):.2f} |')"
done
