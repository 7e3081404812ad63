#!/usr/bin/env bash
# tests/browser/signup.sh — sign-up on the recorder page, over HTTPS, in a real browser.
#
# Makes a certificate for IP 127.0.0.1 with openssl in the temp dir, starts
# three `parley serve --tls-cert --tls-key` on free ports of 127.0.0.1 with
# fresh data directories — one with the default `--signup link` and a worker,
# one with `--signup off`, one with `--signup open` — creates the user "host" (who owns the session),
# and runs tests/browser/signup.test.mjs in Debian's chromium. Chromium
# trusts the certificate through --ignore-certificate-errors-spki-list (the
# SHA-256 of its public key; no other certificate error is ignored), Node
# through NODE_EXTRA_CA_CERTS. The audio is 14 s of the 2-speaker
# conversation of run.sh (tests/gen, TTS cache in $PARLEY_GEN_CACHE).
# TAP lines ("ok - signup: …"); exit status 0 only when every step passed.
# Screenshots and the servers' logs: build/test-artifacts/signup/.
#
# Environment: PARLEY_BIN (build/parley), PARLEY_CHROMIUM (/usr/bin/chromium),
# SIGNUP_TIMEOUT (180 s: the longest wait of one step, processing included),
# BROWSER_KEEP=1 keeps the temp dir.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${PARLEY_ROOT:-$(cd "$HERE/../.." && pwd)}
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
CHROMIUM=${PARLEY_CHROMIUM:-/usr/bin/chromium}
TIMEOUT=${SIGNUP_TIMEOUT:-180}
ARTIFACTS=$ROOT/build/test-artifacts/signup
export PARLEY_GEN_CACHE=${PARLEY_GEN_CACHE:-$ROOT/build/gen-cache}
mkdir -p "$PARLEY_GEN_CACHE"

fail() { echo "not ok - signup test: $*"; exit 1; }

