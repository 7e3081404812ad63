#!/usr/bin/env bash
# test_events.sh — the dashboard's live figures over real HTTP on 127.0.0.1
# (docs/api.md "Dashboard"): GET /v1/overview (queue, dead letters, workers,
# throughput, stages, batches; a plain user sees no batches or workers) and
# GET /v1/events (server-sent events, read with curl): a batch's progress to
# Completed, queue and workers, sessions only to those who may see them, the
# execution log with ?log= resumed with Last-Event-ID, --max-streams, and one
# look at the store per interval for all streams together.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/serve.sh"

unset PARLEY_CONFIG PARLEY_STORE PARLEY_QUEUE PARLEY_QUEUE_PREFIX PARLEY_DATA PARLEY_TEST_FAULTS

OUT="$TMP/out"
DATA="$TMP/data"
mkdir -p "$OUT" "$DATA"
SERVER_PID=
events_cleanup() {
  [ -n "${EVENTS_KEEP:-}" ] && cp -r "$OUT" "$EVENTS_KEEP"
  serve_stop
  cleanup
}
trap events_cleanup EXIT

req() {  # NAME METHOD PATH [curl args...] — body in $OUT/NAME; prints the status
  local name=$1 method=$2 path=$3; shift 3
  curl -s --max-time 60 -X "$method" -o "$OUT/$name" -D "$OUT/$name.h" -w '%{http_code}' "$@" "$BASE$path"
}
js() { jq -r "$2" "$OUT/$1"; }
is() { [ "$1" = "$2" ]; }
sse() {  # NAME TOKEN PATH [curl args] — a stream in the background into $OUT/NAME
  local name=$1 tok=$2 path=$3; shift 3
  curl -s -N --max-time 60 -H "Authorization: Bearer $tok" "$@" "$BASE$path" >"$OUT/$name" 2>/dev/null &
}
# The data of the last event TYPE in a stream file (one JSON line).
last_data() { awk -v t="event: $2" '$0 == t { getline; sub(/^data: /, ""); d = $0 } END { print d }' "$OUT/$1"; }

ST=(--store "$DATA/parley.db")
TO=$(user_token op --operator "${ST[@]}")
TU=$(user_token joe "${ST[@]}")
TV=$(user_token ann "${ST[@]}")
check "user add: an operator and two plain users" test -n "$TO" -a -n "$TU" -a -n "$TV"
HO="Authorization: Bearer $TO"
HU="Authorization: Bearer $TU"

serve_start "$TMP/serve.log" --no-workers --data "$DATA" --threads 4 --max-streams 3 "${ST[@]}" ||
  { notok "parley serve starts"; exit 1; }
ok "parley serve starts ($BASE)"

# ---- the overview of an empty server ----------------------------------------
check "GET /v1/overview without a token is 401" is "$(req o0 GET /v1/overview)" 401
check "GET /v1/overview (operator): an empty queue, no workers, no batches" \
  eval 'is "$(req o1 GET /v1/overview -H "$HO")|$(js o1 "[.queue.ready, .queue.retrying, .queue.processing, .queue.dead_letters, (.workers|length), (.batches|length)] | map(tostring) | join(\",\")")|$(js o1 .queue.throughput.eta_seconds)" "200|0,0,0,0,0,0|null"'

# ---- a batch: 3 files, one fails at tick3 ------------------------------------
for i in 1 2 3; do
  ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=$((300 * i)):duration=1" -ar 8000 "$TMP/c$i.wav"
done
ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=500:duration=2" -ar 8000 "$TMP/chunk.wav"
# a webhook to a port nobody listens on: its delivery fails and waits for a retry
req b0 POST /v1/batches -H "$HO" -H "Content-Type: application/json" \
  -d '{"name":"live","stages":"noop","webhook":{"url":"http://127.0.0.1:9/hook","secret":"whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ="}}' >/dev/null
