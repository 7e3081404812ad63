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

# with the ivr stage: ringback, an IVR menu, DTMF, queue music and hold are
# events, not talk; hold and IVR time from them; mono roles after the IVR
mkdir -p "$TMP/in5"
gen_call i1 --seed 21 --channels 2 --ringback 2 --ivr-prompt --dtmf 2 --hold 8 --minutes 1 --crosstalk -25
gen_call i2 --seed 22 --channels 1 --ringback 2 --ivr-prompt --dtmf 1 --queue 5 --hold 8 --minutes 1 --overlap 0
mv "$TMP/in/i1.wav" "$TMP/in/i2.wav" "$TMP/in5/"
limit 600 "$PARLEY" run "$TMP/in5" -o "$TMP/out5" -j 2 --no-progress --stages decode,ivr,vad,diarize,metrics \
  --set channels.mode=separate --set channels.mono_roles=first_after_ivr --speakers 2 >"$TMP/run5.log" 2>&1
status=$?
check "calls with IVR, DTMF, queue and hold through ivr and metrics exit 0 (status $status)" test $status -eq 0
python3 "$ROOT/tests/integration/check_call_metrics.py" "$TMP/i1.truth.json" "$TMP/out5/i1/transcript.json" i1 --events
python3 "$ROOT/tests/integration/check_call_metrics.py" "$TMP/i2.truth.json" "$TMP/out5/i2/transcript.json" i2 --events --mono
check "speaker_roles of the mono call say first_after_ivr" \
  test "$(sqlite3 "$TMP/out5/parley.db" "select count(*) from speaker_roles where source='first_after_ivr'")" = 2

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

# real recordings (../shared/data; skipped when absent)
DATA=${PARLEY_SHARED_DATA:-$ROOT/../shared/data}
if [ ! -d "$DATA" ]; then
  echo "ok - real stereo and telephone calls # SKIP no $DATA (only the project's own machines have it)"
  exit 0
fi
mkdir -p "$TMP/real" "$TMP/real2"
cp "$DATA/asr/fasterwhisper-stereo-2spk/stereo_diarization.wav" "$TMP/real/stereo.wav"
cp "$DATA/telephone/malaya-callcentre-8k-noref/1.wav" "$TMP/real2/callcentre.wav"
out3="$TMP/out3"
limit 600 "$PARLEY" run "$TMP/real" -o "$out3" -j 1 --no-progress \
  --stages decode,vad,diarize,stt,words,metrics --set channels.mode=separate >"$TMP/run3.log" 2>&1
status=$?
check "a real stereo call through the metrics stage exits 0 (status $status)" test $status -eq 0
# the 4-minute call without the recogniser (test time): roles, talk, loudness
limit 600 "$PARLEY" run "$TMP/real2" -o "$TMP/out4" -j 1 --no-progress \
  --stages decode,vad,diarize,metrics --set channels.mode=separate \
  --set channels.mono_roles=first_after_ivr >"$TMP/run4.log" 2>&1
status=$?
check "a real mono call through the metrics stage exits 0 (status $status)" test $status -eq 0
# stereo: one speaker per channel, both talking at once for ~2 s; each
# channel transcribed on its own (stereo_diarization.ref.txt: left "He began
# a confused complaint ...", right "The horizon seems extremely distant.")
python3 - "$out3/stereo/transcript.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
m = t["metrics"]
def tap(ok, what): print(("ok - " if ok else "not ok - ") + what)
roles = {s["role"]: s["channel"] for s in t["speakers"]}
tap(roles == {"agent": 0, "customer": 1}, "real stereo: agent = channel 0, customer = channel 1 (%r)" % roles)
tap(m["agent"]["talk_time"] > 3.5 and 1.5 < m["customer"]["talk_time"] < 3.0,
    "real stereo: talk 4.4 s left, 2.1 s right (got %.2f, %.2f)" % (m["agent"]["talk_time"], m["customer"]["talk_time"]))
tap(m["call"]["overlap_time"] > 1.5, "real stereo: they talk at once (overlap %.2f s)" % m["call"]["overlap_time"])
text = {s["speaker"]: s["text"] for s in t["segments"]}
tap("complaint" in text.get("speaker-1", "") and "extremely" in text.get("speaker-2", ""),
    "real stereo: each channel's words in its own turn (%r)" % text)
PY
python3 - "$TMP/out4/callcentre/transcript.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
m = t["metrics"]
def tap(ok, what): print(("ok - " if ok else "not ok - ") + what)
parties = [k for k in m if k != "call"]
share = sum(m[k]["talk_share"] for k in parties)
tap("agent" in parties and "customer" in parties and abs(share - 1) < 0.01,
    "real mono call: agent and customer by the first speaker, shares sum to 1 (%s)"
    % ", ".join("%s %.2f" % (k, m[k]["talk_share"]) for k in parties))
tap(150 < m["call"]["talk_time"] < m["call"]["duration"],
    "real mono call: %.0f s of talk in %.0f s" % (m["call"]["talk_time"], m["call"]["duration"]))
tap(m["call"]["silence_count"] >= 1 and m["call"]["overlap_time"] == 0,
    "real mono call: %d silences of 2 s or more, no overlap without diarize.overlap" % m["call"]["silence_count"])
tap(m["call"].get("loudness_lufs", 0) < -10, "real mono call: loudness %.1f LUFS" % m["call"].get("loudness_lufs", 0))
PY
