#!/usr/bin/env bash
# Measures what the README's build-time table reports, for openai-sdk (features `chat`,
# default, `full`) and for async-openai 0.43 with `full`:
#   clean:   a debug build from an empty target directory, dependencies included;
#   rebuild: the crate alone rebuilt non-incrementally, as cargo builds a dependency;
#   memory:  peak RSS of that rebuild's rustc.
# Run on an otherwise idle machine: bash scripts/build-times.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=target/build-times
mkdir -p "$OUT"
measure() { # name, dir, cargo args..., touch-cmd
  local name=$1 dir=$2 touch_cmd=$3; shift 3
  local tdir="$ROOT/$OUT/target-$name"
  rm -rf "$tdir"
  local t0=$(date +%s.%N)
  (cd "$dir" && CARGO_TARGET_DIR="$tdir" cargo build -q "$@")
  local clean=$(echo "$(date +%s.%N) - $t0" | bc)
  (cd "$dir" && eval "$touch_cmd")
  local rb
  rb=$( (cd "$dir" && CARGO_INCREMENTAL=0 CARGO_TARGET_DIR="$tdir" /usr/bin/time -f "%e %M" cargo build -q "$@") 2>&1 | tail -1)
  printf '%s\t%.0f\t%s\t%s\n' "$name" "$clean" "${rb% *}" "$(echo "${rb#* } / 1048576" | bc -l | xargs printf '%.2f')" | tee -a "$OUT/results.tsv"
}
: > "$OUT/results.tsv"
measure chat "$ROOT" "touch src/lib.rs" --no-default-features --features chat
measure default "$ROOT" "touch src/lib.rs"
measure full "$ROOT" "touch src/lib.rs" --features full
# async-openai, all API groups, in a scratch crate outside the workspace.
PROBE="$ROOT/$OUT/async-openai-probe"
mkdir -p "$PROBE/src"
cat > "$PROBE/Cargo.toml" <<'TOML'
[package]
name = "async-openai-probe"
version = "0.0.0"
edition = "2021"
publish = false
[workspace]
[dependencies]
async-openai = { version = "=0.43.0", features = ["full"] }
TOML
echo 'fn main() {}' > "$PROBE/src/main.rs"
measure async-openai "$PROBE" "CARGO_TARGET_DIR=$ROOT/$OUT/target-async-openai cargo clean -q -p async-openai"
echo "name	clean_s	rebuild_s	peak_GB"
cat "$OUT/results.tsv"
