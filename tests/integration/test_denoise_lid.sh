#!/usr/bin/env bash
# The call stages denoise and lid, and the call preset (README "Call
# analysis"), end to end:
#   a. --preset call --denoise (speex): the preset's stages run and no
#      others; audio.denoised.wav written; a declared language (lid.language)
#      in transcript.json; {"preset": "call"} in a configuration file and
#      `parley submit --preset call` select the same stages;
#   b. the remote denoise engine (tests/servers/fake_engines.py /denoise): the
#      server's audio is what later stages read; a server failing for one
#      recording fails that recording with a sentence naming the server's
#      error, the other recording is done; a reply that is not audio fails;
#   c. lid detected by a Whisper-family server (lang=ms): flagged outside
#      lid.expected, not failed; the stt stage sent "ms" as its language
#      hint when stt.language is ""; pocketsphinx (reports no language): the
#      configured stt.language stands;
#   d. stt.denoise_below: the recogniser hears the noisy recording denoised,
#      the stt stage stores that, and the words stage skips the lexicon's
#      pass-share test for it (and applies it to the clean one); the
#      per-hour test sees the recording's decoded duration.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/fake_engines.sh"
unset PARLEY_CONFIG PARLEY_STORE PARLEY_QUEUE PARLEY_DATA
trap 'fake_stop; cleanup' EXIT

REF="$TMP/ref"
$GEN --out "$REF" --name noisy --speakers 2 --turns 4 --seed 21 --noise pink --snr 5 --quiet ||
  { notok "generate noisy"; exit 1; }
$GEN --out "$REF" --name longer --speakers 2 --turns 8 --seed 22 --quiet ||
  { notok "generate longer"; exit 1; }
mkdir -p "$TMP/in" && cp "$REF/noisy.wav" "$REF/longer.wav" "$TMP/in/"
fake_start "$TMP/srv" --truth "$REF" || { notok "start the fake engine server"; exit 1; }
ok "fake engine server on port $FAKE_PORT"

# stages done for every recording of OUT, comma-separated in registry order
stages_done() {
  sqlite3 "$1/parley.db" "select group_concat(stage, ',') from (select distinct stage from stage_runs
    where status = 'done' order by case stage when 'decode' then 0 when 'ivr' then 0.5
    when 'denoise' then 1 when 'vad' then 2 when 'diarize' then 3 when 'lid' then 4
    when 'stt' then 5 when 'words' then 6 when 'metrics' then 7 else 8 end)"
}
rec_dir() { # OUT NAME: the data directory of recording NAME
  local id
  id=$(sqlite3 "$1/parley.db" "select id from recordings where name = '$2'")
  echo "$1/data/recordings/$id"
}
lang_of() { # transcript.json → "code source expected"
  python3 -c 'import json,sys; l=json.load(open(sys.argv[1])).get("language") or {}
print(l.get("code"), l.get("source"), l.get("expected"), l.get("confidence"))' "$1"
}

# ---- a. the preset with speex denoise; a declared language
out="$TMP/a"
limit 300 "$PARLEY" run "$TMP/in/noisy.wav" -o "$out" -j 1 --no-progress --preset call --denoise \
  --set lid.language=en --set lid.expected=en,ms >"$out.log" 2>&1
st=$?
check "run --preset call --denoise exits 0 (status $st)" test $st -eq 0
check "the preset's stages ran, denoise added, samples not ($(stages_done "$out"))" \
  test "$(stages_done "$out")" = "decode,ivr,denoise,vad,diarize,lid,stt,words,metrics"
d=$(rec_dir "$out" noisy)
check "audio.denoised.wav written beside audio.wav" test -s "$d/audio.denoised.wav" -a -s "$d/audio.wav"
check "the denoised audio differs from the original" \
  bash -c "! cmp -s '$d/audio.wav' '$d/audio.denoised.wav'"
check "transcript.json: declared language ($(lang_of "$out/noisy/transcript.json"))" \
  test "$(lang_of "$out/noisy/transcript.json")" = "en config True 1.0"
check "transcript.json has words" grep -q '"words"' "$out/noisy/transcript.json"
check "no voice samples (samples is not in the call preset)" \
  test -z "$(ls "$out/noisy/samples" 2>/dev/null)"
check "a second run with another preset is refused (configuration differs)" \
  bash -c "! '$PARLEY' run '$TMP/in/noisy.wav' -o '$out' -j 1 --no-progress --set lid.language=en >/dev/null 2>&1"

