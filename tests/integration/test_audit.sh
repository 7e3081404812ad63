#!/usr/bin/env bash
# test_audit.sh — issue 14's acceptance, end to end over real HTTP on
# 127.0.0.1: an operator creates an audit batch (preset audit: call events,
# a speaker per channel, speech to text, metrics, answers, verdicts) with a
# questionnaire (phrase, metric and LLM questions; the LLM is
# tests/servers/fake_engines.py), rules, per-file metadata (trades) and a
# signed webhook (tests/servers/webhook_receiver.py, which fails its first
# two deliveries of batch.completed); uploads generated stereo calls; starts
# it. A worker is killed with -9 mid-batch and a second one finishes. Then:
#   - every call is done with one answers row per question for audit version
#     1 (answers with evidence: quoted words with times, or the metric value)
#     and one verdict, written once each whatever the kill did;
#   - results per recording and per trade (JSON and CSV);
#   - the webhook's batch.completed arrives accepted exactly once per
#     webhook-id, with a valid signature, after the receiver's failures;
#   - a reaudit with one changed rule reruns only the verdicts stage
#     (stage_runs: every other stage keeps its start time and attempts),
#     /changes reports the calls whose verdict changed, with the rule that
#     fired, version 1 stays queryable, and the webhook gets the version-2
#     batch.completed (a new webhook-id).
# PostgreSQL + Redis when PARLEY_TEST_PG_URL and PARLEY_TEST_REDIS_URL are
# set (tests/run.sh sets them), else SQLite with the store queue.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/fake_engines.sh"
. "$ROOT/tests/lib/serve.sh"
unset PARLEY_CONFIG PARLEY_STORE PARLEY_QUEUE PARLEY_QUEUE_PREFIX PARLEY_DATA PARLEY_TEST_FAULTS

OUT="$TMP/out"
mkdir -p "$OUT" "$TMP/in"
SERVER_PID= HOOK_PID= W1_PID= W2_PID= PG_DB=
RUN_ID="a$$_$RANDOM"
audit_cleanup() {
  local p
  for p in "$W1_PID" "$W2_PID" "$SERVER_PID" "$HOOK_PID"; do
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  fake_stop
  [ -n "$PG_DB" ] && psql -X -q "$PARLEY_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1
  cleanup
}
trap audit_cleanup EXIT

req() {  # NAME METHOD PATH [curl args...] — body in $OUT/NAME; prints the status
  local name=$1 method=$2 path=$3; shift 3
  curl -s --max-time 60 -X "$method" -o "$OUT/$name" -w '%{http_code}' "$@" "$BASE$path"
}
js() { jq -r "$2" "$OUT/$1"; }
is() { [ "$1" = "$2" ]; }

# ---- the store -----------------------------------------------------------------
DATA="$TMP/data"
mkdir -p "$DATA"
if [ -n "${PARLEY_TEST_PG_URL:-}" ] && [ -n "${PARLEY_TEST_REDIS_URL:-}" ]; then
  PG_DB="t_${RUN_ID}"
  psql -X -q -v ON_ERROR_STOP=1 "$PARLEY_TEST_PG_URL" -c "CREATE DATABASE $PG_DB" >/dev/null ||
    { notok "create database $PG_DB"; exit 1; }
  ST=(--store "${PARLEY_TEST_PG_URL%/*}/$PG_DB" --queue "$PARLEY_TEST_REDIS_URL"
      --queue-prefix "t_${RUN_ID}:" --data "$DATA")
  ok "store: PostgreSQL + Redis"
else
  ST=(--store "$DATA/parley.db" --data "$DATA")
  ok "store: SQLite with the store queue (PARLEY_TEST_PG_URL / PARLEY_TEST_REDIS_URL unset)"
fi
sql() {
  if [ -n "$PG_DB" ]; then psql -X -q -t -A -F '|' "${PARLEY_TEST_PG_URL%/*}/$PG_DB" -c "$1"
  else sqlite3 "$DATA/parley.db" "$1"; fi
}

