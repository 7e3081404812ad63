#!/usr/bin/env bash
# Signed webhooks (issue 14 part 4) against a real receiver
# (tests/servers/webhook_receiver.py) that checks every signature and
# timestamp and fails each event's first deliveries: a hang (the worker is
# killed with -9 in the middle of it), a 500, a 429 with Retry-After, a
# timeout, then 200. A batch of tick-stage recordings is submitted with a
# webhook (file and batch events); a worker processes it, is killed mid-
# delivery, a second worker finishes the deliveries: every event is accepted
# exactly once per webhook-id, every request carried a valid signature, and
# `parley webhooks list` shows every attempt. Then 410 Gone disables the
# endpoint and `parley webhooks redeliver` sends the event again.
# On SQLite, and on PostgreSQL + Redis when PARLEY_TEST_PG_URL and
# PARLEY_TEST_REDIS_URL are set (tests/run.sh sets them).
. "$(dirname "$0")/lib.sh"
unset PARLEY_CONFIG PARLEY_STORE PARLEY_QUEUE PARLEY_QUEUE_PREFIX PARLEY_DATA
# The receiver's hang and sleep (30 s, 5 s) outlast it; each such attempt
# holds the one sender for this long, so it is short (but the first worker's).
export PARLEY_WEBHOOK_TIMEOUT=2
SECRET="whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
export HOOK_SECRET=$SECRET

RECV_PID=""
recv_start() {  # dir, receiver args...
  local dir=$1; shift
  mkdir -p "$dir"
  rm -f "$dir/port"
  WEBHOOK_SECRET=$SECRET python3 "$ROOT/tests/servers/webhook_receiver.py" \
    --port-file "$dir/port" --log "$dir/recv.jsonl" "$@" >"$dir/recv.out" 2>&1 &
  RECV_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do
    [ -s "$dir/port" ] && break
    sleep 0.05
  done
  [ -s "$dir/port" ] || { cat "$dir/recv.out"; return 1; }
  RECV_URL="http://127.0.0.1:$(cat "$dir/port")/hook"
}
recv_stop() {
  [ -n "$RECV_PID" ] || return 0
  kill "$RECV_PID" 2>/dev/null
  wait "$RECV_PID" 2>/dev/null
  RECV_PID=""
}
cleanup_all() { recv_stop; rm -rf "$TMP"; }
trap cleanup_all EXIT

# Wait until the receiver logged a line matching a Python predicate on `l`.
recv_wait() {  # dir, seconds, predicate
  local dir=$1 secs=$2 pred=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    python3 - "$dir/recv.jsonl" "$pred" <<'EOF' && return 0
import json, sys
try:
    lines = [json.loads(x) for x in open(sys.argv[1])]
except FileNotFoundError:
    sys.exit(1)
sys.exit(0 if any(eval(sys.argv[2], {}, {"l": l}) for l in lines) else 1)
EOF
    sleep 0.1
  done
  return 1
}

# ---- usage: the webhook flags are checked at submit; the secret never shows
check "parley --help lists webhooks" bash -c "'$PARLEY' --help | grep -q '^  webhooks '"
for flag in list redeliver deliver --batch --attempts --wait; do
  check "webhooks --help documents $flag" bash -c "'$PARLEY' webhooks --help | grep -q -- '$flag'"
done
for flag in --webhook --webhook-secret-env --webhook-events --webhook-schedule; do
  check "submit --help documents $flag" bash -c "'$PARLEY' submit --help | grep -q -- '$flag'"
done
mkdir -p "$TMP/in"
for i in 1 2 3; do echo "recording $i" >"$TMP/in/call$i.wav"; done
expect_usage() {  # description, expected text, args...
  local what=$1 text=$2; shift 2
  local out status
  out=$("$PARLEY" "$@" 2>&1); status=$?
  if [ $status -eq 2 ] && grep -q -- "$text" <<<"$out"; then ok "$what"; else notok "$what (status $status: $out)"; fi
}
U="$TMP/u/parley.db"
expect_usage "--webhook without --webhook-secret-env is refused" "go together" \
  submit "$TMP/in" --store "$U" --webhook http://127.0.0.1:1/h
expect_usage "an unset secret variable is named" "NOPE_UNSET is not set" \
  submit "$TMP/in" --store "$U" --webhook http://127.0.0.1:1/h --webhook-secret-env NOPE_UNSET
expect_usage "a URL with a password is refused" "user or password" \
  submit "$TMP/in" --store "$U" --webhook http://u:p@127.0.0.1:1/h --webhook-secret-env HOOK_SECRET
