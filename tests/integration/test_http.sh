#!/usr/bin/env bash
# test_http.sh — `parley serve` over real HTTP on 127.0.0.1 (docs/api.md):
# a generated two-speaker conversation cut into chunks of four containers,
# uploaded out of order (a duplicate, a conflicting retry), ended, processed
# by the server's own worker, its speakers listed, a sample downloaded (with
# Range), claimed by two users, results and the leaderboard; then every error
# the API promises (401, 404 for another's session, 405, 408 for a client
# trickling its body, 413, 415, 422, 400 for bad JSON and path tricks),
# /health, /metrics and a graceful SIGTERM. With PARLEY_TEST_PG_URL and
# PARLEY_TEST_REDIS_URL also the many-machines topology: `serve --no-workers`
# on PostgreSQL + Redis and a separate `parley worker`.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/serve.sh"

unset PARLEY_CONFIG PARLEY_STORE PARLEY_QUEUE PARLEY_QUEUE_PREFIX PARLEY_DATA
# polls of the processing, 0.2 s apart: 600 s (1500 s for the ASan build)
case "$PARLEY" in *build-san*) PROC_LIMIT=7500 ;; *) PROC_LIMIT=3000 ;; esac

OUT="$TMP/out"   # response bodies and headers (outside the data dir)
mkdir -p "$OUT"
SERVER_PID=
WORKER_PID=
PG_DB=
RUN_ID="h$$_$RANDOM"
http_cleanup() {
  serve_stop
  [ -n "$WORKER_PID" ] && kill -TERM "$WORKER_PID" 2>/dev/null && wait "$WORKER_PID" 2>/dev/null
  if [ -n "$PG_DB" ]; then
    psql -X -q "$PARLEY_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1
  fi
  cleanup
}
trap http_cleanup EXIT

# req NAME METHOD PATH [curl args...] — body in $OUT/NAME, headers in
# $OUT/NAME.h; prints the status.
req() {
  local name=$1 method=$2 path=$3; shift 3
  curl -s --max-time 60 --path-as-is -X "$method" -o "$OUT/$name" -D "$OUT/$name.h" \
    -w '%{http_code}' "$@" "$BASE$path"
}
js() { jq -r "$2" "$OUT/$1"; }              # js NAME FILTER
auth() { echo "Authorization: Bearer $1"; }
is() { [ "$1" = "$2" ]; }
error_is() {  # NAME CODE: the body is {"error":{"code":CODE,"message":"…"}}
  [ "$(jq -r '.error.code + "|" + (.error.message | type)' "$OUT/$1" 2>/dev/null)" = "$2|string" ]
}

# ---- audio: a generated 90 s conversation cut into four chunks -------------
$GEN --out "$TMP/ref" --name conv --speakers 2 --minutes 1.5 --seed 31 --quiet ||
  { notok "generate conversation"; exit 1; }
A="$TMP/audio"
mkdir -p "$A"
cut_chunk() {  # start duration codec-args... output
  local ss=$1 t=$2; shift 2
  ffmpeg -nostdin -v error -y -ss "$ss" -t "$t" -i "$TMP/ref/conv.wav" "$@"
}
cut_chunk 0 30 "$A/c0.wav" &&
  cut_chunk 30 30 -c:a libopus -b:a 48k "$A/c1.ogg" &&
  cut_chunk 60 15 -c:a libmp3lame -b:a 96k "$A/c2.mp3" &&
  cut_chunk 75 60 -c:a aac -b:a 96k "$A/c3.m4a"
check "cut the conversation into wav, ogg/opus, mp3 and m4a chunks" \
  test -s "$A/c0.wav" -a -s "$A/c1.ogg" -a -s "$A/c2.mp3" -a -s "$A/c3.m4a"

# ---- server and users -------------------------------------------------------
DATA="$TMP/data"
mkdir -p "$DATA"
TA=$(user_token ana --store "$DATA/parley.db")
TB=$(user_token bob --store "$DATA/parley.db")
TC=$(user_token cy --store "$DATA/parley.db")
check "parley user add prints tokens" test -n "$TA" -a -n "$TB" -a -n "$TC"
serve_start "$TMP/serve.log" --data "$DATA" --threads 3 --request-timeout 3 \
  --max-chunk-bytes 2000000 || { notok "parley serve starts and prints its ready line"; exit 1; }
ok "parley serve starts and prints its ready line ($BASE)"

# ---- health, metrics, page, routing -----------------------------------------
check "GET /health is 200 with store ok" \
  is "$(req health GET /health)|$(js health .store)" "200|ok"