# ---- six generated stereo calls (cached like the other call tests); three
#      under the sanitizer build, where recognition is several times slower --
case "$PARLEY" in *build-san*) N=3 ;; *) N=6 ;; esac
CALLS=${PARLEY_CALLS_CACHE:-$ROOT/build/calls-it}
mkdir -p "$CALLS"
GENV=$(sha256sum "$ROOT/tests/gen/gen_call.py" "$ROOT/tests/gen/gen_conversation.py" | sha256sum | cut -c1-12)
for ((i = 1; i <= N; i++)); do
  args="--seed $((40 + i)) --channels 2 --ringback 0 --minutes 0.4 --long-silences 0.3 --crosstalk -25"
  key=$(echo "$GENV $args" | sha256sum | cut -c1-12)
  if [ ! -s "$CALLS/au$i-$key.wav" ]; then
    # shellcheck disable=SC2086
    python3 "$ROOT/tests/gen/gen_call.py" --out "$CALLS" --name "au$i-$key" \
      --cache-dir "$PARLEY_GEN_CACHE" --quiet $args || { notok "generate call $i"; exit 1; }
  fi
  cp "$CALLS/au$i-$key.wav" "$TMP/in/call$i.wav"
done
check "generated $N stereo calls" test "$(ls "$TMP/in" | wc -l)" = "$N"

# ---- the servers: LLM, webhook receiver, parley serve ---------------------------
fake_start "$TMP/fake" || { notok "start the fake LLM server"; exit 1; }
ok "fake LLM server on port $FAKE_PORT"
HOOK_SECRET="whsec_$(head -c 24 /dev/urandom | base64)"
HOOK_LOG="$TMP/hook.log"
WEBHOOK_SECRET=$HOOK_SECRET python3 "$ROOT/tests/servers/webhook_receiver.py" \
  --port-file "$TMP/hook.port" --log "$HOOK_LOG" --script 500,429:1 --types batch.completed \
  2>"$TMP/hook.err" &
HOOK_PID=$!
for ((i = 0; i < 100; i++)); do [ -s "$TMP/hook.port" ] && break; sleep 0.1; done
check "the webhook receiver listens" test -s "$TMP/hook.port"
HOOK_URL="http://127.0.0.1:$(cat "$TMP/hook.port")/hook"

TOKEN=$(user_token auditor --operator "${ST[@]}")
check "an operator's token" test -n "$TOKEN"
H=(-H "Authorization: Bearer $TOKEN")
export PARLEY_WEBHOOK_TIMEOUT=3
serve_start "$TMP/serve.log" --no-workers --threads 4 "${ST[@]}"
check "parley serve listens ($BASE)" test -n "$BASE"
[ -n "$BASE" ] || exit 1

# ---- the audit: questionnaire, rules, metadata, webhook -------------------------
cat >"$TMP/q.json" <<'EOF'
{"version": 1, "name": "acceptance",
 "questions": [
  {"id": "agent_spoke", "type": "yes_no", "text": "Did the agent say anything about the weekend, the office or the family?",
   "role": "agent", "phrases": {"any": ["weekend", "office", "mother", "father", "sister", "brother", "friend*"]}, "weight": 2},
  {"id": "silence", "type": "yes_no", "text": "Was any silence longer than 2 s?",
   "metric": {"metric": "longest_silence", "op": ">", "value": 2}},
  {"id": "share", "type": "number", "text": "The agent's share of the talk",
   "metric": {"metric": "talk_share", "scope": "agent"}},
  {"id": "polite", "type": "yes_no", "text": "Was the agent polite?", "role": "agent"}
 ]}
EOF
RULES1='rule talked pass weight 2 when metric.agent.talk_share > 10% and metric.customer.talk_share > 10%;
rule long_silence flag when metric.call.silence_max > 1000s because "a silence longer than 1000 s";'
RULES2='rule talked pass weight 2 when metric.agent.talk_share > 10% and metric.customer.talk_share > 10%;
rule long_silence flag when metric.call.silence_max > 2s because "a silence longer than 2 s";'
jq -n --argjson q "$(cat "$TMP/q.json")" --arg rules "$RULES1" --arg url "$HOOK_URL" \
  --arg secret "$HOOK_SECRET" --arg llm "openai+$FAKE_URL/v1" \
  '{name: "acceptance", preset: "audit", questionnaire: $q, rules: $rules,
    options: {"llm.engine": $llm},
    webhook: {url: $url, secret: $secret, events: "batch", schedule: "1s,1s,2s,2s,5s"}}' \
  >"$TMP/create.json"
