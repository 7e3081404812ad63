#!/usr/bin/env bash
# The pipeline configuration stored with a batch (batches.config): set at
# submit (file and flags), refused with FILE:LINE:COL when bad, read by
# `parley worker` (--speakers 2 reaches the diarizer), by export (the stored
# lexicon, even after its file changed or went), printed by `parley config`;
# on SQLite and, when PARLEY_TEST_PG_URL is set, on PostgreSQL.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/serve.sh"

$GEN --out "$TMP/gen" --name a --speakers 1 --turns 2 --seed 4 --quiet || { notok "generate a"; exit 1; }
mkdir -p "$TMP/in"
cp "$TMP/gen/a.wav" "$TMP/in/"

expect_fail() {  # description, status, expected text, args...
  local what=$1 want=$2 text=$3; shift 3
  local out status
  out=$("$PARLEY" "$@" 2>&1); status=$?
  if [ $status -eq "$want" ] && grep -qF -- "$text" <<<"$out"; then ok "$what"; else notok "$what (status $status: $out)"; fi
}

# --- parley config: keys, defaults, a file checked
keys=$("$PARLEY" config --keys)
for k in stt.engine stt.unit stt.api_key_env llm.engine diarize.speakers diarize.method lexicon.text samples.max; do
  check "config --keys lists $k" grep -q "^$k " <<<"$keys"
done
check "config --defaults is JSON with the default engine" \
  bash -c "'$PARLEY' config --defaults | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"stt\"][\"engine\"]==\"pocketsphinx\" and d[\"diarize\"][\"speakers\"]==0'"
printf '{\n  "diarize": {\n    "speakers": "two"\n  }\n}\n' >"$TMP/bad.json"
expect_fail "config --check names FILE:LINE:COL" 2 "$TMP/bad.json:3:17: diarize.speakers wants a whole number" config --check "$TMP/bad.json"
printf '{"diarize": {"speakers": 2}}\n' >"$TMP/two.json"
check "config --check prints a good file canonical" \
  bash -c "'$PARLEY' config --check '$TMP/two.json' | grep -q '\"speakers\": 2'"

# --- submit: a bad file or flag fails before anything is added
db="$TMP/q/parley.db"
expect_fail "submit with a bad config file fails with FILE:LINE:COL" 2 "$TMP/bad.json:3:17:" \
  submit "$TMP/in" --store "$db" --batch bad --pipeline-config "$TMP/bad.json"
printf '{"diarize": {"speakerz": 2}}' >"$TMP/typo.json"
expect_fail "an unknown key is named with its position" 2 "typo.json:1:14: unknown key \"speakerz\"" \
  submit "$TMP/in" --store "$db" --batch bad --pipeline-config "$TMP/typo.json"
expect_fail "a key itself is refused in api_key_env" 2 "never the key itself" \
  submit "$TMP/in" --store "$db" --batch bad --set stt.api_key_env=sk-live-123
check "nothing was added by the refused submits" test ! -e "$db"
expect_fail "worker refuses --speakers with a pointer to submit" 2 "parley submit --speakers" \
  worker --store "$db" --speakers 2

