#!/usr/bin/env bash
# scripts/demo.sh — set up, build, and run parley on a generated example:
# a one-minute conversation between two synthetic voices with Singlish words.
# Usage: bash scripts/demo.sh [WORKDIR]   (default /tmp/parley-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/parley-demo}
bash scripts/install-deps.sh
make -j"$(nproc)" >/dev/null
mkdir -p "$W/in"
echo "generating an example conversation in $W/in ..."
python3 tests/gen/gen_conversation.py --out "$W/gen" --name example --speakers 2 --minutes 1.0 --seed 1 --quiet
cp "$W/gen/example.wav" "$W/in/"
build/parley run "$W/in" -o "$W/out"
echo
echo "results:      $W/out/summary.csv  and  $W/out/example/"
echo "ground truth: $W/gen/example.rttm, example.txt, example.counts.csv"
head -20 "$W/out/example/transcript.txt"
