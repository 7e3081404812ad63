#!/usr/bin/env bash
# tests/lib/servers.sh: start, restart and stop a real PostgreSQL and a real
# Redis in this test's own temp dir (independent of the suite's servers):
# the ports answer, a restart keeps the port and the data (a table row; a
# Redis key with --persist), and a stop leaves no process behind.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/servers.sh"
# lib.sh sets only -u so that one failing check does not hide the others;
# -e and pipefail are added here and every step that may fail is tested in
# an `if`/check, so an unexpected failure still ends the test loudly.
set -euo pipefail
# Stop what this test started (by PID) before lib.sh's cleanup removes TMP.
trap 'servers_stop_all; cleanup' EXIT

S="$TMP/s"
gone() { ! kill -0 "$1" 2>/dev/null; }
psql_q() { "$PG_BIN/psql" -X -q -tA -v ON_ERROR_STOP=1 "$PG_URL" -c "$1"; }
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

# ---- PostgreSQL
if ! pg_start "$S"; then notok "pg_start starts PostgreSQL"; exit 1; fi
ok "pg_start starts PostgreSQL"
check "PG_PORT is in 20000-60000" test "$PG_PORT" -ge 20000 -a "$PG_PORT" -le 60000
check "PG_URL names the port and database parley" test "$PG_URL" = "postgresql://postgres@127.0.0.1:$PG_PORT/parley"
check "PG_PID is the running postmaster" kill -0 "$PG_PID"
check "PG_PID matches postmaster.pid" test "$PG_PID" = "$(head -1 "$S/pg/postmaster.pid")"
check "PostgreSQL answers SELECT 1 on PG_URL" test "$(psql_q 'SELECT 1')" = 1
check "max_connections is 200" test "$(psql_q 'SHOW max_connections')" = 200
check "fsync is on" test "$(psql_q 'SHOW fsync')" = on
check "listens on 127.0.0.1 only" test "$(psql_q 'SHOW listen_addresses')" = 127.0.0.1
check "unix socket is inside the test dir" test -S "$S/pgsock/.s.PGSQL.$PG_PORT"

old_pid=$PG_PID old_port=$PG_PORT
pg_start "$S" || true
check "pg_start again is a no-op (same pid)" test "$PG_PID" = "$old_pid"

psql_q "CREATE TABLE survive (v text); INSERT INTO survive VALUES ('kept')" >/dev/null
if pg_restart; then ok "pg_restart"; else notok "pg_restart"; exit 1; fi
check "restart keeps the port" test "$PG_PORT" = "$old_port"
check "restart gives a new postmaster" test "$PG_PID" != "$old_pid"
check "the old postmaster is gone" gone "$old_pid"
check "a committed row survives the restart" test "$(psql_q 'SELECT v FROM survive')" = kept

# A chaos test restarts PostgreSQL under connected clients: the fast
# shutdown ends their sessions and leaves TIME_WAIT sockets on the port,
# which must not stop the restart on the same port.
"$PG_BIN/psql" -X -q "$PG_URL" -c 'SELECT pg_sleep(30)' >/dev/null 2>&1 &
client=$!
for _ in $(seq 50); do
  [ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'")" = 1 ] && break
  sleep 0.1
done
if pg_restart; then ok "pg_restart with a client connected"; else notok "pg_restart with a client connected"; exit 1; fi
check "... keeps the port" test "$PG_PORT" = "$old_port"
client_status=0; wait "$client" || client_status=$?
check "... ended the client's session (psql status $client_status)" test "$client_status" -ne 0
check "... and answers again" test "$(psql_q 'SELECT v FROM survive')" = kept

pid=$PG_PID
check "pg_stop" pg_stop
check "after pg_stop the postmaster is gone (kill -0 fails)" gone "$pid"
check "after pg_stop the port is free" _srv_port_free "$old_port"
check "pg_stop again is a no-op" pg_stop

# ---- Redis, appendonly (--persist)
if ! redis_start "$S" --persist; then notok "redis_start --persist starts redis-server"; exit 1; fi
ok "redis_start --persist starts redis-server"
check "REDIS_URL names the port" test "$REDIS_URL" = "redis://127.0.0.1:$REDIS_PORT"
check "redis answers PING" test "$(rcli ping)" = PONG
check "appendonly is on" test "$(rcli config get appendonly | tail -1)" = yes
check "appendfsync is everysec" test "$(rcli config get appendfsync | tail -1)" = everysec
check "RDB snapshots are off" test -z "$(rcli config get save | tail -1)"
rcli set parley:survive kept >/dev/null
old_pid=$REDIS_PID old_port=$REDIS_PORT
if redis_restart; then ok "redis_restart"; else notok "redis_restart"; exit 1; fi
check "restart keeps the port" test "$REDIS_PORT" = "$old_port"
check "restart gives a new redis-server" test "$REDIS_PID" != "$old_pid"
check "the old redis-server is gone" gone "$old_pid"
check "with --persist a key survives the restart" test "$(rcli get parley:survive)" = kept
pid=$REDIS_PID
check "redis_stop" redis_stop
check "after redis_stop redis-server is gone (kill -0 fails)" gone "$pid"
check "after redis_stop the port is free" _srv_port_free "$old_port"

# ---- Redis without --persist: nothing is kept (appendonly no, no RDB)
if ! redis_start "$TMP/r2"; then notok "redis_start without --persist"; exit 1; fi
ok "redis_start without --persist"
check "appendonly is off" test "$(rcli config get appendonly | tail -1)" = no
rcli set parley:lost x >/dev/null
check "redis_restart (no persist)" redis_restart
check "without --persist the key is gone after restart" test -z "$(rcli get parley:lost)"
pid=$REDIS_PID
servers_stop_all
check "servers_stop_all stops redis-server" gone "$pid"
check "servers_stop_all with nothing running succeeds" servers_stop_all
