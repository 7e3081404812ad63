#!/usr/bin/env python3
"""bench/ivr_report.py — the call plan and the scoring of bench/bench_ivr.sh.

  ivr_report.py plan N          one line per call: NAME gen_call.py-ARGS
  ivr_report.py score CALLS GEN_OUT SPEECH_OUT MOH_OUT OUT.json
"""
import glob
import json
import os
import random
import shlex
import sqlite3
import sys

COUNTRIES = ["us", "uk", "eu", "sg", "my", "in"]
KINDS = ["ringback", "busy", "congestion", "sit", "beep", "ivr_prompt", "dtmf", "music", "hold"]


def plan(n):
    for i in range(1, n + 1):
        r = random.Random("bench-ivr:%d" % i)
        a = ["--seed", str(i), "--country", COUNTRIES[(i - 1) % 6],
             "--channels", str(1 + i % 2), "--rate", "8000" if i % 4 in (2, 3) else "16000",
             "--ringback", str(r.randint(1, 3)), "--minutes", "0.3"]
        tones = [t for t in ("busy", "congestion", "sit") if r.random() < 0.3]
        if tones:
            a += ["--tones", ",".join(tones)]
        if r.random() < 0.5:
            a.append("--beep")
        if r.random() < 0.7:
            a.append("--ivr-prompt")
        if r.random() < 0.8:
            seqs = ["".join(r.choice("0123456789*#") for _ in range(r.randint(1, 8)))
                    for _ in range(r.randint(1, 2))]
            a += ["--dtmf", ",".join(seqs)]
        if r.random() < 0.4:
            a += ["--queue", "%.1f" % r.uniform(4, 10)]
        if r.random() < 0.5:
            a += ["--hold", "%.1f" % r.uniform(5, 15)]
        snr = r.choice([None, 20, 10, 5])
        if snr is not None:
            a += ["--snr", str(snr)]
        print("call%03d %s" % (i, " ".join(shlex.quote(x) for x in a)))


def load_events(out_dir, name):
    p = os.path.join(out_dir, name, "transcript.json")
    if not os.path.exists(p):
        return None
    return json.load(open(p)).get("events", [])


def stage_cpu(out_dir):
    db = os.path.join(out_dir, "parley.db")
    if not os.path.exists(db):
        return 0.0, 0.0
    c = sqlite3.connect(db)
    cpu = c.execute("select coalesce(sum(cpu_seconds), 0) from stage_runs where stage = 'ivr'"
                    ).fetchone()[0]
    dur = c.execute("select coalesce(sum(duration), 0) from recordings").fetchone()[0]
    return cpu, dur


def false_events(d, label, res):
    """Every event in d's recordings is false (real speech)."""
    names = [n for n in os.listdir(d) if os.path.isdir(os.path.join(d, n))]
    false = {}
    for n in names:
        for e in load_events(d, n) or []:
            false.setdefault(e["kind"], []).append("%s %.2f-%.2f" % (n, e["start"], e["end"]))
    cpu, dur = stage_cpu(d)
    hours = dur / 3600.0
    nfalse = sum(len(v) for v in false.values())
    res[label] = {"files": len(names), "hours": round(hours, 4), "false_events": false,
                  "false_per_hour": round(nfalse / hours, 2) if hours else None,
                  "ivr_rtf": round(cpu / dur, 5) if dur else None}
    print("%s: %d files, %.3f h: %d events (all false): %s; %.1f per hour; RTF %.4f"
          % (label, len(names), hours, nfalse, {k: len(v) for k, v in false.items()},
             nfalse / hours if hours else 0, cpu / dur if dur else 0))
    for k, v in false.items():
        print("  %s: %s" % (k, "; ".join(v)))


