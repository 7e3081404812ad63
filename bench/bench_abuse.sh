#!/usr/bin/env bash
# bench/bench_abuse.sh — `make bench-abuse`: the abuse probes of
# tests/integration/abuse_client.py against a release `parley serve` with
# its default limits (--no-workers; --max-session-hours 1000 so a session's
# total never refuses first), each while /health is asked from another
# loopback address: a table of the server's VmHWM before and after each
# probe and /health's latency (p50, p99). Figures only, nothing asserted
# (the assertions are tests/integration/test_abuse.sh). About a minute.
# Environment: PARLEY (build/parley), BENCH_ABUSE_SERVE_ARGS (extra flags).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PARLEY=${PARLEY:-$ROOT/build/parley}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-abuse.XXXXXX")
SERVER_PID=
finish() {
  [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap finish EXIT
mkdir -p "$TMP/data"
T=$("$PARLEY" user add bench --store "$TMP/data/parley.db" 2>/dev/null)
OP=$("$PARLEY" user add benchop --operator --store "$TMP/data/parley.db" 2>/dev/null)
ffmpeg -nostdin -v error -y -f lavfi -i anullsrc=r=8000:cl=mono -t 7200 -c:a flac "$TMP/hours.flac"
# shellcheck disable=SC2086
"$PARLEY" serve --listen 127.0.0.1:0 --data "$TMP/data" --no-workers --quiet \
  --max-session-hours 1000 ${BENCH_ABUSE_SERVE_ARGS:-} 2>"$TMP/serve.log" &
SERVER_PID=$!
BASE=
for ((i = 0; i < 600; i++)); do
  BASE=$(sed -n 's/^parley serve: listening on \(http:[^ ]*\)$/\1/p' "$TMP/serve.log" | head -1)
  [ -n "$BASE" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$BASE" ]; then
  echo "bench-abuse: parley serve did not start:" >&2
  tail -20 "$TMP/serve.log" >&2
  exit 1
fi
echo "parley serve $BASE (pid $SERVER_PID), $(nproc) cores; $("$PARLEY" --version 2>/dev/null | head -1)"
python3 "$ROOT/tests/integration/abuse_client.py" "$BASE" "$T" bench "$SERVER_PID" \
  "$TMP/hours.flac" "$OP"
