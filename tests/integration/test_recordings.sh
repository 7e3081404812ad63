#!/usr/bin/env bash
# test_recordings.sh — issue 15's recording routes over real HTTP on
# 127.0.0.1 (docs/api.md "Recordings"): GET /v1/recordings/{rid} (one
# recording's story) and GET /v1/recordings/{rid}/audio (its decoded WAV with
# Range). One short generated stereo call (ringback, DTMF, hold music) in an
# audit batch (preset audit, a phrase and a metric question, one rule) and
# the same audio as a session's only chunk, processed by one worker; then:
#   - the operator's view of the call: every stage done, speakers with
#     roles, call events (ringback, DTMF, hold), words with times and
#     speakers, target words marked, metrics, answers with evidence times,
#     the verdict with the rules that fired;
#   - the session's recording: visible to its owner, a participant and an
#     admin with the speakers' samples and claims; 404 to another user and to
#     an operator (not a session member), exactly like a missing id;
#   - the call's recording: 404 to a plain user; ids validated (400);
#   - audio: 200 audio/wav with Accept-Ranges, 206 with Content-Range for a
#     range, 416 past the end; 409 for a recording not decoded yet.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/serve.sh"
unset PARLEY_CONFIG PARLEY_STORE PARLEY_QUEUE PARLEY_QUEUE_PREFIX PARLEY_DATA PARLEY_TEST_FAULTS

OUT="$TMP/out"
DATA="$TMP/data"
mkdir -p "$OUT" "$DATA"
SERVER_PID= W_PID=
rec_cleanup() {
  local p
  for p in "$W_PID" "$SERVER_PID"; do
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  cleanup
}
trap rec_cleanup EXIT

req() {  # NAME METHOD PATH TOKEN [curl args...] — body in $OUT/NAME, headers in $OUT/NAME.h; prints the status
  local name=$1 method=$2 path=$3 tok=$4; shift 4
  curl -s --max-time 60 -X "$method" -D "$OUT/$name.h" -o "$OUT/$name" -w '%{http_code}' \
    -H "Authorization: Bearer $tok" "$@" "$BASE$path"
}
js() { jq -r "$2" "$OUT/$1"; }
is() { [ "$1" = "$2" ]; }
hdr() { tr -d '\r' <"$OUT/$1.h" | sed -n "s/^$2: //Ip" | head -1; }

# ---- one short stereo call (cached like the other call tests) --------------------
CALLS=${PARLEY_CALLS_CACHE:-$ROOT/build/calls-it}
mkdir -p "$CALLS"
GENV=$(sha256sum "$ROOT/tests/gen/gen_call.py" "$ROOT/tests/gen/gen_conversation.py" | sha256sum | cut -c1-12)
args="--seed 71 --channels 2 --ringback 1 --dtmf 2 --hold 6 --minutes 0.3 --singlish 0.6"
key=$(echo "$GENV $args" | sha256sum | cut -c1-12)
CALL="$CALLS/rec-$key.wav"
if [ ! -s "$CALL" ]; then
  # shellcheck disable=SC2086
  python3 "$ROOT/tests/gen/gen_call.py" --out "$CALLS" --name "rec-$key" \
    --cache-dir "$PARLEY_GEN_CACHE" --quiet $args || { notok "generate the call"; exit 1; }
fi
check "a generated stereo call ($(soxi -D "$CALL" 2>/dev/null || echo '?') s)" test -s "$CALL"

# ---- users and the server ---------------------------------------------------------
ST=(--store "$DATA/parley.db" --data "$DATA")
OP=$(user_token op --operator "${ST[@]}")
ANA=$(user_token ana "${ST[@]}")
BOB=$(user_token bob "${ST[@]}")
ADM=$(user_token root --admin "${ST[@]}")
check "four users (operator, two users, admin)" test -n "$OP" -a -n "$ANA" -a -n "$BOB" -a -n "$ADM"
serve_start "$TMP/serve.log" --no-workers --threads 4 "${ST[@]}"
check "parley serve listens ($BASE)" test -n "$BASE"
[ -n "$BASE" ] || exit 1

# ---- the audit batch: a phrase question (evidence: quoted words with times),
#      a metric question, one rule ----------------------------------------------
jq -n '{name: "rec", preset: "audit",
  questionnaire: {version: 1, name: "rec", questions: [
    {id: "greeting", type: "yes_no", text: "Did anyone say hello or thanks?",
     phrases: {any: ["hello", "hi", "thank*", "thanks", "lah", "okay", "yes", "the"]}},
    {id: "share", type: "number", text: "The agent share of the talk",
     metric: {metric: "talk_share", scope: "agent"}}]},
  rules: "rule talked pass when metric.agent.talk_share > 1% because \"the agent talked\";"}' \
  >"$TMP/create.json"
check "POST /v1/batches (preset audit) is 201" \
  is "$(req create POST /v1/batches "$OP" -H "Content-Type: application/json" --data-binary "@$TMP/create.json")" 201
BID=$(js create .id)
check "PUT the call is 201" is "$(req up PUT "/v1/batches/$BID/files/call.wav" "$OP" --data-binary "@$CALL")" 201
RID=$(js up .recording)

