#!/usr/bin/env bash
# test_batches.sh — audit batches over real HTTP on 127.0.0.1 (docs/api.md
# "Batches") and `parley batch` against the server and the store: create
# (bad requests refused before anything is stored), files by upload (checked
# by the decoder) and by server-side path (under --files-root only),
# metadata with an unknown file and a duplicate row (line numbers in the
# answer), held until start (a worker finds nothing), start, per-stage
# status, the execution log as server-sent events (read with curl, resumed
# with Last-Event-ID), a failing file retried, results and trades as paged
# JSON and CSV, a WAV cut in half with its warning in the results and the
# recording view, reaudit from tick4 (test_effects prove tick1..3 did not run
# again), the token roles (operator and admin allowed, a plain user 404).
# Runs on SQLite with the store queue, and with PARLEY_TEST_PG_URL and
# PARLEY_TEST_REDIS_URL on PostgreSQL + Redis (serve --no-workers, separate
# `parley worker` processes).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/serve.sh"

unset PARLEY_CONFIG PARLEY_STORE PARLEY_QUEUE PARLEY_QUEUE_PREFIX PARLEY_DATA PARLEY_TEST_FAULTS

OUT="$TMP/out"
mkdir -p "$OUT"
SERVER_PID=
HOOK_PID=
PG_DB=
RUN_ID="b$$_$RANDOM"
batches_cleanup() {
  serve_stop
  [ -n "$HOOK_PID" ] && kill -TERM "$HOOK_PID" 2>/dev/null && wait "$HOOK_PID" 2>/dev/null
  if [ -n "$PG_DB" ]; then
    psql -X -q "$PARLEY_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1
  fi
  cleanup
}
trap batches_cleanup EXIT

req() {  # NAME METHOD PATH [curl args...] — body in $OUT/NAME; prints the status
  local name=$1 method=$2 path=$3; shift 3
  curl -s --max-time 60 --path-as-is -X "$method" -o "$OUT/$name" -D "$OUT/$name.h" \
    -w '%{http_code}' "$@" "$BASE$path"
}
js() { jq -r "$2" "$OUT/$1"; }
auth() { echo "Authorization: Bearer $1"; }
is() { [ "$1" = "$2" ]; }
J=(-H "Content-Type: application/json")
QN='{"version":1,"questions":[{"id":"greeting","type":"yes_no","text":"Did the agent greet?","phrases":{"any":["hello"]}}]}'

# ---- audio: five short files (the decoder checks uploads) --------------------
A="$TMP/root/calls"
mkdir -p "$A/sub"
for i in 1 2 3; do
  ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=$((200 * i)):duration=1.5" -ar 8000 "$A/a$i.wav"
done
ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=900:duration=1" -ar 8000 "$A/sub/p1.wav"
ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=700:duration=1" -ar 8000 "$A/bad1.wav"
check "generated five WAV files" test -s "$A/a3.wav" -a -s "$A/sub/p1.wav" -a -s "$A/bad1.wav"
ln -s /etc "$A/escape"

