# shellcheck shell=bash
# tests/lib/fake_engines.sh — start and stop tests/servers/fake_engines.py
# (sourced, not run).
#
#   fake_start DIR [server args...]   start on a free 127.0.0.1 port; exports
#                                     FAKE_PORT FAKE_PID FAKE_URL (http://127.0.0.1:PORT)
#   fake_stop                         SIGTERM by PID, bounded wait, SIGKILL
#   fake_stats                        GET /stats (JSON on stdout)
#
# The server is stopped only by the PID recorded here, never by name.
_FAKE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FAKE_PID="" FAKE_PORT="" FAKE_URL=""

fake_start() {
  local dir=$1; shift
  mkdir -p "$dir" || return 1
  rm -f "$dir/fake.port"
  python3 "$_FAKE_ROOT/tests/servers/fake_engines.py" --port-file "$dir/fake.port" "$@" \
    >"$dir/fake.log" 2>&1 &
  FAKE_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do
    [ -s "$dir/fake.port" ] && break
    kill -0 "$FAKE_PID" 2>/dev/null || { echo "fake_engines: did not start:" >&2; cat "$dir/fake.log" >&2; return 1; }
    sleep 0.05
  done
  [ -s "$dir/fake.port" ] || { echo "fake_engines: no port after 10 s" >&2; return 1; }
  FAKE_PORT=$(cat "$dir/fake.port")
  FAKE_URL="http://127.0.0.1:$FAKE_PORT"
  export FAKE_PID FAKE_PORT FAKE_URL
}

fake_stop() {
  [ -n "$FAKE_PID" ] || return 0
  kill "$FAKE_PID" 2>/dev/null || true
  local i
  for ((i = 0; i < 50; i++)); do kill -0 "$FAKE_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$FAKE_PID" 2>/dev/null || true
  wait "$FAKE_PID" 2>/dev/null || true
  FAKE_PID=""
  return 0
}

fake_stats() {
  curl -s --max-time 10 "$FAKE_URL/stats"
}