check "GET / serves the page (text/html)" \
  eval 'is "$(req index GET /)" 200 && grep -qi "content-type: text/html" "$OUT/index.h"'
check "GET /static/nope.js is 404" is "$(req nostatic GET /static/nope.js)" 404
check "unknown route is 404 not_found" \
  eval 'is "$(req unknown GET /v2/nothing)" 404 && error_is unknown not_found'
check "wrong method is 405 with Allow" \
  eval 'is "$(req wrongm DELETE /v1/sessions -H "$(auth "$TA")")" 405 &&
        error_is wrongm method_not_allowed && grep -qi "^allow: .*GET" "$OUT/wrongm.h"'

# ---- auth -------------------------------------------------------------------
check "no token is 401 unauthorized" \
  eval 'is "$(req noauth GET /v1/me)" 401 && error_is noauth unauthorized'
check "a wrong token is 401" \
  eval 'is "$(req badauth GET /v1/me -H "$(auth pt_0000000000000000000000000000000000000000)")" 401'
check "GET /v1/me names the user" \
  is "$(req me GET /v1/me -H "$(auth "$TA")")|$(js me .name)" "200|ana"

# ---- a session --------------------------------------------------------------
J=(-H "Content-Type: application/json")
check "POST /v1/sessions is 201 with a join code" \
  is "$(req create POST /v1/sessions -H "$(auth "$TA")" "${J[@]}" -d '{"title":"friday chat"}')" 201
SID=$(js create .id)
CODE=$(js create .join_code)
check "the session has an id and a join code" eval '[ ${#SID} -eq 20 ] && [ ${#CODE} -eq 10 ]'
put_chunk() {  # name seq file [token]
  req "$1" PUT "/v1/sessions/$SID/chunks/$2" -H "$(auth "${4:-$TA}")" \
    -H "Content-Type: application/octet-stream" --data-binary "@$3"
}
s2=$(put_chunk put2 2 "$A/c2.mp3"); s0=$(put_chunk put0 0 "$A/c0.wav")
s3=$(put_chunk put3 3 "$A/c3.m4a"); s1=$(put_chunk put1 1 "$A/c1.ogg")
check "four chunks uploaded out of order are 201 created (${s2} ${s0} ${s3} ${s1})" \
  is "$s2 $s0 $s3 $s1|$(js put1 .created)" "201 201 201 201|true"
check "a chunk answer has seq, sha256 and a duration near 30 s" \
  eval 'is "$(js put1 .seq)" 1 && [ "$(js put1 ".sha256 | length")" = 64 ] &&
        awk -v d="$(js put1 .duration)" "BEGIN { exit !(d > 28 && d < 32) }"'
check "the same chunk again is 200 created:false" \
  is "$(put_chunk dup0 0 "$A/c0.wav")|$(js dup0 .created)" "200|false"
check "other bytes for an uploaded seq are 409 conflict" \
  eval 'is "$(put_chunk conflict1 1 "$A/c0.wav")" 409 && error_is conflict1 conflict'
head -c 5000 /dev/urandom >"$TMP/noise.bin"
printf 'this is not audio at all\n%.0s' {1..50} >"$TMP/text.bin"
check "a chunk that is not audio is 422" \
  eval 's=$(put_chunk notaudio 7 "$TMP/text.bin"); [ "$s" = 422 ] && grep -q "\"code\":\"\(audio\|empty\)\"" "$OUT/notaudio"'
head -c 3000000 /dev/zero >"$TMP/big.bin"
check "a chunk over --max-chunk-bytes is 413 too_large" \
  eval 'is "$(put_chunk big 8 "$TMP/big.bin")" 413 && error_is big too_large'
python3 -c 'import json; print(json.dumps({"title": "x" * 70000}))' >"$TMP/big.json"
check "a JSON body over 64 KiB is 413" \
  is "$(req bigjson POST /v1/sessions -H "$(auth "$TA")" "${J[@]}" --data-binary "@$TMP/big.json")" 413
check "malformed JSON is 400 invalid" \
  eval 'is "$(req badjson POST /v1/sessions -H "$(auth "$TA")" "${J[@]}" -d "{\"title\": ")" 400 &&
        error_is badjson invalid'
check "a JSON route with another Content-Type is 415" \
  is "$(req ctype POST /v1/sessions -H "$(auth "$TA")" -H "Content-Type: text/plain" -d '{}')" 415