BID=$(js b0 .id)
for i in 1 2; do req "f$i" PUT "/v1/batches/$BID/files/c$i.wav" -H "$HO" --data-binary "@$TMP/c$i.wav" >/dev/null; done
req f3 PUT "/v1/batches/$BID/files/bad3.wav" -H "$HO" --data-binary "@$TMP/c3.wav" >/dev/null
check "batch $BID created with 3 files" eval 'is "$(req b1 GET /v1/batches/$BID -H "$HO")|$(js b1 .recordings.total)" "200|3"'

# streams: the operator with the batch's log, a plain user, the operator again
sse s_op "$TO" "/v1/events?log=$BID"
SOP=$!
sse s_user "$TU" "/v1/events"
SUS=$!
sse s_op2 "$TO" "/v1/events"
SOP2=$!
for ((i = 0; i < 100; i++)); do
  grep -q '^event: hello' "$OUT/s_op" && grep -q '^event: hello' "$OUT/s_user" && grep -q '^event: hello' "$OUT/s_op2" && break
  sleep 0.1
done
check "a fourth stream past --max-streams 3 is 503 with Retry-After" \
  eval 'is "$(req e4 GET /v1/events -H "$HO")" 503 && grep -qi "^retry-after:" "$OUT/e4.h"'
check "a plain user's ?log= stream is 404 (as for a batch that does not exist)" \
  is "$(req e5 GET "/v1/events?log=$BID" -H "$HU")" 404
check "?log= of a batch that does not exist is 404; a bad argument 400" \
  eval 'is "$(req e6 GET "/v1/events?log=999999" -H "$HO")|$(req e7 GET "/v1/events?log=x" -H "$HO")" "404|400"'

req st POST "/v1/batches/$BID/start" -H "$HO" >/dev/null
PARLEY_TEST_FAULTS="tick3 permanent bad" limit 120 "$PARLEY_TEST" worker -j 1 -q "${ST[@]}" --data "$DATA" >"$TMP/w1.log" 2>&1
# the streams stay open (until --stream-seconds); stop reading once the
# operator's shows the end of the batch and of its log
for ((i = 0; i < 600; i++)); do
  last_data s_op batch | grep -q CompletedWithErrors && grep -q '3 of 3 recordings finished' "$OUT/s_op" &&
    last_data s_op2 batch | grep -q CompletedWithErrors && grep -q '"dead_letters":1' "$OUT/s_user" && break
  sleep 0.1
done
kill "$SOP" "$SUS" "$SOP2" 2>/dev/null
wait "$SOP" "$SUS" "$SOP2" 2>/dev/null

check "operator stream: hello names the user and the followed log" \
  eval 'last_data s_op hello | jq -e ".user == \"op\" and .log == $BID" >/dev/null'
check "operator stream: the batch went to CompletedWithErrors (2 done, 1 failed) with its stages" \
  eval 'last_data s_op batch | jq -e ".id == $BID and .status == \"CompletedWithErrors\" and .recordings.done == 2 and .recordings.failed == 1 and (.stages|length) == 6" >/dev/null'
check "operator stream: the batch was seen Pending before it ran (progress moves, no reload)" \
  eval 'grep -A1 "^event: batch$" "$OUT/s_op" | grep "^data: " | head -1 | sed "s/^data: //" | jq -e ".status == \"Pending\"" >/dev/null'
check "operator stream: queue (dead letters 1), workers and metrics events" \
  eval 'last_data s_op queue | jq -e ".dead_letters == 1 and .recordings.done == 2" >/dev/null &&
        grep -qx "event: workers" "$OUT/s_op" && last_data s_op metrics | jq -e "(.stages|length) >= 6" >/dev/null'
check "operator stream: the execution log with ids (batch_started, file_error, the last progress)" \
  eval 'for t in batch_started file_error progress; do grep -A1 "^event: log$" "$OUT/s_op" | grep -q "\"type\":\"$t\"" || exit 1; done &&
        [ "$(grep -c "^id: " "$OUT/s_op")" -ge 5 ]'
