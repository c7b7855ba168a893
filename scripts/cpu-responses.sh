#!/usr/bin/env bash
# CPU time (perf stat task-clock) of the Responses pipeline against a typed decode of the
# same events (benches/responses_stream.rs): unlike criterion's wall time, it does not count
# the time the process waits for a core, so a loaded machine disturbs it much less. Each case
# runs `passes` passes in one process; the best of `rounds` alternating rounds is kept, and
# the one-time setup (building the events) is subtracted.
#   bash scripts/cpu-responses.sh [rounds=4] [modes="text function"] [lengths="1000 10000"]
# BIN=path/to/another/responses_stream-binary measures another build of the bench.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-4}"
modes="${2:-text function}"
lengths="${3:-1000 10000}"
command -v perf >/dev/null || { echo "perf is not installed" >&2; exit 1; }
. scripts/instr-lib.sh
bin="${BIN:-$(bench_bin responses_stream)}"
# Milliseconds of CPU time of one BENCH_ONCE spec.
cpu_ms() {
  BENCH_ONCE="$1" perf stat -x, -e task-clock "$bin" 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}'
}
printf '| mode | events | pipeline ms/pass | typed decode ms/pass | ratio | load |\n|---|---|---|---|---|---|\n'
for mode in $modes; do
  for n in $lengths; do
    passes=$((600000 / n))
    best_s=; best_p=; best_t=
    for _ in $(seq "$rounds"); do
      s="$(cpu_ms "$mode/setup/$n/$passes")"
      p="$(cpu_ms "$mode/pipeline/$n/$passes")"
      t="$(cpu_ms "$mode/typed_decode/$n/$passes")"
      best_s="$(python3 -c "print(min(float(x) for x in '$best_s $s'.split()))")"
      best_p="$(python3 -c "print(min(float(x) for x in '$best_p $p'.split()))")"
      best_t="$(python3 -c "print(min(float(x) for x in '$best_t $t'.split()))")"
    done
    load="$(cut -d' ' -f1 /proc/loadavg)"
    python3 -c "s,p,t,k=$best_s,$best_p,$best_t,$passes; print(f'| $mode | $n | {(p-s)/k:.3f} | {(t-s)/k:.3f} | {(p-s)/(t-s):.2f} | $load |')"
  done
done
