#!/usr/bin/env bash
# test_accounts.sh — issue 16 items 5-8 against a real `parley serve` over
# HTTPS on 127.0.0.1 (a certificate the test makes with openssl, checked by
# curl --cacert): security headers and HSTS; /metrics behind a token; answers
# that never show the data directory, a pid or SQL when the disk fails (the
# data directory replaced by a file), while the server's log has the
# details; /health not ok for an unwritable data directory and for a disk
# under --min-free-bytes (chunks 507 then); tokens rotated, expired and
# removed with immediate effect; longer join codes, wrong ones locked out
# per address and per session (429 + Retry-After); only the owner ends a
# session; joining and sign-up closed after the claim window; sign-up off,
# through a share link (joins the session) and open, names unique, sign-ups
# per address limited. No processing (--no-workers): fast.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/serve.sh"

unset PARLEY_CONFIG PARLEY_STORE PARLEY_QUEUE PARLEY_QUEUE_PREFIX PARLEY_DATA

OUT="$TMP/out"
mkdir -p "$OUT"
SERVER_PID=
trap 'serve_stop; cleanup' EXIT

# req NAME METHOD PATH [curl args...] — body $OUT/NAME, headers $OUT/NAME.h; prints the status
req() {
  local name=$1 method=$2 path=$3; shift 3
  curl -s --max-time 30 --cacert "$TMP/tls/cert.pem" -X "$method" -o "$OUT/$name" \
    -D "$OUT/$name.h" -w '%{http_code}' "$@" "$BASE$path"
}
js() { jq -r "$2" "$OUT/$1"; }
auth() { echo "Authorization: Bearer $1"; }
is() { [ "$1" = "$2" ]; }
J=(-H "Content-Type: application/json")
header() { grep -i "^$2:" "$OUT/$1.h" | head -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; }

# ---- a certificate for 127.0.0.1 and a chunk of audio -------------------------
mkdir -p "$TMP/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=parley test" -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$TMP/tls/key.pem" -out "$TMP/tls/cert.pem" 2>"$TMP/tls/openssl.log"
check "openssl makes a certificate for IP 127.0.0.1" test -s "$TMP/tls/cert.pem" -a -s "$TMP/tls/key.pem"
ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=440:duration=1" -ar 16000 -ac 1 "$TMP/c.wav"
check "ffmpeg makes a 1 s chunk" test -s "$TMP/c.wav"

DATA="$TMP/data"
STORE="$TMP/parley.db"   # outside the data directory: the test breaks that one
mkdir -p "$DATA"
U=(--store "$STORE")
TA=$(user_token ana "${U[@]}")
TB=$(user_token bob "${U[@]}")
TR=$(user_token root --admin "${U[@]}")
TX=$(user_token temp --expires-in 1h "${U[@]}")
check "parley user add prints tokens (one with --expires-in 1h)" test -n "$TA" -a -n "$TB" -a -n "$TR" -a -n "$TX"
check "user list shows the expiry" eval '"$PARLEY" user list "${U[@]}" | grep -q "^temp	expires 20"'
printf 'metrics-%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$TMP/metrics.token"
MT=$(head -1 "$TMP/metrics.token")

# ---- bad TLS settings are refused -------------------------------------------------
check "--tls-cert without --tls-key is a usage error (2)" \
  eval '"$PARLEY" serve --tls-cert "$TMP/tls/cert.pem" --data "$DATA" --store "$STORE" 2>/dev/null; [ $? = 2 ]'
check "a key that is not PEM: serve exits 1 and says why" \
  eval 'echo nonsense >"$TMP/bad.pem"; "$PARLEY" serve --listen 127.0.0.1:0 --no-workers --tls-cert "$TMP/tls/cert.pem" \
        --tls-key "$TMP/bad.pem" --data "$DATA" --store "$STORE" 2>"$TMP/bad.log"; [ $? = 1 ] && grep -q "TLS" "$TMP/bad.log"'

# ---- the server, over HTTPS ---------------------------------------------------------
serve_start "$TMP/serve.log" --no-workers --data "$DATA" --store "$STORE" --threads 3 \
  --tls-cert "$TMP/tls/cert.pem" --tls-key "$TMP/tls/key.pem" --claim-window 3s \
  --metrics-token-file "$TMP/metrics.token" ||
  { notok "parley serve --tls-cert --tls-key starts"; exit 1; }
