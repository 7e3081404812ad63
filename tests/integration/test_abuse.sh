#!/usr/bin/env bash
# test_abuse.sh — `parley serve` against hostile clients over loopback
# (issue 16): HTTP strictness (duplicate Content-Length, CL + chunked, a
# flood of query arguments, %2F in a path), gap amplification (one chunk
# 99999) and paged lists, temporary files of killed uploads swept at start;
# 20 unauthenticated 31 MiB uploads (401 before the body, bounded VmHWM),
# the --max-body-memory cap (503 busy), decode bombs (a 1 Hz WAV, minutes
# of silence in FLAC and Opus over --max-chunk-seconds; four at once while
# /health answers), a session's audio and --quota-sessions checked at upload.
# Every check names the documented status; the clients are
# tests/integration/abuse_client.py (a hang fails, it is never waited out).
. "$(dirname "$0")/lib.sh"

unset PARLEY_CONFIG PARLEY_STORE PARLEY_QUEUE PARLEY_QUEUE_PREFIX PARLEY_DATA
CLIENT="python3 $ROOT/tests/integration/abuse_client.py"
SERVER_PID=
abuse_cleanup() {
  [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  cleanup
}
trap abuse_cleanup EXIT

# start_server LOG ARGS... — sets SERVER_PID and BASE.
start_server() {
  local log=$1 i; shift
  "$PARLEY" serve --listen 127.0.0.1:0 "$@" 2>"$log" &
  SERVER_PID=$!
  BASE=
  for ((i = 0; i < 600; i++)); do
    BASE=$(sed -n 's/^parley serve: listening on \(http:[^ ]*\)$/\1/p' "$log" | head -1)
    [ -n "$BASE" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "# server did not start:"; sed 's/^/# /' "$log" | tail -20
  return 1
}
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status"; }

DATA="$TMP/data"
mkdir -p "$DATA"
TA=$("$PARLEY" user add ana --store "$DATA/parley.db" 2>/dev/null)
TQ=$("$PARLEY" user add quo --store "$DATA/parley.db" 2>/dev/null)
check "users for the clients" test -n "$TA" -a -n "$TQ"
BOMBS="$TMP/bombs"
mkdir -p "$BOMBS"
silence() { ffmpeg -nostdin -v error -y -f lavfi -i anullsrc=r=8000:cl=mono -t 300 "$@"; }
silence -c:a flac "$BOMBS/silence-5min.flac" && silence -c:a libopus -b:a 6k "$BOMBS/silence-5min.opus"
check "five minutes of silence as FLAC and Opus" test -s "$BOMBS/silence-5min.flac" -a -s "$BOMBS/silence-5min.opus"

# a chunk upload cut off by a killed server: its temporary file is swept at start
GHOST="$DATA/sessions/aaaaaaaaaaaaaaaaaaaa/chunks"
mkdir -p "$GHOST"
echo partial >"$GHOST/00003.tmp.999999999.1"
echo kept >"$GHOST/00003"
start_server "$TMP/serve.log" --data "$DATA" --threads 2 --no-workers --max-chunk-seconds 60 \
  --max-session-hours 0.02 --quota-sessions 20 --max-body-memory 16777216 ||
  { notok "parley serve starts"; exit 1; }
ok "parley serve starts ($BASE)"
check "the temporary file of a killed upload is removed at start, the chunk kept" \
  eval '[ ! -e "$GHOST/00003.tmp.999999999.1" ] && [ -e "$GHOST/00003" ]'

$CLIENT "$BASE" "$TA" strict
$CLIENT "$BASE" "$TA" gaps
$CLIENT "$BASE" "$TA" pages
$CLIENT "$BASE" "$TA" unauth "$SERVER_PID" 20 31 65536
$CLIENT "$BASE" "$TA" bodycap
$CLIENT "$BASE" "$TA" bombs "$SERVER_PID" "$BOMBS" 65536
$CLIENT "$BASE" "$TA" limits "$TQ" 20

check "the server is alive after the strictness checks" kill -0 "$SERVER_PID"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"
check "SIGTERM stops it with status 0" test $? -eq 0
SERVER_PID=
