#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ on the stable toolchain (see fuzz/README.md).
#
#   scripts/fuzz.sh smoke [SECONDS]      every target for SECONDS (default 30) each, JOBS
#                                        (default: the number of cores) at a time: CI
#   scripts/fuzz.sh long  [RUNS]         every target for RUNS executions (default 10000000)
#   scripts/fuzz.sh run TARGET [ARGS..]  one target, with libFuzzer arguments
#   scripts/fuzz.sh build                the targets' release builds only (CI starts it early)
#
# TARGETS="a b" restricts the targets; CODEGEN_UNITS=N, see below. Needs only crates.io: cargo-fuzz is installed when
# missing (an already installed or cached cargo-fuzz is used as it is). A crash stops the
# script with a non-zero status; the input is in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

ALL_TARGETS="sse_decoder chat_stream responses_stream assistants_stream accumulate_delta partial_json strict_schema webhooks retry_headers path_segment ws_events"
TARGETS="${TARGETS:-$ALL_TARGETS}"
# No nightly here: RUSTC_BOOTSTRAP lets cargo-fuzz pass its -Z flags to the stable
# compiler, and `-s none` builds without a sanitizer (libFuzzer's coverage instrumentation
# works on stable). Bugs are panics, which abort the run.
export RUSTC_BOOTSTRAP=1
FUZZ=(cargo fuzz)
# CODEGEN_UNITS=N builds with N codegen units instead of cargo-fuzz's 1: the crate's
# optimisation runs on every core (CI's smoke build: minutes faster, somewhat slower
# executions). Long runs keep 1. Every build and run of one invocation uses the same value,
# so `run` finds the build done.
BUILD_OPTS=(-s none)
if [ -n "${CODEGEN_UNITS:-}" ]; then
  BUILD_OPTS+=(--codegen-units "$CODEGEN_UNITS")
fi
mkdir -p logs

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz not found: installing it from crates.io"
  cargo install cargo-fuzz --locked --version '^0.13' ||
    cargo install cargo-fuzz --locked --version '^0.13' --offline
fi

build() {
  # shellcheck disable=SC2086
  for t in $TARGETS; do
    "${FUZZ[@]}" build "${BUILD_OPTS[@]}" "$t"
  done
}

run_one() {
  local target=$1
  shift
  mkdir -p "corpus/$target" "artifacts/$target" logs
  nice -n 10 "${FUZZ[@]}" run "${BUILD_OPTS[@]}" "$target" "corpus/$target" "seeds/$target" -- \
    -max_len=4096 -print_final_stats=1 "$@"
}

mode="${1:-smoke}"
case "$mode" in
  smoke)
    seconds="${2:-30}"
    build
    # A target runs on one core: JOBS targets at a time (default: the number of cores).
    jobs="${JOBS:-$(nproc)}"
    # shellcheck disable=SC2086
    set -- $TARGETS
    failed=""
    while [ "$#" -gt 0 ]; do
      batch=()
      while [ "$#" -gt 0 ] && [ "${#batch[@]}" -lt "$jobs" ]; do
        batch+=("$1")
        shift
      done
      pids=()
      for t in "${batch[@]}"; do
        run_one "$t" -max_total_time="$seconds" >"logs/$t.smoke.log" 2>&1 &
        pids+=("$!")
      done
      for i in "${!batch[@]}"; do
        t="${batch[$i]}"
        echo "== fuzz smoke: $t (${seconds}s)"
        if wait "${pids[$i]}"; then
          grep -E '^stat::number_of_executed_units|^Done' "logs/$t.smoke.log" || true
        else
          tail -60 "logs/$t.smoke.log"
          echo "fuzz target $t failed (log: fuzz/logs/$t.smoke.log)"
          failed="$failed $t"
        fi
      done
    done
    if [ -n "$failed" ]; then
      echo "fuzz targets that failed:$failed"
      exit 1
    fi
    ;;
  long)
    runs="${2:-10000000}"
    build
    for t in $TARGETS; do
      echo "== fuzz long: $t ($runs runs), $(date -u +%FT%TZ)"
      run_one "$t" -runs="$runs" >"logs/$t.log" 2>&1 || { tail -40 "logs/$t.log"; exit 1; }
      grep -E '^stat::number_of_executed_units|^Done' "logs/$t.log"
    done
    ;;
  build)
    build
    ;;
  run)
    target="${2:?target}"
    shift 2
    run_one "$target" "$@"
    ;;
  *)
    echo "usage: $0 smoke [SECONDS] | long [RUNS] | run TARGET [ARGS...] | build" >&2
    exit 2
    ;;
esac
