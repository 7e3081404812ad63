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
. "$ROOT/tests/lib/serve.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-abuse.XXXXXX")
SERVER_PID=
finish() {
  serve_stop || true
  rm -rf "$TMP"
}
trap finish EXIT
mkdir -p "$TMP/data"
T=$(user_token bench --store "$TMP/data/parley.db")
OP=$(user_token benchop --operator --store "$TMP/data/parley.db")
ffmpeg -nostdin -v error -y -f lavfi -i anullsrc=r=8000:cl=mono -t 7200 -c:a flac "$TMP/hours.flac"
# shellcheck disable=SC2086
serve_start "$TMP/serve.log" --data "$TMP/data" --no-workers --quiet \
  --max-session-hours 1000 ${BENCH_ABUSE_SERVE_ARGS:-} >&2 ||
  { echo "bench-abuse: parley serve did not start" >&2; exit 1; }
echo "parley serve $BASE (pid $SERVER_PID), $(nproc) cores; $("$PARLEY" --version 2>/dev/null | head -1)"
python3 "$ROOT/tests/integration/abuse_client.py" "$BASE" "$T" bench "$SERVER_PID" \
  "$TMP/hours.flac" "$OP"