check "parley serve --tls-cert --tls-key listens on https:// ($BASE)" eval '[[ $BASE == https://127.0.0.1:* ]]'
check "GET /health over HTTPS, verified against the test CA, is 200 ok" \
  is "$(req health GET /health)|$(js health .status)|$(js health .data)" "200|ok|ok"
check "HTTPS answers carry Strict-Transport-Security" eval '[[ $(header health strict-transport-security) == max-age=* ]]'
check "plain HTTP to the HTTPS port gets no answer" \
  eval '! curl -s --max-time 10 -o /dev/null "${BASE/https/http}/health"'
check "GET / has a CSP without inline script, frame-ancestors 'none', nosniff, no referrer" \
  eval 'is "$(req index GET /)" 200 &&
        csp=$(header index content-security-policy) &&
        [[ $csp == *"script-src '"'"'self'"'"';"* && $csp == *"frame-ancestors '"'"'none'"'"'"* && $csp != *unsafe-inline* ]] &&
        is "$(header index x-content-type-options)" nosniff && is "$(header index referrer-policy)" no-referrer'
check "the pages have no inline script, style or event handler attributes (CSP holds)" \
  eval '! grep -nEi "<script(>| [^>]*>[^<])|<style|[[:space:]]on[a-z]+=|[[:space:]]style=|javascript:" "$ROOT"/web/static/*.html'
check "/metrics without the token is 401" is "$(req m0 GET /metrics)" 401
check "/metrics with a wrong token is 401" is "$(req m1 GET /metrics -H "$(auth "${MT}x")")" 401
check "/metrics with the token is 200" \
  eval 'is "$(req m2 GET /metrics -H "$(auth "$MT")")" 200 && grep -q "^parley_" "$OUT/m2"'

# ---- sessions: longer join codes, owner-only end -------------------------------------
is "$(req s1 POST /v1/sessions -H "$(auth "$TA")" "${J[@]}" -d '{"title":"t1"}')" 201
SID=$(js s1 .id); CODE=$(js s1 .join_code)
check "a new session's join code has 10 characters ($CODE)" eval '[ ${#CODE} -eq 10 ]'
put() {  # name sid seq token [curl args]
  local n=$1 sid=$2 seq=$3 tok=$4; shift 4
  req "$n" PUT "/v1/sessions/$sid/chunks/$seq" -H "$(auth "$tok")" \
    -H "Content-Type: application/octet-stream" --data-binary "@$TMP/c.wav" "$@"
}
check "bob joins with the code" is "$(req j1 POST "/v1/sessions/$SID/join" -H "$(auth "$TB")" "${J[@]}" -d "{\"code\":\"$CODE\"}")" 200
check "a participant uploads a chunk (201)" is "$(put p0 "$SID" 0 "$TB")" 201

# ---- no internals in answers: the data directory breaks -------------------------------
mv "$DATA" "$DATA.moved" && : >"$DATA"
st=$(put leak "$SID" 1 "$TA")
msg=$(js leak .error.message)
check "a chunk the server cannot store is 503 naming the chunk and session ($msg)" \
  eval 'is "$st" 503 && [[ $msg == *"chunk 1 of session $SID"* ]]'
check "… and the answer has no path, pid or temp name" \
  eval '! grep -qE "$TMP|/data|\.tmp|No such|Not a directory|$SERVER_PID" "$OUT/leak"'
check "the server's log has the details" eval 'grep -q "chunk 1 of session $SID: io: .*$TMP/data" "$TMP/serve.log"'
check "/health is 503 with data unwritable (and no path)" \
  eval 'is "$(req h2 GET /health)|$(js h2 .status)|$(js h2 .data)" "503|unavailable|unwritable" && ! grep -q "$TMP" "$OUT/h2"'
rm -f "$DATA" && mv "$DATA.moved" "$DATA"
check "/health is 200 again once the data directory is back" is "$(req h3 GET /health)" 200

# ---- owner-only end; joining closes after the claim window ------------------------------
check "a participant cannot end the session (409)" \
  eval 'is "$(req e1 POST "/v1/sessions/$SID/end" -H "$(auth "$TB")")" 409 && [[ $(js e1 .error.message) == *owner* ]]'
