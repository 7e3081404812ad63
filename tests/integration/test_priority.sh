#!/usr/bin/env bash
# Priorities (issue 17): a session ended while a 2,000-recording batch is
# running is taken next — on the store queue (SQLite) and on Redis
# (PostgreSQL + Redis, when PARLEY_TEST_PG_URL / PARLEY_TEST_REDIS_URL are
# set). One worker (-j 1) runs the batch (2,000 empty files through the noop
# stages) with file_start logged; the session ends through `parley serve
# --no-workers`. The check is the order the queue handed work out: every
# batch recording that was waiting and not held by the worker when the end
# returned was started after the session's recording (its file_start event
# comes later). With one worker that holds exactly, whatever the timing:
# after the end is committed (and pushed to Redis) the worker's next take
# leases the session's first. What the worker had already taken ahead
# (worker.h: at most ~50 ms of work) may run before it.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/serve.sh"

N=2000
SERVER_PID=
WORKER_PID=
PG_DB=
RUN_ID="p$$_$RANDOM"
prio_cleanup() {
  serve_stop
  [ -n "$WORKER_PID" ] && kill -TERM "$WORKER_PID" 2>/dev/null && wait "$WORKER_PID" 2>/dev/null
  if [ -n "$PG_DB" ]; then
    psql -X -q "$PARLEY_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1
  fi
  if [ -n "${PARLEY_TEST_REDIS_URL:-}" ]; then
    local hp=${PARLEY_TEST_REDIS_URL#redis://}; hp=${hp%%/*}
    redis-cli -h "${hp%%:*}" -p "${hp##*:}" --scan --pattern "t_${RUN_ID}:*" |
      xargs -r redis-cli -h "${hp%%:*}" -p "${hp##*:}" del >/dev/null 2>&1
  fi
  cleanup
}
trap prio_cleanup EXIT

# ---- inputs: the bulk batch's files and the session's audio -----------------
mkdir -p "$TMP/bulk"
(cd "$TMP/bulk" && for ((i = 1; i <= N; i++)); do : >"call$i.wav"; done)
$GEN --out "$TMP/gen" --name talk --speakers 1 --turns 2 --seed 8 --quiet ||
  { notok "generate the session's audio"; exit 1; }

req() {  # METHOD PATH TOKEN [curl args] — prints the status, body in $OUT_BODY
  local method=$1 path=$2 token=$3; shift 3
  curl -s --max-time 60 -X "$method" -o "$OUT_BODY" -w '%{http_code}' \
    -H "Authorization: Bearer $token" "$@" "$BASE$path"
}

# run_case NAME SQL-COMMAND STORE-ARGS...: the whole scenario on one backend.
run_case() {
  local name=$1 sqlcmd=$2; shift 2
  local S=("$@") tok sid i done_n st rec unleased first before
  OUT_BODY="$TMP/$name.body"
  sql() { $sqlcmd "$1"; }
  tok=$(user_token ana "${S[@]}")
  check "[$name] a user" test -n "$tok" || return
  serve_start "$TMP/$name-serve.log" --no-workers --threads 2 -q "${S[@]}" ||
    { notok "[$name] serve --no-workers starts"; return; }
  st=$(req POST /v1/sessions "$tok" -H "Content-Type: application/json" -d '{"title":"a call"}')
  sid=$(jq -r .id "$OUT_BODY")
  st="$st $(req PUT "/v1/sessions/$sid/chunks/0" "$tok" -H "Content-Type: application/octet-stream" \
    --data-binary "@$TMP/gen/talk.wav")"
  check "[$name] a session with one chunk ($st)" test "$st" = "201 201"

  echo "# [$name] $SECONDS s: submit"
  limit 300 "$PARLEY" submit "$TMP/bulk" --batch bulk --pipeline noop "${S[@]}" >/dev/null
  check "[$name] submit $N recordings to batch bulk" test "$(sql "SELECT count(*) FROM recordings r
    JOIN batches b ON b.id = r.batch_id WHERE b.name = 'bulk'")" = "$N"
  PARLEY_LOG_FILE_START=1 "$PARLEY" worker -j 1 --wait -q "${S[@]}" >"$TMP/$name-worker.log" 2>&1 &
  WORKER_PID=$!
  # the batch is running: some recordings done
  for ((i = 0; i < 600; i++)); do
    done_n=$(sql "SELECT count(*) FROM recordings WHERE status = 'done'")
    [ "${done_n:-0}" -ge 20 ] && break
    sleep 0.1
  done
  check "[$name] the worker is through the batch's first recordings ($done_n done)" test "${done_n:-0}" -ge 20

  echo "# [$name] $SECONDS s: end the session"
  st=$(req POST "/v1/sessions/$sid/end" "$tok")
  # waiting and not held when the end returned: pending, no lease (the
  # worker's take-ahead holds a few, leased but not started, that go first)
  sql "SELECT r.id FROM recordings r JOIN batches b ON b.id = r.batch_id
       WHERE b.name = 'bulk' AND r.status = 'pending' AND r.lease_owner IS NULL" >"$TMP/$name.unleased"
  unleased=$(wc -l <"$TMP/$name.unleased")
  check "[$name] the session ends (202) while the batch runs ($unleased of $N recordings not yet taken)" \
    test "$st" = 202 -a "$unleased" -gt 0
  rec=$(sql "SELECT recording_id FROM sessions WHERE id = '$sid'")
  # taken: its file_start is logged (right after its lease); the speech
  # stages themselves are not what this test is about
  first=
  for ((i = 0; i < 1200; i++)); do
    first=$(sql "SELECT min(id) FROM events WHERE type = 'file_start' AND recording_id = ${rec:-0}")
    [ -n "$first" ] && break
    sleep 0.1
  done
  echo "# [$name] $SECONDS s: taken"
  # no need to wait for its speech stages: the store is thrown away
  kill -KILL "$WORKER_PID"; wait "$WORKER_PID" 2>/dev/null; WORKER_PID=
  check "[$name] the worker takes the session's recording (file_start event ${first:-missing})" \
    test -n "$first"
  # batch recordings waiting at the end that were taken before the session's
  before=$(sql "SELECT count(*) FROM events WHERE type = 'file_start' AND id < ${first:-0}
    AND recording_id IN ($(paste -sd, "$TMP/$name.unleased"))")
  check "[$name] the session was taken before every one of the $unleased batch recordings still waiting ($before before it)" \
    test "$before" = 0
  serve_stop
}

# ---- store queue, SQLite -------------------------------------------------------
if ! command -v sqlite3 >/dev/null 2>&1; then
  ok "store queue on SQLite # SKIP sqlite3 not found"
else
  DB="$TMP/sqlite/parley.db"
  mkdir -p "$TMP/sqlite"
  run_case sqlite "sqlite3 -batch $DB" --store "$DB" --data "$TMP/sqlite/data"
fi

# ---- Redis queue, PostgreSQL store ---------------------------------------------
if [ -z "${PARLEY_TEST_PG_URL:-}" ] || [ -z "${PARLEY_TEST_REDIS_URL:-}" ]; then
  ok "Redis queue on PostgreSQL # SKIP PARLEY_TEST_PG_URL / PARLEY_TEST_REDIS_URL unset"
  exit 0
fi
PG_DB="t_${RUN_ID}"
psql -X -q -v ON_ERROR_STOP=1 "$PARLEY_TEST_PG_URL" -c "CREATE DATABASE $PG_DB" >/dev/null ||
  { notok "create database $PG_DB"; exit 0; }
PG="${PARLEY_TEST_PG_URL%/*}/$PG_DB"
run_case pg+redis "psql $PG -XAtqc" --store "$PG" --queue "$PARLEY_TEST_REDIS_URL" \
  --queue-prefix "t_${RUN_ID}:" --data "$TMP/pg/data"
