#!/usr/bin/env bash
# Runs the whole test suite: starts the Prism mock server (installing it on first use),
# runs `cargo test` with every API group on, and stops Prism again.
#   bash scripts/test.sh                   unit, integration and doc tests
#   bash scripts/test.sh [cargo test args] `cargo test --features full,blocking ARGS`
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PRISM_URL:-}" ]; then
  PRISM_URL="$(.ci/prism.sh start)"
  export PRISM_URL
  trap '.ci/prism.sh stop' EXIT
fi
echo "Prism at $PRISM_URL"
if [ "$#" -gt 0 ]; then
  cargo test --features full,blocking "$@"
else
  # The library's unit tests, the integration tests and the doctests. The examples are not
  # linked as programs of their own: `tests/it/examples_cli.rs` includes and runs each one,
  # and clippy (`--all-targets`) checks them as written. Seven fewer links of the crate
  # (~60-90 MB each): less time and disk.
  cargo test --features full,blocking --lib --tests
  cargo test --features full,blocking --doc
fi