check "a wrong-typed field is 400" \
  is "$(req badfield POST /v1/sessions -H "$(auth "$TA")" "${J[@]}" -d '{"title": 5}')" 400

# ---- visibility -------------------------------------------------------------
check "another user's session is 404 before joining" is "$(req bobget GET "/v1/sessions/$SID" -H "$(auth "$TB")")" 404
NOID=aaaaaaaaaaaaaaaaaaaa
req bobnone GET "/v1/sessions/$NOID" -H "$(auth "$TB")" >/dev/null
check "... with the same body as an id that does not exist" \
  is "$(sed "s/$SID/ID/g" "$OUT/bobget")" "$(sed "s/$NOID/ID/g" "$OUT/bobnone")"
check "a wrong join code is 404" \
  is "$(req badcode POST "/v1/sessions/$SID/join" -H "$(auth "$TB")" "${J[@]}" -d '{"code":"ZZZZZZ"}')" 404
check "joining with the code is 200 (participant)" \
  is "$(req join POST "/v1/sessions/$SID/join" -H "$(auth "$TB")" "${J[@]}" -d "{\"code\":\"$CODE\"}")|$(js join .role)" \
  "200|participant"
check "the participant lists the session" \
  eval 'is "$(req bobl GET /v1/sessions -H "$(auth "$TB")")" 200 && [ "$(js bobl ".sessions | map(.id) | index(\"$SID\")")" != null ]'

# ---- path tricks: 400/404, never a file ------------------------------------
touch "$TMP/marker"
sleep 1
tricks=(
  "/v1/sessions/..%2F..%2Fetc/chunks/1"
  "/v1/sessions/../../etc/passwd"
  "/v1/sessions/%2e%2e%2f%2e%2e%2fescape/chunks/1"
  "/v1/sessions/$SID/chunks/..%2F..%2F..%2Fescape"
  "/v1/sessions/$SID/chunks/-1"
  "/v1/sessions/$SID/chunks/100000"
  "/v1/sessions/$SID/speakers/0/sample"
  "/v1/sessions/AAAAAAAAAAAAAAAAAAAA"
  "/static/../parley.db"
  "/static/..%2Fparley.db"
)
bad=0
for t in "${tricks[@]}"; do
  s=$(req trick PUT "$t" -H "$(auth "$TA")" --data-binary "@$A/c2.mp3")
  g=$(req trickg GET "$t" -H "$(auth "$TA")")
  case "$s$g" in 400400|404404|400404|404400|405400|405404|400405|404405) ;; *) bad=1; echo "# $t: PUT $s GET $g" ;; esac
done
check "ids with .., %2F, bad numbers are 400/404/405, never served" test $bad -eq 0
escaped=$(find "$TMP" -newer "$TMP/marker" -type f ! -path "$DATA/*" ! -path "$OUT/*" ! -name '*.log' | head -5)
check "no file outside the data dir was written by them" test -z "$escaped"
check "no file named escape in the data dir or next to it" \
  test -z "$(find "$TMP" /tmp/escape -maxdepth 6 -name escape 2>/dev/null | head -1)"

# ---- a slow client: one byte a second --------------------------------------
cat >"$TMP/slow.py" <<'EOF'
import socket, sys, time
host, port, path, token = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection((host, port))
s.sendall(("PUT %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Length: 200\r\n\r\n" % (path, token)).encode())
s.settimeout(1.0)
got = b""
start = time.time()
while time.time() - start < 40:
    try:
        s.sendall(b"x")
    except OSError:
        break
    try:
        d = s.recv(4096)
        if not d:
            break
        got += d
    except socket.timeout:
        pass
    except OSError:
        break
    if b"\r\n\r\n" in got:
        break
print("408" if got.startswith(b"HTTP/1.1 408") else ("closed" if time.time() - start < 40 else "open"))
EOF
PORT=${BASE##*:}
python3 "$TMP/slow.py" 127.0.0.1 "$PORT" "/v1/sessions/$SID/chunks/9" "$TA" >"$TMP/slow.out" 2>&1 &
SLOW_PID=$!
sleep 1
check "a normal request is answered while a slow client trickles" is "$(req during GET /health)" 200
wait $SLOW_PID
check "the slow client gets 408 or is cut after --request-timeout ($(cat "$TMP/slow.out"))" \
  grep -qx '408\|closed' "$TMP/slow.out"

# ---- end and processing ------------------------------------------------------
check "ending the session is 202 processing" \
  is "$(req end POST "/v1/sessions/$SID/end" -H "$(auth "$TA")")|$(js end .status)" "202|processing"
check "ending it again is 409" is "$(req end2 POST "/v1/sessions/$SID/end" -H "$(auth "$TA")")" 409
check "a chunk after the end is 409" is "$(put_chunk late 4 "$A/c2.mp3")" 409
status=
for ((i = 0; i < PROC_LIMIT; i++)); do
  req poll GET "/v1/sessions/$SID" -H "$(auth "$TA")" >/dev/null
  status=$(js poll .status)
  case "$status" in ready_for_claiming|failed) break ;; esac
  sleep 0.2
