#!/usr/bin/env bash
# Audit rules (issue 14 "llm2"): a generated stereo call (seed 31: the
# agent says "i cannot find the remote control" first, the customer "my
# laptop…", "my sister…", "i left my jacket…"), long silences and metadata through `parley run --rules`
# with the verdicts stage: phrase tests on the recognised words, metrics,
# metadata; the verdict in transcript.json and verdicts.csv, one verdicts
# row; a bad rules file refused with FILE:LINE:COL before any audio; other
# rules for the same output refused; `parley submit --rules` stores the
# batch's audit version and checks the rules before adding anything;
# judge() rules asked once per criterion of the LLM test server
# (tests/servers/fake_engines.py), N/A when its answer does not validate.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/lib/fake_engines.sh"
trap 'fake_stop; cleanup' EXIT

CALLS=${PARLEY_CALLS_CACHE:-$ROOT/build/calls-it}
mkdir -p "$CALLS" "$TMP/in"
GENV=$(sha256sum "$ROOT/tests/gen/gen_call.py" "$ROOT/tests/gen/gen_conversation.py" | sha256sum | cut -c1-12)
args="--seed 31 --channels 2 --ringback 0 --minutes 0.75 --long-silences 0.4 --crosstalk -25"
key=$(echo "$GENV $args" | sha256sum | cut -c1-12)
if [ ! -s "$CALLS/r1-$key.truth.json" ]; then
  # shellcheck disable=SC2086
  python3 "$ROOT/tests/gen/gen_call.py" --out "$CALLS" --name "r1-$key" --cache-dir "$PARLEY_GEN_CACHE" --quiet $args ||
    { notok "generate the call"; exit 1; }
fi
cp "$CALLS/r1-$key.wav" "$TMP/in/r1.wav"
printf 'file,trade_id,desk\nr1.wav,T9,fx\n' >"$TMP/meta.csv"

cat >"$TMP/audit.rules" <<'EOF'
# phrases of the generated conversation (recognised words: any of a few)
flag below 10%
rule scripted pass weight 2 when said(agent, any("remote control", "alamak", "mother"), first 20s)
    because "the agent used the script";
rule customer_words flag when said(agent, any("laptop", "jacket", "sister"));
rule late pass when said(agent, "remote*", last 10s);
rule swearing fail when said(anyone, "supercalifragilistic") because "someone swore";
rule long_silence flag when metric.call.silence_max > 1s because "a silence longer than a second";
rule both_talk pass when metric.agent.talk_share > 10% and metric.customer.talk_share > 10%;
rule desk pass when meta.desk = "fx" and meta.trade_id in ["T9", "T10"];
rule never pass weight 3 when said(customer, "supercalifragilistic") because "the customer said the word";
EOF
STAGES=decode,ivr,vad,diarize,stt,words,metrics,verdicts
out="$TMP/out"
limit 900 "$PARLEY" run "$TMP/in" -o "$out" -j 1 --no-progress --stages "$STAGES" \
  --set channels.mode=separate --metadata "$TMP/meta.csv" --rules "$TMP/audit.rules" >"$TMP/run.log" 2>&1
status=$?
check "parley run --rules with the verdicts stage exits 0 (status $status)" test $status -eq 0
[ $status -eq 0 ] || cat "$TMP/run.log"
python3 - "$out/r1/transcript.json" "$out/verdicts.csv" <<'EOF'
import csv, json, sys
t = json.load(open(sys.argv[1]))
v = t.get("verdict")
def check(what, cond):
    print(("ok - " if cond else "not ok - ") + what)
check("transcript.json has the verdict", isinstance(v, dict))
v = v or {}
why = {r["rule"]: r["verdict"] for r in v.get("reasons", [])}
check("verdict flag (a long silence) [%s]" % v.get("verdict"), v.get("verdict") == "flag")
check("reasons: scripted pass, late missed, long_silence flag, both_talk pass, desk pass, "
      "never missed; no swearing, no customer words on the agent's channel [%s]" % why,
      why == {"scripted": "pass", "late": "missed", "long_silence": "flag", "both_talk": "pass",
              "desk": "pass", "never": "missed"})