# run_flow TAG STORE_ARGS... — the whole flow against one store/queue.
run_flow() {
  local tag=$1; shift
  local S=("$@") DATA
  DATA=$(printf '%s\n' "${S[@]}" | sed -n '/^--data$/{n;p}')
  [ -n "$DATA" ] || DATA="$TMP/$tag-data"
  mkdir -p "$DATA"
  local ST=("${S[@]}")
  printf '%s\n' "${S[@]}" | grep -q -- '--store' || ST=(--store "$DATA/parley.db" "${S[@]}")
  : >"$HOOK_LOG"
  local TO TU TA
  TO=$(user_token "op_$tag" --operator "${ST[@]}")
  TU=$(user_token "joe_$tag" "${ST[@]}")
  TA=$(user_token "boss_$tag" --admin "${ST[@]}")
  check "[$tag] user add --operator, plain and --admin print tokens" test -n "$TO" -a -n "$TU" -a -n "$TA"
  check "[$tag] user list names the operator" \
    eval '"$PARLEY" user list "${ST[@]}" | grep -q "^op_$tag	operator$"'
  serve_start "$TMP/$tag-serve.log" --no-workers --data "$DATA" --threads 3 --max-streams 1 \
    --files-root "$TMP/root" "${ST[@]}" ||
    { notok "[$tag] parley serve starts"; return; }
  ok "[$tag] parley serve starts ($BASE)"
  local HO HU HA
  HO=$(auth "$TO"); HU=$(auth "$TU"); HA=$(auth "$TA")

  # -- creation: refused before anything is stored
  check "[$tag] a plain user's POST /v1/batches is 404" \
    is "$(req c0 POST /v1/batches -H "$HU" "${J[@]}" -d '{"name":"x"}')" 404
  check "[$tag] an unknown field is 400" \
    is "$(req c1 POST /v1/batches -H "$HO" "${J[@]}" -d '{"name":"x","colour":"red"}')" 400
  check "[$tag] a configuration that does not parse is 400 with line:col" \
    eval 'is "$(req c2 POST /v1/batches -H "$HO" "${J[@]}" -d "{\"name\":\"x\",\"config\":\"{\\\"stt\\\": {\\\"timeout\\\": \\\"soon\\\"}}\"}")" 400 &&
          js c2 .error.message | grep -Eq "config:1:[0-9]+"'
  check "[$tag] a questionnaire that does not parse is 400 with questionnaire:LINE:COL" \
    eval 'is "$(req c6 POST /v1/batches -H "$HO" "${J[@]}" -d "{\"name\":\"x\",\"questionnaire\":\"{\\\"version\\\": 1,\\n \\\"questions\\\": [}\"}")" 400 &&
          js c6 .error.message | grep -Eq "^questionnaire:2:[0-9]+: "'
  check "[$tag] a question for the LLM without an LLM engine is 400" \
    eval 'is "$(req c7 POST /v1/batches -H "$HO" "${J[@]}" -d "{\"name\":\"x\",\"questionnaire\":{\"version\":1,\"questions\":[{\"id\":\"why\",\"type\":\"text\",\"text\":\"Why?\"}]}}")" 400 &&
          js c7 .error.message | grep -q "LLM"'
  check "[$tag] rules naming a question the questionnaire lacks are 400" \
    eval 'is "$(req c8 POST /v1/batches -H "$HO" "${J[@]}" -d "{\"name\":\"x\",\"questionnaire\":$QN,\"rules\":\"rule r flag when answer.nope = \\\"yes\\\";\"}")" 400 &&
          js c8 .error.message | grep -Eq "^rules:1:[0-9]+: .*nope"'
  check "[$tag] an unknown stage is 400" \
    is "$(req c3 POST /v1/batches -H "$HO" "${J[@]}" -d '{"name":"x","stages":"tick1,nope"}')" 400
  check "[$tag] nothing was stored by the refused requests" \
    eval 'is "$(req l0 GET /v1/batches -H "$HO")|$(js l0 ".batches | length")" "200|0"'
  check "[$tag] POST /v1/batches is 201 with id, status Pending, six stages" \
    eval 'is "$(req c4 POST /v1/batches -H "$HO" "${J[@]}" -d "{\"name\":\"monday\",\"stages\":\"noop\",\"questionnaire\":$QN,\"rules\":\"\"}")|$(js c4 .status)|$(js c4 ".stages | length")|$(js c4 .audit_version)" "201|Pending|6|1"'
  local ID
  ID=$(js c4 .id)
  check "[$tag] the same name again is 409" \
    is "$(req c5 POST /v1/batches -H "$HO" "${J[@]}" -d '{"name":"monday"}')" 409

  # -- event streams are bounded (--max-streams 1): a batch not started keeps
  #    its stream open (until ?timeout=3), a second one meanwhile is 503
  curl -s -N --max-time 60 -H "$HO" "$BASE/v1/batches/$ID/events?timeout=3" >"$OUT/sse0" &
  local SSE_PID=$! i
  for ((i = 0; i < 100; i++)); do grep -q "^event: batch_created" "$OUT/sse0" && break; sleep 0.1; done
  check "[$tag] a second event stream while one is open is 503 with Retry-After" \
    eval 'is "$(req e1 GET /v1/batches/$ID/events -H "$HO")" 503 && grep -qi "^retry-after: 5" "$OUT/e1.h"'
  wait "$SSE_PID"
  check "[$tag] the open stream ended at its timeout, with the batch's first event" \
    grep -qx "event: batch_created" "$OUT/sse0"
  check "[$tag] once it ended, a stream opens again" \
    is "$(curl -s -o /dev/null -w "%{http_code}" --max-time 60 -H "$HO" "$BASE/v1/batches/$ID/events?timeout=1")" 200

  # -- files
  check "[$tag] PUT a file is 201 with its duration" \
    eval 'is "$(req f1 PUT /v1/batches/$ID/files/a1.wav -H "$HO" --data-binary @$A/a1.wav)|$(js f1 .duration)" "201|1.5"'
  check "[$tag] the same bytes again are 200, created false" \
    eval 'is "$(req f2 PUT /v1/batches/$ID/files/a1.wav -H "$HO" --data-binary @$A/a1.wav)|$(js f2 .created)" "200|false"'
  check "[$tag] bytes that are not audio are 422" \
    is "$(req f3 PUT "/v1/batches/$ID/files/junk.wav" -H "$HO" --data-binary "not audio at all")" 422
  check "[$tag] a file name with a dot first is 400" \
    is "$(req f4 PUT "/v1/batches/$ID/files/.hidden" -H "$HO" --data-binary @$A/a1.wav)" 400
  check "[$tag] a plain user's upload is 404" \
    is "$(req f5 PUT "/v1/batches/$ID/files/a9.wav" -H "$HU" --data-binary @$A/a1.wav)" 404
  check "[$tag] server-side paths: a file and a folder (recursive) are 201" \
    eval 'is "$(req p1 POST /v1/batches/$ID/paths -H "$HO" "${J[@]}" -d "{\"paths\":[\"$A/a2.wav\",\"$A/../calls/a3.wav\",\"$A/sub\"]}")|$(js p1 .added)" "201|3"'
  check "[$tag] a path outside the files root is 400" \
    is "$(req p2 POST /v1/batches/$ID/paths -H "$HO" "${J[@]}" -d '{"paths":["/etc/hostname"]}')" 400
  check "[$tag] a path escaping through .. or a symlink is 400" \
    eval 'is "$(req p3 POST /v1/batches/$ID/paths -H "$HO" "${J[@]}" -d "{\"paths\":[\"$A/../../../etc/hostname\"]}")|$(req p4 POST /v1/batches/$ID/paths -H "$HO" "${J[@]}" -d "{\"paths\":[\"$A/escape/hostname\"]}")" "400|400"'
  req f6 PUT "/v1/batches/$ID/files/bad1.wav" -H "$HO" --data-binary "@$A/bad1.wav" >/dev/null

  # -- metadata: an unknown file and a duplicate row, by line
  printf 'file,trade_id,agent\na1.wav,T1,ann\na2.wav,T1,bob\nghost.wav,T9,cy\na3.wav,T2,dee\np1.wav,T2,eve\nbad1.wav,T3,fay\n' >"$TMP/md.csv"
  printf 'file,trade_id\na1.wav,T1\na2.wav,T1\na1.wav,T2\n' >"$TMP/md-dup.csv"
  check "[$tag] metadata with a duplicate row is 400 naming both lines" \
    eval 'is "$(req m1 PUT /v1/batches/$ID/metadata -H "$HO" --data-binary @$TMP/md-dup.csv)" 400 &&
          js m1 .error.message | grep -q "metadata.csv:4:.*a1.wav.*line 2"'
  check "[$tag] metadata: 6 rows, 5 matched, the unknown file with its line" \
    eval 'is "$(req m2 PUT /v1/batches/$ID/metadata -H "$HO" --data-binary @$TMP/md.csv)|$(js m2 .matched)|$(js m2 ".unknown[0].line"):$(js m2 ".unknown[0].file")" "200|5|4:ghost.wav"'

  # -- held until start
  local W=(limit 300 "$PARLEY" worker -j 1 -q "${ST[@]}")
  [ -n "$(printf '%s\n' "${ST[@]}" | grep -x -- --data)" ] || W+=(--data "$DATA")
  "${W[@]}" >"$TMP/$tag-w0.log" 2>&1
  check "[$tag] before start a worker finds nothing to do" \
    eval 'is "$(req g0 GET /v1/batches/$ID -H "$HO")|$(js g0 .recordings.done)|$(js g0 .recordings.total)|$(js g0 .started)" "200|0|5|false"'
  check "[$tag] parley status shows the 5 files held until start" \
    eval '"$PARLEY" status "${ST[@]}" 2>/dev/null | grep -q "held until the batch starts: 5"'
  check "[$tag] POST start is 202" \
    eval 'is "$(req s1 POST /v1/batches/$ID/start -H "$HO")|$(js s1 .started)" "202|true"'
  check "[$tag] start again is 409" is "$(req s2 POST /v1/batches/$ID/start -H "$HO")" 409
  check "[$tag] metadata after start is 409" \
    is "$(req m3 PUT /v1/batches/$ID/metadata -H "$HO" --data-binary @$TMP/md.csv)" 409
  W[2]=$PARLEY_TEST   # the tick stages' faults: parley plus test hooks
  PARLEY_TEST_FAULTS="tick3 permanent bad" "${W[@]}" >"$TMP/$tag-w1.log" 2>&1
  check "[$tag] status: 4 done, 1 failed, CompletedWithErrors; tick3 has 1 failed, tick4 4 done" \
    eval 'req g1 GET /v1/batches/$ID -H "$HO" >/dev/null &&
          is "$(js g1 .recordings.done)|$(js g1 .recordings.failed)|$(js g1 .status)|$(js g1 ".stages[2].failed")|$(js g1 ".stages[3].done")|$(js g1 ".stages[0].status")" \
             "4|1|CompletedWithErrors|1|4|Completed"'
  check "[$tag] GET failed lists bad1.wav at tick3 with the error" \
    eval 'is "$(req fl GET /v1/batches/$ID/failed -H "$HO")|$(js fl ".failed[0].name")|$(js fl ".failed[0].stage")" "200|bad1.wav|tick3" &&
          js fl ".failed[0].error" | grep -q "injected permanent failure"'

  # -- events as server-sent events (the batch is finished: the stream ends)
  curl -s -N --max-time 60 -H "$HO" "$BASE/v1/batches/$ID/events" >"$OUT/sse" 2>/dev/null
  check "[$tag] SSE: batch_created, metadata, batch_started, stage_start tick1, file_error, stage_complete" \
    eval 'for t in batch_created metadata batch_started stage_start file_error stage_complete; do grep -qx "event: $t" "$OUT/sse" || exit 1; done'
  check "[$tag] SSE: every event has an id line and JSON data" \
    eval 'is "$(grep -c "^id: " "$OUT/sse")" "$(grep -c "^data: {" "$OUT/sse")" && [ "$(grep -c "^id: " "$OUT/sse")" -ge 8 ]'
  local LAST3
  LAST3=$(grep "^id: " "$OUT/sse" | sed -n '3s/id: //p')
  curl -s -N --max-time 60 -H "$HO" -H "Last-Event-ID: $LAST3" "$BASE/v1/batches/$ID/events" >"$OUT/sse2"
  check "[$tag] SSE resumes after Last-Event-ID (3 events fewer)" \
    is "$(( $(grep -c "^id: " "$OUT/sse") - 3 ))" "$(grep -c "^id: " "$OUT/sse2")"
  check "[$tag] a plain user's event stream is 404" \
    is "$(req e0 GET /v1/batches/$ID/events -H "$HU")" 404

  # -- retry the failed file (the fault is gone)
  check "[$tag] POST retry of all is 200, 1 requeued" \
    eval 'is "$(req r1 POST /v1/batches/$ID/retry -H "$HO")|$(js r1 .requeued)" "200|1"'
  check "[$tag] retry of a recording that has not failed is 409" \
    is "$(req r2 POST /v1/batches/$ID/retry -H "$HO" "${J[@]}" -d '{"recording":1}')" 409
  "${W[@]}" >"$TMP/$tag-w2.log" 2>&1
  check "[$tag] after the retry: 5 done, Completed" \
    eval 'req g2 GET /v1/batches/$ID -H "$HO" >/dev/null && is "$(js g2 .recordings.done)|$(js g2 .status)" "5|Completed"'

  # -- results: JSON pages and CSV
  check "[$tag] results page 1 (limit 2): 2 recordings and a next cursor" \
    eval 'is "$(req rs1 GET "/v1/batches/$ID/results?limit=2" -H "$HO")|$(js rs1 ".recordings | length")|$(js rs1 ".recordings[0].trade_id")" "200|2|T1" && [ "$(js rs1 .next)" != null ]'
  local NEXT
  NEXT=$(js rs1 .next)
  check "[$tag] results page 2 and 3 hold the other 3, then no next" \
    eval 'req rs2 GET "/v1/batches/$ID/results?limit=2&after=$NEXT" -H "$HO" >/dev/null &&
          req rs3 GET "/v1/batches/$ID/results?limit=2&after=$(js rs2 .next)" -H "$HO" >/dev/null &&
          is "$(js rs2 ".recordings | length")|$(js rs3 ".recordings | length")|$(js rs3 .next)" "2|1|null"'
  check "[$tag] results as CSV: a header and 5 rows" \
    eval 'is "$(req rc GET "/v1/batches/$ID/results?format=csv" -H "$HO")" 200 &&
          head -1 "$OUT/rc" | grep -q "^recording,name,status,trade_id,verdict,score" &&
          is "$(tail -n +2 "$OUT/rc" | grep -c .)" 5 && grep -qi "content-type: text/csv" "$OUT/rc.h"'
  check "[$tag] trades: T1 (2 calls), T2 (2 calls), T3 (1 call)" \
    eval 'is "$(req tr GET "/v1/batches/$ID/trades" -H "$HO")|$(js tr "[.trades[] | .trade_id + \":\" + (.calls|tostring)] | join(\",\")")" "200|T1:2,T2:2,T3:1"'
  check "[$tag] trades as CSV, paged: offset 2 holds T3 only" \
    eval 'is "$(req tc GET "/v1/batches/$ID/trades?format=csv&offset=2&limit=5" -H "$HO")|$(tail -n +2 "$OUT/tc" | cut -d, -f1 | tr -d "\r" | paste -sd" ")" "200|T3"'
  check "[$tag] an unknown audit version is 404" \
    is "$(req rv GET "/v1/batches/$ID/results?version=7" -H "$HO")" 404

  # -- reaudit from tick4: tick1..3 do not run again
  check "[$tag] reaudit without a change is 400" \
    is "$(req ra0 POST /v1/batches/$ID/reaudit -H "$HO" "${J[@]}" -d '{}')" 400
  check "[$tag] reaudit from a stage not in the pipeline is 400" \
    is "$(req ra1 POST /v1/batches/$ID/reaudit -H "$HO" "${J[@]}" -d '{"from_stage":"stt"}')" 400
  check "[$tag] reaudit from tick4 is 202: version 2, 5 requeued" \
    eval 'is "$(req ra2 POST /v1/batches/$ID/reaudit -H "$HO" "${J[@]}" -d "{\"from_stage\":\"tick4\"}")|$(js ra2 .version)|$(js ra2 .requeued)" "202|2|5"'
  check "[$tag] a second reaudit while it runs is 409" \
    is "$(req ra3 POST /v1/batches/$ID/reaudit -H "$HO" "${J[@]}" -d '{"from_stage":"tick5"}')" 409
  "${W[@]}" >"$TMP/$tag-w3.log" 2>&1
  check "[$tag] after the reaudit: 5 done, audit version 2" \
    eval 'req g3 GET /v1/batches/$ID -H "$HO" >/dev/null && is "$(js g3 .recordings.done)|$(js g3 .audit_version)" "5|2"'
  local q="SELECT stage || ':' || count(*) FROM test_effects e JOIN recordings r ON r.id = e.recording_id WHERE r.batch_id = $ID GROUP BY stage ORDER BY stage"
  local effects
  if [ "$tag" = pg ]; then
    effects=$(psql -X -At "$PG" -c "$q" | paste -sd' ')
  else
    effects=$(sqlite3 "$DATA/parley.db" "$q" | paste -sd' ')
  fi
  check "[$tag] stage_runs effects: tick1..3 once per file, tick4..6 twice ($effects)" \
    is "$effects" "tick1:5 tick2:5 tick3:5 tick4:10 tick5:10 tick6:10"
  check "[$tag] the log has the reaudit event" \
    eval 'curl -s -N --max-time 60 -H "$HO" "$BASE/v1/batches/$ID/events" | grep -qx "event: reaudit"'
  check "[$tag] changes from version 1 to 2: none (no verdicts in the noop pipeline)" \
    eval 'is "$(req ch GET /v1/batches/$ID/changes -H "$HO")|$(js ch .from)|$(js ch .to)|$(js ch ".changes | length")" "200|1|2|0"'

  # -- reaudit with changed rules: only the verdicts stage reruns (decode is
  #    not run again: its attempts stay 1); the changes name the rules
  printf 'rule vip flag when meta.agent = "ann" because "ann is vip";\n' >"$TMP/r1.txt"
  printf 'rule vip flag when meta.agent = "bob" because "bob is vip";\n' >"$TMP/r2.txt"
  check "[$tag] rules that do not parse are 400 with rules:LINE:COL, nothing stored" \
    eval 'is "$(req v0 POST /v1/batches -H "$HO" "${J[@]}" -d "$(jq -cn --arg r "rule x flag when meta.a =" "{name:\"audited\",stages:\"decode,verdicts\",rules:\$r}")")" 400 &&
          js v0 .error.message | grep -Eq "^rules:1:[0-9]+: "'
  check "[$tag] a webhook URL that is not http(s) is 400, nothing stored" \
    eval 'is "$(req wh0 POST /v1/batches -H "$HO" "${J[@]}" -d "{\"name\":\"audited\",\"webhook\":{\"url\":\"ftp://x\",\"secret\":\"$HOOK_SECRET\"}}")" 400'
  check "[$tag] a batch with rules (decode, verdicts) and a webhook is 201; the view shows no secret" \
    eval 'is "$(req v1 POST /v1/batches -H "$HO" "${J[@]}" -d "$(jq -cn --rawfile r "$TMP/r1.txt" --arg u "$HOOK_URL" --arg s "$HOOK_SECRET" "{name:\"audited\",stages:\"decode,verdicts\",rules:\$r,webhook:{url:\$u,secret:\$s,events:[\"batch\"]}}")")|$(js v1 .webhook.events)" "201|batch" &&
          ! grep -q "$HOOK_SECRET" "$OUT/v1"'
  local IDV
  IDV=$(js v1 .id)
  req v2 PUT "/v1/batches/$IDV/files/a1.wav" -H "$HO" --data-binary "@$A/a1.wav" >/dev/null
  req v3 PUT "/v1/batches/$IDV/files/a2.wav" -H "$HO" --data-binary "@$A/a2.wav" >/dev/null
  req v4 PUT "/v1/batches/$IDV/metadata" -H "$HO" --data-binary "@$TMP/md.csv" >/dev/null
  req v5 POST "/v1/batches/$IDV/start" -H "$HO" >/dev/null
  "${W[@]}" >"$TMP/$tag-w6.log" 2>&1
  "$PARLEY" webhooks deliver "${ST[@]}" >/dev/null 2>&1
  check "[$tag] the webhook got batch.completed once, signed" \
    eval 'is "$(jq -r "select(.type == \"batch.completed\" and .accepted and .sig_ok) | .id" "$HOOK_LOG" | sort -u | wc -l)" 1'
  check "[$tag] verdicts of version 1: a1 flag (vip), a2 pass" \
    eval 'is "$(req v6 GET /v1/batches/$IDV/results -H "$HO")|$(js v6 "[.recordings[] | .name + \":\" + .verdict] | join(\",\")")|$(js v6 ".recordings[0].reasons[0].rule")" "200|a1.wav:flag,a2.wav:pass|vip"'
  check "[$tag] reaudit with bad rules is 400" \
    is "$(req v7 POST /v1/batches/$IDV/reaudit -H "$HO" "${J[@]}" -d '{"rules":"rule ("}')" 400
  check "[$tag] reaudit with new rules reruns from verdicts: version 2, 2 requeued" \
    eval 'is "$(req v8 POST /v1/batches/$IDV/reaudit -H "$HO" "${J[@]}" -d "$(jq -cn --rawfile r "$TMP/r2.txt" "{rules:\$r}")")|$(js v8 .from_stage)|$(js v8 .version)|$(js v8 .requeued)" "202|verdicts|2|2"'
  "${W[@]}" >"$TMP/$tag-w7.log" 2>&1
  local runs q2="SELECT s.stage || ':' || s.attempts FROM stage_runs s JOIN recordings r ON r.id = s.recording_id WHERE r.batch_id = $IDV AND s.status = 'done' ORDER BY r.id, s.stage"
  if [ "$tag" = pg ]; then runs=$(psql -X -At "$PG" -c "$q2" | paste -sd' ')
  else runs=$(sqlite3 "$DATA/parley.db" "$q2" | paste -sd' '); fi
  check "[$tag] stage_runs: decode ran once per file, verdicts once since the reaudit ($runs)" \
    is "$runs" "decode:1 verdicts:1 decode:1 verdicts:1"
  "$PARLEY" webhooks deliver "${ST[@]}" >/dev/null 2>&1
  check "[$tag] the reaudit completes the batch again: a second batch.completed with its own id" \
    eval 'is "$(jq -r "select(.type == \"batch.completed\" and .accepted) | .id" "$HOOK_LOG" | sort -u | wc -l)" 2'
  check "[$tag] changes 1 → 2: a1 flag → pass (vip cleared), a2 pass → flag (vip fired)" \
    eval 'is "$(req v9 GET /v1/batches/$IDV/changes -H "$HO")|$(js v9 "[.changes[] | .name + \":\" + .old.verdict + \">\" + .new.verdict + \":\" + (.rules_fired|join(\"+\")) + \"/\" + (.rules_cleared|join(\"+\"))] | join(\",\")")" \
       "200|a1.wav:flag>pass:/vip,a2.wav:pass>flag:vip/"'
  check "[$tag] version 1 stays queryable: a1 still flag there" \
    eval 'is "$(req v10 GET "/v1/batches/$IDV/results?version=1" -H "$HO")|$(js v10 ".recordings[0].verdict")|$(js v10 .version)" "200|flag|1"'
  check "[$tag] trades of version 2: T1 flag (a2)" \
    eval 'is "$(req v11 GET /v1/batches/$IDV/trades -H "$HO")|$(js v11 ".trades[0].trade_id + \":\" + .trades[0].verdict")" "200|T1:flag"'

  # -- honest inputs (issue 17 item 4): a WAV cut in half is processed, and
  #    its warning is in the results (JSON and CSV) and the recording view
  head -c "$(( $(stat -c %s "$A/a1.wav") / 2 ))" "$A/a1.wav" >"$TMP/half-$tag.wav"
  check "[$tag] a decode-only batch takes a WAV cut in half and a whole one" \
    eval 'is "$(req h1 POST /v1/batches -H "$HO" "${J[@]}" -d "{\"name\":\"cut\",\"stages\":\"decode\"}")|$(req h2 PUT "/v1/batches/$(js h1 .id)/files/half.wav" -H "$HO" --data-binary "@$TMP/half-$tag.wav")|$(req h3 PUT "/v1/batches/$(js h1 .id)/files/a3.wav" -H "$HO" --data-binary "@$A/a3.wav")|$(req h4 POST "/v1/batches/$(js h1 .id)/start" -H "$HO")" "201|201|201|202"'
  local IDH
  IDH=$(js h1 .id)
  "${W[@]}" >"$TMP/$tag-wh.log" 2>&1
  check "[$tag] results: half.wav done with one decode warning (the header's promise), a3.wav none" \
    eval 'is "$(req h5 GET /v1/batches/$IDH/results -H "$HO")|$(js h5 "[.recordings[] | .name + \":\" + .status + \":\" + (.warnings | length | tostring)] | join(\",\")")|$(js h5 ".recordings[0].warnings[0].stage")" "200|half.wav:done:1,a3.wav:done:0|decode" &&
          js h5 ".recordings[0].warnings[0].message" | grep -q "WAV header promises 1.5 s"'
  check "[$tag] results as CSV: a warnings column holding the sentence" \
    eval 'is "$(req h6 GET "/v1/batches/$IDH/results?format=csv" -H "$HO")" 200 && head -1 "$OUT/h6" | tr -d "\r" | grep -q ",error,warnings$" &&
          grep "^[0-9]*,half.wav," "$OUT/h6" | grep -q "WAV header promises" && ! grep "^[0-9]*,a3.wav," "$OUT/h6" | grep -q "promises"'
  check "[$tag] the results table (sorted, paged) carries the warnings too" \
    eval 'is "$(req h7 GET "/v1/batches/$IDH/results?sort=name" -H "$HO")|$(js h7 "[.recordings[] | .name + \":\" + (.warnings | length | tostring)] | join(\",\")")" "200|a3.wav:0,half.wav:1"'
  check "[$tag] the recording view of half.wav lists the warning; a3.wav's is empty" \
    eval 'is "$(req h8 GET "/v1/recordings/$(js h5 ".recordings[0].recording")" -H "$HO")|$(js h8 ".warnings | length")|$(req h9 GET "/v1/recordings/$(js h5 ".recordings[1].recording")" -H "$HO")|$(js h9 ".warnings | length")" "200|1|200|0" &&
          js h8 ".warnings[0].message" | grep -q "half.wav: the WAV header promises"'

  # -- roles
  check "[$tag] a plain user: 404 on the batch, its results and the list" \
    eval 'is "$(req u1 GET /v1/batches/$ID -H "$HU")|$(req u2 GET /v1/batches/$ID/results -H "$HU")|$(req u3 GET /v1/batches -H "$HU")" "404|404|404"'
  check "[$tag] an admin sees the batch" \
    is "$(req u4 GET /v1/batches/$ID -H "$HA")" 200
  check "[$tag] no token is 401" is "$(req u5 GET /v1/batches/$ID)" 401
  check "[$tag] a batch id that is not a number is 400" is "$(req u6 GET /v1/batches/x1 -H "$HO")" 400

  # -- parley batch against the server
  export PARLEY_T_TOKEN=$TO
  local C=("$PARLEY" batch --server "$BASE" --token-env PARLEY_T_TOKEN)
  check "[$tag] parley batch create --server prints the id" \
    eval '"${C[@]}" create tuesday --stages noop >"$OUT/cli1" && grep -Eq "^batch [0-9]+ tuesday" "$OUT/cli1"'
  local ID2
  ID2=$(sed -n 's/^batch \([0-9]*\) .*/\1/p' "$OUT/cli1")
  check "[$tag] parley batch add --server uploads two files" \
    eval '"${C[@]}" add "$ID2" "$A/a1.wav" "$A/a2.wav" >"$OUT/cli2" && is "$(grep -c "^added " "$OUT/cli2")" 2'
  check "[$tag] parley batch add --server refuses a file that is not audio (exit 1)" \
    eval 'echo nope >"$TMP/no.wav"; ! "${C[@]}" add "$ID2" "$TMP/no.wav" 2>"$OUT/cli3" && grep -q "not an audio file" "$OUT/cli3"'
  check "[$tag] parley batch start --server" eval '"${C[@]}" start "$ID2" >/dev/null'
  "${W[@]}" >"$TMP/$tag-w4.log" 2>&1
  check "[$tag] parley batch status --server: Completed, tick6 2 done" \
    eval '"${C[@]}" status "$ID2" >"$OUT/cli4" && grep -q "Completed" "$OUT/cli4" && grep -Eq "^ *tick6 +2 " "$OUT/cli4"'
  check "[$tag] parley batch events --server prints the log and ends" \
    eval '"${C[@]}" events "$ID2" >"$OUT/cli5" && grep -q "batch_started" "$OUT/cli5" && grep -q "stage_complete" "$OUT/cli5"'
  check "[$tag] parley batch results --server --csv" \
    eval '"${C[@]}" results "$ID2" --csv >"$OUT/cli6" && is "$(grep -c "^[0-9]" "$OUT/cli6")" 2'
  check "[$tag] parley batch reaudit --server --from-stage tick6" \
    eval '"${C[@]}" reaudit "$ID2" --from-stage tick6 >"$OUT/cli7" && grep -q "version 1" "$OUT/cli7"'
  check "[$tag] a plain user's token: parley batch status fails (exit 1)" \
    eval '! PARLEY_T_TOKEN=$TU "${C[@]}" status "$ID2" >/dev/null 2>&1'
  "${W[@]}" >"$TMP/$tag-w5.log" 2>&1
  serve_stop

  # -- parley batch against the store
  local L=("$PARLEY" batch "${ST[@]}")
  printf '%s\n' "${ST[@]}" | grep -qx -- --data || L+=(--data "$DATA")
  check "[$tag] parley batch create --store" \
    eval '"${L[@]}" create wednesday --stages noop >"$OUT/cl1" && grep -q "wednesday" "$OUT/cl1"'
  check "[$tag] parley batch add --store: a file and a metadata CSV with an unknown row" \
    eval '"${L[@]}" add wednesday "$A/a1.wav" "$A/a3.wav" >/dev/null &&
          "${L[@]}" add wednesday --metadata "$TMP/md.csv" >"$OUT/cl2" 2>&1 && grep -q "md.csv:4: .*ghost.wav" "$OUT/cl2"'
  check "[$tag] parley batch start --store, a worker, status Completed" \
    eval '"${L[@]}" start wednesday >/dev/null && "${W[@]}" >/dev/null 2>&1 && "${L[@]}" status wednesday | grep -q Completed'
  check "[$tag] parley batch results --store (JSON)" \
    eval 'is "$("${L[@]}" results wednesday | jq -r ".recordings | length")" 2'
  check "[$tag] parley batch retry --store (nothing failed: 0)" \
    eval '"${L[@]}" retry wednesday | grep -q "^0 recordings queued again"'
  # a changed questionnaire reruns from answers (decode not again)
  printf '%s' "$QN" >"$TMP/q1.json"
  printf '{"version":2,"questions":[{"id":"greeting","type":"yes_no","text":"Did the agent greet?","phrases":{"any":["hello"]},"choices":[{"id":"yes","score":1},{"id":"no","score":5}]}]}' >"$TMP/q2.json"
  printf 'rule g flag when answer.greeting = "no" because "no greeting";\n' >"$TMP/rq.txt"
  check "[$tag] parley batch create --store with a questionnaire and rules (decode, answers, verdicts)" \
    eval '"${L[@]}" create thursday --stages decode,answers,verdicts --questionnaire "$TMP/q1.json" --rules "$TMP/rq.txt" >/dev/null &&
          "${L[@]}" add thursday "$A/a1.wav" >/dev/null && "${L[@]}" start thursday >/dev/null && "${W[@]}" >/dev/null 2>&1 &&
          "${L[@]}" results thursday --csv | grep -q ",flag,.*,g,greeting=no,"'
  check "[$tag] parley batch reaudit --questionnaire reruns from answers" \
    eval '"${L[@]}" reaudit thursday --questionnaire "$TMP/q2.json" | grep -q "from stage answers, 1 recordings" && "${W[@]}" >/dev/null 2>&1'
  check "[$tag] parley batch results --changes: the score moved (version 1 → 2)" \
    eval '"${L[@]}" results thursday --changes >"$OUT/cq" && grep -q "^audit version 1 → 2: 1 calls changed" "$OUT/cq" &&
          grep -q "^a1.wav: flag 0/.* → flag [1-9]" "$OUT/cq"'
  check "[$tag] parley batch reaudit while nothing changed is refused (exit 2)" \
    eval '"${L[@]}" reaudit thursday >/dev/null 2>&1; [ $? -eq 2 ]'
}

# ---- a webhook receiver (checks the signatures) ---------------------------------
HOOK_SECRET="whsec_$(head -c 24 /dev/urandom | base64)"
HOOK_LOG="$TMP/hook.log"
WEBHOOK_SECRET=$HOOK_SECRET python3 "$ROOT/tests/servers/webhook_receiver.py" \
  --port-file "$TMP/hook.port" --log "$HOOK_LOG" 2>"$TMP/hook.err" &
HOOK_PID=$!
for ((i = 0; i < 100; i++)); do [ -s "$TMP/hook.port" ] && break; sleep 0.1; done
HOOK_URL="http://127.0.0.1:$(cat "$TMP/hook.port")/hook"
check "the webhook receiver listens" test -s "$TMP/hook.port"

run_flow lite

# ---- PostgreSQL + Redis -------------------------------------------------------
if [ -z "${PARLEY_TEST_PG_URL:-}" ] || [ -z "${PARLEY_TEST_REDIS_URL:-}" ]; then
  ok "PostgreSQL + Redis # SKIP PARLEY_TEST_PG_URL / PARLEY_TEST_REDIS_URL unset"
  exit 0
fi
PG_DB="t_${RUN_ID}"
psql -X -q -v ON_ERROR_STOP=1 "$PARLEY_TEST_PG_URL" -c "CREATE DATABASE $PG_DB" >/dev/null ||
  { notok "create database $PG_DB"; exit 0; }
PG="${PARLEY_TEST_PG_URL%/*}/$PG_DB"
run_flow pg --store "$PG" --queue "$PARLEY_TEST_REDIS_URL" --queue-prefix "t_${RUN_ID}:" --data "$TMP/pg-data"