check "a stream without ?log= has no log events" eval '! grep -qx "event: log" "$OUT/s_op2"'
check "plain user's stream: queue and metrics, but no batch, workers or log" \
  eval 'grep -qx "event: queue" "$OUT/s_user" && grep -qx "event: metrics" "$OUT/s_user" &&
        ! grep -qxE "event: (batch|workers|log)" "$OUT/s_user"'
IDS=$(grep "^id: " "$OUT/s_op" | sed 's/^id: //')
THIRD=$(printf '%s\n' "$IDS" | sed -n 3p)
sse s_resume "$TO" "/v1/events?timeout=2&log=$BID" -H "Last-Event-ID: $THIRD"
wait $!
check "?log= resumes after Last-Event-ID (3 events fewer)" \
  is "$(( $(printf '%s\n' "$IDS" | grep -c .) - 3 ))" "$(grep -c '^id: ' "$OUT/s_resume")"

check "GET /v1/overview (operator): dead letters 1, throughput 2 done in the window, the batch listed" \
  eval 'is "$(req o2 GET /v1/overview -H "$HO")|$(js o2 .queue.dead_letters)|$(js o2 .queue.throughput.recordings)|$(js o2 ".batches[0].id")|$(js o2 ".stages|length")" "200|1|2|$BID|6"'
check "GET /v1/overview (plain user): no batches, workers null, the queue" \
  eval 'is "$(req o3 GET /v1/overview -H "$HU")|$(js o3 ".batches")|$(js o3 ".workers")|$(js o3 .queue.dead_letters)" "200|null|null|1"'

# ---- the results table: filtered and sorted in the store, paged by offset ----
check "results ?sort=name&order=desc&limit=2: total 3, c2 then c1, next_offset 2" \
  eval 'is "$(req r1 GET "/v1/batches/$BID/results?sort=name&order=desc&limit=2" -H "$HO")|$(js r1 .total)|$(js r1 "[.recordings[].name] | join(\",\")")|$(js r1 .next_offset)|$(js r1 ".recordings[0].answers")" "200|3|c2.wav,c1.wav|2|null"'
check "results ?sort=name&offset=2: the last one, no next_offset" \
  eval 'is "$(req r2 GET "/v1/batches/$BID/results?sort=name&order=desc&offset=2&limit=2" -H "$HO")|$(js r2 "[.recordings[].name] | join(\",\")")|$(js r2 .next_offset)" "200|bad3.wav|null"'
check "results ?status=failed: bad3.wav with its error and attempts" \
  eval 'is "$(req r3 GET "/v1/batches/$BID/results?status=failed" -H "$HO")|$(js r3 .total)|$(js r3 ".recordings[0].name")|$(js r3 ".recordings[0].attempts > 0")" "200|1|bad3.wav|true" &&
        js r3 ".recordings[0].error" | grep -q "injected permanent failure"'
check "results ?q=BAD (any case) and ?verdict=none" \
  eval 'is "$(req r4 GET "/v1/batches/$BID/results?q=BAD" -H "$HO")|$(js r4 .total)|$(req r5 GET "/v1/batches/$BID/results?verdict=none" -H "$HO")|$(js r5 .total)" "200|1|200|3"'
check "results: an unknown sort column, order or verdict is 400; sort with after= is 400" \
  eval 'is "$(req r6 GET "/v1/batches/$BID/results?sort=nope" -H "$HO")|$(req r7 GET "/v1/batches/$BID/results?sort=name&order=up" -H "$HO")|$(req r8 GET "/v1/batches/$BID/results?verdict=maybe" -H "$HO")|$(req r9 GET "/v1/batches/$BID/results?sort=name&after=1" -H "$HO")" "400|400|400|400"'
check "results table: a plain user gets 404" is "$(req r10 GET "/v1/batches/$BID/results?sort=name" -H "$HU")" 404