out="$TMP/a2"
echo '{"preset": "call", "lid": {"language": "en"}}' >"$TMP/call.json"
limit 300 "$PARLEY" run "$TMP/in/noisy.wav" -o "$out" -j 1 --no-progress --pipeline-config "$TMP/call.json" \
  --stt "openai+$FAKE_URL/v1" >"$out.log" 2>&1
check "{\"preset\": \"call\"} in a configuration file selects the call stages ($(stages_done "$out"))" \
  test "$(stages_done "$out")" = "decode,ivr,vad,diarize,lid,stt,words,metrics"
"$PARLEY" submit "$TMP/in" --store "$TMP/sub/parley.db" --preset call --denoise >"$TMP/sub.log" 2>&1
check "submit --preset call --denoise exits 0" test $? -eq 0
check "the batch stores the preset's stages plus denoise" \
  test "$(sqlite3 "$TMP/sub/parley.db" "select pipeline from batches")" = "decode,ivr,denoise,vad,diarize,lid,stt,words,metrics"
"$PARLEY" submit "$TMP/in" --store "$TMP/sub2/parley.db" --preset meeting >"$TMP/sub2.log" 2>&1
check "an unknown preset is a usage error naming the known ones" \
  bash -c "test $? -eq 2 && grep -q 'not a preset (known: call' '$TMP/sub2.log'"

# a stereo call: each channel denoised; the preset makes the channels the speakers
python3 "$ROOT/tests/gen/gen_call.py" --out "$REF/call" --name stereo --seed 5 --channels 2 \
  --minutes 0.4 --ringback 0 --snr 10 --quiet || { notok "generate a stereo call"; exit 1; }
out="$TMP/a3"
limit 300 "$PARLEY" run "$REF/call/stereo.wav" -o "$out" -j 1 --no-progress --preset call --denoise \
  --stt "openai+$FAKE_URL/v1" >"$out.log" 2>&1
st=$?
check "run --preset call --denoise on a stereo call exits 0 (status $st)" test $st -eq 0
[ $st -eq 0 ] || sed 's/^/# /' "$out.log" | tail -20
d=$(rec_dir "$out" stereo)
check "every channel denoised (audio.ch0/ch1.denoised.wav)" \
  test -s "$d/audio.ch0.denoised.wav" -a -s "$d/audio.ch1.denoised.wav"
roles=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))
print(",".join(sorted("%s/%s" % (s.get("role"), s.get("channel")) for s in t["speakers"])))' "$out/stereo/transcript.json")
check "the preset's channels.mode separate: speakers by channel with roles ($roles)" \
  test "$roles" = "agent/0,customer/1"
check "the stored configuration says channels.mode separate and the preset" \
  grep -q '"preset": *"call"' <(sqlite3 "$out/parley.db" "select config from batches")

# ---- b. the remote denoise engine
out="$TMP/b"
limit 300 "$PARLEY" run "$TMP/in/noisy.wav" -o "$out" -j 1 --no-progress --stages decode,denoise,vad \
  --set "denoise.engine=$FAKE_URL/mode/gain=0.5/denoise" >"$out.log" 2>&1
