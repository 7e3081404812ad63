#!/usr/bin/env bash
# Questionnaires (issue 14 "llm1"): a generated stereo call (seed 21: a
# ringback, an IVR menu "thank you for calling parley bank … press one",
# DTMF, 8 s of hold; the agent says "… learning to play the piano", "please
# close the window …") through `parley run --stages …,answers
# --questionnaire` with embedded (phrases), metric and LLM answers, the LLM
# being tests/servers/fake_engines.py (deterministic answers from the
# prompt's transcript):
#   - phrases by role (the agent's piano, not the customer's), the IVR's
#     words left out, auto-fail, a skipped conditional question, evidence
#     with times and role;
#   - metric answers equal to transcript.json's metrics, the value as evidence;
#   - LLM answers (yes/no with a located quote, a choice, a number, a text);
#     transcript.json "answers", answers.csv, one answers row per question
#     for audit version 1;
#   - a server answering in plain words ("Yes.", "About 4 lines."): the same
#     answers after normalising; a server ignoring the schema: invalid LLM
#     answers recorded (valid false, the reason), the run still succeeds;
#   - refused before any audio (exit 2, no store): a bad questionnaire
#     (FILE:LINE:COL), an LLM question without an LLM, stages without answers;
#   - `parley submit --questionnaire` stores audit version 1; another
#     questionnaire for that batch is refused.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/fake_engines.sh"
unset PARLEY_CONFIG PARLEY_STORE PARLEY_QUEUE PARLEY_DATA
trap 'fake_stop; cleanup' EXIT

CALLS=${PARLEY_CALLS_CACHE:-$ROOT/build/calls-it}
mkdir -p "$CALLS" "$TMP/in"
GENV=$(sha256sum "$ROOT/tests/gen/gen_call.py" "$ROOT/tests/gen/gen_conversation.py" | sha256sum | cut -c1-12)
args="--seed 21 --channels 2 --ringback 2 --ivr-prompt --dtmf 2 --hold 8 --minutes 1 --crosstalk -25"
key=$(echo "$GENV $args" | sha256sum | cut -c1-12)
if [ ! -s "$CALLS/i1-$key.truth.json" ]; then  # the same call as test_call_metrics' i1
  # shellcheck disable=SC2086
  python3 "$ROOT/tests/gen/gen_call.py" --out "$CALLS" --name "i1-$key" --cache-dir "$PARLEY_GEN_CACHE" --quiet $args ||
    { notok "generate the call"; exit 1; }
fi
cp "$CALLS/i1-$key.wav" "$TMP/in/i1.wav"

LATE="alpha bravo charlie delta echo foxtrot golf hotel"  # the transcription of unknown audio
fake_start "$TMP/srv" --unknown-text "$LATE" || { notok "start the fake engine server"; exit 1; }
ok "fake engine server on port $FAKE_PORT"

cat >"$TMP/q.json" <<'EOF'
{"version": 1, "name": "integration",
 "questions": [
  {"id": "piano", "type": "yes_no", "text": "Did the agent talk about the piano?",
   "role": "agent", "phrases": {"any": ["piano", "learning to play"]}, "weight": 2},
  {"id": "piano_customer", "type": "yes_no", "text": "Did the customer talk about the piano?",
   "role": "customer", "phrases": {"any": ["piano", "learning to play"]}},
  {"id": "ivr_words", "type": "yes_no", "text": "Were the IVR's words heard?",
   "phrases": {"any": ["parley bank", "press one", "accounts and balances"]}},
  {"id": "rude", "type": "yes_no", "text": "Was the agent rude?", "role": "agent",
   "phrases": {"any": ["stupid", "shut up"]},
   "choices": [{"id": "yes", "score": 0}, {"id": "no", "score": 1}], "auto_fail": ["yes"]},
  {"id": "silence", "type": "yes_no", "text": "Was any silence longer than 1 s?",
   "metric": {"metric": "longest_silence", "op": ">", "value": 1}},
  {"id": "share", "type": "number", "text": "The agent's share of the talk",
   "metric": {"metric": "talk_share", "scope": "agent"},
   "ranges": [{"min": 0, "max": 0.8, "score": 1}, {"min": 0.8, "max": 1, "auto_fail": true}]},
  {"id": "never", "type": "yes_no", "text": "Asked only when the customer talked about the piano",
   "condition": {"question": "piano_customer", "equals": "yes"}},
  {"id": "llm_piano", "type": "yes_no", "text": "Did the agent mention the \"piano\"?",
   "role": "agent"},
  {"id": "llm_topic", "type": "single_choice", "text": "Which topic came up first?",
   "choices": [{"id": "refund", "score": 0}, {"id": "piano", "score": 2}, {"id": "coffee", "score": 1}]},
  {"id": "llm_lines", "type": "number", "text": "How many transcript lines?",
   "condition": {"question": "piano", "equals": "yes"}},
  {"id": "llm_summary", "type": "text", "text": "Summarise the call."}
 ]}