# ---- webhook deliveries and redelivery ---------------------------------------
for ((i = 0; i < 100; i++)); do
  req w0 GET "/v1/batches/$BID/webhooks" -H "$HO" >/dev/null
  [ "$(js w0 '.deliveries[0].attempts')" -ge 1 ] 2>/dev/null && break
  sleep 0.2
done
check "GET webhooks: the endpoint (no secret) and batch.completed, attempted and failed" \
  eval 'is "$(js w0 .webhook.url)|$(js w0 ".deliveries[0].type")|$(js w0 ".deliveries[0].status")" "http://127.0.0.1:9/hook|batch.completed|pending" &&
        [ "$(js w0 ".deliveries[0].last_error")" != null ] && ! grep -q whsec_ "$OUT/w0"'
DID=$(js w0 '.deliveries[0].id')
check "POST webhooks/redeliver: 200 with the event id" \
  eval 'is "$(req w1 POST "/v1/batches/$BID/webhooks/redeliver" -H "$HO" -H "Content-Type: application/json" -d "{\"delivery\":$DID}")|$(js w1 .event_id)" "200|evt_b${BID}_v0_completed"'
check "redeliver: a delivery of no such id is 404, a bad body 400, a plain user 404" \
  eval 'is "$(req w2 POST "/v1/batches/$BID/webhooks/redeliver" -H "$HO" -H "Content-Type: application/json" -d "{\"delivery\":99999}")|$(req w3 POST "/v1/batches/$BID/webhooks/redeliver" -H "$HO" -H "Content-Type: application/json" -d "{\"delivery\":\"x\"}")|$(req w4 GET "/v1/batches/$BID/webhooks" -H "$HU")" "404|400|404"'

# ---- sessions: only the owner (and admins) hear about one --------------------
SESS_OWNER="Authorization: Bearer $TV"
req ss POST /v1/sessions -H "$SESS_OWNER" -H "Content-Type: application/json" -d '{"title":"standup"}' >/dev/null
SID=$(js ss .id)
req ch PUT "/v1/sessions/$SID/chunks/0" -H "$SESS_OWNER" --data-binary "@$TMP/chunk.wav" >/dev/null
sse s_ann "$TV" "/v1/events"
SANN=$!
sse s_joe "$TU" "/v1/events"
SJOE=$!
for ((i = 0; i < 100; i++)); do
  grep -q '^event: hello' "$OUT/s_ann" && grep -q '^event: hello' "$OUT/s_joe" && break
  sleep 0.1
done
req end POST "/v1/sessions/$SID/end" -H "$SESS_OWNER" >/dev/null
for ((i = 0; i < 600; i++)); do grep -q "$SID" "$OUT/s_ann" && break; sleep 0.1; done
sleep 1.5  # a look of the hub later: joe's stream has had its chance to (wrongly) hear of it
kill "$SANN" "$SJOE" 2>/dev/null
wait "$SANN" "$SJOE" 2>/dev/null
check "the session's owner hears it processing (event session)" \
  eval 'last_data s_ann session | jq -e ".id == \"$SID\" and .status == \"processing\" and .role == \"owner\"" >/dev/null'
check "another user does not hear of it" eval '! grep -q "$SID" "$OUT/s_joe"'

# ---- cheap on the store: one look per interval, whatever the streams ----------
req o4 GET /v1/overview -H "$HO" >/dev/null
L0=$(js o4 .looks)
T0=$(date +%s.%N)
MANY=()
for n in 1 2 3; do sse "s_many$n" "$TO" "/v1/events?timeout=4"; MANY+=($!); done
wait "${MANY[@]}"
T1=$(date +%s.%N)
req o5 GET /v1/overview -H "$HO" >/dev/null
L1=$(js o5 .looks)
MAXL=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%d", (b - a) / 1.0 + 3 }')
check "3 streams for 4 s: $((L1 - L0)) looks at the store (at most one per second: $MAXL)" \
  test "$((L1 - L0))" -le "$MAXL"

serve_stop
st=$?
check "serve stops cleanly on SIGTERM (status $st)" is "$st" 0