for tool in node npm python3 openssl sox; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (scripts/install-deps.sh installs it)"
done
[ -x "$CHROMIUM" ] || fail "no chromium at $CHROMIUM (scripts/install-deps.sh installs Debian's chromium; PARLEY_CHROMIUM overrides the path)"
[ -x "$PARLEY" ] || fail "no parley binary at $PARLEY (run make first)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/parley-signup.XXXXXX")
SERVE_PID="" OFF_PID="" OPEN_PID=""
. "$HERE/lib.sh"  # stop_pid, browser_npm_ci
cleanup() {
  stop_pid "$OPEN_PID"
  stop_pid "$OFF_PID"
  stop_pid "$SERVE_PID"
  if [ "${BROWSER_KEEP:-0}" = 1 ]; then echo "# kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- playwright-core (shared with run.sh) ------------------------------------------
browser_npm_ci

# --- a certificate for 127.0.0.1, and its public key's SHA-256 ----------------------
mkdir -p "$TMP/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=parley signup test" -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$TMP/tls/key.pem" -out "$TMP/tls/cert.pem" 2>"$TMP/tls/openssl.log" ||
  { sed 's/^/# openssl: /' "$TMP/tls/openssl.log"; fail "openssl could not make a certificate"; }
SPKI=$(openssl x509 -in "$TMP/tls/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der |
       openssl dgst -sha256 -binary | openssl base64 -A)
[ ${#SPKI} = 44 ] || fail "no SPKI hash of the certificate ($SPKI)"
echo "ok - openssl makes a certificate for IP 127.0.0.1 (SPKI sha256 $SPKI)"

# --- the audio -------------------------------------------------------------------
# run.sh's conversation (same seed, same TTS cache), its first 4 turns: 14 s.
if ! python3 "$ROOT/tests/gen/gen_conversation.py" --out "$TMP/conv" --name conv --speakers 2 \
     --minutes 1 --seed 12000 --jobs 1 --quiet; then
  fail "tests/gen/gen_conversation.py could not generate the conversation"
fi
sox "$TMP/conv/conv.wav" "$TMP/chunk.wav" trim 0 14 || fail "sox could not cut 14 s of the conversation"
echo "ok - 14 s of a generated 2-speaker conversation"

# --- the servers -------------------------------------------------------------------
start_serve() {  # log, args...: starts serve in the background; prints its URL
  local log=$1; shift
  "$PARLEY" serve --listen 127.0.0.1:0 --tls-cert "$TMP/tls/cert.pem" --tls-key "$TMP/tls/key.pem" \
    "$@" 2>"$log" &
  echo $! >"$log.pid"
}
wait_url() {  # log: the https:// URL serve printed, or nothing after 60 s
  local url="" pid
  pid=$(cat "$1.pid")
  for _ in $(seq 1 120); do
    url=$(sed -n 's/.*parley serve: listening on \(https:\/\/[0-9.:]*\).*/\1/p' "$1" | head -1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "$url"
}
mkdir -p "$TMP/data" "$TMP/off" "$TMP/open"
start_serve "$TMP/serve.log" --data "$TMP/data" --workers 1
SERVE_PID=$(cat "$TMP/serve.log.pid")
start_serve "$TMP/off.log" --data "$TMP/off" --no-workers --signup off
OFF_PID=$(cat "$TMP/off.log.pid")
start_serve "$TMP/open.log" --data "$TMP/open" --no-workers --signup open
OPEN_PID=$(cat "$TMP/open.log.pid")
URL=$(wait_url "$TMP/serve.log")
OFF_URL=$(wait_url "$TMP/off.log")
OPEN_URL=$(wait_url "$TMP/open.log")
if [ -z "$URL" ] || [ -z "$OFF_URL" ] || [ -z "$OPEN_URL" ]; then
  sed 's/^/# serve: /' "$TMP/serve.log" | tail -10
  sed 's/^/# serve --signup off: /' "$TMP/off.log" | tail -10
  sed 's/^/# serve --signup open: /' "$TMP/open.log" | tail -10
  fail "parley serve --tls-cert did not print 'parley serve: listening on https://ADDR:PORT'"
fi
echo "ok - parley serve --tls-cert listening on $URL (--signup link), $OFF_URL (off) and $OPEN_URL (open)"

HOST_TOKEN=$("$PARLEY" user add host --store "$TMP/data/parley.db" 2>"$TMP/user.log" | tr -d '[:space:]')
[ -n "$HOST_TOKEN" ] || { sed 's/^/# user add: /' "$TMP/user.log"; fail "parley user add host printed no token"; }
echo "ok - parley user add host printed its token"

# --- the browser -----------------------------------------------------------------
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"
status=0
(cd "$HERE" && NODE_EXTRA_CA_CERTS="$TMP/tls/cert.pem" node signup.test.mjs --url "$URL" \
   --off-url "$OFF_URL" --open-url "$OPEN_URL" --host-token "$HOST_TOKEN" --spki "$SPKI" --chunk "$TMP/chunk.wav" \
   --artifacts "$ARTIFACTS" --chromium "$CHROMIUM" --timeout "$TIMEOUT") || status=$?
cp "$TMP/serve.log" "$ARTIFACTS/serve.log" 2>/dev/null
cp "$TMP/off.log" "$ARTIFACTS/serve-off.log" 2>/dev/null
cp "$TMP/open.log" "$ARTIFACTS/serve-open.log" 2>/dev/null
if [ "$status" -ne 0 ]; then
  echo "# parley serve log (last 30 lines; all of it in $ARTIFACTS/serve.log):"
  tail -30 "$TMP/serve.log" | sed 's/^/# serve: /'
fi
for p in "$SERVE_PID" "$OFF_PID" "$OPEN_PID"; do
  kill -0 "$p" 2>/dev/null || { echo "not ok - parley serve (pid $p) exited during the test"; status=1; }
done
serve_status=0
stop_pid "$OPEN_PID" || serve_status=$?
stop_pid "$OFF_PID" || serve_status=$?
stop_pid "$SERVE_PID" || serve_status=$?
SERVE_PID="" OFF_PID="" OPEN_PID=""
if [ "$serve_status" -eq 0 ]; then
  echo "ok - the three servers stop cleanly on SIGTERM"
else
  echo "not ok - parley serve exited with status $serve_status on SIGTERM"; status=1
fi
exit "$status"
