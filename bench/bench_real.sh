#!/usr/bin/env bash
# bench/bench_real.sh — `make bench-real`: diarization on real recordings.
#
# Every real multi-speaker recording with speaker turns in ../shared/data
# (bench/real_sets.sh finds them: the ten AMI meeting excerpts, scored inside
# their .uem regions, the pyannote sample, the Picovoice 3-speaker clip, and
# any set with an RTTM added there later) goes through
# `parley run --stages decode,vad,diarize` and `parley eval`. Printed per file
# and pooled per set and over all: DER in the md-eval convention (total
# errors over total scored reference speech) with a 0.25 s collar and with
# none, missed speech, false alarm, confusion, speakers ref/found; the share
# of files whose count is within one. Then the real call-centre call (no
# reference): speakers found, and when it is stereo, how well each found
# speaker keeps to one channel. The diarizer's RTF (CPU seconds of the vad
# and diarize stages over audio seconds). Writes build/bench-real.json.
# Finally runs bench/bench_real_words.sh when it exists (WER per source and
# target false alarms; written separately).
#
# Environment: PARLEY_BIN (build/parley), PARLEY_SHARED_DATA (../shared/data),
# REAL_OUT (build/bench-real.json), REAL_KEEP=1 keeps the work folder,
# REAL_WORDS=0 skips bench_real_words.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
DATA=${PARLEY_SHARED_DATA:-$(dirname "$ROOT")/shared/data}
OUT_JSON=${REAL_OUT:-$ROOT/build/bench-real.json}
. "$ROOT/bench/real_sets.sh"
if [ ! -d "$DATA" ]; then
	echo "bench-real: no $DATA (only the project's own machines have the real recordings); nothing measured"
	exit 0
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/parley-real.XXXXXX")
if [ "${REAL_KEEP:-0}" = 1 ]; then trap 'echo "work folder kept: $W"' EXIT; else trap 'rm -rf "$W"' EXIT; fi
mkdir -p "$(dirname "$OUT_JSON")"
real_diar_sets "$DATA" "$W/in" "$W/ref" >"$W/sets.tsv"
stage_rows() {
	sqlite3 -separator ' ' "$1" \
		"select s.stage, s.cpu_seconds, r.duration from stage_runs s join recordings r on r.id = s.recording_id where s.status = 'done'"
}
"$PARLEY" run "$W/in" -o "$W/out" -j 2 -q --stages decode,vad,diarize >"$W/run.log" 2>&1 \
	|| { echo "parley run failed:"; tail -20 "$W/run.log"; exit 1; }
"$PARLEY" eval --ref "$W/ref" --hyp "$W/out" --json "$W/eval.json" >"$W/eval.txt" 2>&1 \
	|| { echo "parley eval failed:"; tail -20 "$W/eval.txt"; exit 1; }
stage_rows "$W/out/parley.db" >"$W/stages"
# The real call-centre call: no reference, speaker count and channel check.
CALL=$DATA/telephone/malaya-callcentre-8k-noref/1.wav
if [ -f "$CALL" ]; then
	mkdir -p "$W/call"
	cp "$CALL" "$W/call/callcentre.wav"
	"$PARLEY" run "$W/call" -o "$W/call-out" -q --stages decode,vad,diarize >"$W/call.log" 2>&1 \
		|| { echo "parley run failed on the call-centre call:"; tail -20 "$W/call.log"; exit 1; }
	stage_rows "$W/call-out/parley.db" >>"$W/stages"
fi
python3 "$ROOT/bench/real_report.py" --eval "$W/eval.json" --sets "$W/sets.tsv" --stages "$W/stages" \
	--call "$W/call/callcentre.wav" --call-out "$W/call-out/callcentre" --json "$OUT_JSON"
if [ "${REAL_WORDS:-1}" = 1 ] && [ -f "$ROOT/bench/bench_real_words.sh" ]; then
	echo
	bash "$ROOT/bench/bench_real_words.sh"
fi