done
check "the server's worker processes the session (status $status)" is "$status" ready_for_claiming
[ "$status" = failed ] && echo "# error: $(js poll .error)"

# ---- speakers, samples, claims ----------------------------------------------
check "speakers is 200" is "$(req spk GET "/v1/sessions/$SID/speakers" -H "$(auth "$TA")")" 200
nspk=$(js spk '.speakers | length')
check "two speakers found (found $nspk)" is "$nspk" 2
URL=$(js spk '.speakers[0].sample_url')
check "each speaker has a sample URL" is "$URL" "/v1/sessions/$SID/speakers/1/sample"
check "the sample is audio/wav with Accept-Ranges" \
  eval 'is "$(req wav GET "$URL" -H "$(auth "$TA")")" 200 && grep -qi "content-type: audio/wav" "$OUT/wav.h" &&
        grep -qi "accept-ranges: bytes" "$OUT/wav.h" && is "$(head -c 4 "$OUT/wav")" RIFF'
SIZE=$(stat -c %s "$OUT/wav")
check "Range: bytes=0-99 is 206 with Content-Range and 100 bytes" \
  eval 'is "$(req wavr GET "$URL" -H "$(auth "$TA")" -H "Range: bytes=0-99")" 206 &&
        grep -qi "content-range: bytes 0-99/$SIZE" "$OUT/wavr.h" && [ "$(stat -c %s "$OUT/wavr")" = 100 ] &&
        cmp -s "$OUT/wavr" <(head -c 100 "$OUT/wav")'
check "a range past the end is 416" \
  eval 'is "$(req wav416 GET "$URL" -H "$(auth "$TA")" -H "Range: bytes=$SIZE-")" 416 &&
        grep -qi "content-range: bytes \*/$SIZE" "$OUT/wav416.h"'
check "a speaker that does not exist has no sample (404)" \
  is "$(req wav404 GET "/v1/sessions/$SID/speakers/9/sample" -H "$(auth "$TA")")" 404
check "ana claims speaker 1 (200)" \
  is "$(req c1 POST "/v1/sessions/$SID/speakers/1/claim" -H "$(auth "$TA")")|$(js c1 '.speakers[0].claimed_by')" "200|ana"
check "bob claiming the same speaker is 409" \
  is "$(req c1b POST "/v1/sessions/$SID/speakers/1/claim" -H "$(auth "$TB")")" 409
check "bob claims speaker 2 (200)" \
  is "$(req c2 POST "/v1/sessions/$SID/speakers/2/claim" -H "$(auth "$TB")" "${J[@]}" -d '{}')" 200
check "ana unclaiming bob's speaker is 409" \
  is "$(req u2 DELETE "/v1/sessions/$SID/speakers/2/claim" -H "$(auth "$TA")")" 409
check "cy, not a member, claiming is 404" \
  is "$(req c3 POST "/v1/sessions/$SID/speakers/2/claim" -H "$(auth "$TC")")" 404
check "results name both users with counts" \
  eval 'is "$(req res GET "/v1/sessions/$SID/results" -H "$(auth "$TB")")" 200 &&
        is "$(js res "[.users[].user] | sort | join(\",\")")" "ana,bob" &&
        is "$(js res "[.users[] | (.counts | type)] | unique | join(\",\")")" object'
check "leaderboard with word and since is 200" \
  eval 'is "$(req lb GET "/v1/leaderboard?word=lah&since=2020-01-01&limit=10" -H "$(auth "$TC")")" 200 &&
        is "$(js lb .word)" lah && is "$(js lb ".entries | type")" array'
check "leaderboard without a word is 200" \
  is "$(req lb2 GET "/v1/leaderboard?since=1600000000" -H "$(auth "$TC")")" 200
check "leaderboard with a bad since is 400" \
  is "$(req lb3 GET "/v1/leaderboard?since=yesterday" -H "$(auth "$TC")")" 400