def score(calls, gen, speech, moh, out, prompts=None):
    stats = {k: {"truth": 0, "found": 0, "tp": 0, "ds": [], "de": []} for k in KINDS}
    digits_ok = digits_n = country_ok = country_n = 0
    missing = 0
    ncalls = 0
    for tp in sorted(glob.glob(os.path.join(calls, "*.truth.json"))):
        name = os.path.basename(tp)[:-len(".truth.json")]
        truth = json.load(open(tp))
        ev = load_events(gen, name)
        if ev is None:
            missing += 1
            continue
        ncalls += 1
        used = [False] * len(ev)
        for e in ev:
            if e["kind"] in stats:
                stats[e["kind"]]["found"] += 1
        for t in truth["events"]:
            s = stats[t["kind"]]
            s["truth"] += 1
            best = None
            for i, e in enumerate(ev):
                if used[i] or e["kind"] != t["kind"]:
                    continue
                if abs(e["start"] - t["start"]) <= 1.0 and abs(e["end"] - t["end"]) <= 1.0:
                    best = i
                    break
            if best is None:
                continue
            used[best] = True
            e = ev[best]
            s["tp"] += 1
            s["ds"].append(abs(e["start"] - t["start"]))
            s["de"].append(abs(e["end"] - t["end"]))
            if t["kind"] == "dtmf":
                digits_n += 1
                digits_ok += e.get("digits") == t["digits"]
            if t["kind"] == "ringback":
                country_n += 1
                country_ok += e.get("country") == t["country"]
    res = {"calls": ncalls, "calls_failed": missing, "kinds": {}}
    print("\n%d generated calls (%d failed)" % (ncalls, missing))
    print("| kind | truth | found | precision | recall | mean edge error (s) | edges within 0.2 s |")
    print("|---|---|---|---|---|---|---|")
    tot = {"truth": 0, "found": 0, "tp": 0}
    for k in KINDS:
        s = stats[k]
        if s["truth"] == 0 and s["found"] == 0:
            continue
        prec = s["tp"] / s["found"] if s["found"] else 1.0
        rec = s["tp"] / s["truth"] if s["truth"] else 1.0
        errs = s["ds"] + s["de"]
        mean = sum(errs) / len(errs) if errs else 0.0
        within = sum(1 for x in errs if x <= 0.2) / len(errs) if errs else 0.0
        res["kinds"][k] = {"truth": s["truth"], "found": s["found"], "tp": s["tp"],
                           "precision": round(prec, 4), "recall": round(rec, 4),
                           "edge_error": round(mean, 4), "edges_within_0.2": round(within, 4)}
        for x in tot:
            tot[x] += s[x]
        print("| %s | %d | %d | %.3f | %.3f | %.3f | %.1f%% |"
              % (k, s["truth"], s["found"], prec, rec, mean, 100 * within))
    print("| all | %d | %d | %.3f | %.3f | | |" % (
        tot["truth"], tot["found"], tot["tp"] / max(1, tot["found"]), tot["tp"] / max(1, tot["truth"])))
    res["dtmf_digits_exact"] = [digits_ok, digits_n]
    res["ringback_country_right"] = [country_ok, country_n]
    print("DTMF sequences with the digits exact: %d/%d; ringback country right: %d/%d"
          % (digits_ok, digits_n, country_ok, country_n))
    cpu, dur = stage_cpu(gen)
    res["ivr_rtf"] = round(cpu / dur, 5) if dur else None
    print("ivr stage on the generated calls: %.1f CPU s for %.0f s of audio: RTF %.4f"
          % (cpu, dur, cpu / dur if dur else 0))
    # real speech: every event is false
    if os.path.isdir(speech):
        false_events(speech, "real speech (shared/data)", res)
    if prompts and os.path.isdir(prompts):
        false_events(prompts, "real recorded prompts (asterisk Allison)", res)
    if os.path.isdir(moh):
        names = [d for d in os.listdir(moh) if os.path.isdir(os.path.join(moh, d))]
        _, dur = stage_cpu(moh)
        found = other = 0.0
        for n in names:
            for e in load_events(moh, n) or []:
                if e["kind"] in ("music", "hold"):
                    found += e["end"] - e["start"]
                else:
                    other += 1
        res["real_music"] = {"files": len(names), "seconds": round(dur, 1),
                             "music_seconds": round(found, 1), "other_events": other}
        print("real music on hold: %d files, %.0f s: music found over %.0f s (%.0f%%), %d other events"
              % (len(names), dur, found, 100 * found / dur if dur else 0, other))
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print("written %s" % out)


if __name__ == "__main__":
    if sys.argv[1] == "plan":
        plan(int(sys.argv[2]))
    else:
        score(*sys.argv[2:8])
