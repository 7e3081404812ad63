#!/usr/bin/env bash
# Generated calls (tests/gen/gen_call.py: stereo and mono, 8 and 16 kHz,
# several countries) through `parley run --stages decode,ivr,vad,diarize`:
# every call event found with start and end within 0.2 s, ringback country
# and DTMF digits exact (ivr.dtmf_digits=true; without it no digits are
# stored), nothing extra, and no speech segment inside IVR prompts or music
# (while the control run without ivr has speech there).
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
