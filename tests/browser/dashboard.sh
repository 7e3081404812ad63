#!/usr/bin/env bash
# tests/browser/dashboard.sh — the dashboard (/dashboard) in a real browser.
#
# Installs playwright-core like run.sh (npm ci only when missing or out of
# date), starts `parley serve` on a free port of 127.0.0.1 with a fresh data
# directory (and `parley worker --wait` on the same store when serve does not
# process recordings itself), creates the users "admin" (--admin) and "user",
# and runs every tests/browser/dash_*.test.mjs (or those named in
# DASH_TESTS="shell batch", or file names under tests/browser/) in Debian's chromium, each with the same
# arguments: --url --admin-token --user-token --admin --user --artifacts
# --chromium --root --tmp --parley --store --timeout. They print TAP lines
# ("ok - NAME: …" / "not ok - NAME: …"); exit status 0 only when every test
# passed. Screenshots (NAME-STEP-desktop.png / -phone.png) and the server's
# log: build/test-artifacts/dashboard/.
#
# Environment: PARLEY_BIN (build/parley), PARLEY_CHROMIUM (/usr/bin/chromium),
# DASH_TESTS, DASH_TIMEOUT (120 s: the longest wait of one step),
# BROWSER_WORKER (auto | yes | no), BROWSER_KEEP=1 keeps the temp dir.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${PARLEY_ROOT:-$(cd "$HERE/../.." && pwd)}
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
# parley plus the test hooks (PARLEY_TEST_FAULTS; tests/support/parley_test.c)
PARLEY_TEST=${PARLEY_TEST_BIN:-$(dirname "$PARLEY")/tests/parley-test}
CHROMIUM=${PARLEY_CHROMIUM:-/usr/bin/chromium}
TIMEOUT=${DASH_TIMEOUT:-120}
WORKER=${BROWSER_WORKER:-auto}
ARTIFACTS=$ROOT/build/test-artifacts/dashboard

fail() { echo "not ok - dashboard test: $*"; exit 1; }

for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (scripts/install-deps.sh installs it)"
done
[ -x "$CHROMIUM" ] || fail "no chromium at $CHROMIUM (scripts/install-deps.sh installs Debian's chromium; PARLEY_CHROMIUM overrides the path)"
[ -x "$PARLEY" ] || fail "no parley binary at $PARLEY (run make first)"
[ -x "$PARLEY_TEST" ] || fail "no $PARLEY_TEST (make tools builds it)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/parley-dashboard.XXXXXX")
SERVE_PID="" WORKER_PID=""
. "$HERE/lib.sh"  # stop_pid, browser_npm_ci
cleanup() {
  stop_pid "$WORKER_PID"
  stop_pid "$SERVE_PID"
  if [ "${BROWSER_KEEP:-0}" = 1 ]; then echo "# kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- playwright-core (shared with run.sh) ------------------------------------------
browser_npm_ci

# --- the server ------------------------------------------------------------------
if [ "$WORKER" = auto ]; then
  if "$PARLEY" serve --help 2>&1 | grep -qE -- '--workers'; then WORKER=no; else WORKER=yes; fi
fi
mkdir -p "$TMP/data"
STORE=$TMP/data/parley.db
SERVE_ARGS=(--listen 127.0.0.1:0 --data "$TMP/data" --threads 4)
[ "$WORKER" = no ] && SERVE_ARGS+=(--workers 1)
[ "$WORKER" = yes ] && "$PARLEY" serve --help 2>&1 | grep -q -- '--no-workers' && SERVE_ARGS+=(--no-workers)
# Test stages (tick1…) of files named slow-* take 2 s in parley-test: the batch test
# watches its progress move in steps (src/stages/tick.c).
export PARLEY_TEST_FAULTS=${PARLEY_TEST_FAULTS:-"tick1 sleep slow 2"}
"$PARLEY_TEST" serve "${SERVE_ARGS[@]}" 2>"$TMP/serve.log" &
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

ADMIN_TOKEN=$("$PARLEY" user add admin --admin --store "$STORE" 2>"$TMP/user.log" | tr -d '[:space:]')
USER_TOKEN=$("$PARLEY" user add user --store "$STORE" 2>>"$TMP/user.log" | tr -d '[:space:]')
if [ -z "$ADMIN_TOKEN" ] || [ -z "$USER_TOKEN" ]; then
  sed 's/^/# user add: /' "$TMP/user.log"; fail "parley user add admin/user printed no token"
fi
echo "ok - parley user add admin (--admin) and user printed their tokens"

if [ "$WORKER" = yes ]; then
  "$PARLEY_TEST" worker --store "$STORE" --jobs 1 --wait >"$TMP/worker.log" 2>&1 &
  WORKER_PID=$!
  echo "# parley worker --store $STORE --jobs 1 --wait (pid $WORKER_PID)"
fi

# --- the tests -------------------------------------------------------------------
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"
tests=()
if [ -n "${DASH_TESTS:-}" ]; then
  for n in $DASH_TESTS; do
    if [ -f "$HERE/$n" ]; then tests+=("$HERE/$n"); else tests+=("$HERE/dash_$n.test.mjs"); fi
  done
else
  for f in "$HERE"/dash_*.test.mjs; do [ -e "$f" ] && tests+=("$f"); done
fi
[ ${#tests[@]} -gt 0 ] || fail "no tests/browser/dash_*.test.mjs"
status=0 failed=()
for f in "${tests[@]}"; do
  [ -f "$f" ] || { echo "not ok - no test $f"; status=1; continue; }
  t0=$SECONDS
  (cd "$HERE" && node "$f" --url "$URL" --admin-token "$ADMIN_TOKEN" --user-token "$USER_TOKEN" \
     --admin admin --user user --artifacts "$ARTIFACTS" --chromium "$CHROMIUM" --root "$ROOT" \
     --tmp "$TMP" --parley "$PARLEY" --store "$STORE" --timeout "$TIMEOUT")
  st=$?
  echo "# $(basename "$f") took $((SECONDS - t0)) s"
  if [ "$st" -ne 0 ]; then status=1; failed+=("$(basename "$f")"); fi
done
cp "$TMP/serve.log" "$ARTIFACTS/serve.log" 2>/dev/null
[ -n "$WORKER_PID" ] && cp "$TMP/worker.log" "$ARTIFACTS/worker.log" 2>/dev/null
if [ "$status" -ne 0 ]; then
  echo "# failed: ${failed[*]}"
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
