#!/usr/bin/env bash
# Remote speech-to-text engines against a real HTTP server in the test tree
# (tests/servers/fake_engines.py) answering generated conversations with their
# scripted words:
#   a. `parley run --stt openai+…` and `whispercpp+…`, per turn and per file:
#      the server's words in transcript.json, attributed to the diarized
#      speakers; the engine named in transcript.json; a server giving no word
#      times: every word marked "approximate";
#   b. an exec: engine (a command printing JSON words) and an exec: diarizer
#      (a command printing RTTM);
#   c. permanent errors (400, 401) fail fast with the server's message;
#   d. 200 short recordings against a server failing 30% of requests (500,
#      429 with Retry-After, malformed JSON, truncated body, reset
#      connection): every recording done, every stage done once, no word
#      lost or doubled;
#   e. the API key (sent from the variable --api-key-env names) appears in no
#      store, event, log or output;
#   f. `parley engines check` against the server: words, word timestamps,
#      language, an LLM that enforces the schema, ignores it, or fixes its
#      answer on the retry; a timeout and a 401 reported.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/fake_engines.sh"
unset PARLEY_CONFIG PARLEY_STORE PARLEY_QUEUE PARLEY_DATA
trap 'fake_stop; cleanup' EXIT

KEY="sk-parley-test-$RANDOM$RANDOM-secret"
export PARLEY_TEST_STT_KEY=$KEY

REF="$TMP/ref"
$GEN --out "$REF" --name two --speakers 2 --turns 6 --seed 3 --quiet || { notok "generate two"; exit 1; }
$GEN --out "$REF" --name three --speakers 3 --turns 7 --seed 4 --quiet || { notok "generate three"; exit 1; }
for s in 11 12 13 14; do
  $GEN --out "$REF" --name "short$s" --speakers 2 --turns 2 --seed "$s" --pause-min 0.3 --quiet ||
    { notok "generate short$s"; exit 1; }
done
CLIP="the quick brown fox jumps over the lazy dog walao the hawker centre is so crowded lah"
fake_start "$TMP/srv" --truth "$REF" --api-key "$KEY" --unknown-text "$CLIP" || { notok "start the fake engine server"; exit 1; }
ok "fake engine server on port $FAKE_PORT"
mkdir -p "$TMP/in" && cp "$REF/two.wav" "$REF/three.wav" "$TMP/in/"

# ---- a. both dialects, both units
for engine in openai whispercpp; do
  for unit in turn file; do
    out="$TMP/out-$engine-$unit"
    limit 300 "$PARLEY" run "$TMP/in" -o "$out" -j 2 --no-progress --stt "$engine+$FAKE_URL" \
      --stt-unit "$unit" --api-key-env PARLEY_TEST_STT_KEY --set stt.language=en >"$out.log" 2>&1
    st=$?
    check "run with $engine, unit $unit exits 0 (status $st)" test $st -eq 0
    for n in two three; do
      python3 "$ROOT/tests/integration/check_remote_words.py" "$out" $n "$REF/$n.json" \
        --engine $engine --label "$engine/$unit/$n"
    done
  done
done
check "transcript.json names the unit" grep -Eq "\"unit\": ?\"file\"" "$TMP/out-openai-file/two/transcript.json"
located=$(fake_stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["not_located"], d["auth_bad"])')
check "every posted piece was found in the known audio, with the right key ($located)" test "$located" = "0 0"

# ---- a2. `parley worker` on a batch submitted with that configuration
out="$TMP/batch"
"$PARLEY" submit "$TMP/in" --store "$out/parley.db" --stt "openai+$FAKE_URL" --stt-unit file \
  --api-key-env PARLEY_TEST_STT_KEY >"$out.log" 2>&1
check "submit with a remote engine exits 0" test $? -eq 0
limit 300 "$PARLEY" worker --store "$out/parley.db" -j 2 >>"$out.log" 2>&1
check "parley worker on that batch exits 0" test $? -eq 0
"$PARLEY" export default --store "$out/parley.db" -o "$out/export" >>"$out.log" 2>&1
check "export exits 0" test $? -eq 0
for n in two three; do
  python3 "$ROOT/tests/integration/check_remote_words.py" "$out/export" $n "$REF/$n.json" \
    --engine openai --label "worker/$n"
done
check "the batch's stored configuration names the key's variable, not the key" \
  grep -q '"api_key_env": *"PARLEY_TEST_STT_KEY"' <(sqlite3 "$out/parley.db" "select config from batches")

# ---- a3. a server without word times: the segment's time spread over its
# words, each marked "approximate" in transcript.json (and no word marked when
# the server gave word times)
out="$TMP/out-nowords"
limit 300 "$PARLEY" run "$TMP/in/two.wav" -o "$out" -j 1 --no-progress \
  --stt "openai+$FAKE_URL/mode/nowords/v1" --api-key-env PARLEY_TEST_STT_KEY >"$out.log" 2>&1