check "POST /v1/batches (preset audit, questionnaire, rules, webhook) is 201" \
  is "$(req create POST /v1/batches "${H[@]}" -H "Content-Type: application/json" --data-binary "@$TMP/create.json")" 201
[ "$(js create .id)" != null ] || { cat "$OUT/create"; exit 1; }
ID=$(js create .id)
check "the batch's webhook shows its URL, never its secret" \
  eval '! grep -qF "${HOOK_SECRET#whsec_}" "$OUT/create"'
for ((i = 1; i <= N; i++)); do
  req "up$i" PUT "/v1/batches/$ID/files/call$i.wav" "${H[@]}" --data-binary "@$TMP/in/call$i.wav" >"$OUT/up$i.status"
done
check "$N calls uploaded (201 each)" \
  is "$(cat "$OUT"/up*.status | tr -d '\n')" "$(printf '201%.0s' $(seq $N))"
{ echo "file,trade_id,agent"
  for ((i = 1; i <= N; i++)); do echo "call$i.wav,T$(( (i + 1) / 2 )),agent$i"; done; } >"$TMP/meta.csv"
check "metadata: $N rows, all matched" \
  eval 'is "$(req meta PUT /v1/batches/$ID/metadata "${H[@]}" --data-binary @$TMP/meta.csv)|$(js meta .matched)" "200|$N"'
check "POST start is 202" is "$(req start POST "/v1/batches/$ID/start" "${H[@]}")" 202

# ---- a worker killed with -9 mid-batch; a second one finishes -------------------
WK=("$PARLEY" worker -j 1 --wait --lease 4 "${ST[@]}")
"${WK[@]}" >"$TMP/w1.log" 2>&1 &
W1_PID=$!
done_now() { req st GET "/v1/batches/$ID" "${H[@]}" >/dev/null; js st .recordings.done; }
for ((i = 0; i < 6000; i++)); do
  [ "$(done_now)" -ge 1 ] 2>/dev/null && break
  kill -0 "$W1_PID" 2>/dev/null || break
  sleep 0.1
done
sleep 0.5
kill -9 "$W1_PID"
wait "$W1_PID" 2>/dev/null
W1_PID=
D1=$(done_now)
check "worker 1 killed with -9 mid-batch ($D1 of $N done)" test "$D1" -ge 1 -a "$D1" -lt "$N"
"${WK[@]}" >"$TMP/w2.log" 2>&1 &
W2_PID=$!
for ((i = 0; i < 9000; i++)); do
  req st GET "/v1/batches/$ID" "${H[@]}" >/dev/null
  s=$(js st .status)
  [ "$s" = Completed ] || [ "$s" = CompletedWithErrors ] && break
  sleep 0.2
done
check "the batch is Completed with $N done ($(js st .status), $(js st .recordings.done) done)" \
  is "$(js st .status)|$(js st .recordings.done)|$(js st .recordings.failed)" "Completed|$N|0"

# ---- answers with evidence and a verdict for every call, once --------------------
check "answers: 4 rows per call for audit version 1, none for another version" \
  is "$(sql "SELECT count(*) || '|' || count(DISTINCT recording_id) || '|' || min(version) || '|' || max(version) FROM answers")" "$((4 * N))|$N|1|1"
check "verdicts: one per call for version 1" \
  is "$(sql "SELECT count(*) || '|' || count(DISTINCT recording_id) FROM verdicts WHERE version = 1")" "$N|$N"
check "every stage of every call done once (stage_runs)" \
  is "$(sql "SELECT count(*) FROM stage_runs WHERE status <> 'done'")" 0
