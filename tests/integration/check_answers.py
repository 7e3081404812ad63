#!/usr/bin/env python3
"""check_answers.py TRANSCRIPT_JSON ANSWERS_CSV MODE — the answers of
test_answers.sh's questionnaire over its generated call (seed 21), one TAP
line per check; MODE "strict" (a server keeping to the schema: quotes and
texts checked too) or "plain" (one answering in plain words). Exits 1 when
a check fails."""
import csv, json, sys
t = json.load(open(sys.argv[1]))
mode = sys.argv[3]
fails = 0
def check(what, cond):
    global fails
    print(("ok - " if cond else "not ok - ") + mode + ": " + what)
    fails += 0 if cond else 1
ans = {a["question"]: a for a in t.get("answers", [])}
check("transcript.json has 11 answers in questionnaire order",
      [a["question"] for a in t.get("answers", [])] == ["piano", "piano_customer", "ivr_words", "rude",
      "silence", "share", "never", "llm_piano", "llm_topic", "llm_lines", "llm_summary"])
if len(ans) != 11:
    sys.exit(1)
p = ans["piano"]
check("piano: yes by phrase, 2 of weight 2 (%s)" % p["answer"],
      p["answer"] == "yes" and p["source"] == "phrase" and p["score"] == 1 and p["weight"] == 2)
ev = p["evidence"][0] if p["evidence"] else {}
check("piano: evidence quotes the agent's words with their times (%s)" % ev,
      ev.get("role") == "agent" and ev.get("start") is not None and
      ("piano" in ev.get("text", "").lower() or ev.get("phrase") == "learning to play"))
words = [w for w in t["words"] if ev and w["start"] >= ev["start"] - 0.01 and w["end"] <= ev["end"] + 0.01]
check("piano: the evidence's times hold its words in transcript.json",
      bool(words) and " ".join(w["word"] for w in words) == ev.get("text"))
check("piano_customer: no (the customer never said it)", ans["piano_customer"]["answer"] == "no"
      and ans["piano_customer"]["evidence"] == [])
check("ivr_words: no (the IVR prompt is not the conversation)", ans["ivr_words"]["answer"] == "no")
r = ans["rude"]
check("rude: no, scoring 1, not auto-failing", r["answer"] == "no" and r["score"] == 1 and not r["auto_fail"])
m = t["metrics"]
s = ans["silence"]
check("silence: the metric silence_max is the evidence (%s)" % s["evidence"],
      s["source"] == "metric" and abs(s["evidence"][0]["value"] - m["call"]["silence_max"]) < 0.01
      and s["answer"] == ("yes" if m["call"]["silence_max"] > 1 else "no"))
sh = ans["share"]
check("share: the agent's talk_share (%s vs %s), scored by its range" % (sh["answer"], m["agent"]["talk_share"]),
      abs(sh["answer"] - m["agent"]["talk_share"]) < 0.01 and sh["max_score"] == 1
      and sh["score"] == (1 if sh["answer"] <= 0.8 else 0) and sh["auto_fail"] == (sh["answer"] > 0.8))
n = ans["never"]
check("never: skipped (its condition is false), N/A, 0 of 0",
      n["source"] == "skipped" and n["na"] and n["max_score"] == 0 and n["answer"] is None)
lp = ans["llm_piano"]
check("llm_piano: yes from the LLM (%s, %s)" % (lp["answer"], lp["error"]),
      lp["source"] == "llm" and lp["answer"] == "yes" and lp["valid"])
if mode == "strict":
    q = lp["evidence"][0] if lp["evidence"] else {}
    check("llm_piano: the LLM's quote located in the call with times and role (%s)" % q,
          q.get("role") == "agent" and q.get("start") is not None and "piano" in q.get("text", ""))
lt = ans["llm_topic"]
heard = set(w["word"].lower() for w in t["words"])
first = next(c for c in ("refund", "piano", "coffee") if c in heard or c == "coffee")
score = {"refund": 0, "piano": 2, "coffee": 1}[first]
check("llm_topic: %s (the fake's rule: the first choice heard), scoring %d (%s)" % (first, score, lt["answer"]),
      lt["answer"] == first and lt["score"] == score and lt["max_score"] == 2)
ll = ans["llm_lines"]
check("llm_lines: asked (its condition holds), a number (%s)" % ll["answer"],
      ll["source"] == "llm" and isinstance(ll["answer"], (int, float)) and ll["answer"] >= 2)
su = ans["llm_summary"]
if mode == "strict":
    check("llm_summary: a text naming the lines (%s)" % su["answer"],
          isinstance(su["answer"], str) and su["answer"].startswith("%d lines, first: " % ll["answer"]))
else:
    check("llm_summary: a text (%s)" % su["answer"], isinstance(su["answer"], str) and su["answer"])
rows = list(csv.DictReader(open(sys.argv[2])))
check("answers.csv: a row per question, the same answers",
      [r["question"] for r in rows] == list(ans) and
      all(json.loads(r["answer"]) == ans[r["question"]]["answer"] for r in rows))
sys.exit(1 if fails else 0)