check "run against a server without word times exits 0" test $? -eq 0
approx=$(python3 -c '
import json, sys
w = json.load(open(sys.argv[1]))["words"]
print(len(w), sum(x.get("approximate") is True for x in w), sum("approximate" in x for x in w))
' "$out/two/transcript.json" 2>&1)
read -r nw na nk <<<"$approx"
check "without word times: words kept, every one approximate ($approx)" \
  test "${nw:-0}" -gt 0 -a "$na" = "$nw" -a "$nk" = "$nw"
exact=$(python3 -c '
import json, sys
print(sum("approximate" in x for x in json.load(open(sys.argv[1]))["words"]))
' "$TMP/out-openai-turn/two/transcript.json" 2>&1)
check "with word times: no word marked approximate ($exact)" test "$exact" = 0

# ---- b. an exec: engine (a command printing JSON words for the audio path)
cat >"$TMP/asr.sh" <<EOF
#!/bin/sh
# prints the words of the piece by asking the fake server (any program will do)
curl -s -H "Authorization: Bearer \$PARLEY_TEST_STT_KEY" -F "file=@\$1" -F response_format=verbose_json \
  -F 'timestamp_granularities[]=word' $FAKE_URL/v1/audio/transcriptions
EOF
chmod +x "$TMP/asr.sh"
limit 300 "$PARLEY" run "$TMP/in/two.wav" -o "$TMP/out-exec" -j 1 --no-progress \
  --stt "exec:$TMP/asr.sh" >"$TMP/out-exec.log" 2>&1
check "run with an exec: engine exits 0" test $? -eq 0
python3 "$ROOT/tests/integration/check_remote_words.py" "$TMP/out-exec" two "$REF/two.json" --engine exec

# ---- b1. an exec: engine giving a segment without word times, whose
# "wah lau" the words stage merges into walao: the merged word stays approximate
cat >"$TMP/asr-seg.sh" <<'EOF2'
#!/bin/sh
echo '{"text": "ok wah lau lah", "segments": [{"start": 0.0, "end": 0.8, "text": "ok wah lau lah"}]}'
EOF2
chmod +x "$TMP/asr-seg.sh"
limit 300 "$PARLEY" run "$TMP/in/two.wav" -o "$TMP/out-seg" -j 1 --no-progress \
  --stt "exec:$TMP/asr-seg.sh" >"$TMP/out-seg.log" 2>&1
check "run with an exec: engine without word times exits 0" test $? -eq 0
merged=$(python3 -c '
import json, sys
w = json.load(open(sys.argv[1]))["words"]
print(sum(x["word"] == "walao" and x.get("approximate") is True for x in w),
      sum(x["word"] in ("wah", "lau") for x in w), sum(x.get("approximate") is not True for x in w))
' "$TMP/out-seg/two/transcript.json" 2>&1)
read -r nm nparts nexact <<<"$merged"
check "\"wah lau\" merged into walao, approximate (walao, parts left, not approximate: $merged)" \
  test "${nm:-0}" -gt 0 -a "$nparts" = 0 -a "$nexact" = 0

# ---- b2. an exec: diarizer (prints RTTM; here the script's own turns)
limit 300 "$PARLEY" run "$TMP/in/three.wav" -o "$TMP/out-diar" -j 1 --no-progress \
  --stt "openai+$FAKE_URL" --api-key-env PARLEY_TEST_STT_KEY \
  --set "diarize.engine=exec:test -s \"\$1\" && test \$PARLEY_MAX_SPEAKERS = 8 && cat $REF/three.rttm #" \
  >"$TMP/out-diar.log" 2>&1
check "run with an exec: diarizer exits 0" test $? -eq 0
python3 "$ROOT/tests/integration/check_remote_words.py" "$TMP/out-diar" three "$REF/three.json" \
  --min-attrib 1.0 --label "exec diarizer"
check "transcript.json names the exec: diarizer" grep -q '"diarize": *"exec:' "$TMP/out-diar/three/transcript.json"

# ---- c. permanent errors fail fast with the server's message
for mode in 400 401; do
  out="$TMP/out-$mode"
  t0=$(date +%s)
  limit 120 "$PARLEY" run "$TMP/in/two.wav" -o "$out" -j 1 --no-progress \
    --stt "openai+$FAKE_URL/mode/$mode/v1" --api-key-env PARLEY_TEST_STT_KEY >"$out.log" 2>&1
  st=$?
  t1=$(date +%s)
  check "HTTP $mode: the run fails (status $st)" test $st -eq 1
  msg=$([ $mode = 400 ] && echo "model 'nope' does not exist" || echo "Incorrect API key provided")
  check "HTTP $mode: the failure quotes the server ('$msg')" grep -q "$msg" "$out.log"
  err=$(sqlite3 "$out/parley.db" "select error_code || ' ' || attempts from recordings")
  want=$([ $mode = 400 ] && echo "rejected 1" || echo "unauthorized 1")
  check "HTTP $mode: recorded as $want, not retried (got '$err')" test "$err" = "$want"
  check "HTTP $mode: fails fast ($((t1 - t0)) s)" test $((t1 - t0)) -lt 60
done

# ---- d. 200 recordings, 30% of requests failing
mkdir -p "$TMP/many"
for i in $(seq 1 200); do
  s=$((11 + i % 4))
  ln "$REF/short$s.wav" "$TMP/many/r$(printf %03d "$i").wav" 2>/dev/null ||
    cp "$REF/short$s.wav" "$TMP/many/r$(printf %03d "$i").wav"
done
out="$TMP/out-many"
# (retries wait at most 0.05 s: what is checked is that none is lost or doubled)
limit 900 "$PARLEY" run "$TMP/many" -o "$out" -j 2 --no-progress --stt "openai+$FAKE_URL/mode/rate=0.3/v1" \
  --api-key-env PARLEY_TEST_STT_KEY --set stt.timeout=20 --set stt.retry_max_wait=0.05 >"$out.log" 2>&1
st=$?
check "200 recordings against a server failing 30% of requests: exit 0 (status $st)" test $st -eq 0
done_n=$(sqlite3 "$out/parley.db" "select count(*) from recordings where status='done'")
check "every recording done ($done_n of 200)" test "$done_n" = 200
stages=$(sqlite3 "$out/parley.db" "select count(*) || ' ' || sum(status='done') from stage_runs")
check "every stage of every recording done, one row each ($stages)" test "$stages" = "1200 1200"
pairs=()
for i in $(seq 1 200); do
  pairs+=("r$(printf %03d "$i")" "$REF/short$((11 + i % 4)).json")
done
python3 "$ROOT/tests/integration/check_remote_words.py" "$out" "${pairs[@]}" --min-attrib 0 --summary
fails=$(fake_stats | python3 -c 'import json,sys; d=json.load(sys.stdin)["failures"]; print(" ".join(sorted(k for k in d if k not in ("400", "401"))))')
check "the server failed with every kind asked ($fails)" test "$fails" = "429 500 malformed reset truncated"
check "the retries were logged" grep -q "retry 1 of 4" "$out.log"

# ---- e. the key is nowhere
leaks=$(grep -rl -a -- "$KEY" "$TMP" 2>/dev/null | grep -v "/srv/" | grep -v "asr.sh$" || true)
check "the API key appears in no store, event, log or output${leaks:+ (found in $leaks)}" test -z "$leaks"

# ---- f. parley engines check
chk() { # expected-status name args...
  local want=$1 name=$2; shift 2
  limit 120 "$PARLEY" engines check "$@" --api-key-env PARLEY_TEST_STT_KEY >"$TMP/chk-$name.log" 2>&1
  local st=$?
  check "engines check $name: exit $want (got $st)" test $st -eq "$want"
}
if command -v espeak-ng >/dev/null; then
  chk 0 openai "openai+$FAKE_URL"
  check "engines check openai: word timestamps ok" grep -q "ok   word timestamps" "$TMP/chk-openai.log"
  check "engines check openai: language ok" grep -q 'ok   language.*"en"' "$TMP/chk-openai.log"
  chk 0 whispercpp "whispercpp+$FAKE_URL"
  check "engines check whispercpp: the script heard" grep -q "ok   recognition" "$TMP/chk-whispercpp.log"
  chk 1 nowords "openai+$FAKE_URL/mode/nowords/v1"
  check "engines check: a server without word times is reported" \
    grep -q "FAIL word timestamps" "$TMP/chk-nowords.log"
else
  ok "# SKIP engines check of speech to text: no espeak-ng"
fi
chk 1 slow "openai+$FAKE_URL/mode/slow/v1" --timeout 1
check "engines check: a timeout is reported" grep -q "no answer within 1 s" "$TMP/chk-slow.log"
chk 0 llm --llm "openai+$FAKE_URL"
check "engines check --llm: schema enforced" grep -q "ok   schema enforced" "$TMP/chk-llm.log"
chk 1 llm-ignore --llm "openai+$FAKE_URL/mode/ignore_schema/v1"
check "engines check --llm: a server ignoring the schema is caught" \
  grep -q "FAIL schema enforced.*both replies failed" "$TMP/chk-llm-ignore.log"
chk 0 llm-fix --llm "openai+$FAKE_URL/mode/fix_on_retry/v1"
check "engines check --llm: the retry with the validation error is reported" \
  grep -q "warn schema enforced.*the retry with the error did" "$TMP/chk-llm-fix.log"
chk 1 llm-401 --llm "openai+$FAKE_URL/mode/401/v1"
check "engines check --llm: a 401 quotes the server" grep -q "HTTP 401: Incorrect API key" "$TMP/chk-llm-401.log"
leaks=$(grep -l -a -- "$KEY" "$TMP"/chk-*.log 2>/dev/null || true)
check "engines check prints no key" test -z "$leaks"
