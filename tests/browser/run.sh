#!/usr/bin/env bash
# tests/browser/run.sh — the recorder page end to end in a real browser.
#
# Installs playwright-core (npm ci, into tests/browser/node_modules, only when
# missing or out of date), generates a 2-speaker conversation of 60 s
# (tests/gen, TTS cache in $PARLEY_GEN_CACHE), starts `parley serve` on a free
# port of 127.0.0.1 with a fresh data directory (and `parley worker --wait`
# on the same store when serve does not process recordings itself), creates
# the users "tester" and "guest", and runs recorder.test.mjs in Debian's
# chromium: tester records the conversation through the fake microphone,
# guest joins with the join code; each claims a speaker. Prints TAP lines ("ok N - …");
# exit status 0 only when every step passed. Screenshots of every step:
# build/test-artifacts/browser/. The server's log is printed when a step fails.
#
# Environment: PARLEY_BIN (build/parley), PARLEY_CHROMIUM (/usr/bin/chromium),
# BROWSER_CHUNK (12 s), BROWSER_RECORD_SECONDS (60), BROWSER_READY_TIMEOUT
# (300 s), BROWSER_WORKER (auto | yes | no), BROWSER_KEEP=1 keeps the temp dir.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${PARLEY_ROOT:-$(cd "$HERE/../.." && pwd)}
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
CHROMIUM=${PARLEY_CHROMIUM:-/usr/bin/chromium}
CHUNK=${BROWSER_CHUNK:-12}
RECORD_SECONDS=${BROWSER_RECORD_SECONDS:-60}
READY_TIMEOUT=${BROWSER_READY_TIMEOUT:-300}
WORKER=${BROWSER_WORKER:-auto}
ARTIFACTS=$ROOT/build/test-artifacts/browser
export PARLEY_GEN_CACHE=${PARLEY_GEN_CACHE:-$ROOT/build/gen-cache}
mkdir -p "$PARLEY_GEN_CACHE"

fail() { echo "not ok - browser test: $*"; exit 1; }

for tool in node npm python3; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (scripts/install-deps.sh installs it)"
done
[ -x "$CHROMIUM" ] || fail "no chromium at $CHROMIUM (scripts/install-deps.sh installs Debian's chromium; PARLEY_CHROMIUM overrides the path)"
[ -x "$PARLEY" ] || fail "no parley binary at $PARLEY (run make first)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/parley-browser.XXXXXX")
SERVE_PID="" WORKER_PID=""
. "$HERE/lib.sh"  # stop_pid, browser_npm_ci
cleanup() {
  stop_pid "$WORKER_PID"
  stop_pid "$SERVE_PID"
  if [ "${BROWSER_KEEP:-0}" = 1 ]; then echo "# kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- playwright-core -----------------------------------------------------------
browser_npm_ci


# --- the conversation ------------------------------------------------------------
# 2 speakers, 1 minute, the seed of test_accuracy.sh's c2a (same TTS cache).
WAV=$TMP/conv/conv.wav
if ! python3 "$ROOT/tests/gen/gen_conversation.py" --out "$TMP/conv" --name conv --speakers 2 \
     --minutes 1 --seed 12000 --jobs 1 --quiet; then
  fail "tests/gen/gen_conversation.py could not generate the conversation"
fi
[ -s "$WAV" ] || fail "no $WAV"
echo "ok - generate a 2-speaker conversation of 60 s"

# --- the server ------------------------------------------------------------------
mkdir -p "$TMP/data"
"$PARLEY" serve --listen 127.0.0.1:0 --data "$TMP/data" 2>"$TMP/serve.log" &
SERVE_PID=$!
URL=""
for _ in $(seq 1 120); do  # up to 60 s on a busy machine
  URL=$(sed -n 's/.*parley serve: listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$TMP/serve.log" | head -1)
  [ -n "$URL" ] && break
  kill -0 "$SERVE_PID" 2>/dev/null || break
  sleep 0.5
done
if [ -z "$URL" ]; then
  sed 's/^/# serve: /' "$TMP/serve.log" | tail -20
  fail "parley serve did not print 'parley serve: listening on http://ADDR:PORT'"
fi
echo "ok - parley serve listening on $URL (pid $SERVE_PID)"

# serve keeps its SQLite store in DIR/parley.db; `parley user add` takes the store itself.
TOKEN=$("$PARLEY" user add tester --store "$TMP/data/parley.db" 2>"$TMP/user.log") || {
  sed 's/^/# user add: /' "$TMP/user.log"; fail "parley user add tester failed"; }
TOKEN=$(printf '%s' "$TOKEN" | tr -d '[:space:]')
[ -n "$TOKEN" ] || fail "parley user add printed no token"
TOKEN2=$("$PARLEY" user add guest --store "$TMP/data/parley.db" 2>>"$TMP/user.log" | tr -d '[:space:]') || {
  sed 's/^/# user add: /' "$TMP/user.log"; fail "parley user add guest failed"; }
[ -n "$TOKEN2" ] || fail "parley user add guest printed no token"
echo "ok - parley user add tester and guest printed their tokens"

# Recordings ended through the API are queued in the store; a worker
# processes them unless serve does it in-process (its --help says so).
if [ "$WORKER" = auto ]; then
  if "$PARLEY" serve --help 2>&1 | grep -qiE -- '--(workers|jobs)'; then WORKER=no; else WORKER=yes; fi
fi
if [ "$WORKER" = yes ]; then
  STORE=$TMP/data/parley.db
  "$PARLEY" worker --store "$STORE" --jobs 1 --wait >"$TMP/worker.log" 2>&1 &
  WORKER_PID=$!
  echo "# parley worker --store $STORE --jobs 1 --wait (pid $WORKER_PID)"
fi

# --- the browser -----------------------------------------------------------------
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"
status=0
(cd "$HERE" && node recorder.test.mjs --url "$URL" --token "$TOKEN" --wav "$WAV" \
   --artifacts "$ARTIFACTS" --chunk "$CHUNK" --record-seconds "$RECORD_SECONDS" \
   --ready-timeout "$READY_TIMEOUT" --chromium "$CHROMIUM" --user tester \
   --token2 "$TOKEN2" --user2 guest) || status=$?
cp "$TMP/serve.log" "$ARTIFACTS/serve.log" 2>/dev/null
[ -n "$WORKER_PID" ] && cp "$TMP/worker.log" "$ARTIFACTS/worker.log" 2>/dev/null
if [ "$status" -ne 0 ]; then
  echo "# parley serve log (last 30 lines; all of it in $ARTIFACTS/serve.log):"
  tail -30 "$TMP/serve.log" | sed 's/^/# serve: /'
  if [ -n "$WORKER_PID" ]; then tail -20 "$TMP/worker.log" | sed 's/^/# worker: /'; fi
fi
if ! kill -0 "$SERVE_PID" 2>/dev/null; then
  echo "not ok - parley serve exited during the test"; status=1
fi
serve_status=0
stop_pid "$SERVE_PID" || serve_status=$?
SERVE_PID=""
if [ "$serve_status" -eq 0 ]; then
  echo "ok - parley serve stops cleanly on SIGTERM"
else
  echo "not ok - parley serve exited with status $serve_status on SIGTERM"; status=1
fi
exit "$status"
