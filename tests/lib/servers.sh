# shellcheck shell=bash
# tests/lib/servers.sh — start and stop real PostgreSQL and Redis servers for
# tests and benches (sourced, not run).
#
#   pg_start DIR            initdb into DIR/pg (first time), start on a free
#                           127.0.0.1 port; exports PG_PORT PG_PID PG_URL PG_DIR
#   pg_stop                 fast shutdown by PID (SIGINT, bounded wait, SIGKILL)
#   pg_restart              pg_stop, then start on the same port and data dir
#   redis_start DIR [--persist]
#                           redis-server on a free 127.0.0.1 port, data in
#                           DIR/redis; exports REDIS_PORT REDIS_PID REDIS_URL
#   redis_stop              SIGTERM by PID, bounded wait, SIGKILL
#   redis_restart           redis_stop, then start on the same port and dir
#   servers_stop_all        both stops; never fails (for EXIT traps)
#
# Where they listen: 127.0.0.1 in the caller's network namespace, unless the
# caller sets, before pg_start / redis_start and unchanged until the stops,
#   SERVERS_NETNS=NAME      run the servers (and the probes of this file:
#                           port checks, psql, redis-cli) in network
#                           namespace NAME with `ip netns exec` (root only;
#                           tests/multihost/multihost.sh)
#   SERVERS_HOST=ADDR       listen on ADDR instead (an address of that
#                           namespace); PG_URL / REDIS_URL name it. Redis then
#                           runs with protected-mode off: it has no password
#                           and must answer the other namespaces.
#
# Every function returns non-zero with a message on stderr when it fails and
# is safe under `set -euo pipefail`. This file deliberately does NOT set shell
# options itself: it is sourced into callers such as tests/run.sh that count
# failures instead of exiting on the first one, and it must not change their
# behaviour. Because `set -e` is ignored inside a function called from an
# `if`/`||` context, every step here checks its own status explicitly.
#
# Processes are only ever stopped by the PID this file recorded — never by
# name — so servers of other suites, benches or users are never touched.
# One PostgreSQL and one Redis per shell; a child shell that sources this file
# starts with no server of its own even when the parent exported PG_*/REDIS_*.

if [ -z "${_PARLEY_SERVERS_SH:-}" ]; then
  _PARLEY_SERVERS_SH=1   # not exported: each sourcing shell gets fresh state
  PG_DIR="" PG_PORT="" PG_PID="" PG_URL="" PG_BIN=""
  REDIS_DIR="" REDIS_PORT="" REDIS_PID="" REDIS_URL="" REDIS_PERSIST=0
fi

_srv_host() { echo "${SERVERS_HOST:-127.0.0.1}"; }

# Run a command in SERVERS_NETNS when set, else here. Not for a command put
# in the background to take its PID: `_srv_in cmd &` forks a subshell, and $!
# would be that subshell's. Use the prefix array instead (`ip netns exec` execs
# the command, so $! is the command's own).
_srv_in() {
  if [ -n "${SERVERS_NETNS:-}" ]; then ip netns exec "$SERVERS_NETNS" "$@"; else "$@"; fi
}

_srv_err() { echo "servers.sh: $*" >&2; }

