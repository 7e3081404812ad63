#!/usr/bin/env bash
# bench/bench_engines.sh — `make bench-engines`: what requests in flight buy
# with a remote speech-to-text server.
#
#   1. generates a 100-turn, 2-speaker conversation (tests/gen),
#   2. starts tests/servers/fake_engines.py answering every request after
#      BENCH_ENGINES_DELAY seconds (0.5: a GPU server's time for a short turn),
#   3. runs `parley run --stt openai+…` (one worker) with stt.concurrency 1
#      and then BENCH_ENGINES_CONCURRENCY (8), each into a fresh store,
#   4. prints the stt stage's wall time (stage_runs), the requests sent and
#      the most the server saw in flight at once.
# Not a test: about 2 minutes (the serial run is requests x delay).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PARLEY=${PARLEY:-$ROOT/build/parley}
DELAY=${BENCH_ENGINES_DELAY:-0.5}
CONC=${BENCH_ENGINES_CONCURRENCY:-8}
TURNS=${BENCH_ENGINES_TURNS:-100}
export PARLEY_GEN_CACHE=${PARLEY_GEN_CACHE:-$ROOT/build/gen-cache}
. "$ROOT/tests/lib/fake_engines.sh"

W=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-engines.XXXXXX")
trap 'fake_stop; rm -rf "$W"' EXIT

echo "bench-engines: generating a $TURNS-turn conversation"
python3 tests/gen/gen_conversation.py --out "$W/ref" --name conv --speakers 2 --turns "$TURNS" \
  --seed 7 --quiet
fake_start "$W/srv" --truth "$W/ref" --delay "$DELAY"
dur=$(python3 -c "import json; print(round(json.load(open('$W/ref/conv.json'))['duration'], 1))")
echo "bench-engines: $dur s of audio, server answers after $DELAY s, one worker"
printf '%-12s %-10s %-14s %-14s %s\n' concurrency requests "stt wall s" "in flight max" "words"
for c in 1 "$CONC"; do

  # a fresh server-side maximum per run
  fake_stop
  fake_start "$W/srv" --truth "$W/ref" --delay "$DELAY"
  out="$W/out-$c"
  "$PARLEY" run "$W/ref/conv.wav" -o "$out" -j 1 -q --no-progress --stt "openai+$FAKE_URL" \
    --set "stt.concurrency=$c" >"$out.log" 2>&1
  wall=$(sqlite3 "$out/parley.db" "select printf('%.1f', wall_seconds) from stage_runs where stage='stt'")
  read -r reqs maxf < <(fake_stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["requests"], d["max_in_flight"])')
  words=$(python3 -c "import json; print(len(json.load(open('$out/conv/transcript.json'))['words']))")
  printf '%-12s %-10s %-14s %-14s %s\n' "$c" "$reqs" "$wall" "$maxf" "$words"

done
