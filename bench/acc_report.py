#!/usr/bin/env python3
"""Summarise bench/bench_accuracy.sh results: tables on stdout, one JSON file.

usage: acc_report.py RESULTS_DIR OUT_JSON [--n N] [--stt-n N] [--seconds S]

RESULTS_DIR holds, per condition COND (e.g. 2spk-clean):
  COND.eval.json       `parley eval --json` of the diarization-only run
  COND.stages          "stage cpu_seconds duration" rows from the store
  stt-COND.eval.json   (optional) eval of the full runs on a subset
and optionally real.eval.json, real.stages, real.placeholders (names whose
reference RTTM only carries the speaker count: their DER is not reported).
Python 3 standard library only.
"""
import argparse, glob, json, os, re, statistics, sys

PARTICLES = ["lah", "lor", "leh", "meh", "sia", "hor"]
NOISE_ORDER = {"clean": 0, "snr10": 1, "tel": 2}
NOISE_LABEL = {"clean": "clean", "snr10": "pink noise 10 dB", "tel": "telephone 8 kHz"}


def load(path):
    with open(path) as f:
        return json.load(f)


def stage_rows(path):
    rows = []
    if os.path.exists(path):
        for line in open(path):
            p = line.split()
            if len(p) == 3:
                rows.append((p[0], float(p[1] or 0), float(p[2] or 0)))
    return rows


def prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return p, r, f


def pct(x):
    return "-" if x is None else "%.1f%%" % (100 * x)


def f3(x):
    return "-" if x is None else "%.3f" % x


def cond_key(c):
    m = re.match(r"(\d+)spk-(\w+)$", c)
    return (int(m.group(1)), NOISE_ORDER.get(m.group(2), 9)) if m else (99, 9)


def diarization(res):
    """Per condition: DER mean/median/pooled, count accuracy, minutes, RTF."""
    out = {}
    for path in sorted(glob.glob(os.path.join(res, "*.eval.json"))):
        cond = os.path.basename(path)[: -len(".eval.json")]
        if cond.startswith("stt-") or cond == "real":
            continue
        e = load(path)
        recs = e["recordings"]
        dc = [r["der"]["collar"]["der"] for r in recs]
        dn = [r["der"]["none"]["der"] for r in recs]
        diff = [r["hyp_speakers"] - r["ref_speakers"] for r in recs]
        rows = stage_rows(os.path.join(res, cond + ".stages"))
        dur = sum(d for s, c, d in rows if s == "diarize")
        cpu = sum(c for s, c, d in rows if s == "diarize")
        spk, noise = re.match(r"(\d+)spk-(\w+)$", cond).groups()
        out[cond] = {
            "speakers": int(spk), "condition": noise, "n": len(recs),
            "minutes": dur / 60,
            "der_collar_mean": statistics.mean(dc) if dc else None,
            "der_collar_median": statistics.median(dc) if dc else None,
            "der_collar_pooled": e["total"]["der"]["collar"]["der"],
            "der_none_mean": statistics.mean(dn) if dn else None,
            "der_none_median": statistics.median(dn) if dn else None,
            "der_none_pooled": e["total"]["der"]["none"]["der"],
            "missed_pooled": e["total"]["der"]["none"]["missed"] / max(e["total"]["der"]["none"]["scored"], 1e-9),
            "false_alarm_pooled": e["total"]["der"]["none"]["false_alarm"] / max(e["total"]["der"]["none"]["scored"], 1e-9),
            "confusion_pooled": e["total"]["der"]["none"]["confusion"] / max(e["total"]["der"]["none"]["scored"], 1e-9),
            "count_accuracy": sum(1 for d in diff if d == 0) / len(diff) if diff else None,
            "count_under": sum(1 for d in diff if d < 0), "count_over": sum(1 for d in diff if d > 0),
            "diarize_cpu_seconds": cpu,
            "diarize_rtf": cpu / dur if dur else None,
        }
    return out


def keyword_tables(words, agn):
    """Per-word P/R/F1 (per speaker and any speaker) and the three groups."""
    kw = {}
    for w in sorted(set(words) | set(agn)):
        z = {"ref": 0, "hyp": 0, "tp": 0, "fp": 0, "fn": 0}
        ps, pa = words.get(w, z), agn.get(w, z)
        p, r, f = prf(ps["tp"], ps["fp"], ps["fn"])
        pa_, ra_, fa_ = prf(pa["tp"], pa["fp"], pa["fn"])
        kw[w] = dict(ps, precision=p, recall=r, f1=f, particle=w in PARTICLES,
                     any_speaker={"tp": pa["tp"], "fp": pa["fp"], "fn": pa["fn"],
                                  "precision": pa_, "recall": ra_, "f1": fa_})
    groups = {}
    for name, sel in (("all", lambda w: True), ("multi-syllable", lambda w: w not in PARTICLES),
                      ("particles", lambda w: w in PARTICLES)):
        g = {k: sum(kw[w][k] for w in kw if sel(w)) for k in ("ref", "hyp", "tp", "fp", "fn")}
        ga = {k: sum(kw[w]["any_speaker"][k] for w in kw if sel(w)) for k in ("tp", "fp", "fn")}
        p, r, f = prf(g["tp"], g["fp"], g["fn"])
        groups[name] = dict(g, precision=p, recall=r, f1=f, f1_any_speaker=prf(ga["tp"], ga["fp"], ga["fn"])[2])
    return kw, groups