check "the owner ends it (202)" is "$(req e2 POST "/v1/sessions/$SID/end" -H "$(auth "$TA")")" 202
check "the ended session says until when it may be claimed" \
  eval '[ "$(req g1 GET "/v1/sessions/$SID" -H "$(auth "$TA")")" = 200 ] && [ "$(js g1 ".claim_until | type")" = number ]'
sleep 4  # --claim-window 3s: past it (a lower bound, not a timed assertion)
check "after the claim window, joining is 409" \
  is "$(req j2 POST "/v1/sessions/$SID/join" -H "$(auth "$TX")" "${J[@]}" -d "{\"code\":\"$CODE\"}")" 409

# ---- tokens: rotate, expire, remove — at once, while the server runs ---------------------
TA2=$("$PARLEY" user rotate ana "${U[@]}" 2>/dev/null)
check "user rotate prints a new token" eval '[ ${#TA2} -eq 43 ] && [ "$TA2" != "$TA" ]'
check "the old token is refused at once (401)" is "$(req r1 GET /v1/me -H "$(auth "$TA")")" 401
check "the new token works" is "$(req r2 GET /v1/me -H "$(auth "$TA2")")|$(js r2 .name)" "200|ana"
check "a token with --expires-in works and /v1/me says when it expires" \
  eval 'is "$(req x1 GET /v1/me -H "$(auth "$TX")")" 200 && [ "$(js x1 ".expires | type")" = number ]'
"$PARLEY" user expire temp now "${U[@]}" 2>/dev/null
check "user expire now: 401 'the token has expired'" \
  eval 'is "$(req x2 GET /v1/me -H "$(auth "$TX")")" 401 && [[ $(js x2 .error.message) == *expired* ]]'
"$PARLEY" user expire temp never "${U[@]}" 2>/dev/null
check "user expire never: the token works again" is "$(req x3 GET /v1/me -H "$(auth "$TX")")" 200
check "user expire with a bad duration is a usage error (2)" \
  eval '"$PARLEY" user expire temp 5y "${U[@]}" 2>/dev/null; [ $? = 2 ]'
check "user rotate of an unknown user exits 1" eval '"$PARLEY" user rotate nobody "${U[@]}" 2>/dev/null; [ $? = 1 ]'
"$PARLEY" user remove temp "${U[@]}" 2>/dev/null
check "user remove: the token is refused at once" is "$(req x4 GET /v1/me -H "$(auth "$TX")")" 401
check "user list marks the removed user; the name stays taken" \
  eval '"$PARLEY" user list "${U[@]}" | grep -q "^temp.*removed$" && ! "$PARLEY" user add temp "${U[@]}" 2>/dev/null'

# ---- join codes: locked out per address and per session ------------------------------------
is "$(req s2 POST /v1/sessions -H "$(auth "$TA2")" "${J[@]}" -d '{}')" 201
SID2=$(js s2 .id); CODE2=$(js s2 .join_code)
WRONG=ABCDEFGHJK; [ "$WRONG" = "$CODE2" ] && WRONG=ABCDEFGHJM
join_from() {  # name addr code
  req "$1" POST "/v1/sessions/$SID2/join" --interface "$2" -H "$(auth "$TB")" "${J[@]}" -d "{\"code\":\"$3\"}"
}
codes=""
for i in $(seq 1 10); do codes="$codes $(join_from w$i 127.0.0.2 $WRONG)"; done
check "ten wrong codes from one address are 404 (like a missing session)" is "$codes" "$(printf ' 404%.0s' {1..10})"
check "then that address is locked out, even with the right code: 429 + Retry-After" \
  eval 'is "$(join_from w11 127.0.0.2 "$CODE2")" 429 && [ "$(header w11 retry-after)" -gt 60 ] &&
        error_code=$(js w11 .error.code) && is "$error_code" rate_limited'
check "another address still joins" is "$(join_from ok1 127.0.0.3 "$CODE2")" 200
for a in 4 5 6; do for i in $(seq 1 7); do join_from v$a$i 127.0.0.$a $WRONG >/dev/null; done; done
check "30 wrong codes for one session from many addresses lock the session: 429 from a fresh address" \
  eval 'is "$(join_from v7 127.0.0.7 "$CODE2")" 429 && [[ $(js v7 .error.message) == *session* ]]'

