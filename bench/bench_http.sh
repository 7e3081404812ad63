#!/usr/bin/env bash
# bench/bench_http.sh — `make bench-http`: load on `parley serve` over
# loopback while its workers process sessions.
#
#   1. starts build/parley serve (SQLite, BENCH_HTTP_WORKERS worker processes)
#      on a free port in a temp dir,
#   2. ends BENCH_HTTP_BUSY sessions of a generated 2-minute conversation so
#      the workers are busy during the load,
#   3. runs bench/http_load (C, one keep-alive connection per client):
#      status polls (GET /v1/sessions/ID) then chunk uploads (PUT of a 30 s
#      Opus chunk, ~100 KB, each a new seq: decoded, hashed, stored), each
#      for BENCH_HTTP_SECONDS with BENCH_HTTP_CLIENTS clients,
#   4. prints requests/s, p50/p90/p99 latency and the server's peak RSS.
# Bounded in time: about 2 x BENCH_HTTP_SECONDS plus set-up (~1 min).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CLIENTS=${BENCH_HTTP_CLIENTS:-50}
SECONDS_EACH=${BENCH_HTTP_SECONDS:-10}
WORKERS=${BENCH_HTTP_WORKERS:-1}
BUSY=${BENCH_HTTP_BUSY:-3}
PARLEY=${PARLEY:-$ROOT/build/parley}
LOAD=${HTTP_LOAD:-$ROOT/build/bench/http_load}
export PARLEY_GEN_CACHE=${PARLEY_GEN_CACHE:-$ROOT/build/gen-cache}

W=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-http.XXXXXX")
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$W"
}
trap cleanup EXIT

echo "bench-http: generating a 2-minute 2-speaker conversation..."
python3 tests/gen/gen_conversation.py --out "$W/gen" --name conv --speakers 2 --minutes 2 \
  --seed 4242 --quiet
ffmpeg -v error -i "$W/gen/conv.wav" -t 30 -c:a libopus -b:a 24k "$W/chunk.ogg"
for i in 0 1 2 3; do
  ffmpeg -v error -ss $((i * 30)) -i "$W/gen/conv.wav" -t 30 "$W/part$i.wav"
done

"$PARLEY" user add bench --data "$W/data" >"$W/token" 2>"$W/user.err"
TOKEN=$(cat "$W/token")

"$PARLEY" serve --listen 127.0.0.1:0 --data "$W/data" --workers "$WORKERS" \
  2>"$W/serve.log" &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 300); do
  PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$W/serve.log" | head -1)
  [ -n "$PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$W/serve.log"; echo "bench-http: server died"; exit 1; }
  sleep 0.1
done
[ -n "$PORT" ] || { echo "bench-http: server did not start"; exit 1; }
BASE="http://127.0.0.1:$PORT"
AUTH="Authorization: Bearer $TOKEN"

# Busy sessions: 4 chunks of 30 s each, ended, so the workers process
# BUSY x 2 minutes of audio while the load runs.
POLL_ID=""
for s in $(seq 1 "$BUSY"); do
  id=$(curl -sf -H "$AUTH" -H 'Content-Type: application/json' -d '{}' "$BASE/v1/sessions" |
       python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  for i in 0 1 2 3; do
    curl -sf -o /dev/null -H "$AUTH" -H 'Content-Type: audio/wav' -X PUT \
      --data-binary "@$W/part$i.wav" "$BASE/v1/sessions/$id/chunks/$i"
  done
  curl -sf -o /dev/null -H "$AUTH" -X POST "$BASE/v1/sessions/$id/end"
  POLL_ID=${POLL_ID:-$id}
done
echo "bench-http: $BUSY sessions (2 min of audio each) ended; $WORKERS worker(s) processing"

"$LOAD" --port "$PORT" --token "$TOKEN" --clients "$CLIENTS" --seconds "$SECONDS_EACH" \
  --mode poll --session "$POLL_ID" >"$W/poll.json"
"$LOAD" --port "$PORT" --token "$TOKEN" --clients "$CLIENTS" --seconds "$SECONDS_EACH" \
  --mode upload --chunk "$W/chunk.ogg" >"$W/upload.json"

status=$(curl -sf -H "$AUTH" "$BASE/v1/sessions/$POLL_ID" |
         python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)

python3 - "$W/poll.json" "$W/upload.json" "$rss_kb" "$status" "$WORKERS" <<'PY'
import json, sys
rows = [json.loads(open(f).read()) for f in sys.argv[1:3]]
rss, status, workers = int(sys.argv[3]), sys.argv[4], sys.argv[5]
names = {"poll": "status poll (GET /v1/sessions/ID)",
         "upload": "chunk upload (PUT 30 s Opus, %d B)" % rows[1]["body_bytes"]}
print("\n| load (%d clients, %s worker(s) busy) | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms |"
      % (rows[0]["clients"], workers))
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print("| %s | %d | %d | %.0f | %.2f | %.2f | %.2f | %.1f |" % (
        names[r["mode"]], r["requests"], r["errors"], r["rps"], r["p50_ms"],
        r["p90_ms"], r["p99_ms"], r["max_ms"]))
print("\nserver peak RSS (HTTP process): %.0f MB; first busy session after the load: %s"
      % (rss / 1024, status))
PY