check "results (JSON): $N recordings with a verdict and 4 answers each" \
  eval 'is "$(req res GET "/v1/batches/$ID/results?limit=100" "${H[@]}")|$(js res "[.recordings[] | select(.verdict != null and (.answers | length) == 4)] | length")" "200|$N"'
python3 - "$OUT/res" <<'EOF'
import json, sys
rs = json.load(open(sys.argv[1]))["recordings"]
bad = []
for r in rs:
    a = {x["question"]: x for x in r["answers"]}
    if a["silence"]["source"] != "metric" or not any("metric" in e for e in a["silence"]["evidence"]):
        bad.append("%s: the metric answer lacks its value as evidence" % r["name"])
    sh = a["share"]
    if not isinstance(sh["answer"], (int, float)) or abs(sh["answer"] - r["metrics"]["agent"]["talk_share"]) > 1e-6:
        bad.append("%s: share %r is not the agent's talk_share %r" % (r["name"], sh["answer"], r["metrics"]["agent"]["talk_share"]))
    sp = a["agent_spoke"]
    if sp["source"] != "phrase" or sp["answer"] not in ("yes", "no"):
        bad.append("%s: agent_spoke %r from %r" % (r["name"], sp["answer"], sp["source"]))
    if sp["answer"] == "yes" and not all(("text" in e and "start" in e and e.get("role") == "agent") for e in sp["evidence"] or [{}]):
        bad.append("%s: phrase evidence without quoted words, times and role: %r" % (r["name"], sp["evidence"]))
    if a["polite"]["source"] != "llm" or not a["polite"]["valid"]:
        bad.append("%s: the LLM question: %r" % (r["name"], a["polite"]))
    if r["verdict"] not in ("pass", "fail", "flag"):
        bad.append("%s: verdict %r" % (r["name"], r["verdict"]))
yes = sum(1 for r in rs if {x["question"]: x for x in r["answers"]}["agent_spoke"]["answer"] == "yes")
print(("ok" if not bad else "not ok") + " - answers carry evidence (quoted words with times and role, metric values), LLM answers valid, a verdict each" + "".join("\n# " + b for b in bad))
print(("ok" if yes >= 1 else "not ok") + " - the phrase question is answered yes on at least one call (%d of %d)" % (yes, len(rs)))
EOF
check "results (CSV): a header and $N rows" \
  eval 'is "$(req resc GET "/v1/batches/$ID/results?limit=100&format=csv" "${H[@]}")|$(wc -l <"$OUT/resc")" "200|$((N + 1))"'
check "trades: $(( (N + 1) / 2 )) trades (two calls each, the last maybe one), every call judged" \
  eval 'is "$(req tr GET "/v1/batches/$ID/trades" "${H[@]}")|$(js tr ".trades | length")|$(js tr "[.trades[] | select(.calls == .judged) | .calls] | add")" "200|$(( (N + 1) / 2 ))|$N"'

# ---- the webhook: once per webhook-id, signed, after the receiver's failures ----
hook_accepted() {  # TYPE ID — how many accepted deliveries of that id
  jq -s --arg id "$2" '[.[] | select(.id == $id and .accepted == true)] | length' "$HOOK_LOG"
}
EV1="evt_b${ID}_v1_completed"
for ((i = 0; i < 300; i++)); do [ "$(hook_accepted batch.completed "$EV1")" -ge 1 ] && break; sleep 0.1; done
check "batch.completed ($EV1) accepted exactly once" is "$(hook_accepted batch.completed "$EV1")" 1
check "... after the receiver's two failures (500, 429): 3 requests with that webhook-id" \
  is "$(jq -s --arg id "$EV1" '[.[] | select(.id == $id)] | length' "$HOOK_LOG")" 3
check "every delivery carried a valid signature and timestamp" \
  is "$(jq -s '[.[] | select(.sig_ok != true or .ts_ok != true)] | length' "$HOOK_LOG")" 0