# ---- metrics and a graceful stop --------------------------------------------
req metrics GET /metrics >/dev/null
missing=
for m in parley_queue_depth parley_recordings parley_stage_seconds parley_http_requests_total; do
  grep -q "^# TYPE $m " "$OUT/metrics" || missing="$missing $m"
done
check "/metrics has the documented metric names${missing:+ (missing:$missing)}" test -z "$missing"
check "/metrics has stage seconds of the processed session" \
  grep -q '^parley_stage_seconds_count{stage="decode"} [1-9]' "$OUT/metrics"
check "/metrics counts requests by route and status" \
  grep -q 'parley_http_requests_total{route="PUT /v1/sessions/{id}/chunks/{seq}",status="201"} 4' "$OUT/metrics"
check "every request has an access-log line" grep -q '"GET /health" 200' "$TMP/serve.log"
serve_stop
st=$?
check "SIGTERM stops the server with status 0 (status $st)" test $st -eq 0

# ---- many machines: PostgreSQL + Redis, serve --no-workers + parley worker --
if [ -z "${PARLEY_TEST_PG_URL:-}" ] || [ -z "${PARLEY_TEST_REDIS_URL:-}" ]; then
  ok "PostgreSQL + Redis topology # SKIP PARLEY_TEST_PG_URL / PARLEY_TEST_REDIS_URL unset"
  exit 0
fi
PG_DB="t_${RUN_ID}"
psql -X -q -v ON_ERROR_STOP=1 "$PARLEY_TEST_PG_URL" -c "CREATE DATABASE $PG_DB" >/dev/null ||
  { notok "create database $PG_DB"; exit 0; }
PG="${PARLEY_TEST_PG_URL%/*}/$PG_DB"
PGDATA_DIR="$TMP/pgdata"
S=(--store "$PG" --queue "$PARLEY_TEST_REDIS_URL" --queue-prefix "t_${RUN_ID}:" --data "$PGDATA_DIR")
TP=$(user_token pat "${S[@]}")
serve_start "$TMP/serve-pg.log" --no-workers "${S[@]}" ||
  { notok "serve --no-workers on PostgreSQL + Redis starts"; exit 0; }
ok "serve --no-workers on PostgreSQL + Redis starts"
req pcreate POST /v1/sessions -H "$(auth "$TP")" >/dev/null
PSID=$(js pcreate .id)
SID=$PSID
check "[pg] a chunk is stored (201)" is "$(put_chunk p0 0 "$A/c0.wav" "$TP")" 201
check "[pg] end is 202" is "$(req pend POST "/v1/sessions/$PSID/end" -H "$(auth "$TP")")" 202
# No worker runs yet: the entry in Redis was pushed by the server itself.
hp=${PARLEY_TEST_REDIS_URL#redis://}; hp=${hp%%/*}
ready=$(redis-cli -h "${hp%%:*}" -p "${hp##*:}" --scan --pattern "t_${RUN_ID}:ready:*" | head -1)
n=$([ -n "$ready" ] && redis-cli -h "${hp%%:*}" -p "${hp##*:}" zcard "$ready")
check "[pg] ending pushed the recording to the Redis queue (${ready:-no ready set}: ${n:-0})" \
  test "${n:-0}" -ge 1
"$PARLEY" worker --wait -j 1 "${S[@]}" -q >"$TMP/worker-pg.log" 2>&1 &
WORKER_PID=$!
for ((i = 0; i < PROC_LIMIT; i++)); do
  req ppoll GET "/v1/sessions/$PSID" -H "$(auth "$TP")" >/dev/null
  status=$(js ppoll .status)
  case "$status" in ready_for_claiming|failed) break ;; esac
  sleep 0.2
done
check "[pg] the separate worker processes the session through Redis (status $status)" \
  is "$status" ready_for_claiming
check "[pg] speakers are listed" \
  eval 'is "$(req pspk GET "/v1/sessions/$PSID/speakers" -H "$(auth "$TP")")" 200 && [ "$(js pspk ".speakers | length")" -ge 1 ]'
serve_stop; st=$?
check "[pg] SIGTERM stops the server with status 0" test $st -eq 0
kill -TERM "$WORKER_PID"; wait "$WORKER_PID"; WORKER_PID=
hp=${PARLEY_TEST_REDIS_URL#redis://}; hp=${hp%%/*}
redis-cli -h "${hp%%:*}" -p "${hp##*:}" --scan --pattern "t_${RUN_ID}:*" |
  xargs -r redis-cli -h "${hp%%:*}" -p "${hp##*:}" del >/dev/null 2>&1
