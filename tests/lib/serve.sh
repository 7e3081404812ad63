# shellcheck shell=bash
# tests/lib/serve.sh — a `parley serve` on 127.0.0.1 and its users, for the
# integration tests and benches (sourced, not run). Uses $PARLEY (the binary).
#
#   serve_start LOG ARGS...  parley serve --listen 127.0.0.1:0 ARGS..., its
#                            stderr in LOG; waits for its "listening on" line
#                            (at most 60 s) and sets SERVER_PID and BASE
#                            (http[s]://127.0.0.1:PORT). When the server exits
#                            or never says it: prints "# server did not
#                            start:" and LOG's last 20 lines on stdout, stops
#                            it, and returns 1 with SERVER_PID empty.
#   serve_stop               SIGTERM to SERVER_PID and wait; returns the
#                            server's exit status (0 when none runs), leaves
#                            SERVER_PID empty. Safe in an EXIT trap.
#   user_token NAME ARGS...  `parley user add NAME ARGS...`: prints the new
#                            user's token (nothing when that fails).
#
# Sets no shell options: callers with `set -e` write `serve_stop || true`
# where the status does not matter.

serve_start() {
  local log=$1 i; shift
  "$PARLEY" serve --listen 127.0.0.1:0 "$@" 2>"$log" &
  SERVER_PID=$!
  BASE=
  for ((i = 0; i < 600; i++)); do
    BASE=$(sed -n 's/^parley serve: listening on \(https*:[^ ]*\)$/\1/p' "$log" | head -1)
    [ -n "$BASE" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "# server did not start:"; sed 's/^/# /' "$log" | tail -20
  serve_stop
  return 1
}

serve_stop() {
  [ -n "${SERVER_PID:-}" ] || return 0
  local st=0
  kill -TERM "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null || st=$?
  SERVER_PID=
  return $st
}

user_token() {
  "$PARLEY" user add "$@" 2>/dev/null
}
