#!/usr/bin/env bash
# Generated calls (tests/gen/gen_call.py: stereo and mono, 8 and 16 kHz,
# several countries) through `parley run --stages decode,ivr,vad,diarize`:
# every call event found with start and end within 0.2 s, ringback country
# and DTMF digits exact (ivr.dtmf_digits=true; without it no digits are
# stored), nothing extra, and no speech segment inside IVR prompts or music
# (while the control run without ivr has speech there); a prompt heard once
# is found through ivr.prompts_dir; a bad ivr.countries is refused.
. "$(dirname "$0")/lib.sh"

# Generated calls are cached under build/ (keyed by the generators' text).
key=$(cat "$ROOT/tests/gen/gen_call.py" "$ROOT/tests/gen/gen_conversation.py" | sha1sum | cut -c1-12)
CALLS="$ROOT/build/ivr-calls/$key"
mkdir -p "$CALLS" "$TMP/in"
gen() {  # name, args...
  local name=$1; shift
  if [ ! -s "$CALLS/$name.truth.json" ]; then
    python3 "$ROOT/tests/gen/gen_call.py" --out "$CALLS" --name "$name" --quiet "$@" ||
      { notok "generate $name"; return 1; }
  fi
  cp "$CALLS/$name.wav" "$TMP/in/"
}
gen uk_stereo16 --seed 1 --channels 2 --rate 16000 --country uk --tones busy,sit --ringback 2 \
  --beep --ivr-prompt --dtmf 2,1234 --queue 6 --hold 8 --minutes 0.4
gen sg_mono8 --seed 2 --channels 1 --rate 8000 --country sg --ringback 2 --ivr-prompt \
  --dtmf 5,0#*7 --hold 6 --snr 20 --minutes 0.4
gen us_mono16 --seed 3 --channels 1 --rate 16000 --country us --tones congestion --ringback 1 \
  --beep --dtmf 9 --queue 5 --snr 10 --minutes 0.3
gen in_stereo8 --seed 4 --channels 2 --rate 8000 --country in --ringback 2 --ivr-prompt \
  --dtmf 12 --hold 6 --minutes 0.3

limit 600 "$PARLEY" run "$TMP/in" -o "$TMP/out" -j 2 --no-progress -q \
  --stages decode,ivr,vad,diarize --set ivr.dtmf_digits=true >"$TMP/run.log" 2>&1
status=$?
check "parley run --stages decode,ivr,vad,diarize exits 0 (status $status)" test $status -eq 0
[ $status -eq 0 ] || cat "$TMP/run.log"
for n in uk_stereo16 sg_mono8 us_mono16 in_stereo8; do
  python3 "$ROOT/tests/integration/check_ivr.py" "$TMP/out/$n/transcript.json" \
    "$CALLS/$n.truth.json" --digits --segments --label "$n"
done

# Defaults: DTMF digits are personal data, only their count is stored.
limit 300 "$PARLEY" run "$TMP/in/us_mono16.wav" -o "$TMP/out2" --no-progress -q \
  --stages decode,ivr >"$TMP/run2.log" 2>&1
check "parley run --stages decode,ivr exits 0" test $? -eq 0
python3 "$ROOT/tests/integration/check_ivr.py" "$TMP/out2/us_mono16/transcript.json" \
  "$CALLS/us_mono16.truth.json" --label "us_mono16 default config"
check "the digits are nowhere in the store by default" \
  test "$(sqlite3 "$TMP/out2/parley.db" "select count(*) from call_events where detail like '%digits%'")" = 0

# Control: without ivr, vad keeps the IVR prompt and the music as speech.
limit 300 "$PARLEY" run "$TMP/in/uk_stereo16.wav" -o "$TMP/out3" --no-progress -q \
  --stages decode,vad,diarize >"$TMP/run3.log" 2>&1
check "parley run without ivr exits 0" test $? -eq 0
python3 "$ROOT/tests/integration/check_ivr.py" "$TMP/out3/uk_stereo16/transcript.json" \
  "$CALLS/uk_stereo16.truth.json" --expect-overlap --label "uk_stereo16 without ivr"

# A bad configuration is refused with the key named.
"$PARLEY" run "$TMP/in/us_mono16.wav" -o "$TMP/out4" --no-progress -q --stages decode,ivr \
  --set ivr.countries=us,xx >"$TMP/run4.log" 2>&1
s=$?
check "ivr.countries=us,xx is refused (status $s)" test $s -ne 0
check "the refusal names ivr.countries" grep -q "ivr.countries" "$TMP/run4.log"

# A known prompt (ivr.prompts_dir): heard once, found by its fingerprint.
mkdir -p "$TMP/prompts" "$TMP/known"
espeak-ng -v en-gb+f3 -s 150 -w "$TMP/prompts/welcome.wav" \
  "Your call is important to us. Please stay on the line and an agent will be with you shortly." &&
  sox "$TMP/prompts/welcome.wav" -r 16000 -c 1 -b 16 "$TMP/p16.wav" &&
  sox -n -r 16000 -c 1 -b 16 "$TMP/sil.wav" trim 0 1.0 &&
  sox "$TMP/sil.wav" "$TMP/p16.wav" "$TMP/sil.wav" "$CALLS/us_mono16.wav" "$TMP/known/known.wav" rate 16000 ||
  notok "make the known-prompt call"
plen=$(soxi -D "$TMP/p16.wav")
limit 300 "$PARLEY" run "$TMP/known/known.wav" -o "$TMP/out5" --no-progress -q --stages decode,ivr \
  --set ivr.prompts_dir="$TMP/prompts" >"$TMP/run5.log" 2>&1
check "parley run with ivr.prompts_dir exits 0" test $? -eq 0
check "the known prompt is found once, by name, where it was put (1.0 s, $plen s long)" python3 -c "
import json, sys
ev = [e for e in json.load(open('$TMP/out5/known/transcript.json'))['events'] if e['kind'] == 'ivr_prompt']
ok = len(ev) == 1 and ev[0].get('source') == 'known' and ev[0].get('prompt') == 'welcome' and \
     0.9 <= ev[0]['start'] <= 1.4 and abs(ev[0]['end'] - (1.0 + $plen)) <= 0.5
print(ev, file=sys.stderr)
sys.exit(0 if ok else 1)"