def stt(res):
    """WER per condition and keyword P/R/F1 per word: over every full run, and
    per noise condition (clean, 10 dB), since noise changes them most."""
    per_cond = {}
    pooled = {}  # noise condition ("all", "clean", "snr10") -> (words, agn)
    for path in sorted(glob.glob(os.path.join(res, "stt-*.eval.json"))):
        cond = os.path.basename(path)[len("stt-"): -len(".eval.json")]
        e = load(path)
        t = e["total"]
        rows = stage_rows(os.path.join(res, "stt-" + cond + ".stages"))
        dur = sum(d for s, c, d in rows if s == "stt")
        cpu = sum(c for s, c, d in rows if s == "stt")
        per_cond[cond] = {
            "n": len(e["recordings"]), "minutes": dur / 60,
            "wer": t["wer"]["wer"] if t["wer"] else None,
            "ref_words": t["wer"]["ref_words"] if t["wer"] else 0,
            "keyword_f1_per_speaker": t["keywords"]["total"]["f1"],
            "keyword_f1_any_speaker": t["keywords"]["agnostic_total"]["f1"],
            "stt_rtf": cpu / dur if dur else None,
            "der_collar_pooled": t["der"]["collar"]["der"],
            "count_accuracy": t["speaker_count_accuracy"],
        }
        noise = cond.split("-", 1)[1] if "-" in cond else cond
        for bucket in ("all", noise):
            words, agn = pooled.setdefault(bucket, ({}, {}))
            for dst, key in ((words, "words"), (agn, "agnostic_words")):
                for w, s in t["keywords"][key].items():
                    a = dst.setdefault(w, {"ref": 0, "hyp": 0, "tp": 0, "fp": 0, "fn": 0})
                    for k in a:
                        a[k] += s[k]
    tables = {b: keyword_tables(*pooled[b]) for b in pooled}
    kw, groups = tables.get("all", ({}, {}))
    by_noise = {b: {"keywords": t[0], "keyword_groups": t[1]} for b, t in tables.items() if b != "all"}
    return per_cond, kw, groups, by_noise


