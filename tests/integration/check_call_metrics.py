#!/usr/bin/env python3
"""check_call_metrics.py TRUTH.json TRANSCRIPT.json NAME [--talk-tol 0.03]
[--mono] [--words]: compare the metrics stage's figures in transcript.json
with tests/gen/gen_call.py's truth (metrics_truth there = core/call_metrics.h)
and print one TAP line per check:
  roles        stereo: agent on channel 0, customer on 1; mono: the speaker
               labelled agent holds >= 80% of the agent's true talk
  talk_time    per role within --talk-tol (relative)
  silences     as many as the truth, each within 0.3 s at both edges, same
               parties before/after
  interruptions  as many as the truth, each within 0.3 s, same by/of
  turns        per role within 1 of the truth
  overlap_time within 0.6 s + 25% of the truth
  agent_first_word  within 0.3 s
  --words: every role has words and a wpm within 40% of the truth
  --events: hold_time and ivr_time within 0.5 s, hold_count exact (the ivr
            stage ran)
"""
import argparse, json, sys

EDGE = 0.3


def tap(ok, what):
    print(("ok - " if ok else "not ok - ") + what)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("truth")
    ap.add_argument("transcript")
    ap.add_argument("name")
    ap.add_argument("--talk-tol", type=float, default=0.03)
    ap.add_argument("--mono", action="store_true")
    ap.add_argument("--words", action="store_true")
    ap.add_argument("--events", action="store_true")
    a = ap.parse_args()
    truth = json.load(open(a.truth))
    tr = json.load(open(a.transcript))
    tm, m = truth["metrics"], tr.get("metrics")
    n = a.name
    if not tap(isinstance(m, dict) and "call" in m, "%s: transcript.json has metrics" % n):
        return
    spk = {s["id"]: s for s in tr["speakers"]}
    if not a.mono:
        ch = {s.get("role"): s.get("channel") for s in tr["speakers"]}
        tap(ch.get("agent") == 0 and ch.get("customer") == 1,
            "%s: roles by channel (agent 0, customer 1): %r" % (n, ch))
    else:
        role_of = {s["id"]: s.get("role") for s in tr["speakers"]}
        segs = [(g["start"], g["end"], role_of.get(g["speaker"])) for g in tr["segments"]]
        right = total = 0.0
        for u in truth["turns"]:
            for s, e, r in segs:
                ov = max(0.0, min(e, u["end"]) - max(s, u["start"]))
                total += ov
                right += ov if r == u["role"] else 0.0
        tap(total > 0 and right / total >= 0.8,
            "%s: mono roles (first after the IVR = agent): %.0f%% of the talk has the right role"
            % (n, 100 * right / total if total else 0))
    for role in ("agent", "customer"):
        want, got = tm[role]["talk_time"], m.get(role, {}).get("talk_time", -1)
        tap(abs(got - want) <= a.talk_tol * want,
            "%s: %s talk time %.2f s within %.0f%% of the truth %.2f s (%+.1f%%)"
            % (n, role, got, 100 * a.talk_tol, want, 100 * (got / want - 1) if want else 0))
        tw, gw = tm[role]["turns"], m.get(role, {}).get("turns", -99)
        tap(abs(tw - gw) <= 1, "%s: %s turns %d, truth %d" % (n, role, gw, tw))
    ts, gs = tm["call"]["silences"], m["call"].get("silences", [])
    match = len(ts) == len(gs) and all(
        abs(x["start"] - y["start"]) <= EDGE and abs(x["end"] - y["end"]) <= EDGE
        for x, y in zip(ts, gs))
    tap(match, "%s: %d silences, truth %d, edges within %.1f s"
        % (n, len(gs), len(ts), EDGE))
    ti, gi = tm["call"]["interruptions"], m["call"].get("interruptions", [])
    match = len(ti) == len(gi) and all(
        abs(x["start"] - y["start"]) <= EDGE and x["by"] == y["by"] and x["of"] == y["of"]
        for x, y in zip(ti, gi))
    tap(match, "%s: %d interruptions (%s), truth %d (%s)"
        % (n, len(gi), " ".join("%.2f:%s" % (y["start"], y["by"]) for y in gi), len(ti),
           " ".join("%.2f:%s" % (x["start"], x["by"]) for x in ti)))
    to, go = tm["call"]["overlap_time"], m["call"].get("overlap_time", -1)
    tap(abs(go - to) <= 0.6 + 0.25 * to, "%s: overlap time %.2f s, truth %.2f s" % (n, go, to))
    tf, gf = tm["call"]["agent_first_word"], m["call"].get("agent_first_word")
    tap(gf is not None and abs(gf - tf) <= EDGE,
        "%s: agent's first word at %s s, truth %.2f s" % (n, gf, tf))
    if a.events:
        c, tc = m["call"], tm["call"]
        tap(abs(c.get("hold_time", -9) - tc["hold_time"]) <= 0.5 and c.get("hold_count") == tc["hold_count"],
            "%s: %s hold(s), %.2f s, truth %d, %.2f s" % (n, c.get("hold_count"), c.get("hold_time", -9),
                                                       tc["hold_count"], tc["hold_time"]))
        tap(abs(c.get("ivr_time", -9) - tc["ivr_time"]) <= 0.5,
            "%s: IVR time %.2f s, truth %.2f s" % (n, c.get("ivr_time", -9), tc["ivr_time"]))
    if a.words:
        for role in ("agent", "customer"):
            tw, gw = tm[role]["wpm"], m.get(role, {}).get("wpm", -1)
            tap(m.get(role, {}).get("words", 0) > 0 and abs(gw - tw) <= 0.4 * tw,
                "%s: %s speaks %.0f words a minute, truth %.0f" % (n, role, gw, tw))


if __name__ == "__main__":
    main()