# --- --speakers 2 reaches `parley worker`: a one-voice recording gets 2 speakers
run_batches() {  # store [extra env...]: submit three batches, process, check
  local store=$1 label=$2; shift 2
  local pl=decode,vad,diarize
  "$PARLEY" submit "$TMP/in" --store "$store" "$@" --batch est --pipeline $pl >/dev/null 2>&1 &&
  "$PARLEY" submit "$TMP/in" --store "$store" "$@" --batch two --pipeline $pl --speakers 2 >/dev/null 2>&1 &&
  "$PARLEY" submit "$TMP/in" --store "$store" "$@" --batch file --pipeline $pl --pipeline-config "$TMP/two.json" >/dev/null 2>&1
  check "$label: three batches submitted" test $? -eq 0
  limit 300 "$PARLEY" worker --store "$store" "$@" --jobs 2 -q >"$TMP/worker.log" 2>&1
  check "$label: worker finished" test $? -eq 0
  local out
  out=$("$PARLEY" config two --store "$store" "$@" 2>&1)
  check "$label: config two prints the stored speakers" grep -q '"speakers": 2' <<<"$out"
  out=$("$PARLEY" config est --store "$store" "$@" 2>&1)
  check "$label: config est prints the default speakers" grep -q '"speakers": 0' <<<"$out"
  for b in est two file; do
    rm -rf "$TMP/exp-$b"
    "$PARLEY" export "$b" --store "$store" "$@" -o "$TMP/exp-$b" >/dev/null 2>&1
  done
  nspk() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["speakers"]))' "$1"; }
  check "$label: estimated: one voice, 1 speaker" test "$(nspk "$TMP/exp-est/a/transcript.json")" = 1
  check "$label: --speakers 2 at submit: the worker found 2" test "$(nspk "$TMP/exp-two/a/transcript.json")" = 2
  check "$label: a config file at submit: the worker found 2" test "$(nspk "$TMP/exp-file/a/transcript.json")" = 2
  # the batch keeps its configuration: other options are refused, none keep it
  expect_fail "$label: submitting other options to a batch is refused" 2 "diarize.speakers differs" \
    submit "$TMP/in" --store "$store" "$@" --batch two --speakers 3
  "$PARLEY" submit "$TMP/in" --store "$store" "$@" --batch two >/dev/null 2>&1
  check "$label: submitting without options keeps the stored one" \
    bash -c "'$PARLEY' config two --store '$store' $* | grep -q '\"speakers\": 2'"
}
run_batches "$db" sqlite

if [ -n "${PARLEY_TEST_PG_URL:-}" ]; then
  schema="parley_pc_$$"
  psql -q "$PARLEY_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null 2>&1
  sep='?'; case "$PARLEY_TEST_PG_URL" in *\?*) sep='&';; esac
  pg="$PARLEY_TEST_PG_URL${sep}options=-csearch_path%3D$schema"
  mkdir -p "$TMP/pgdata"
  run_batches "$pg" postgresql --data "$TMP/pgdata"
  psql -q "$PARLEY_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
else
  ok "PostgreSQL cases # SKIP PARLEY_TEST_PG_URL unset"
fi

# --- the lexicon is stored: export uses it after the file changed or went
printf 'target beach B IY CH\ntarget sister S IH S T ER\n' >"$TMP/my.lex"
db2="$TMP/lex/parley.db"
"$PARLEY" submit "$TMP/in" --store "$db2" --lexicon "$TMP/my.lex" >/dev/null 2>&1
check "submit --lexicon" test $? -eq 0
check "the stored configuration holds the lexicon's text" \
  bash -c "'$PARLEY' config default --store '$db2' | grep -q 'target beach B IY CH'"
printf 'target cannot K AE N AA T\n' >"$TMP/my.lex"   # changed after submit
# a second batch with another lexicon, taken by the same worker process:
# its engines are rebuilt for that batch's configuration
printf 'target read R IY D\ntarget near N IH R\n' >"$TMP/other.lex"
"$PARLEY" submit "$TMP/in" --store "$db2" --batch other --lexicon "$TMP/other.lex" >/dev/null 2>&1
limit 600 "$PARLEY" worker --store "$db2" --jobs 1 -q >"$TMP/worker2.log" 2>&1
check "worker finished the lexicon batch" test $? -eq 0
"$PARLEY" export default --store "$db2" -o "$TMP/lexexp1" >/dev/null 2>&1
marked() {  # transcript.json → the words marked "counted" (targets of the lexicon used)
  python3 -c 'import json,sys; print(" ".join(sorted({w["word"] for w in json.load(open(sys.argv[1]))["words"] if "counted" in w})))' "$1"
}
m=$(marked "$TMP/lexexp1/a/transcript.json")
echo "# marked as targets: $m"
check "export marks targets of the stored lexicon (beach or sister)" grep -Eq 'beach|sister' <<<"$m"
check "export does not use the changed file (cannot) nor the built-in (jialat)" bash -c "! grep -Eq 'cannot|jialat' <<<'$m'"
check "summary.csv counts the stored lexicon's targets" grep -Eq ',(beach|sister),' "$TMP/lexexp1/summary.csv"
check "transcript.json names the lexicon file" \
  bash -c "python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))[\"engines\"][\"lexicon\"]==sys.argv[2]' '$TMP/lexexp1/a/transcript.json' '$TMP/my.lex'"
