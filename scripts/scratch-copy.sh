#!/usr/bin/env bash
# Copies the project (working tree, without target/, .git and fuzz builds) into DIR, for
# scripts that regenerate on a scratch copy.  bash scripts/scratch-copy.sh DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:?usage: scratch-copy.sh DIR}"
mkdir -p "$dest"
tar -C "$root" --exclude=./target --exclude=./.git --exclude=./fuzz/target \
  --exclude=./fuzz/corpus --exclude=./fuzz/artifacts --exclude=./bench-peers/target -cf - . \
  | tar -C "$dest" -xf -