expect_usage "an unknown event kind is named" "'files' is not one of" \
  submit "$TMP/in" --store "$U" --webhook http://127.0.0.1:1/h --webhook-secret-env HOOK_SECRET --webhook-events batch,files
expect_usage "a bad schedule is refused" "webhook schedule" \
  submit "$TMP/in" --store "$U" --webhook http://127.0.0.1:1/h --webhook-secret-env HOOK_SECRET --webhook-schedule 5x
SHORT=short expect_usage "a short secret is refused" "shorter than 16 bytes" \
  submit "$TMP/in" --store "$U" --webhook http://127.0.0.1:1/h --webhook-secret-env SHORT
check "nothing was stored by the refused submits" test ! -e "$U"

# ---- one run: submit, worker killed mid-delivery, a second worker
# args: label, then the store options (--store … [--queue … --data …])
run_case() {
  local label=$1; shift
  local S=("$@")
  local d="$TMP/$label"
  mkdir -p "$d"
  recv_start "$d" --script "hang:30,500,429:1,sleep:5" || { notok "$label: the receiver starts"; return; }
  local out
  out=$("$PARLEY" submit "$TMP/in" "${S[@]}" --batch calls --pipeline noop \
    --webhook "$RECV_URL" --webhook-secret-env HOOK_SECRET --webhook-events batch,file \
    --webhook-schedule 0.2s,0.2s,0.2s,0.2s,0.2s 2>&1)
  check "$label: submit with a webhook ($out)" grep -q "3 recordings added" <<<"$out"

  # (this worker waits 30 s for an answer: it is killed in the middle of it)
  PARLEY_WEBHOOK_TIMEOUT=30 "$PARLEY" worker "${S[@]}" --jobs 2 -v >"$d/worker1.log" 2>&1 &
  local wpid=$! kids="" k alive i
  # the first delivery hangs in the receiver: kill the worker right there
  if recv_wait "$d" 120 'l.get("arrived")'; then
    kids=$(pgrep -P "$wpid")
    pkill -9 -P "$wpid" 2>/dev/null; kill -9 "$wpid" 2>/dev/null
    ok "$label: a delivery reached the receiver and hangs; worker killed with -9"
  else
    notok "$label: no delivery reached the receiver within 120 s"
    tail -20 "$d/worker1.log"
  fi
  wait "$wpid" 2>/dev/null
  # the next worker takes over the deliveries of senders that no longer
  # exist; a killed one is a zombie (it answers kill -0) until init reaps it
  for ((i = 0; i < 300; i++)); do
    alive=0
    for k in $kids; do kill -0 "$k" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  local killed_id
  killed_id=$(python3 -c '
import json, sys
for x in open(sys.argv[1]):
    l = json.loads(x)
    if l.get("arrived"):
        print(l["id"]); break' "$d/recv.jsonl")
  echo "# killed during the delivery of $killed_id"

  limit 300 "$PARLEY" worker "${S[@]}" --jobs 1 -v >"$d/worker2.log" 2>&1
  check "$label: a second worker exits 0 after sending the retries" test $? -eq 0
  "$PARLEY" webhooks list "${S[@]}" --attempts >"$d/list.txt" 2>&1
  sed 's/^/# /' "$d/list.txt"
  check "$label: webhooks list shows 4 deliveries, all delivered" \
    test "$(grep -cE '^[0-9]+ .* delivered ' "$d/list.txt")" -eq 4
  check "$label: the killed attempt is in the log as one with no answer" \
    grep -q "no answer recorded: the sender stopped during the attempt" "$d/list.txt"
  check "$label: the receiver's 500, 429 and timeouts are in the attempts log" \
    bash -c "grep -q 'status 500 .*HTTP 500: scripted 500' '$d/list.txt' && grep -q 'status 429' '$d/list.txt' && grep -q 'no answer within 2 s' '$d/list.txt'"
  python3 - "$d/recv.jsonl" "$killed_id" >"$d/verdict.txt" 2>&1 <<'EOF'
import json, sys
lines = [json.loads(x) for x in open(sys.argv[1])]
killed = sys.argv[2]
want = {"evt_r1_v0_done", "evt_r2_v0_done", "evt_r3_v0_done", "evt_b1_v0_completed"}
bad = []
acc = {}
for l in lines:
    if not (l["sig_ok"] and l["ts_ok"]):
        bad.append("bad signature or timestamp: %s" % l)
    if l.get("accepted"):
        acc[l["id"]] = acc.get(l["id"], 0) + 1
if set(acc) != want:
    bad.append("accepted ids %s, wanted %s" % (sorted(acc), sorted(want)))
for i, n in acc.items():
    if n != 1:
        bad.append("%s accepted %d times" % (i, n))
for i in want:
    steps = [l.get("step") for l in lines if l["id"] == i and not l.get("arrived")]
    if not {"500", "429:1"} <= set(steps):
        bad.append("%s: the receiver's failures were not all seen: %s" % (i, steps))
if killed not in want:
    bad.append("the killed delivery %r is not one of the events" % killed)
elif not any(l["id"] == killed and l.get("accepted") for l in lines):
    bad.append("the killed delivery never arrived afterwards")
b = [l for l in lines if l["id"] == "evt_b1_v0_completed" and l.get("accepted")]
if b:
    d = b[0]["data"]
    if d["batch"]["name"] != "calls" or d["counts"] != {"total": 3, "done": 3, "failed": 0} \
       or d["status"] != "Completed" or [s["stage"] for s in d["stages"]] != \
       ["tick1", "tick2", "tick3", "tick4", "tick5", "tick6"] or b[0]["type"] != "batch.completed":
        bad.append("batch.completed data: %s" % d)
print("\n".join(bad) if bad else "all good: %d requests" % len(lines))
sys.exit(1 if bad else 0)
EOF
  local st=$?
  sed 's/^/# /' "$d/verdict.txt"
  check "$label: each event accepted exactly once per webhook-id, all signatures valid, after the receiver's failures" test $st -eq 0
  check "$label: the secret appears in no output" \
    bash -c "! grep -qF -- '$SECRET' '$d/worker1.log' '$d/worker2.log' '$d/list.txt'"
  recv_stop
}

run_case sqlite --store "$TMP/sqlite/parley.db"

# ---- 410 Gone disables the endpoint; redeliver enables it and sends again
d="$TMP/gone"
recv_start "$d" --script 410 || notok "the 410 receiver starts"
"$PARLEY" submit "$TMP/in" --store "$d/parley.db" --batch gone --pipeline noop \
  --webhook "$RECV_URL" --webhook-secret-env HOOK_SECRET >/dev/null 2>&1
limit 120 "$PARLEY" worker --store "$d/parley.db" --jobs 1 -q >"$d/worker.log" 2>&1
check "410: the worker exits 0" test $? -eq 0
out=$("$PARLEY" webhooks list --store "$d/parley.db" --batch gone 2>&1)
echo "$out" | sed 's/^/# /'
check "410: the delivery is disabled after one attempt" grep -qE "evt_b1_v0_completed +batch.completed +disabled +1 +410" <<<"$out"
out=$("$PARLEY" webhooks redeliver evt_b1_v0_completed --store "$d/parley.db" 2>&1)
check "410: redeliver enables the endpoint again ($out)" grep -q "enabled again" <<<"$out"
limit 60 "$PARLEY" webhooks deliver --store "$d/parley.db" >"$d/deliver.log" 2>&1
check "410: webhooks deliver exits 0" test $? -eq 0
out=$("$PARLEY" webhooks list --store "$d/parley.db" 2>&1)
check "410: redelivered and accepted" grep -qE "evt_b1_v0_completed +batch.completed +delivered +2 +200" <<<"$out"
out=$("$PARLEY" webhooks redeliver 9999 --store "$d/parley.db" 2>&1); st=$?
check "redeliver of an unknown id: status 1 naming it ($out)" bash -c "[ $st -eq 1 ] && grep -q 'no webhook delivery 9999' <<<'$out'"
recv_stop

# ---- PostgreSQL + Redis
if [ -n "${PARLEY_TEST_PG_URL:-}" ] && [ -n "${PARLEY_TEST_REDIS_URL:-}" ]; then
  schema="parley_wh_$$"
  psql -q "$PARLEY_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null 2>&1
  sep='?'; case "$PARLEY_TEST_PG_URL" in *\?*) sep='&';; esac
  pg="$PARLEY_TEST_PG_URL${sep}options=-csearch_path%3D$schema"
  mkdir -p "$TMP/pgdata"
  run_case pg-redis --store "$pg" --queue "$PARLEY_TEST_REDIS_URL" --queue-prefix "wh_$$:" --data "$TMP/pgdata"
  psql -q "$PARLEY_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
  hp=${PARLEY_TEST_REDIS_URL#redis://}; hp=${hp%%/*}
  redis-cli -h "${hp%%:*}" -p "${hp##*:}" --scan --pattern "wh_$$:*" |
    xargs -r redis-cli -h "${hp%%:*}" -p "${hp##*:}" del >/dev/null 2>&1
else
  ok "PostgreSQL + Redis case # SKIP PARLEY_TEST_PG_URL or PARLEY_TEST_REDIS_URL unset"
fi
