# Shared by scripts/instr-*.sh (sourced): a bench's executable and callgrind's count.

# The executable of bench $1, built with `cargo bench --no-run` when needed.
bench_bin() {
  cargo bench --bench "$1" --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
name=sys.argv[1]
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]==name and m.get("executable"): print(m["executable"])' "$1" \
    | tail -1
}

# Instructions executed by "$bin" with BENCH_ONCE=$1 (one pass of that bench case).
instr_count() {
  BENCH_ONCE="$1" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