EOF
STAGES=decode,ivr,vad,diarize,stt,words,metrics,answers

run_audit() {  # out, llm url, extra...
  local out=$1 url=$2; shift 2
  limit 600 "$PARLEY" run "$TMP/in" -o "$out" -j 1 --no-progress --stages "$STAGES" \
    --set channels.mode=separate --set "llm.engine=openai+$url" --questionnaire "$TMP/q.json" "$@" \
    >"$out.log" 2>&1
}

# ---- a server that keeps to the schema
out="$TMP/out"
run_audit "$out" "$FAKE_URL/v1"
status=$?
check "parley run --questionnaire with the answers stage exits 0 (status $status)" test $status -eq 0
[ $status -eq 0 ] || tail -20 "$out.log"
python3 "$ROOT/tests/integration/check_answers.py" "$out/i1/transcript.json" "$out/i1/answers.csv" strict
check "every checked answer of the strict server is right" test $? -eq 0
check "one answers row per question, for audit version 1" \
  test "$(sqlite3 "$out/parley.db" "select count(*) || ',' || min(version) || ',' || max(version) from answers")" = "11,1,1"
check "the answers stage is done" \
  test "$(sqlite3 "$out/parley.db" "select status from stage_runs where stage='answers'")" = done
q=$(fake_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["questions"])')
check "the LLM was asked the 4 LLM questions, once each ($q)" test "$q" = 4
cp "$out/i1/transcript.json" "$TMP/strict.json"

# ---- the same command again: nothing to do; another questionnaire: refused
limit 300 "$PARLEY" run "$TMP/in" -o "$out" -j 1 --no-progress --stages "$STAGES" --set channels.mode=separate \
  --set "llm.engine=openai+$FAKE_URL/v1" --questionnaire "$TMP/q.json" >"$out.2.log" 2>&1
check "the same run again exits 0" test $? -eq 0
check "... asking the LLM nothing more" \
  test "$(fake_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["questions"])')" = 4
sed 's/"version": 1/"version": 2/' "$TMP/q.json" >"$TMP/q2.json"
limit 300 "$PARLEY" run "$TMP/in" -o "$out" -j 1 --no-progress --stages "$STAGES" --set channels.mode=separate \
  --set "llm.engine=openai+$FAKE_URL/v1" --questionnaire "$TMP/q2.json" >"$out.3.log" 2>&1
status=$?
check "another questionnaire for the same output is refused (status $status)" test $status -eq 2
check "... saying it changes by reaudit only" grep -q "another questionnaire.*reaudit only" "$out.3.log"

# ---- a server answering in plain words: normalised to the same answers
out="$TMP/plain"
run_audit "$out" "$FAKE_URL/mode/plain/v1"
check "a run against a server answering in plain words exits 0" test $? -eq 0
python3 "$ROOT/tests/integration/check_answers.py" "$out/i1/transcript.json" "$out/i1/answers.csv" plain
check "every checked answer of the plain-words server is right" test $? -eq 0
python3 - "$out/i1/transcript.json" "$TMP/strict.json" <<'EOF'
import json, sys
a = {x["question"]: x for x in json.load(open(sys.argv[1]))["answers"]}
b = {x["question"]: x for x in json.load(open(sys.argv[2]))["answers"]}
bad = 0
for k in ("llm_piano", "llm_topic", "llm_lines"):
    ok = a[k]["answer"] == b[k]["answer"] and a[k]["valid"] and a[k]["score"] == b[k]["score"]
    print(("ok - " if ok else "not ok - ") + "plain words: %s normalised to %s (%r)" % (k, b[k]["answer"], a[k]["answer"]))
    bad += not ok