check("score 4 of 8, not auto-fail [%s of %s]" % (v.get("score"), v.get("max_score")),
      v.get("score") == 4 and v.get("max_score") == 8 and v.get("auto_fail") is False)
ev = [r for r in v.get("reasons", []) if r["rule"] == "scripted"]
e = ev[0]["evidence"][0] if ev and ev[0]["evidence"] else {}
check("the phrase test's evidence quotes the agent's words with times [%s]" % e,
      e.get("count", 0) >= 1 and e.get("text") and e.get("end", 0) > e.get("start", -1) >= 0)
ls = [r for r in v.get("reasons", []) if r["rule"] == "long_silence"]
val = ls[0]["evidence"][0]["value"] if ls else 0
check("the metric's value is in the evidence [%s]" % val, val > 1)
check("the reason's sentence is the rule's because", ls and ls[0]["why"] == "a silence longer than a second")
rows = list(csv.DictReader(open(sys.argv[2])))
check("verdicts.csv: one row, flag, 4 of 8 [%s]" % rows,
      len(rows) == 1 and rows[0]["recording"] == "r1" and rows[0]["verdict"] == "flag"
      and float(rows[0]["score"]) == 4 and "long_silence:flag" in rows[0]["rules"])
EOF
check "one verdicts row, for audit version 1" \
  test "$(sqlite3 "$out/parley.db" "select count(*) from verdicts where version = 1 and verdict = 'flag'")" = 1
check "the batch's audit version 1 holds the rules" \
  test "$(sqlite3 "$out/parley.db" "select count(*) from audit_versions where version = 1 and rules like '%rule scripted%'")" = 1

# the same command again: nothing to do, same verdict; other rules: refused
limit 300 "$PARLEY" run "$TMP/in" -o "$out" -j 1 --no-progress --stages "$STAGES" \
  --set channels.mode=separate --metadata "$TMP/meta.csv" --rules "$TMP/audit.rules" >"$TMP/run2.log" 2>&1
check "the same run again exits 0" test $? -eq 0
echo 'rule other pass when true' >"$TMP/other.rules"
limit 300 "$PARLEY" run "$TMP/in" -o "$out" -j 1 --no-progress --stages "$STAGES" \
  --set channels.mode=separate --rules "$TMP/other.rules" >"$TMP/run3.log" 2>&1
status=$?
check "other rules for the same output are refused (status $status)" test $status -eq 2
check "... saying a batch's rules change by reaudit only" grep -q "change by reaudit only" "$TMP/run3.log"

# a bad rules file: FILE:LINE:COL, before any audio (no store, no output)
printf 'rule a pass when metric.call.silence_max > 1s\nrule b flag when said(agent, "x", first 10h)\n' >"$TMP/bad.rules"
limit 60 "$PARLEY" run "$TMP/in" -o "$TMP/bad" --no-progress --stages "$STAGES" --rules "$TMP/bad.rules" >"$TMP/bad.log" 2>&1
status=$?
check "bad rules: exit 2 (status $status)" test $status -eq 2
check "bad rules: the message names FILE:LINE:COL" \
  grep -qF "parley run: $TMP/bad.rules:2:41: unknown unit 'h' after a number (s, min or %)" "$TMP/bad.log"
check "bad rules: nothing was processed" test ! -e "$TMP/bad/parley.db"
limit 60 "$PARLEY" run "$TMP/in" -o "$TMP/bad2" --no-progress --stages decode,vad --rules "$TMP/audit.rules" >"$TMP/bad2.log" 2>&1
status=$?
check "--rules without the verdicts stage: exit 2 (status $status)" test $status -eq 2
check "... saying so" grep -q "needs the verdicts stage" "$TMP/bad2.log"