def real(res):
    path = os.path.join(res, "real.eval.json")
    if not os.path.exists(path):
        return None
    ph = set()
    pp = os.path.join(res, "real.placeholders")
    if os.path.exists(pp):
        ph = {l.strip() for l in open(pp) if l.strip()}
    durs = {}
    e = load(path)
    out = []
    for r in e["recordings"]:
        turns = r["name"] not in ph
        out.append({
            "name": r["name"], "turns_reference": turns,
            "ref_speakers": r["ref_speakers"], "hyp_speakers": r["hyp_speakers"],
            "speaker_count_correct": r["speaker_count_correct"],
            "der_collar": r["der"]["collar"]["der"] if turns else None,
            "der_none": r["der"]["none"]["der"] if turns else None,
            "wer": r["wer"]["wer"] if r.get("wer") else None,
            "ref_words": r["wer"]["ref_words"] if r.get("wer") else None,
        })
    rows = stage_rows(os.path.join(res, "real.stages"))
    durs = sum(d for s, c, d in rows if s == "decode")
    return {"recordings": out, "minutes": durs / 60}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("out_json")
    ap.add_argument("--n", type=int)
    ap.add_argument("--stt-n", type=int)
    ap.add_argument("--seconds", type=float)
    a = ap.parse_args()

    dia = diarization(a.results)
    print("\n## Diarization (parley run --stages decode,vad,diarize), per condition\n")
    print("| speakers | condition | N | minutes | DER collar 0.25 mean / median | DER none mean / median "
          "| DER collar pooled | count right | under / over | diarize RTF |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for c in sorted(dia, key=cond_key):
        d = dia[c]
        print("| %d | %s | %d | %.0f | %s / %s | %s / %s | %s | %s | %d / %d | %.4f |" % (
            d["speakers"], NOISE_LABEL.get(d["condition"], d["condition"]), d["n"], d["minutes"],
            pct(d["der_collar_mean"]), pct(d["der_collar_median"]),
            pct(d["der_none_mean"]), pct(d["der_none_median"]), pct(d["der_collar_pooled"]),
            pct(d["count_accuracy"]), d["count_under"], d["count_over"], d["diarize_rtf"] or 0))
    tot_cpu = sum(d["diarize_cpu_seconds"] for d in dia.values())
    tot_min = sum(d["minutes"] for d in dia.values())
    if tot_min:
        print("\nall conditions: %.0f minutes of audio, diarizer %.1f CPU s, RTF %.4f" % (
            tot_min, tot_cpu, tot_cpu / (tot_min * 60)))

    per_cond, kw, groups, by_noise = stt(a.results)
    if per_cond:
        print("\n## Full runs (speech recognition) on a subset\n")
        print("| set | N | minutes | WER | keyword F1 per speaker / any speaker | DER collar pooled | count right | stt RTF |")
        print("|---|---|---|---|---|---|---|---|")
        for c in sorted(per_cond, key=cond_key):
            s = per_cond[c]
            print("| %s | %d | %.0f | %s | %s / %s | %s | %s | %.3f |" % (
                c, s["n"], s["minutes"], pct(s["wer"]), f3(s["keyword_f1_per_speaker"]),
                f3(s["keyword_f1_any_speaker"]), pct(s["der_collar_pooled"]),
                pct(s["count_accuracy"]), s["stt_rtf"] or 0))
        print("\n## Keywords over all full runs (per speaker: the count must land on the right speaker;"
              " any speaker: only the word)\n")
        print("| word | ref | hyp | TP | FP | FN | P | R | F1 | F1 any speaker |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for w in sorted(kw, key=lambda w: (kw[w]["particle"], w)):
            k = kw[w]
            print("| %s | %d | %d | %d | %d | %d | %s | %s | %s | %s |" % (
                w, k["ref"], k["hyp"], k["tp"], k["fp"], k["fn"], f3(k["precision"]),
                f3(k["recall"]), f3(k["f1"]), f3(k["any_speaker"]["f1"])))
        for g, k in groups.items():
            print("| **%s** | %d | %d | %d | %d | %d | %s | %s | **%s** | %s |" % (
                g, k["ref"], k["hyp"], k["tp"], k["fp"], k["fn"], f3(k["precision"]),
                f3(k["recall"]), f3(k["f1"]), f3(k["f1_any_speaker"])))
        for noise, t in sorted(by_noise.items()):
            kn, gn = t["keywords"], t["keyword_groups"]
            print("\n### Keywords, %s full runs only\n" % NOISE_LABEL.get(noise, noise))
            print("| word | ref | TP | FP | FN | P | R | F1 | F1 any speaker |")
            print("|---|---|---|---|---|---|---|---|---|")
            for w in sorted(kn, key=lambda w: (kn[w]["particle"], w)):
                k = kn[w]
                print("| %s | %d | %d | %d | %d | %s | %s | %s | %s |" % (
                    w, k["ref"], k["tp"], k["fp"], k["fn"], f3(k["precision"]),
                    f3(k["recall"]), f3(k["f1"]), f3(k["any_speaker"]["f1"])))
            for g, k in gn.items():
                print("| **%s** | %d | %d | %d | %d | %s | %s | **%s** | %s |" % (
                    g, k["ref"], k["tp"], k["fp"], k["fn"], f3(k["precision"]),
                    f3(k["recall"]), f3(k["f1"]), f3(k["f1_any_speaker"])))

    rl = real(a.results)
    if rl:
        print("\n## Real recordings (../shared/data), full runs\n")
        print("| recording | speakers ref/found | DER collar 0.25 / none | WER (ref words) |")
        print("|---|---|---|---|")
        for r in rl["recordings"]:
            der = "%s / %s" % (pct(r["der_collar"]), pct(r["der_none"])) if r["turns_reference"] else "(no turn reference)"
            wer = "%s (%d)" % (pct(r["wer"]), r["ref_words"]) if r["wer"] is not None else "-"
            print("| %s | %d/%d%s | %s | %s |" % (r["name"], r["ref_speakers"], r["hyp_speakers"],
                                                  "" if r["speaker_count_correct"] else " ✗", der, wer))
        ok = sum(1 for r in rl["recordings"] if r["speaker_count_correct"])
        print("\nspeaker count right on %d of %d real recordings" % (ok, len(rl["recordings"])))

    report = {"n_per_condition": a.n, "stt_n": a.stt_n, "seconds": a.seconds,
              "diarization": dia, "stt": per_cond, "keywords": kw, "keyword_groups": groups,
              "keywords_by_condition": by_noise,
              "real": rl}
    tmp = a.out_json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
    os.replace(tmp, a.out_json)


if __name__ == "__main__":
    main()