ok = a["llm_summary"]["valid"] and a["llm_summary"]["answer"] == b["llm_summary"]["answer"][0].upper() + b["llm_summary"]["answer"][1:] + "."
print(("ok - " if ok else "not ok - ") + "plain words: the text answer as the server wrote it (%r)" % a["llm_summary"]["answer"])
EOF

# ---- a server ignoring the schema: invalid LLM answers, not a failure
out="$TMP/ignore"
run_audit "$out" "$FAKE_URL/mode/ignore_schema/v1"
status=$?
check "a run against a server ignoring the schema exits 0 (status $status)" test $status -eq 0
python3 - "$out/i1/transcript.json" <<'EOF'
import json, sys
a = {x["question"]: x for x in json.load(open(sys.argv[1]))["answers"]}
for k in ("llm_piano", "llm_topic", "llm_lines", "llm_summary"):
    ok = not a[k]["valid"] and a[k]["answer"] is None and "no answer" in a[k]["error"] and a[k]["score"] == 0
    print(("ok - " if ok else "not ok - ") + "ignored schema: %s recorded invalid (%s)" % (k, a[k]["error"][:120]))
ok = all(a[k]["valid"] for k in ("piano", "silence", "share", "rude"))
print(("ok - " if ok else "not ok - ") + "ignored schema: the phrase and metric answers stay valid")
EOF

# ---- the conversation ends at the audio's end, not at the last word, when
# the stages run in one go: 40 s of audio, a tone for the first 20 s (the
# server's words spread over that turn), then silence. The last 10 s hold no
# word (a phrase question and an LLM question on that window); reading the
# lease's copy of the recording (duration 0 before decode) ended the
# conversation at the last word and put the window over the words.
mkdir -p "$TMP/late"
python3 - "$TMP/late/late.wav" <<'EOF'
import math, struct, sys, wave
r = 16000
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(r)
    w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / r) *
                                            (0.5 + 0.5 * math.sin(2 * math.pi * 3 * i / r))))
                           for i in range(20 * r)) + bytes(2 * 20 * r))
EOF
{ printf '{"version": 1, "name": "late", "questions": [\n'
  printf '  {"id": "late_words", "type": "yes_no", "text": "Words in the last 10 s?", "window": {"last": 10},\n'
  printf '   "phrases": {"any": ["%s"]}},\n' "$(echo "$LATE" | sed 's/ /", "/g')"
  printf '  {"id": "late_lines", "type": "number", "text": "How many transcript lines?", "window": {"last": 10}}]}\n'
} >"$TMP/late.json"
limit 300 "$PARLEY" run "$TMP/late" -o "$TMP/late-out" -j 1 --no-progress --stages decode,vad,diarize,stt,answers \
  --stt "openai+$FAKE_URL" --stt-unit turn --set "llm.engine=openai+$FAKE_URL/v1" --questionnaire "$TMP/late.json" \
  >"$TMP/late.log" 2>&1