check "the payload names the batch, its $N done calls and audit version 1" \
  is "$(jq -s -r --arg id "$EV1" '[.[] | select(.id == $id and .accepted)][0].data | "\(.batch.id // .batch_id)|\(.recordings.done // .counts.done)|\(.audit_version)"' "$HOOK_LOG")" "$ID|$N|1"

# ---- reaudit with one changed rule: only the verdicts stage runs again ----------
sql "SELECT r.name || ':' || s.stage || ':' || s.attempts || ':' || s.started_at FROM stage_runs s JOIN recordings r ON r.id = s.recording_id WHERE s.stage <> 'verdicts' ORDER BY 1" >"$TMP/runs-before"
sql "SELECT r.name || ':' || s.started_at FROM stage_runs s JOIN recordings r ON r.id = s.recording_id WHERE s.stage = 'verdicts' ORDER BY 1" >"$TMP/verdicts-before"
jq -n --arg rules "$RULES2" '{rules: $rules}' >"$TMP/reaudit.json"
check "POST reaudit with one changed rule is 202, version 2, from verdicts, $N queued" \
  eval 'is "$(req ra POST /v1/batches/$ID/reaudit "${H[@]}" -H "Content-Type: application/json" --data-binary @$TMP/reaudit.json)|$(js ra .version)|$(js ra .from_stage)|$(js ra .requeued)" "202|2|verdicts|$N"'
for ((i = 0; i < 3000; i++)); do
  req st GET "/v1/batches/$ID" "${H[@]}" >/dev/null
  [ "$(js st .status)" = Completed ] && [ "$(sql "SELECT count(*) FROM verdicts WHERE version = 2")" = "$N" ] && break
  sleep 0.2
done
check "the reaudit finished: $N verdicts for version 2" is "$(sql "SELECT count(*) FROM verdicts WHERE version = 2")" "$N"
sql "SELECT r.name || ':' || s.stage || ':' || s.attempts || ':' || s.started_at FROM stage_runs s JOIN recordings r ON r.id = s.recording_id WHERE s.stage <> 'verdicts' ORDER BY 1" >"$TMP/runs-after"
sql "SELECT r.name || ':' || s.started_at FROM stage_runs s JOIN recordings r ON r.id = s.recording_id WHERE s.stage = 'verdicts' ORDER BY 1" >"$TMP/verdicts-after"
check "stage_runs: no stage but verdicts ran again (start times and attempts of $(wc -l <"$TMP/runs-before") runs unchanged)" \
  cmp -s "$TMP/runs-before" "$TMP/runs-after"
check "stage_runs: the verdicts stage ran again for all $N calls" \
  is "$(comm -12 "$TMP/verdicts-before" "$TMP/verdicts-after" | wc -l)|$(wc -l <"$TMP/verdicts-after")" "0|$N"
flagged=$(sql "SELECT count(*) FROM verdicts WHERE version = 2 AND verdict = 'flag'")
check "the changed rule flags the calls with a silence over 2 s ($flagged of $N)" test "$flagged" -ge 1
check "/changes lists those $flagged calls, old → new verdict, with long_silence fired" \
  eval 'is "$(req ch GET "/v1/batches/$ID/changes?limit=100" "${H[@]}")|$(js ch "[.changes[] | select(.new.verdict == \"flag\" and .old.verdict != \"flag\" and (.rules_fired | map(if type == \"object\" then .rule else . end) | index(\"long_silence\")))] | length")" "200|$flagged"'
check "version 1's results stay queryable (no call flagged there)" \
  eval 'is "$(req r1 GET "/v1/batches/$ID/results?version=1&limit=100" "${H[@]}")|$(js r1 "[.recordings[] | select(.verdict == \"flag\")] | length")|$(js r1 .version)" "200|0|1"'
EV2="evt_b${ID}_v2_completed"
for ((i = 0; i < 300; i++)); do [ "$(hook_accepted batch.completed "$EV2")" -ge 1 ] && break; sleep 0.1; done
check "the reaudit's batch.completed ($EV2) accepted once; $EV1 still once" \
  is "$(hook_accepted batch.completed "$EV2")|$(hook_accepted batch.completed "$EV1")" "1|1"
check "no delivery left pending" \
  is "$(sql "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")" 0
