#!/usr/bin/env bash
# Call analysis over generated calls (tests/gen/gen_call.py): stereo calls
# (crosstalk at -25 and -20 dB, 16 and 8 kHz) diarized by channel, a mono
# call through the diarizer with "first speaker after the IVR" roles; the
# metrics stage's figures against the truth (check_call_metrics.py: talk
# time per role within 3%, silences and interruptions as the truth counts
# them, roles right, turns, overlap, agent's first word); roles in every
# output; metrics.csv beside summary.csv. Generated calls are cached in
# build/calls-it/ (keyed by the generator's text and arguments).
. "$(dirname "$0")/lib.sh"

CALLS=${PARLEY_CALLS_CACHE:-$ROOT/build/calls-it}
mkdir -p "$CALLS" "$TMP/in" "$TMP/in2"
GENV=$(sha256sum "$ROOT/tests/gen/gen_call.py" "$ROOT/tests/gen/gen_conversation.py" | sha256sum | cut -c1-12)
gen_call() {  # name, arguments...
  local name=$1; shift
  local key
  key=$(echo "$GENV $*" | sha256sum | cut -c1-12)
  if [ ! -s "$CALLS/$name-$key.truth.json" ]; then
    python3 "$ROOT/tests/gen/gen_call.py" --out "$CALLS" --name "$name-$key" --cache-dir "$PARLEY_GEN_CACHE" --quiet "$@" ||
      { notok "generate call $name ($*)"; exit 1; }
  fi
  cp "$CALLS/$name-$key.wav" "$TMP/in/$name.wav"
  cp "$CALLS/$name-$key.truth.json" "$TMP/$name.truth.json"
}
gen_call s1 --seed 11 --channels 2 --ringback 0 --minutes 1.5 --overlap 0.3 --long-silences 0.3 --crosstalk -25
gen_call s2 --seed 12 --channels 2 --rate 8000 --ringback 0 --minutes 1.0 --overlap 0.3 --long-silences 0.25 --crosstalk -20
gen_call m1 --seed 13 --channels 1 --ringback 0 --minutes 1.0 --overlap 0 --long-silences 0.3

# without the recogniser: channels, roles and metrics only
out="$TMP/out"
limit 600 "$PARLEY" run "$TMP/in" -o "$out" -j 2 --no-progress --stages decode,vad,diarize,metrics \
  --set channels.mode=separate --set channels.mono_roles=first_after_ivr --speakers 2 >"$TMP/run.log" 2>&1
status=$?
check "parley run with the metrics stage exits 0 (status $status)" test $status -eq 0
[ $status -eq 0 ] || cat "$TMP/run.log"
for n in s1 s2; do
  python3 "$ROOT/tests/integration/check_call_metrics.py" "$TMP/$n.truth.json" "$out/$n/transcript.json" "$n"
done
python3 "$ROOT/tests/integration/check_call_metrics.py" "$TMP/m1.truth.json" "$out/m1/transcript.json" m1 --mono
check "stereo sources keep their channels (audio.ch0.wav, audio.ch1.wav)" \
  bash -c "ls '$out'/data/recordings/*/audio.ch1.wav | wc -l | grep -qx 2"
check "a mono source has no channel files" \
  bash -c "! ls '$out'/data/recordings/*/audio.ch0.wav 2>/dev/null | grep -q m1"
check "speaker_roles has 6 rows (2 per call)" test "$(sqlite3 "$out/parley.db" 'select count(*) from speaker_roles')" = 6
check "call_metrics holds talk_time per role for every call" \
  test "$(sqlite3 "$out/parley.db" "select count(*) from call_metrics where name='talk_time' and scope in ('agent','customer')")" = 6
check "call_spans holds the silences" \
  test "$(sqlite3 "$out/parley.db" "select count(*) from call_spans where kind='silence'")" -gt 0
check "metrics.csv beside summary.csv, with the talk share per role" \
  grep -q '^s1,agent,talk_share,0\.' "$out/metrics.csv"
check "RTTM keeps plain speaker names" grep -q ' speaker-1 ' "$out/s1/transcript.rttm"

# the whole pipeline on the 8 kHz stereo call: words per minute, roles in the text outputs
cp "$TMP/in/s2.wav" "$TMP/in2/"
out2="$TMP/out2"
limit 600 "$PARLEY" run "$TMP/in2" -o "$out2" -j 1 --no-progress \
  --stages decode,vad,diarize,stt,words,metrics,samples --set channels.mode=separate >"$TMP/run2.log" 2>&1
status=$?
check "the full pipeline with metrics exits 0 (status $status)" test $status -eq 0
python3 "$ROOT/tests/integration/check_call_metrics.py" "$TMP/s2.truth.json" "$out2/s2/transcript.json" s2-full --words |
  grep -v "turns\|silences\|interruptions\|overlap time\|talk time\|roles by\|first word"
check "transcript.txt labels turns with roles" grep -q 'speaker-1 (agent): ' "$out2/s2/transcript.txt"
check "transcript.srt labels cues with roles" grep -q 'speaker-2 (customer): ' "$out2/s2/transcript.srt"
check "summary.csv has the role column" grep -q ',customer$' "$out2/summary.csv"
python3 "$ROOT/tests/integration/check_outputs.py" "$out2" s2