# submit: checked before anything is stored, then stored as the audit version
db="$TMP/q.db"
limit 60 "$PARLEY" submit "$TMP/in" --store "$db" --pipeline "$STAGES" --rules "$TMP/bad.rules" >"$TMP/sub1.log" 2>&1
status=$?
check "submit with bad rules: exit 2 (status $status)" test $status -eq 2
check "submit with bad rules: FILE:LINE:COL" grep -qF "bad.rules:2:41:" "$TMP/sub1.log"
check "submit with bad rules: no recording added" \
  bash -c "[ ! -e '$db' ] || [ \"\$(sqlite3 '$db' 'select count(*) from recordings')\" = 0 ]"
limit 60 "$PARLEY" submit "$TMP/in" --store "$db" --pipeline "$STAGES" --rules "$TMP/audit.rules" >"$TMP/sub2.log" 2>&1
check "submit --rules exits 0" test $? -eq 0
check "submit stored audit version 1 with the rules" \
  test "$(sqlite3 "$db" "select count(*) from audit_versions where version = 1 and rules like '%rule never%'")" = 1
check "submit: the batch's current audit version is 1" \
  test "$(sqlite3 "$db" "select audit_version from batches where name = 'default'")" = 1
limit 60 "$PARLEY" submit "$TMP/in" --store "$db" --pipeline decode,vad --rules "$TMP/audit.rules" >"$TMP/sub3.log" 2>&1
check "submit --rules without the verdicts stage: exit 2" test $? -eq 2

# judge(): one LLM request per criterion (used twice), a schema-valid "yes";
# a server that ignores the schema: the judgement is N/A (left out)
mkdir -p "$TMP/empty"
fake_start "$TMP/srv" --truth "$TMP/empty" || { notok "start the fake engine server"; exit 1; }
cat >"$TMP/judge.rules" <<'EOF'
rule polite pass weight 2 when judge("the agent was polite") because "the agent was polite";
rule rude flag when not judge("the agent was polite");
EOF
for mode in ok ignore; do
  url="openai+$FAKE_URL/v1"
  [ $mode = ignore ] && url="openai+$FAKE_URL/mode/ignore_schema/v1"
  limit 600 "$PARLEY" run "$TMP/in" -o "$TMP/judge-$mode" -j 1 --no-progress --stages "$STAGES" \
    --set channels.mode=separate --set "llm.engine=$url" --rules "$TMP/judge.rules" >"$TMP/judge-$mode.log" 2>&1
  status=$?
  check "judge rules ($mode): exit 0 (status $status)" test $status -eq 0
  [ $status -eq 0 ] || cat "$TMP/judge-$mode.log"
done
python3 - "$TMP/judge-ok/r1/transcript.json" "$TMP/judge-ignore/r1/transcript.json" <<'EOF'
import json, sys
def check(what, cond):
    print(("ok - " if cond else "not ok - ") + what)
v = json.load(open(sys.argv[1])).get("verdict", {})
r = v.get("reasons", [])
check("judge yes: polite passes, 2 of 2, rude does not fire [%s]" % r,
      v.get("verdict") == "pass" and v.get("score") == 2 and v.get("max_score") == 2
      and [x["rule"] for x in r] == ["polite"])
ev = r[0]["evidence"][0] if r and r[0]["evidence"] else {}
check("the judgement is in the evidence [%s]" % ev,
      ev.get("judge") == "the agent was polite" and ev.get("verdict") == "yes" and "why" in ev)
v = json.load(open(sys.argv[2])).get("verdict", {})
check("an answer that ignores the schema: the judgement is N/A, 0 of 0 [%s]" % v,
      v.get("verdict") == "pass" and v.get("max_score") == 0 and v.get("reasons") == [])
EOF
chats=$(fake_stats | python3 -c 'import json,sys; print(json.load(sys.stdin).get("chat", -1))')
check "one criterion asked once per call (+1 retry on the ignored schema): 3 chats [$chats]" test "$chats" = 3