# ---- sign-up: link (the default) ---------------------------------------------------------------
is "$(req s3 POST /v1/sessions -H "$(auth "$TA2")" "${J[@]}" -d '{}')" 201
SID3=$(js s3 .id); CODE3=$(js s3 .join_code)
check "GET /v1/signup says link (the default)" is "$(req su0 GET /v1/signup)|$(js su0 .signup)" "200|link"
check "sign-up without a share link is 400 under link" \
  is "$(req su1 POST /v1/signup "${J[@]}" -d '{"name":"dee"}')" 400
check "sign-up with a wrong code is 404 and makes no user" \
  eval 'is "$(req su2 POST /v1/signup "${J[@]}" -d "{\"name\":\"dee\",\"session\":\"$SID3\",\"code\":\"$WRONG\"}")" 404 &&
        ! "$PARLEY" user list "${U[@]}" | grep -q "^dee"'
check "sign-up through the share link is 201 with a token, and joins the session" \
  eval 'is "$(req su3 POST /v1/signup "${J[@]}" -d "{\"name\":\"dee\",\"session\":\"$SID3\",\"code\":\"$CODE3\"}")" 201 &&
        is "$(js su3 .session.role)|$(js su3 .user.name)|$(js su3 ".token | length")" "participant|dee|43"'
TD=$(js su3 .token)
check "the new account signs in and sees the session" \
  is "$(req su4 GET "/v1/sessions/$SID3" -H "$(auth "$TD")")|$(js su4 .role)" "200|participant"
check "a taken name is 409" \
  is "$(req su5 POST /v1/signup "${J[@]}" -d "{\"name\":\"ana\",\"session\":\"$SID3\",\"code\":\"$CODE3\"}")" 409
check "user list marks the signed-up user" eval '"$PARLEY" user list "${U[@]}" | grep -q "^dee	signed up$"'
check "sign-up through the link of a session whose claiming closed is 409" \
  is "$(req su6 POST /v1/signup "${J[@]}" -d "{\"name\":\"eve\",\"session\":\"$SID\",\"code\":\"$CODE\"}")" 409
su_codes=""
for i in $(seq 1 20); do
  su_codes="$su_codes $(req sux$i POST /v1/signup --interface 127.0.0.9 "${J[@]}" \
    -d "{\"name\":\"many$i\",\"session\":\"$SID3\",\"code\":\"$CODE3\"}")"
done
check "20 sign-ups from one address are 201" is "$su_codes" "$(printf ' 201%.0s' {1..20})"
check "the 21st from that address is 429" \
  is "$(req suy POST /v1/signup --interface 127.0.0.9 "${J[@]}" -d "{\"name\":\"many21\",\"session\":\"$SID3\",\"code\":\"$CODE3\"}")" 429
check "SIGTERM stops the HTTPS server with status 0" serve_stop

# ---- sign-up open and off; a full disk ------------------------------------------------------
serve_start "$TMP/serve2.log" --no-workers --data "$DATA" --store "$STORE" --signup open ||
  { notok "parley serve --signup open starts"; exit 1; }
check "--signup open: sign-up with a name only is 201" \
  eval 'is "$(req o1 POST /v1/signup "${J[@]}" -d "{\"name\":\"fay\"}")|$(js o1 .session)" "201|null"'
check "plain HTTP answers carry the security headers but no HSTS" \
  eval 'is "$(req o2 GET /)" 200 && [ -n "$(header o2 content-security-policy)" ] && [ -z "$(header o2 strict-transport-security)" ]'
check "/metrics is open without --metrics-token-file" is "$(req o3 GET /metrics)" 200
serve_stop
serve_start "$TMP/serve3.log" --no-workers --data "$DATA" --store "$STORE" --signup off \
  --min-free-bytes 18446744073709551615 || { notok "parley serve --signup off starts"; exit 1; }
check "--signup off: sign-up is 403" is "$(req f1 POST /v1/signup "${J[@]}" -d '{"name":"gus"}')" 403
check "a disk under --min-free-bytes: /health is 503 with data full" \
  is "$(req f2 GET /health)|$(js f2 .data)" "503|full"
is "$(req f3 POST /v1/sessions -H "$(auth "$TA2")" "${J[@]}" -d '{}')" 201
check "… and a chunk upload is 507 insufficient_storage, naming the chunk" \
  eval 'is "$(put f4 "$(js f3 .id)" 0 "$TA2")" 507 && [[ $(js f4 .error.message) == "chunk 0 of session"* ]]'
check "the log of the full disk names the directory" eval 'grep -q "data directory .* is full" "$TMP/serve3.log"'
serve_stop