# Before start: the recording exists, nothing decoded yet.
check "before processing: the view is 200 with status pending and no audio_url" \
  eval 'is "$(req v0 GET /v1/recordings/$RID "$OP")|$(js v0 .status)|$(js v0 .audio_url)|$(js v0 .kind)" "200|pending|null|batch"'
check "before processing: the audio is 409 conflict" \
  eval 'is "$(req a0 GET /v1/recordings/$RID/audio "$OP")|$(js a0 .error.code)" "409|conflict"'
check "POST start is 202" is "$(req start POST "/v1/batches/$BID/start" "$OP")" 202

# ---- a session with the same audio as its only chunk ------------------------------
check "ana creates a session" is "$(req s POST /v1/sessions "$ANA" -H "Content-Type: application/json" -d '{"title":"rec test"}')" 201
SID=$(js s .id)
CODE=$(js s .join_code)
check "ana uploads the call as chunk 0" is "$(req c0 PUT "/v1/sessions/$SID/chunks/0" "$ANA" -H "Content-Type: audio/wav" --data-binary "@$CALL")" 201
check "ana ends the session; the view names no recording until then, then one" \
  eval 'is "$(js s .recording)|$(req e POST /v1/sessions/$SID/end "$ANA")|$(js e ".recording | type")" "null|202|number"'
SRID=$(js e .recording)

# ---- one worker processes both -----------------------------------------------------
limit 300 "$PARLEY" worker -j 1 "${ST[@]}" >"$TMP/worker.log" 2>&1
check "the worker processed both recordings (exit 0)" test $? -eq 0
check "the call is done" eval 'is "$(req v GET /v1/recordings/$RID "$OP")|$(js v .status)" "200|done"'
check "the session's recording is done" eval 'is "$(req sv GET /v1/recordings/$SRID "$ANA")|$(js sv .status)" "200|done"'

# ---- the call's view -------------------------------------------------------------------
check "view: kind batch, its batch named, audit version 1, no session" \
  is "$(js v '"\(.kind)|\(.batch.id)|\(.batch.name)|\(.batch.audit_version)|\(.session)"')" "batch|$BID|rec|1|null"
check "view: name call.wav, a duration, audio_url /v1/recordings/$RID/audio" \
  is "$(js v '"\(.name)|\(.duration > 10)|\(.audio_url)"')" "call.wav|true|/v1/recordings/$RID/audio"
check "view: every stage of the pipeline listed and done ($(js v '[.stages[].stage] | join(",")'))" \
  is "$(js v '[.stages[] | select(.status != "done")] | length')|$(js v '.stages | length > 4')" "0|true"
check "view: two speakers numbered from 1, with roles agent and customer by channel" \
  is "$(js v '[.speakers[] | "\(.speaker):\(.role):\(.channel)"] | sort | join(",")')" "1:agent:0,2:customer:1"
check "view: call events include the ringback, DTMF and hold ($(js v '[.events[].kind] | unique | join(",")'))" \
  is "$(js v '[.events[].kind] | (index("ringback") != null) and (index("dtmf") != null) and (index("hold") != null or index("music") != null)')" true
check "view: turns and spans have start < end, speakers from 1" \
  is "$(js v '[(.turns[], .spans[], .events[]) | select(.start > .end)] | length')|$(js v '[.turns[].speaker] | unique | map(tostring) | join(",")')" "0|1,2"
check "view: transcribed, words in time with start <= end and a speaker and confidence" \
  is "$(js v '.transcribed')|$(js v '.words | length > 10')|$(js v '[.words[] | select(.start > .end or .speaker == null or .confidence == null)] | length')" "true|true|0"
check "view: the lexicon's targets listed; target words marked (target, counted)" \
  is "$(js v '.targets | index("lah") != null')|$(js v '[.words[] | select(.target) | select(.counted | type != "boolean")] | length')" "true|0"
check "view: metrics per scope (call talk_time, agent talk_share)" \
  is "$(js v '(.metrics.call.talk_time > 0) and (.metrics.agent.talk_share > 0)')" true
check "view: two answers with the question's text; the phrase answer yes with quoted words and times" \
  is "$(js v '.audit.answers | length')|$(js v '.audit.answers[0] | "\(.question)|\(.text)|\(.answer)|\(.source)|\(.evidence | length > 0)|\(.evidence[0].start <= .evidence[0].end)"')" \
  "2|greeting|Did anyone say hello or thanks?|yes|phrase|true|true"
check "view: the metric answer carries the metric value as evidence" \
  is "$(js v '.audit.answers[1] | "\(.source)|\(.evidence[0].metric)"')" "metric|talk_share"
check "view: the verdict pass with the rule that fired" \
  is "$(js v '.audit.verdict | "\(.verdict)|\([.reasons[].rule] | join(","))"')" "pass|talked"

# ---- the session's recording: visibility --------------------------------------------
check "session recording, owner: kind session, the session's id, speakers with sample URLs and claims" \
  is "$(js sv '"\(.kind)|\(.session.id)|\(.batch)|\(.session.speakers | length > 0)|\([.session.speakers[] | select(.sample_url == null)] | length)|\(.session.speakers[0].claimed_by)"')" \
  "session|$SID|null|true|0|null"