# questionnaire and rules together (--preset audit): the answers feed the
# rules, the form's score and the rules' make one verdict; a rule naming a
# question the questionnaire lacks is refused with its line:col
cat >"$TMP/form.json" <<'EOF'
{"version": 1, "name": "rules test",
 "questions": [
  {"id": "greeting", "type": "yes_no", "text": "Did the agent open with the remote control?",
   "role": "agent", "window": {"first": 30}, "phrases": {"any": ["remote control", "alamak"]}, "weight": 2},
  {"id": "jacket_agent", "type": "yes_no", "text": "Did the agent mention a jacket?",
   "role": "agent", "phrases": {"any": ["jacket", "laptop"]}},
  {"id": "silence", "type": "yes_no", "text": "Was any silence longer than a second?",
   "metric": {"metric": "silence_max", "scope": "call", "op": ">", "value": 1},
   "choices": [{"id": "yes", "score": 0}, {"id": "no", "score": 1}]},
  {"id": "rude", "type": "yes_no", "text": "Did anyone swear?", "phrases": {"any": ["supercalifragilistic"]},
   "choices": [{"id": "yes", "score": 0}, {"id": "no", "score": 1}], "auto_fail": ["yes"]}
 ]}
EOF
cat >"$TMP/form.rules" <<'EOF'
rule greeted pass weight 2 when answer.greeting = "yes" and answer.greeting.score = 1;
rule jacket flag when answer.jacket_agent;
rule silence_q flag when answer.silence = "yes" because "the questionnaire found a long silence";
rule not_rude fail when answer.rude != "no";
EOF
limit 600 "$PARLEY" run "$TMP/in" -o "$TMP/form" -j 1 --no-progress --preset audit \
  --questionnaire "$TMP/form.json" --rules "$TMP/form.rules" >"$TMP/form.log" 2>&1
status=$?
check "--preset audit with a questionnaire and rules: exit 0 (status $status)" test $status -eq 0
[ $status -eq 0 ] || cat "$TMP/form.log"
python3 - "$TMP/form/r1/transcript.json" <<'EOF'
import json, sys
def check(what, cond):
    print(("ok - " if cond else "not ok - ") + what)
v = json.load(open(sys.argv[1])).get("verdict", {})
why = {r["rule"]: r["verdict"] for r in v.get("reasons", [])}
check("form and rules: flag, greeted pass, silence_q flag [%s]" % why,
      v.get("verdict") == "flag" and why == {"greeted": "pass", "silence_q": "flag"})
# form: greeting 2 of 2, jacket_agent 0 of 1, silence 0 of 1, rude 1 of 1; rules: greeted 2 of 2
check("score 5 of 7 (form 3 of 5 + rules 2 of 2) [%s of %s]" % (v.get("score"), v.get("max_score")),
      v.get("score") == 5 and v.get("max_score") == 7)
EOF
printf 'rule a pass when answer.greeting\n  and answer.greting = "yes"\n' >"$TMP/typo.rules"
limit 60 "$PARLEY" run "$TMP/in" -o "$TMP/typo" --no-progress --preset audit \
  --questionnaire "$TMP/form.json" --rules "$TMP/typo.rules" >"$TMP/typo.log" 2>&1
status=$?
check "a rule naming an unknown question: exit 2 (status $status)" test $status -eq 2
check "... with its line:col" \
  grep -qF "$TMP/typo.rules:2:14: unknown question 'greting' (not in the questionnaire)" "$TMP/typo.log"

# the verdicts stage in a batch without an audit: done, nothing written
limit 300 "$PARLEY" run "$TMP/in" -o "$TMP/noaudit" -j 1 --no-progress --stages decode,vad,diarize,metrics,verdicts \
  --set channels.mode=separate >"$TMP/noaudit.log" 2>&1
status=$?
check "verdicts without an audit: exit 0 (status $status)" test $status -eq 0
check "... the stage is done" \
  test "$(sqlite3 "$TMP/noaudit/parley.db" "select count(*) from stage_runs where stage = 'verdicts' and status = 'done'")" = 1
check "... no verdicts row, no verdict in transcript.json, no verdicts.csv" \
  bash -c "[ \"\$(sqlite3 '$TMP/noaudit/parley.db' 'select count(*) from verdicts')\" = 0 ] &&
           ! grep -q '\"verdict\"' '$TMP/noaudit/r1/transcript.json' && [ ! -e '$TMP/noaudit/verdicts.csv' ]"
