#!/usr/bin/env python3
"""real_report.py — the tables of `make bench-real` (bench/bench_real.sh).

Reads `parley eval --json` over the real recordings, the set of each
recording (bench/real_sets.sh output: name<TAB>set), stage timings
("stage cpu_seconds duration" lines) and the call-centre run; prints per
file and pooled figures and writes them as JSON.

Pooled DER is the md-eval convention: the sum of missed speech, false alarm
and confusion over the sum of scored reference speech, not a mean of the
per-file rates (AMI trn01/trn02 hold 0.7-6 s of reference speech, so their
per-file rates are huge and say little).
"""
import argparse
import array
import json
import os
import sys
import wave


def pooled(recs, kind):
    keys = ("missed", "false_alarm", "confusion", "scored")
    tot = {k: sum(r["der"][kind][k] for r in recs if r.get("der")) for k in keys}
    s = tot["scored"]
    tot["der"] = (tot["missed"] + tot["false_alarm"] + tot["confusion"]) / s if s else None
    return tot


def pct(x):
    return "-" if x is None else "%.1f%%" % (100 * x)


def summary(recs):
    c, n = pooled(recs, "collar"), pooled(recs, "none")
    within = sum(1 for r in recs if abs(r["hyp_speakers"] - r["ref_speakers"]) <= 1)
    right = sum(1 for r in recs if r["hyp_speakers"] == r["ref_speakers"])
    return {
        "files": len(recs),
        "der_collar": c["der"], "der_none": n["der"],
        "collar": c, "none": n,
        "count_right": right, "count_within_1": within,
        "count_within_1_share": within / len(recs) if recs else None,
        "ref_speakers": sum(r["ref_speakers"] for r in recs),
        "hyp_speakers": sum(r["hyp_speakers"] for r in recs),
    }


def row(name, c, n, spk):
    s = c["scored"]
    part = lambda k: pct(c[k] / s) if s else "-"
    return "%-28s %7s %8s %8s %7s %7s %7s %7s" % (
        name, spk, pct(c["der"]), pct(n["der"]), part("missed"), part("false_alarm"),
        part("confusion"), "%.1f" % s)


def channel_check(wav_path, transcript):
    """For a stereo call: the share of each found speaker's time in which the
    louder channel is that speaker's usual channel (1.0 = a speaker keeps to
    one side, as two telephone legs should)."""
    try:
        w = wave.open(wav_path)
    except (wave.Error, OSError) as e:
        return {"channels": None, "note": "not read by the wave module: %s" % e}
    ch, rate, width = w.getnchannels(), w.getframerate(), w.getsampwidth()
    if ch != 2 or width != 2:
        return {"channels": ch, "note": "mono: no per-channel check" if ch == 1 else "not 16-bit stereo"}
    a = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        a.byteswap()
    per = {}
    for seg in transcript["segments"]:
        lo, hi = int(seg["start"] * rate), int(seg["end"] * rate)
        step = rate // 10
        for t in range(lo, hi - step + 1, step):
            el = sum(a[2 * i] ** 2 for i in range(t, t + step, 4))
            er = sum(a[2 * i + 1] ** 2 for i in range(t, t + step, 4))
            d = per.setdefault(seg["speaker"], [0, 0])
            d[0 if el >= er else 1] += 1
    out = {s: max(v) / (v[0] + v[1]) for s, v in per.items() if v[0] + v[1]}
    return {"channels": 2, "speaker_channel_consistency": out}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", required=True)
    ap.add_argument("--sets", required=True)
    ap.add_argument("--stages", required=True)
    ap.add_argument("--call")
    ap.add_argument("--call-out")
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    ev = json.load(open(a.eval))
    sets = dict(l.rstrip("\n").split("\t") for l in open(a.sets) if "\t" in l)
    recs = [r for r in ev["recordings"] if r.get("der")]
    recs.sort(key=lambda r: (sets.get(r["name"], ""), r["name"]))
    print("Real recordings, diarization only (decode,vad,diarize); DER = errors / scored reference speech")
    print("%-28s %7s %8s %8s %7s %7s %7s %7s" % ("recording", "ref/hyp", "DER c.25", "DER none",
                                                 "miss", "FA", "conf", "ref s"))
    for r in recs:
        print(row(r["name"], r["der"]["collar"], r["der"]["none"],
                  "%d/%d" % (r["ref_speakers"], r["hyp_speakers"])))
    groups = {}
    for r in recs:
        groups.setdefault(sets.get(r["name"], "other"), []).append(r)
    out = {"recordings": recs, "sets": {}, "all": summary(recs)}
    print()
    print("pooled (md-eval convention)   count right / within 1")
    for g, rs in sorted(groups.items()) + [("ALL", recs)]:
        s = summary(rs) if g != "ALL" else out["all"]
        if g != "ALL":
            out["sets"][g] = s
        print(row("%s (%d)" % (g, len(rs)), s["collar"], s["none"],
                  "%d/%d" % (s["count_right"], s["count_within_1"])))
    # Cost.
    cpu = {}
    dur = {}
    for l in open(a.stages):
        f = l.split()
        if len(f) == 3:
            cpu[f[0]] = cpu.get(f[0], 0.0) + float(f[1])
            if f[0] == "diarize":
                dur["audio"] = dur.get("audio", 0.0) + float(f[2])
    audio = dur.get("audio", 0.0)
    rtf = {k: (v / audio if audio else None) for k, v in cpu.items()}
    out["rtf"] = rtf
    out["audio_seconds"] = audio
    print()
    print("RTF (CPU s / audio s over %.0f s of audio): vad %.4f, diarize %.4f" %
          (audio, rtf.get("vad") or 0, rtf.get("diarize") or 0))
    if a.call and a.call_out and os.path.exists(os.path.join(a.call_out, "transcript.json")):
        t = json.load(open(os.path.join(a.call_out, "transcript.json")))
        talk = {s["id"]: s["talk_time"] for s in t["speakers"]}
        cc = channel_check(a.call, t)
        out["callcentre"] = {"speakers": len(t["speakers"]), "talk_time": talk,
                             "duration": t["duration"], **cc}
        print()
        print("call-centre call (%.0f s, no reference): %d speakers found (%s); %s" % (
            t["duration"], len(t["speakers"]),
            ", ".join("%s %.0f s" % kv for kv in talk.items()),
            cc.get("note") or "per-speaker channel consistency " + ", ".join(
                "%s %.2f" % kv for kv in cc["speaker_channel_consistency"].items())))
    with open(a.json, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    print("figures in %s" % a.json)


if __name__ == "__main__":
    main()
