#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ on the stable toolchain (see fuzz/README.md).
#
#   scripts/fuzz.sh smoke [SECONDS]      every target for SECONDS (default 30) each: CI
#   scripts/fuzz.sh long  [RUNS]         every target for RUNS executions (default 10000000)
#   scripts/fuzz.sh run TARGET [ARGS..]  one target, with libFuzzer arguments
#   scripts/fuzz.sh build                the targets' release builds only (CI starts it early)
#
# TARGETS="a b" restricts the targets. Needs only crates.io: cargo-fuzz is installed when
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
mkdir -p logs

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz not found: installing it from crates.io"
  cargo install cargo-fuzz --locked --version '^0.13' ||
    cargo install cargo-fuzz --locked --version '^0.13' --offline
fi

build() {
  # shellcheck disable=SC2086
  for t in $TARGETS; do
    "${FUZZ[@]}" build -s none "$t"
  done
}

run_one() {
  local target=$1
  shift
  mkdir -p "corpus/$target" "artifacts/$target" logs
  nice -n 10 "${FUZZ[@]}" run -s none "$target" "corpus/$target" "seeds/$target" -- \
    -max_len=4096 -print_final_stats=1 "$@"
}

mode="${1:-smoke}"
case "$mode" in
  smoke)
    seconds="${2:-30}"
    build
    for t in $TARGETS; do
      echo "== fuzz smoke: $t (${seconds}s)"
      if run_one "$t" -max_total_time="$seconds" >"logs/$t.smoke.log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^Done' "logs/$t.smoke.log" || true
      else
        tail -60 "logs/$t.smoke.log"
        echo "fuzz target $t failed (log: fuzz/logs/$t.smoke.log)"
        exit 1
      fi
    done
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