check "run with the remote denoise engine exits 0" test $? -eq 0
d=$(rec_dir "$out" noisy)
peaks=$(python3 -c 'import sys,wave,struct
def peak(p):
    w=wave.open(p); b=w.readframes(w.getnframes()); return max(abs(x) for x in struct.unpack("<%dh" % (len(b)//2), b))
print(round(peak(sys.argv[2]) / peak(sys.argv[1]), 2))' "$d/audio.wav" "$d/audio.denoised.wav")
check "audio.denoised.wav is the server's answer (peak ratio $peaks, server gain 0.5)" test "$peaks" = "0.5"

out="$TMP/b2" # submit + worker: PARLEY_MAX_ATTEMPTS=1 (no recording-level retries to wait for)
"$PARLEY" submit "$TMP/in" --store "$out/parley.db" --pipeline decode,denoise,vad \
  --set "denoise.engine=$FAKE_URL/mode/fail_over=20/denoise" --set denoise.timeout=10 >"$out.log" 2>&1 &&
  PARLEY_MAX_ATTEMPTS=1 limit 300 "$PARLEY" worker --store "$out/parley.db" -j 1 >>"$out.log" 2>&1
check "submit and worker with a server failing one recording exit 0" test $? -eq 0
long_name=longer short_name=noisy
if python3 -c 'import sys,wave; a=wave.open(sys.argv[1]); b=wave.open(sys.argv[2]); sys.exit(0 if a.getnframes() > b.getnframes() else 1)' "$REF/noisy.wav" "$REF/longer.wav"; then
  long_name=noisy short_name=longer
fi
status_of() { sqlite3 "$1/parley.db" "select status from recordings where name = '$2'"; }
check "the recording the server failed is failed, the other done ($(status_of "$out" $long_name)/$(status_of "$out" $short_name))" \
  test "$(status_of "$out" $long_name)/$(status_of "$out" $short_name)" = "failed/done"
err=$(sqlite3 "$out/parley.db" "select error from recordings where name = '$long_name'")
check "the failure names the recording, the denoise server and its error ($err)" \
  grep -q "$long_name: audio.wav: gave up after 5 attempts: denoise $FAKE_URL/mode/fail_over=20/denoise: HTTP 500: denoise model crashed (fake)" <<<"$err"

out="$TMP/b3"
"$PARLEY" submit "$TMP/in/noisy.wav" --store "$out/parley.db" --pipeline decode,denoise \
  --set "denoise.engine=$FAKE_URL/mode/notaudio/denoise" >"$out.log" 2>&1 &&
  PARLEY_MAX_ATTEMPTS=1 limit 300 "$PARLEY" worker --store "$out/parley.db" -j 1 >>"$out.log" 2>&1
check "a reply that is not audio fails the recording, saying so" \
  grep -q 'the reply is not audio' <<<"$(sqlite3 "$out/parley.db" "select error from recordings")"

# ---- c. lid detected by a server; flagged, not failed; the stt hint
out="$TMP/c"
limit 300 "$PARLEY" run "$TMP/in/noisy.wav" -o "$out" -j 1 --no-progress --preset call \
  --stt "openai+$FAKE_URL/mode/lang=ms/v1" --set stt.language= --set lid.expected=en >"$out.log" 2>&1
check "a call in an unexpected language is done, not failed (status $?)" test $? -eq 0
check "transcript.json: detected language flagged ($(lang_of "$out/noisy/transcript.json"))" \
  test "$(lang_of "$out/noisy/transcript.json")" = "ms engine False 0.0"
check "call_language row in the store" \
  test "$(sqlite3 "$out/parley.db" "select code || ',' || source || ',' || expected from call_language")" = "ms,engine,0"
loud_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics"]["call"].get("loudness_lufs"))' "$1"; }
la=$(loud_of "$TMP/a/noisy/transcript.json") lc=$(loud_of "$out/noisy/transcript.json")
check "the call's loudness is the original audio's, denoised or not ($la and $lc LUFS)" \
  bash -c "test '$la' = '$lc' -a '$la' != None"
hints=$(fake_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["language_hints"].get("ms", 0))')
check "the stt stage sent the detected language as its hint ($hints requests)" test "$hints" -gt 0

out="$TMP/c2"
limit 300 "$PARLEY" run "$TMP/in/noisy.wav" -o "$out" -j 1 --no-progress --stages decode,vad,diarize,lid \
  --set stt.language=en >"$out.log" 2>&1
check "pocketsphinx reports no language: stt.language stands ($(sqlite3 "$out/parley.db" "select code || ',' || source from call_language"))" \
  test "$(sqlite3 "$out/parley.db" "select code || ',' || source || ',' || expected from call_language")" = "en,config,1"

out="$TMP/c3"
limit 300 "$PARLEY" run "$TMP/in/noisy.wav" -o "$out" -j 1 --no-progress --stages decode,vad,diarize,lid \
  --set "lid.engine=whispercpp+$FAKE_URL/mode/lang=ta" --set lid.expected=en,ta >"$out.log" 2>&1
check "lid.engine (whisper.cpp) detects with its probability ($(sqlite3 "$out/parley.db" "select code || ',' || source || ',' || confidence || ',' || expected from call_language"))" \
  test "$(sqlite3 "$out/parley.db" "select code || ',' || source || ',' || confidence || ',' || expected from call_language")" = "ta,engine,0.93,1"

# ---- d. stt.denoise_below: the recogniser gets denoised audio when the
# recording's SNR estimate is below it (the noisy file, pink 5 dB), the
# original otherwise (the clean one); 0 = never, not even estimated
out="$TMP/d"
limit 300 "$PARLEY" run "$TMP/in" -o "$out" -j 1 -v --no-progress --stages decode,vad,diarize,stt,words \
  --stt "openai+$FAKE_URL/v1" --set stt.denoise_below=18 >"$out.log" 2>&1
st=$?
check "run with stt.denoise_below=18 exits 0 (status $st)" test $st -eq 0
check "the noisy recording is recognised denoised ($(grep -o 'noisy: SNR estimate [0-9.]* dB' "$out.log"))" \
  grep -q 'stt: noisy: SNR estimate [0-9.]* dB, below stt.denoise_below: recognising denoised audio' "$out.log"
check "the clean one is not ($(grep -o 'longer: SNR estimate [0-9.]* dB' "$out.log"))" \
  bash -c "grep -q 'stt: longer: SNR estimate [0-9.]* dB\$' '$out.log'"
check "no denoised file is written (only the recogniser's copy is denoised)" \
  test -z "$(find "$out/data" -name '*.denoised.wav')"
seg_of() { # OUT NAME: the stt stage's "recognised denoised" segments of NAME
  sqlite3 "$1/parley.db" "select count(*) from segments s join recordings r on r.id = s.recording_id
    where r.name = '$2' and s.kind = 'stt_denoised'"
}
counted_of() { # OUT NAME: targets counted in NAME
  sqlite3 "$1/parley.db" "select coalesce(sum(c.count), 0) from word_counts c
    join recordings r on r.id = c.recording_id where r.name = '$2'"
}
check "stored: noisy recognised denoised, the clean one not ($(seg_of "$out" noisy)/$(seg_of "$out" longer))" \
  test "$(seg_of "$out" noisy)/$(seg_of "$out" longer)" = "1/0"
# The lexicon's pass-share test (background's PASS) applies to recordings
# recognised on their original audio only. With PASS 0.9 (a recording needs
# 29 targets when every one heard passes) the clean one counts none of what
# it counted without it; the denoised one (not found in the truth once
# denoised, so a second fake server answers it with targets of which about
# half pass, far below 0.9) still counts.
sed 's/^background .*/background 30 0.05 2 0.9/' "$ROOT/data/lexicon/singlish.lex" >"$TMP/pass.lex"
mkdir -p "$TMP/srv2"
python3 "$ROOT/tests/servers/fake_engines.py" --port-file "$TMP/srv2/fake.port" --truth "$REF" \
  --unknown-text "aiyo so late lah walao shiok already sia" >"$TMP/srv2/fake.log" 2>&1 &
FAKE2_PID=$!
for ((i = 0; i < 200; i++)); do [ -s "$TMP/srv2/fake.port" ] && break; sleep 0.05; done
out3="$TMP/d3"
limit 300 "$PARLEY" run "$TMP/in" -o "$out3" -j 1 --no-progress --stages decode,vad,diarize,stt,words \
  --stt "openai+http://127.0.0.1:$(cat "$TMP/srv2/fake.port")/v1" --set stt.denoise_below=18 \
  --lexicon "$TMP/pass.lex" >"$out3.log" 2>&1
st=$?
kill "$FAKE2_PID" 2>/dev/null; wait "$FAKE2_PID" 2>/dev/null
c_longer=$(counted_of "$out" longer)
p_noisy=$(counted_of "$out3" noisy) p_longer=$(counted_of "$out3" longer)
check "PASS 0.9: the denoised recording counts ($p_noisy), the original one's $c_longer targets go ($p_longer) (status $st)" \
  test $st -eq 0 -a "$c_longer" -gt 0 -a "$p_noisy" -gt 0 -a "$p_longer" = 0
# The per-hour part of the background test needs the recording's duration,
# which the decode stage stores after the worker leased the recording: the
# words stage reads it back (it used the lease's copy, still 0 when the
# stages ran in one go, and so passed every recording). At 10000 targets
# per hour the clean recording's targets are what the background explains.
sed 's/^background .*/background 10000 0.05 2/' "$ROOT/data/lexicon/singlish.lex" >"$TMP/rate.lex"
out4="$TMP/d4"
limit 300 "$PARLEY" run "$TMP/in" -o "$out4" -j 1 -v --no-progress --stages decode,vad,diarize,stt,words \
  --stt "openai+$FAKE_URL/v1" --set stt.denoise_below=18 --lexicon "$TMP/rate.lex" >"$out4.log" 2>&1
st=$?
why=$(grep -o 'words: longer: [0-9]* target words\? of [0-9]* heard in [0-9]* s of audio' "$out4.log")
check "background at 10000/h: the clean recording's $c_longer targets go ($(counted_of "$out4" longer); $why) (status $st)" \
  bash -c "test $st -eq 0 -a '$(counted_of "$out4" longer)' = 0 && echo '$why' | grep -q ' in [1-9][0-9]* s of audio'"
out="$TMP/d2"
limit 300 "$PARLEY" run "$TMP/in/noisy.wav" -o "$out" -j 1 -v --no-progress --stages decode,vad,diarize,stt \
  --stt "openai+$FAKE_URL/v1" --set stt.denoise_below=0 >"$out.log" 2>&1
st=$?
check "stt.denoise_below=0: no estimate, no denoising (status $st)" \
  bash -c "test $st -eq 0 && ! grep -q 'SNR estimate' '$out.log'"
