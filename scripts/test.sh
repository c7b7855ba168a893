#!/usr/bin/env bash
# Runs the whole test suite: starts the Prism mock server (installing it on first use),
# runs `cargo test` with every API group on, and stops Prism again.
#   bash scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PRISM_URL:-}" ]; then
  PRISM_URL="$(.ci/prism.sh start)"
  export PRISM_URL
  trap '.ci/prism.sh stop' EXIT
fi
echo "Prism at $PRISM_URL"
cargo test --features full,blocking "$@"