"$PARLEY" export other --store "$db2" -o "$TMP/lexother" >/dev/null 2>&1
m=$(marked "$TMP/lexother/a/transcript.json")
echo "# marked as targets in batch other: $m"
check "one worker, two batches: export marks the second batch's lexicon" grep -Eq 'read|near' <<<"$m"
# the counts come from the words stage the worker ran with that batch's lexicon
sed 's/^/# other summary: /' "$TMP/lexother/summary.csv"
check "... and its words stage counted that lexicon's targets (read or near)" grep -Eq ',(read|near),' "$TMP/lexother/summary.csv"
check "... not the first batch's (beach, sister)" bash -c "! grep -Eq ',(beach|sister),' '$TMP/lexother/summary.csv'"
rm -f "$TMP/my.lex"
"$PARLEY" export default --store "$db2" -o "$TMP/lexexp2" >/dev/null 2>&1
check "export after the lexicon file is deleted gives the same bytes" \
  cmp -s "$TMP/lexexp1/a/transcript.json" "$TMP/lexexp2/a/transcript.json"
expect_fail "export --lexicon is refused: it comes from the batch" 2 "stored pipeline configuration" \
  export default --store "$db2" -o "$TMP/x" --lexicon "$TMP/my.lex"

# --- parley serve: the sessions' configuration, stored with each session
unset PARLEY_CONFIG PARLEY_STORE PARLEY_QUEUE PARLEY_QUEUE_PREFIX PARLEY_DATA
expect_fail "serve with a bad config file fails at start with FILE:LINE:COL" 2 "$TMP/bad.json:3:17:" \
  serve --no-workers --listen 127.0.0.1:0 --data "$TMP/sd" --pipeline-config "$TMP/bad.json"
SERVER_PID=
trap 'serve_stop; cleanup' EXIT
words() {  # SESSION TOKEN: the results' words, space-separated
  curl -s --max-time 30 -H "Authorization: Bearer $2" "$BASE/v1/sessions/$1/results" |
    python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["words"]))'
}
printf 'target beach B IY CH\n' >"$TMP/serve.lex"
mkdir -p "$TMP/sd"
tok=$(user_token ana --data "$TMP/sd")
serve_start "$TMP/serve1.log" --data "$TMP/sd" --no-workers --lexicon "$TMP/serve.lex"
check "serve --lexicon starts" test -n "$BASE"
sid=$(curl -s --max-time 30 -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
  -d '{"title":"t"}' "$BASE/v1/sessions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -s --max-time 60 -o /dev/null -X PUT -H "Authorization: Bearer $tok" --data-binary @"$TMP/in/a.wav" \
  "$BASE/v1/sessions/$sid/chunks/0"
st=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $tok" "$BASE/v1/sessions/$sid/end")
check "a session ended under serve --lexicon (status $st)" test "$st" = 202
check "its results list the server's lexicon" test "$(words "$sid" "$tok")" = beach
serve_stop
rm -f "$TMP/serve.lex"
# restarted with the defaults and its own worker (process settings from the
# environment reach serve's workers: file_complete events on request)
PARLEY_LOG_FILE_COMPLETE=true serve_start "$TMP/serve2.log" --data "$TMP/sd" --workers 1
check "serve restarts with the defaults" test -n "$BASE"
check "the ended session keeps the lexicon stored with it" test "$(words "$sid" "$tok")" = beach
check "... and its batch holds it" \
  bash -c "'$PARLEY' config 'session:$sid' --store '$TMP/sd/parley.db' | grep -q 'target beach'"
status=
for ((i = 0; i < 600; i++)); do
  status=$(curl -s --max-time 30 -H "Authorization: Bearer $tok" "$BASE/v1/sessions/$sid" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null)
  case "$status" in ready_for_claiming|failed) break ;; esac
  sleep 0.2
done
check "serve's worker processed the session (status $status)" test "$status" = ready_for_claiming
beach=$(curl -s --max-time 30 -H "Authorization: Bearer $tok" "$BASE/v1/sessions/$sid/results" |
  python3 -c 'import json,sys; print(sum(s["counts"].get("beach", 0) for s in json.load(sys.stdin)["speakers"]))')
check "its worker counted the stored lexicon's target (beach: $beach), not the server's default" test "${beach:-0}" -ge 1
check "serve's workers honour log_file_complete (file_complete events)" \
  test "$(sqlite3 "$TMP/sd/parley.db" "SELECT count(*) FROM events WHERE type = 'file_complete'")" -ge 1
serve_stop
