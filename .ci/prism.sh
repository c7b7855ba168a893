#!/usr/bin/env bash
# Installs and starts the Prism mock server on the spec in openapi/ (with the nullable fix
# that keeps Prism's request validation on). Prints the URL to use as PRISM_URL.
#   .ci/prism.sh start   -> starts it in the background (pid in target/prism.pid), waits until ready
#   .ci/prism.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PRISM_PORT:-4010}"
BIN=.ci/prism/node_modules/.bin/prism
case "${1:-start}" in
  start)
    if [ ! -x "$BIN" ]; then
      echo "installing @stoplight/prism-cli@5.14.2 into .ci/prism" >&2
      npm install --prefix .ci/prism --no-audit --no-fund --loglevel=error @stoplight/prism-cli@5.14.2 >&2
    fi
    mkdir -p target
    cargo xtask prism-spec target/prism-spec.json >&2
    "$BIN" mock -h 127.0.0.1 -p "$PORT" target/prism-spec.json > target/prism.log 2>&1 &
    echo $! > target/prism.pid
    for _ in $(seq 1 180); do
      if curl -s -o /dev/null -H "Authorization: Bearer ready-check" "http://127.0.0.1:$PORT/models"; then
        echo "http://127.0.0.1:$PORT"
        exit 0
      fi
      if ! kill -0 "$(cat target/prism.pid)" 2>/dev/null; then
        echo "prism exited; its log:" >&2; tail -50 target/prism.log >&2; exit 1
      fi
      sleep 1
    done
    echo "prism did not become ready in 180 s; its log:" >&2; tail -50 target/prism.log >&2
    exit 1
    ;;
  stop)
    [ -f target/prism.pid ] && kill "$(cat target/prism.pid)" 2>/dev/null || true
    rm -f target/prism.pid
    ;;
esac
