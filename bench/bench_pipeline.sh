#!/usr/bin/env bash
# bench/bench_pipeline.sh — `make bench`: generate a 10-minute multi-speaker
# conversation and run `parley run` on it with one worker; print the
# real-time factor (CPU seconds / audio seconds) of every stage, the total,
# the wall-clock RTF and the peak resident memory of the worker.
# Options via environment: BENCH_MINUTES (10), BENCH_SPEAKERS (4), BENCH_JOBS (1).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MIN=${BENCH_MINUTES:-10}
SPK=${BENCH_SPEAKERS:-4}
JOBS=${BENCH_JOBS:-1}
export PARLEY_GEN_CACHE=${PARLEY_GEN_CACHE:-$ROOT/build/gen-cache}
W=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

echo "generating a ${MIN}-minute ${SPK}-speaker conversation..."
python3 tests/gen/gen_conversation.py --out "$W/gen" --name bench --speakers "$SPK" --minutes "$MIN" --seed 7 --quiet
mkdir -p "$W/in"; cp "$W/gen/bench.wav" "$W/in/"

echo "running parley run -j $JOBS ..."
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$W/rss" build/parley run "$W/in" -o "$W/out" -j "$JOBS" --no-progress -q
end=$(date +%s.%N)
# /usr/bin/time reports the largest of the process and its waited-for children.
rss_kb=$(tail -1 "$W/rss")

sqlite3 -separator ' ' "$W/out/parley.db" \
  "select s.stage, s.cpu_seconds, s.wall_seconds, r.duration from stage_runs s join recordings r on r.id = s.recording_id order by s.rowid" >"$W/stages"
python3 - "$W/stages" "$start" "$end" "$rss_kb" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
start, end, rss = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
order = ["decode", "vad", "diarize", "stt", "words", "samples"]
dur = float(rows[0][3])
print("\naudio: %.1f s (%.1f min)\n" % (dur, dur / 60))
print("| stage | CPU s | RTF (CPU/audio) |")
print("|---|---|---|")
tot = 0.0
for name in order:
    cpu = sum(float(r[1]) for r in rows if r[0] == name)
    tot += cpu
    print("| %s | %.2f | %.4f |" % (name, cpu, cpu / dur))
print("| **total** | %.2f | **%.4f** |" % (tot, tot / dur))
print("\nwall clock: %.1f s, wall RTF %.3f (includes start-up, model load, export)" % (end - start, (end - start) / dur))
print("peak RSS (largest process): %.0f MB" % (rss / 1024))
PY
echo
echo "accuracy on this file (parley eval against the generator's ground truth):"
build/parley eval --ref "$W/gen" --hyp "$W/out"
