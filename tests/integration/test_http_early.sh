#!/usr/bin/env bash
# test_http_early.sh — requests `parley serve` refuses at their headers,
# before their body is read (src/web/linger.h), from clients that keep
# writing the body while they wait for the answer, over loopback. Closing a
# socket with unread bytes makes the kernel send a reset, and such a client
# then sees "connection reset" instead of the 4xx: every round here must read
# the complete answer. A large body (2 MiB: a wrong token, over
# --max-chunk-bytes, a JSON route given text/plain, a path that is no route,
# chunked) is answered with Connection: close and the server then ends the
# connection cleanly; Expect: 100-continue gets the answer without a 100
# Continue; a small body (10 KB) is read and dropped and the connection
# stays open for the next request, as after a chunked body refused 413 once
# it passed the limit (the rest is dropped, then answered); a client that
# never stops writing is still cut (the lingering close is bounded). The client is
# tests/integration/early_client.py (it counts resets, EOFs, wrong answers).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/serve.sh"

unset PARLEY_CONFIG PARLEY_STORE PARLEY_QUEUE PARLEY_QUEUE_PREFIX PARLEY_DATA
ROUNDS=${PARLEY_EARLY_ROUNDS:-50}
CLIENT="python3 $ROOT/tests/integration/early_client.py"
SERVER_PID=
early_cleanup() {
  serve_stop
  cleanup
}
trap early_cleanup EXIT

DATA="$TMP/data"
mkdir -p "$DATA"
TA=$(user_token ana --store "$DATA/parley.db")
check "a user for the clients" test -n "$TA"
serve_start "$TMP/serve.log" --data "$DATA" --threads 2 --no-workers --max-chunk-bytes 3000000 -q ||
  { notok "parley serve starts"; exit 1; }
ok "parley serve starts ($BASE)"
SID=$(curl -s -X POST -H "Authorization: Bearer $TA" "$BASE/v1/sessions" | jq -r .id)
check "a session to upload to" test ${#SID} -eq 20

CHUNK="/v1/sessions/$SID/chunks/0"
WRONG="Authorization: Bearer pt_0000000000000000000000000000000000000000"
RIGHT="Authorization: Bearer $TA"
MIB2=$((2 << 20))
# early NAME CLIENT-ARGS...: one check over $ROUNDS rounds
early() {
  local what=$1 out; shift
  out=$($CLIENT "$BASE" "$@" --count "$ROUNDS" 2>&1)
  check "$what: $out" test $? -eq 0
}

# ---- a large body: Connection: close, then a clean end -----------------------
early "2 MiB to a chunk with a wrong token: 401 every round" \
  PUT "$CHUNK" 401 --header "$WRONG" --length $MIB2 --closes
early "4 MB over --max-chunk-bytes: 413 every round" \
  PUT "$CHUNK" 413 --header "$RIGHT" --length 4000000 --closes
early "2 MiB of text/plain to a JSON route: 415 every round" \
  POST /v1/batches 415 --header "$RIGHT" --header "Content-Type: text/plain" --length $MIB2 --closes
early "2 MiB to a path trick (%2F): 400 every round" \
  PUT "/v1/sessions/..%2F..%2Fetc/chunks/1" 400 --header "$RIGHT" --length $MIB2 --closes
early "2 MiB to no route: 404 every round" \
  PUT /v1/nothing 404 --length $MIB2 --closes
early "2 MiB chunked with a wrong token: 401 every round" \
  PUT "$CHUNK" 401 --header "$WRONG" --length $MIB2 --chunked --closes

# ---- Expect: 100-continue: the answer, never a 100 Continue -------------------
early "Expect: 100-continue with a wrong token: 401 without 100 Continue" \
  PUT "$CHUNK" 401 --header "$WRONG" --length $MIB2 --expect --closes
early "Expect: 100-continue and the body sent at once anyway: 401 every round" \
  PUT "$CHUNK" 401 --header "$WRONG" --length $MIB2 --expect --expect-wait 0 --closes
early "Expect: 100-continue with a small body: 401, no 100 Continue" \
  PUT "$CHUNK" 401 --header "$WRONG" --length 10000 --expect --expect-wait 0 --closes

# ---- a small body: read and dropped, the connection kept ----------------------
early "10 KB with a wrong token: 401, then GET /health on the same connection" \
  PUT "$CHUNK" 401 --header "$WRONG" --length 10000 --keep-alive
early "10 KB of text/plain to a JSON route: 415, the connection kept" \
  POST /v1/sessions 415 --header "$RIGHT" --header "Content-Type: text/plain" --length 10000 --keep-alive
early "10 KB to no route: 404, the connection kept" \
  PUT /v1/nothing 404 --length 10000 --keep-alive

# ---- refused while the body arrives: the rest dropped, then the answer --------
early "4 MB chunked past --max-chunk-bytes: 413 after the body, the connection kept" \
  PUT "$CHUNK" 413 --header "$RIGHT" --length 4000000 --chunked --keep-alive

# ---- bounded: a client that never stops writing is cut ------------------------
out=$($CLIENT "$BASE" PUT "$CHUNK" 401 --header "$WRONG" --length $MIB2 --endless --count 2 --wait 30 2>&1)
check "a client writing on after its 401 is cut by the server: $out" test $? -eq 0
check "GET /health answers after all of it" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")" = 200
curl -s "$BASE/metrics" >"$TMP/metrics"
m() { sed -n "s/^$1 \([0-9]*\)$/\1/p" "$TMP/metrics"; }
eofs=$(m 'parley_http_lingering_closes_total{end="eof"}')
cuts=$(m 'parley_http_lingering_closes_total{end="cut"}')
check "/metrics counts the lingering closes (eof ${eofs:-none}, cut ${cuts:-none})" \
  test "${eofs:-0}" -ge "$ROUNDS" -a "${cuts:-0}" -ge 1 -a -n "$(m parley_http_lingering_bytes_total)"

# ---- curl, as the path-trick check of test_http.sh uses it --------------------
head -c $MIB2 /dev/zero >"$TMP/body"
codes=
for ((i = 0; i < ROUNDS; i++)); do
  codes+=" $(curl -s -o /dev/null -w '%{http_code}' --max-time 30 --path-as-is -X PUT \
    -H "$WRONG" --data-binary "@$TMP/body" "$BASE$CHUNK")"
done
check "curl uploading 2 MiB with a wrong token sees 401 every time (not 000)" \
  test -z "$(tr ' ' '\n' <<<"$codes" | grep -v '^$' | grep -vx 401 | head -1)"

serve_stop
st=$?
check "SIGTERM stops the server with status 0 (status $st)" test $st -eq 0