check "session recording: words and audio, no audit" \
  is "$(js sv '"\(.words | length > 10)|\(.audio_url)|\(.audit)"')" "true|/v1/recordings/$SRID/audio|null"
req missing GET /v1/recordings/999999 "$ANA" >/dev/null
MISSING=$(sed "s/999999/$SRID/" "$OUT/missing")
check "session recording, another user: 404 with exactly the body of a missing id" \
  eval 'is "$(req sb GET /v1/recordings/$SRID "$BOB")|$(cat "$OUT/sb")" "404|$MISSING"'
check "session recording, an operator who is no member: 404" \
  is "$(req so GET "/v1/recordings/$SRID" "$OP")" 404
check "session recording: its audio is 404 to the other user too" \
  is "$(req sba GET "/v1/recordings/$SRID/audio" "$BOB")" 404
check "bob joins with the code; then he sees it (200)" \
  eval 'is "$(req j POST /v1/sessions/$SID/join "$BOB" -H "Content-Type: application/json" -d "{\"code\":\"$CODE\"}")|$(req sb2 GET /v1/recordings/$SRID "$BOB")" "200|200"'
check "ana claims speaker 1: the view shows the claim" \
  eval 'is "$(req cl POST /v1/sessions/$SID/speakers/1/claim "$ANA")|$(req sv2 GET /v1/recordings/$SRID "$ANA")|$(js sv2 ".session.speakers[] | select(.speaker == 1) | .claimed_by")" "200|200|ana"'
check "an admin sees the session recording and the call" \
  eval 'is "$(req sa GET /v1/recordings/$SRID "$ADM")|$(req va GET /v1/recordings/$RID "$ADM")" "200|200"'
check "the call's recording: 404 to a plain user (view and audio)" \
  eval 'is "$(req vb GET /v1/recordings/$RID "$ANA")|$(req vba GET /v1/recordings/$RID/audio "$ANA")" "404|404"'
check "ids: 0, 012, abc and 13 digits are 400 invalid; without a token 401" \
  eval 'is "$(req i1 GET /v1/recordings/0 "$OP")|$(req i2 GET /v1/recordings/012 "$OP")|$(req i3 GET /v1/recordings/abc/audio "$OP")|$(req i4 GET /v1/recordings/1000000000000 "$OP")|$(js i3 .error.code)|$(curl -s -o /dev/null -w "%{http_code}" "$BASE/v1/recordings/$RID")" "400|400|400|400|invalid|401"'

# ---- audio with Range ---------------------------------------------------------------
check "audio: 200 audio/wav, Accept-Ranges: bytes, a RIFF/WAVE file" \
  eval 'is "$(req a GET /v1/recordings/$RID/audio "$OP")|$(hdr a Content-Type)|$(hdr a Accept-Ranges)|$(head -c 4 "$OUT/a")|$(dd if="$OUT/a" bs=1 skip=8 count=4 2>/dev/null)" "200|audio/wav|bytes|RIFF|WAVE"'
SIZE=$(stat -c %s "$OUT/a")
check "audio: 16 kHz mono, as long as the view's duration" \
  is "$(soxi -r "$OUT/a")|$(soxi -c "$OUT/a")|$(awk -v a="$(soxi -D "$OUT/a")" -v b="$(js v .duration)" 'BEGIN { d = a - b; print (d < 0.05 && d > -0.05) }')" "16000|1|1"
check "audio: Range bytes=100-199 is 206, 100 bytes, Content-Range bytes 100-199/$SIZE, the same bytes" \
  eval 'is "$(req ar GET /v1/recordings/$RID/audio "$OP" -H "Range: bytes=100-199")|$(stat -c %s "$OUT/ar")|$(hdr ar Content-Range)|$(cmp -s "$OUT/ar" <(tail -c +101 "$OUT/a" | head -c 100) && echo same)" "206|100|bytes 100-199/$SIZE|same"'
check "audio: a suffix range bytes=-1000 is the last 1000 bytes" \
  eval 'is "$(req as GET /v1/recordings/$RID/audio "$OP" -H "Range: bytes=-1000")|$(hdr as Content-Range)" "206|bytes $((SIZE - 1000))-$((SIZE - 1))/$SIZE"'
check "audio: a range past the end is 416 with Content-Range bytes */$SIZE" \
  eval 'is "$(req au GET /v1/recordings/$RID/audio "$OP" -H "Range: bytes=$SIZE-")|$(hdr au Content-Range)" "416|bytes */$SIZE"'
check "audio: the session recording's audio for a participant (200)" \
  is "$(req sa2 GET "/v1/recordings/$SRID/audio" "$BOB")" 200
check "samples still serve Range through the shared code (206)" \
  is "$(req smp GET "/v1/sessions/$SID/speakers/1/sample" "$ANA" -H "Range: bytes=0-43")|$(hdr smp Content-Range | cut -d/ -f1)" "206|bytes 0-43"
check "parley serve is still running" kill -0 "$SERVER_PID"