check "a one-go run of 40 s whose words end mid-call exits 0" test $? -eq 0
ends=$(sqlite3 "$TMP/late-out/parley.db" "select round(r.duration, 1) || ',' || count(w.word) || ',' || (max(w.end_s) < 25)
  from recordings r join stt_words w on w.recording_id = r.id")
check "... 40 s of audio, its 8 words ending before 25 s (duration,words,ended: $ends)" test "$ends" = "40.0,8,1"
late=$(python3 -c '
import json, sys
a = {x["question"]: x for x in json.load(open(sys.argv[1]))["answers"]}
print(a["late_words"]["answer"], len(a["late_words"]["evidence"]), a["late_lines"]["answer"])
' "$TMP/late-out/late/transcript.json" 2>&1)
check "... the last 10 s are the audio's (silence): no phrase heard, no transcript line ($late)" test "$late" = "no 0 0.0"

# ---- refused before any audio
printf '{"version": 1, "questions": [\n  {"id": "a", "type": "yes_no", "text": "t", "weight": "x"}]}\n' >"$TMP/bad.json"
limit 60 "$PARLEY" run "$TMP/in" -o "$TMP/bad" --no-progress --stages "$STAGES" \
  --set "llm.engine=openai+$FAKE_URL/v1" --questionnaire "$TMP/bad.json" >"$TMP/bad.log" 2>&1
status=$?
check "a bad questionnaire: exit 2 (status $status)" test $status -eq 2
check "... with FILE:LINE:COL and what is wrong" grep -q "bad.json:2:56: questions\[0\].weight: wants a number" "$TMP/bad.log"
check "... before any audio (no store)" test ! -e "$TMP/bad/parley.db"
limit 60 "$PARLEY" run "$TMP/in" -o "$TMP/bad2" --no-progress --stages "$STAGES" \
  --questionnaire "$TMP/q.json" >"$TMP/bad2.log" 2>&1
check "LLM questions without an LLM engine: exit 2" test $? -eq 2
check "... naming the question and its line" grep -q 'q.json:17: question "never" is answered by the LLM' "$TMP/bad2.log"
limit 60 "$PARLEY" run "$TMP/in" -o "$TMP/bad3" --no-progress --stages decode,vad \
  --set "llm.engine=openai+$FAKE_URL/v1" --questionnaire "$TMP/q.json" >"$TMP/bad3.log" 2>&1
check "stages without answers: exit 2" test $? -eq 2
check "... saying so" grep -q "needs the answers stage" "$TMP/bad3.log"

# ---- parley submit --questionnaire
db="$TMP/sub/parley.db"
"$PARLEY" submit "$TMP/in" --store "$db" --pipeline "$STAGES" --set "llm.engine=openai+$FAKE_URL/v1" \
  --questionnaire "$TMP/q.json" >"$TMP/sub.log" 2>&1
check "submit --questionnaire exits 0" test $? -eq 0
check "... storing it as the batch's audit version 1" \
  test "$(sqlite3 "$db" "select version || ',' || length(questionnaire) from audit_versions")" = "1,$(wc -c <"$TMP/q.json")"
"$PARLEY" submit "$TMP/in" --store "$db" --pipeline "$STAGES" --set "llm.engine=openai+$FAKE_URL/v1" \
  --questionnaire "$TMP/q2.json" >"$TMP/sub2.log" 2>&1
check "submit with another questionnaire for that batch: exit 2" test $? -eq 2
"$PARLEY" submit "$TMP/in" --store "$db" --pipeline decode,vad --questionnaire "$TMP/q.json" >"$TMP/sub3.log" 2>&1
check "submit --questionnaire with a pipeline without answers: exit 2" test $? -eq 2

# ---- PostgreSQL: submit --questionnaire, a worker answers, export
if [ -n "${PARLEY_TEST_PG_URL:-}" ]; then
  schema="parley_ans_$$"
  psql -q "$PARLEY_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null 2>&1
  sep='?'; case "$PARLEY_TEST_PG_URL" in *\?*) sep='&';; esac
  pg="$PARLEY_TEST_PG_URL${sep}options=-csearch_path%3D$schema"
  mkdir -p "$TMP/pgdata"
  "$PARLEY" submit "$TMP/in" --store "$pg" --data "$TMP/pgdata" --pipeline "$STAGES" \
    --set channels.mode=separate --set "llm.engine=openai+$FAKE_URL/v1" --questionnaire "$TMP/q.json" \
    >"$TMP/pg.log" 2>&1
  check "PostgreSQL: submit --questionnaire exits 0" test $? -eq 0
  limit 600 "$PARLEY" worker --store "$pg" --data "$TMP/pgdata" -j 1 >>"$TMP/pg.log" 2>&1
  check "PostgreSQL: the worker exits 0" test $? -eq 0
  n=$(psql -tA "$pg" -c "select count(*) || ',' || sum(valid) from answers where version = 1" 2>>"$TMP/pg.log")
  check "PostgreSQL: 11 answers rows for version 1, all valid ($n)" test "$n" = "11,11"
  "$PARLEY" export default --store "$pg" --data "$TMP/pgdata" -o "$TMP/pgout" >>"$TMP/pg.log" 2>&1
  check "PostgreSQL: export exits 0" test $? -eq 0
  python3 "$ROOT/tests/integration/check_answers.py" "$TMP/pgout/i1/transcript.json" "$TMP/pgout/i1/answers.csv" strict |
    sed 's/strict:/PostgreSQL:/'
  check "PostgreSQL: every checked answer is right" test "${PIPESTATUS[0]}" -eq 0
  psql -q "$PARLEY_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
else
  ok "PostgreSQL case # SKIP PARLEY_TEST_PG_URL unset"
fi
