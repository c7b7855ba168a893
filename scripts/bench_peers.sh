#!/usr/bin/env bash
# Side-by-side benchmark of chat stream processing, in one run (see bench-peers/README.md):
# ours (ChatEventPipeline), async-openai's decode, and the official Python SDK's
# ChatCompletionStreamState when `python3 -c "import openai"` works (else it says it skipped).
#   scripts/bench_peers.sh [LENGTHS...]     default: 1024 4096 16384 65536 chunks
# Writes bench-peers/RESULTS.md and bench-peers/throughput.png. The runs are niced by
# BENCH_NICE (default 10, so as not to disturb other work; -5 as root on a shared machine
# measures with less noise from it).
set -euo pipefail
cd "$(dirname "$0")/../bench-peers"
data="${BENCH_DATA:-data}"
cargo build --release --quiet
target_dir="${CARGO_TARGET_DIR:-target}"
nice -n "${BENCH_NICE:-10}" "$target_dir/release/bench-peers" "$data" "$@"
rm -f "$data/python.json"
if python3 -c "import openai" 2>/dev/null; then
  nice -n "${BENCH_NICE:-10}" python3 python_peer.py "$data"
else
  echo "openai-python: skipped (python3 -c 'import openai' fails; pip install openai to include it)"
fi
python3 report.py "$data" .