# True when PID names a live process (a zombie — exited but not yet reaped by
# its parent — counts as gone: it holds no port and no files).
_srv_alive() {
  local pid=$1 state
  [ -n "$pid" ] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Wait up to SECONDS for PID to be gone; reaps it when it is our own child so
# that `kill -0` fails afterwards. Returns 1 on timeout.
_srv_wait_gone() {
  local pid=$1 secs=$2 i j
  for ((i = 0; i < secs * 10; i++)); do
    if ! _srv_alive "$pid"; then
      wait "$pid" 2>/dev/null || true
      # A daemonised server (the postmaster) is reaped by init, which on
      # some machines does it only every second or so; give it up to 5 s so
      # callers checking `kill -0` see it gone. Not an error if it lingers:
      # a zombie holds no port, no files and no memory.
      for ((j = 0; j < 50; j++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Signal PID with SIG, wait up to SECS, then SIGKILL and wait again.
_srv_kill_pid() {
  local pid=$1 sig=$2 secs=$3 what=$4
  _srv_alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
  kill "-$sig" "$pid" 2>/dev/null || true
  if ! _srv_wait_gone "$pid" "$secs"; then
    _srv_err "$what (pid $pid) did not stop within ${secs}s after SIG$sig; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    _srv_wait_gone "$pid" 10 || { _srv_err "$what (pid $pid) survived SIGKILL"; return 1; }
  fi
  return 0
}

# True when a server could bind SERVERS_HOST (127.0.0.1):PORT right now. Binding (rather
# than connecting) also catches ports held by sockets that do not accept.
# SO_REUSEADDR, as PostgreSQL and Redis set it: connections a server closed
# itself (e.g. its backends at a fast shutdown) leave TIME_WAIT entries on
# its port, which block a plain bind but not the server's restart.
_srv_port_free() {
  _srv_in python3 - "$(_srv_host)" "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

# Print a random free port in 20000–60000. The port can still be taken between
# this check and the server's bind: the start functions retry on that.
_srv_free_port() {
  local i port
  for ((i = 0; i < 50; i++)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
    if _srv_port_free "$port"; then echo "$port"; return 0; fi
  done
  _srv_err "no free port found in 20000-60000 after 50 tries"
  return 1
}

_srv_as_root() { [ "$(id -u)" -eq 0 ]; }

# ---------------------------------------------------------------- PostgreSQL

# Highest installed major version under /usr/lib/postgresql — not PATH: on
# Debian, PATH has only the pg_wrapper scripts, which want a cluster config.
_pg_find_bin() {
  local d best="" v bestv=-1
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/postgres" ] || continue
    v=$(basename "$(dirname "$d")")
    v=${v%%.*}
    if [[ $v =~ ^[0-9]+$ ]] && [ "$v" -gt "$bestv" ]; then bestv=$v best=$d; fi
  done
  [ -n "$best" ] || { _srv_err "no PostgreSQL found in /usr/lib/postgresql/*/bin (install the postgresql package: scripts/install-deps.sh)"; return 1; }
  PG_BIN=$best
}

# initdb and postgres refuse to run as root: as root, run them as the
# `postgres` system user (created by Debian's postgresql package). cd to the
# data dir's parent first so the user is not left in a cwd it cannot read.
_pg_run() {
  if _srv_as_root; then
    (cd "$PG_DIR" && _srv_in runuser -u postgres -- "$@")
  else
    (cd "$PG_DIR" && _srv_in "$@")
  fi
}

# As root, the postgres user must be able to reach DIR. Directories inside
# the temp area (${TMPDIR:-/tmp}) — typically a caller's mktemp -d, mode 0700
# — get o+x (search only: others still cannot list them). Any other
# directory on the path that postgres cannot traverse is an error: we do not
# loosen directories such as /root that we did not create.
_pg_prepare_perms() {
  local d tmp parts=() i
  id postgres >/dev/null 2>&1 || { _srv_err "running as root but there is no 'postgres' user (install the postgresql package)"; return 1; }
  tmp=$(cd "${TMPDIR:-/tmp}" 2>/dev/null && pwd -P) || tmp=/tmp
  d=$PG_DIR
  while [ "$d" != / ] && [ -n "$d" ]; do parts+=("$d"); d=$(dirname "$d"); done
  # top-down, so the first directory that blocks is the one named
  for ((i = ${#parts[@]} - 1; i >= 0; i--)); do
    d=${parts[i]}
    runuser -u postgres -- test -x "$d" 2>/dev/null && continue
    case "$(cd "$d" && pwd -P)/" in
      "$tmp"/?*) chmod o+x "$d" || return 1 ;;
    esac
    if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
      _srv_err "user postgres cannot traverse $d (needed to reach $PG_DIR); use a directory under ${TMPDIR:-/tmp} or chmod o+x $d"
      return 1
    fi
  done
  mkdir -p "$PG_DIR/pg" "$PG_DIR/pgsock" || return 1
  touch "$PG_DIR/pg.log" || return 1
  chown -R postgres:postgres "$PG_DIR/pg" "$PG_DIR/pgsock" "$PG_DIR/pg.log" || return 1
}

_pg_psql() {  # extra psql args... (TCP, trust auth, user postgres)
  _srv_in "$PG_BIN/psql" -X -q -h "$(_srv_host)" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 "$@"
}

# Write the settings this file controls into an included file, so a restart
# (pg_ctl start with no -o options) comes back with the same port and socket.
_pg_write_conf() {
  cat >"$PG_DIR/pg/parley_servers.conf" <<EOF || return 1
# written by tests/lib/servers.sh
port = $PG_PORT
listen_addresses = '$(_srv_host)'
unix_socket_directories = '$PG_DIR/pgsock'
max_connections = 200
fsync = on
EOF
  if _srv_as_root; then chown postgres:postgres "$PG_DIR/pg/parley_servers.conf" || return 1; fi
}

# Start the postmaster on PG_PORT from an initialised PG_DIR/pg; wait until it
# answers queries. Returns 2 when the port was taken (caller may retry).
_pg_launch() {
  local i
  _pg_write_conf || return 1
  : >"$PG_DIR/pg.log"
  # pg_ctl daemonises the postmaster (it is re-parented to init, so it never
  # lingers as our zombie) and -w waits for it to accept connections.
  if ! _pg_run "$PG_BIN/pg_ctl" start -w -t 20 -D "$PG_DIR/pg" -l "$PG_DIR/pg.log" >/dev/null 2>&1; then
    if grep -qiE 'could not (bind|create listen socket)|address already in use' "$PG_DIR/pg.log"; then
      _pg_kill_from_pidfile
      return 2
    fi
    _srv_err "PostgreSQL did not start on port $PG_PORT; log tail:"
    tail -20 "$PG_DIR/pg.log" >&2
    _pg_kill_from_pidfile
    return 1
  fi
  PG_PID=$(head -1 "$PG_DIR/pg/postmaster.pid" 2>/dev/null || true)
  if ! [[ $PG_PID =~ ^[0-9]+$ ]]; then
    _srv_err "no postmaster pid in $PG_DIR/pg/postmaster.pid"; PG_PID=""; return 1
  fi
  # Bounded wait (~20 s) for a real query, not just the socket.
  for ((i = 0; i < 200; i++)); do
    if _pg_psql -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
      export PG_DIR PG_PORT PG_PID
      return 0
    fi
    _srv_alive "$PG_PID" || break
    sleep 0.1
  done
  _srv_err "PostgreSQL (pid $PG_PID, port $PG_PORT) does not answer SELECT 1; log tail:"
  tail -20 "$PG_DIR/pg.log" >&2
  _pg_kill_from_pidfile
  return 1
}

# Stop whatever postmaster a failed start left behind, by the PID it wrote.
_pg_kill_from_pidfile() {
  local pid
  pid=$(head -1 "$PG_DIR/pg/postmaster.pid" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  _srv_kill_pid "$pid" INT 20 "PostgreSQL" || true
  PG_PID=""
}

pg_start() {  # DIR
  local dir=${1:-} tries rc port
  [ -n "$dir" ] || { _srv_err "usage: pg_start DIR"; return 1; }
  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd) || return 1
  if _srv_alive "$PG_PID"; then
    [ "$PG_DIR" = "$dir" ] && return 0   # idempotent: already up here
    _srv_err "a PostgreSQL from $PG_DIR is already running in this shell (pid $PG_PID); pg_stop it first"
    return 1
  fi
  PG_DIR=$dir
  if [ ${#PG_DIR} -gt 80 ]; then
    # unix socket paths are limited to ~107 bytes (.s.PGSQL.NNNNN is added)
    _srv_err "directory path too long for a unix socket: $PG_DIR"; return 1
  fi
  _pg_find_bin || return 1
  if _srv_as_root; then _pg_prepare_perms || return 1; else mkdir -p "$PG_DIR/pg" "$PG_DIR/pgsock" || return 1; fi
  if [ ! -f "$PG_DIR/pg/PG_VERSION" ]; then
    # trust auth on 127.0.0.1 only; C locale so the result does not depend on
    # the caller's LANG; superuser named postgres. --no-sync: a test cluster
    # need not survive an OS crash, and the fsyncs cost seconds on a busy box.
    if ! _pg_run "$PG_BIN/initdb" --no-sync -D "$PG_DIR/pg" -U postgres --auth=trust -E UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1; then
      _srv_err "initdb failed; log tail:"; tail -20 "$PG_DIR/initdb.log" >&2; return 1
    fi
    echo "include_if_exists = 'parley_servers.conf'" >>"$PG_DIR/pg/postgresql.conf" || return 1
    # Listening elsewhere (SERVERS_HOST): the hosts of that address's own
    # subnet (the other namespaces' veth addresses) connect too.
    if [ "$(_srv_host)" != 127.0.0.1 ]; then
      echo "host all all samenet trust" >>"$PG_DIR/pg/pg_hba.conf" || return 1
    fi
  fi
  # Reuse the port of an earlier start in this DIR when it is still free.
  port=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$PG_DIR/pg/parley_servers.conf" 2>/dev/null || true)
  for ((tries = 0; tries < 5; tries++)); do
    if [ -z "$port" ] || ! _srv_port_free "$port"; then
      port=$(_srv_free_port) || return 1
    fi
    PG_PORT=$port
    rc=0; _pg_launch || rc=$?
    if [ $rc -eq 0 ]; then break; fi
    if [ $rc -ne 2 ]; then return 1; fi
    port=""   # port taken between the check and the bind: pick another
  done
  [ $rc -eq 0 ] || { _srv_err "PostgreSQL: every port tried was taken"; return 1; }
  if [ "$(_pg_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'parley'")" != 1 ]; then
    _pg_psql -d postgres -c 'CREATE DATABASE parley' || { _srv_err "CREATE DATABASE parley failed"; return 1; }
  fi
  PG_URL="postgresql://postgres@$(_srv_host):$PG_PORT/parley"
  export PG_DIR PG_PORT PG_PID PG_URL
}

pg_stop() {
  [ -n "$PG_PID" ] || return 0
  # SIGINT = PostgreSQL's "fast" shutdown: roll back open transactions,
  # checkpoint, exit. Backends exit when they see the postmaster gone.
  _srv_kill_pid "$PG_PID" INT 30 "PostgreSQL" || return 1
  PG_PID=""
  export PG_PID
}

pg_restart() {
  local rc
  [ -n "$PG_DIR" ] || { _srv_err "pg_restart: no PostgreSQL was started in this shell"; return 1; }
  pg_stop || return 1
  # Same port and data dir: clients hold PG_URL and must reconnect to it.
  if ! _srv_port_free "$PG_PORT"; then
    _srv_err "pg_restart: port $PG_PORT was taken while PostgreSQL was down"; return 1
  fi
  rc=0; _pg_launch || rc=$?
  [ $rc -eq 0 ] || { _srv_err "pg_restart: PostgreSQL did not come back on port $PG_PORT"; return 1; }
}

# --------------------------------------------------------------------- Redis

# Start redis-server on REDIS_PORT and wait for PING. Returns 2 when the port
# was taken (caller may retry).
_redis_launch() {
  local i aof=(--appendonly no) prot=()
  if [ "$REDIS_PERSIST" = 1 ]; then aof=(--appendonly yes --appendfsync everysec); fi
  if [ "$(_srv_host)" != 127.0.0.1 ]; then prot=(--protected-mode no); fi
  local in=()
  if [ -n "${SERVERS_NETNS:-}" ]; then in=(ip netns exec "$SERVERS_NETNS"); fi
  : >"$REDIS_DIR/redis.log"
  # daemonize no + `&` so $! is the server itself (no pidfile to trust);
  # --save '' turns RDB snapshots off: persistence is the AOF or nothing.
  ${in[@]+"${in[@]}"} redis-server --port "$REDIS_PORT" --bind "$(_srv_host)" --dir "$REDIS_DIR/redis" \
    --save '' "${aof[@]}" ${prot[@]+"${prot[@]}"} --daemonize no >>"$REDIS_DIR/redis.log" 2>&1 &
  REDIS_PID=$!
  for ((i = 0; i < 200; i++)); do
    if [ "$(_srv_in redis-cli -h "$(_srv_host)" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; then
      export REDIS_DIR REDIS_PORT REDIS_PID
      return 0
    fi
    if ! _srv_alive "$REDIS_PID"; then
      wait "$REDIS_PID" 2>/dev/null || true
      REDIS_PID=""
      if grep -qiE 'address already in use|could not create server tcp' "$REDIS_DIR/redis.log"; then return 2; fi
      _srv_err "redis-server exited at start on port $REDIS_PORT; log tail:"
      tail -20 "$REDIS_DIR/redis.log" >&2
      return 1
    fi
    sleep 0.1
  done
  _srv_err "redis-server (pid $REDIS_PID, port $REDIS_PORT) does not answer PING after 20s; log tail:"
  tail -20 "$REDIS_DIR/redis.log" >&2
  _srv_kill_pid "$REDIS_PID" TERM 10 "redis-server" || true
  REDIS_PID=""
  return 1
}

redis_start() {  # DIR [--persist]
  local dir=${1:-} persist=0 tries rc port
  [ -n "$dir" ] || { _srv_err "usage: redis_start DIR [--persist]"; return 1; }
  case "${2:-}" in
    "") ;;
    --persist) persist=1 ;;
    *) _srv_err "redis_start: unknown option $2"; return 1 ;;
  esac
  command -v redis-server >/dev/null 2>&1 || { _srv_err "redis-server not found (install redis-server: scripts/install-deps.sh)"; return 1; }
  mkdir -p "$dir/redis" || return 1
  dir=$(cd "$dir" && pwd) || return 1
  if _srv_alive "$REDIS_PID"; then
    [ "$REDIS_DIR" = "$dir" ] && [ "$REDIS_PERSIST" = "$persist" ] && return 0
    _srv_err "a redis-server from $REDIS_DIR is already running in this shell (pid $REDIS_PID); redis_stop it first"
    return 1
  fi
  REDIS_DIR=$dir REDIS_PERSIST=$persist
  port=""
  for ((tries = 0; tries < 5; tries++)); do
    port=$(_srv_free_port) || return 1
    REDIS_PORT=$port
    rc=0; _redis_launch || rc=$?
    if [ $rc -eq 0 ]; then break; fi
    if [ $rc -ne 2 ]; then return 1; fi
  done
  [ $rc -eq 0 ] || { _srv_err "redis-server: every port tried was taken"; return 1; }
  REDIS_URL="redis://$(_srv_host):$REDIS_PORT"
  export REDIS_DIR REDIS_PORT REDIS_PID REDIS_URL REDIS_PERSIST
}

redis_stop() {
  [ -n "$REDIS_PID" ] || return 0
  # SIGTERM: redis flushes (fsyncs) the AOF when appendonly is on, then exits.
  _srv_kill_pid "$REDIS_PID" TERM 20 "redis-server" || return 1
  REDIS_PID=""
  export REDIS_PID
}

redis_restart() {
  local rc
  [ -n "$REDIS_DIR" ] || { _srv_err "redis_restart: no redis-server was started in this shell"; return 1; }
  redis_stop || return 1
  if ! _srv_port_free "$REDIS_PORT"; then
    _srv_err "redis_restart: port $REDIS_PORT was taken while redis-server was down"; return 1
  fi
  rc=0; _redis_launch || rc=$?
  [ $rc -eq 0 ] || { _srv_err "redis_restart: redis-server did not come back on port $REDIS_PORT"; return 1; }
}

# For EXIT traps: stop both, whatever state they are in; never fails.
servers_stop_all() {
  pg_stop || true
  redis_stop || true
  return 0
}
