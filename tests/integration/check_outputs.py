#!/usr/bin/env python3
"""Validate one recording's parley outputs; print TAP lines.

usage: check_outputs.py OUT NAME [--ref-rttm FILE] [--min-attrib 0.8]
                        [--words-tsv FILE] [--max-word-dt 0.3] [--speakers N]
Checks: transcript.json schema, SRT and WebVTT syntax, RTTM fields, TXT lines,
summary.csv shape, samples; with --ref-rttm the speaker count and the share of
speech attributed to the right speaker (best mapping); with --words-tsv the
timing of recognised words against ground truth.
"""
import argparse, csv, itertools, json, os, re, sys

results = []
def check(ok, what):
    results.append(bool(ok))
    print(("ok - " if ok else "not ok - ") + what)

def num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)

def check_json(path):
    with open(path) as f:
        t = json.load(f)
    errs = []
    for k, typ in (("schema", str), ("name", str), ("source", str), ("duration", (int, float)),
                   ("engines", dict), ("speakers", list), ("segments", list), ("words", list),
                   ("counts", dict)):
        if not isinstance(t.get(k), typ):
            errs.append("field %s missing or not %s" % (k, typ))
    if errs:
        return t, errs
    if t["schema"] != "parley.transcript/1":
        errs.append("schema is %r" % t["schema"])
    ids = set()
    for s in t["speakers"]:
        if not re.fullmatch(r"speaker-\d+", s.get("id", "")): errs.append("bad speaker id %r" % s)
        ids.add(s.get("id"))
        if not num(s.get("talk_time")) or not isinstance(s.get("turns"), int): errs.append("bad speaker %r" % s)
        if not (s.get("role") is None or isinstance(s.get("role"), str)) or not (s.get("channel") is None or isinstance(s.get("channel"), int)):
            errs.append("bad speaker role/channel %r" % s)
        smp = s.get("sample")
        if smp is not None and not (isinstance(smp.get("path"), str) and num(smp.get("start")) and num(smp.get("end")) and smp["end"] > smp["start"]):
            errs.append("bad sample %r" % smp)
    # in time order; a speaker's segments never overlap (different speakers'
    # do only in a call diarized by channel: channels.mode separate)
    last, last_start = {}, -1.0
    for seg in t["segments"]:
        if not (num(seg.get("start")) and num(seg.get("end")) and seg["end"] > seg["start"]): errs.append("bad segment %r" % seg)
        elif seg["start"] < last.get(seg.get("speaker"), -1.0) - 1e-6 or seg["start"] < last_start - 1e-6:
            errs.append("segments out of order at %r" % seg)
        else: last[seg.get("speaker")], last_start = seg["end"], seg["start"]
        if seg.get("speaker") not in ids: errs.append("segment speaker %r unknown" % seg.get("speaker"))
        if not isinstance(seg.get("text"), str): errs.append("segment text missing")
    last = -1.0
    for w in t["words"]:
        if not (num(w.get("start")) and num(w.get("end")) and w["end"] >= w["start"]): errs.append("bad word %r" % w)
        elif w["start"] < last - 1e-6: errs.append("words out of order at %r" % w)
        else: last = w["start"]
        if not (isinstance(w.get("word"), str) and w["word"] and w["word"] == w["word"].lower()): errs.append("bad word text %r" % w)
        if not (num(w.get("confidence")) and 0 <= w["confidence"] <= 1): errs.append("bad confidence %r" % w)
        if w.get("speaker") not in ids: errs.append("word speaker unknown %r" % w)
        if w["end"] > t["duration"] + 0.05: errs.append("word after the end %r" % w)
        if "counted" in w and not isinstance(w["counted"], bool): errs.append("bad counted %r" % w)
    for spk, per in t["counts"].items():
        if spk not in ids: errs.append("counts for unknown speaker %s" % spk)
        for word, c in per.items():
            if not isinstance(c, int) or c < 0: errs.append("bad count %s %s %r" % (spk, word, c))
            # a target below its lexicon threshold is in the words with "counted": false
            real = sum(1 for w in t["words"] if w["speaker"] == spk and w["word"] == word and w.get("counted", True))
            if real != c: errs.append("count %s/%s is %d but %d such words" % (spk, word, c, real))
    return t, errs

TS = r"(\d\d):(\d\d):(\d\d)[,.](\d\d\d)"
def ts(m, off=0):
    return int(m.group(1+off))*3600 + int(m.group(2+off))*60 + int(m.group(3+off)) + int(m.group(4+off))/1000

def check_cues(path, vtt):
    text = open(path, encoding="utf-8").read()
    errs = []
    if vtt:
        if not text.startswith("WEBVTT\n\n"): errs.append("no WEBVTT header")
        text = text[len("WEBVTT\n\n"):]
    sep = "." if vtt else ","
    blocks = [b for b in text.split("\n\n") if b.strip()]
    if text and not text.endswith("\n\n"): errs.append("does not end with a blank line")
    n = 0; last = -1
    for i, b in enumerate(blocks, 1):
        lines = b.split("\n")
        if len(lines) < 3: errs.append("cue %d has %d lines" % (i, len(lines))); continue
        if lines[0] != str(i): errs.append("cue %d numbered %r" % (i, lines[0]))
        m = re.fullmatch(r"(\d\d):(\d\d):(\d\d)%s(\d\d\d) --> (\d\d):(\d\d):(\d\d)%s(\d\d\d)" % (re.escape(sep), re.escape(sep)), lines[1])
        if not m: errs.append("cue %d timing line %r" % (i, lines[1])); continue
        a, b2 = ts(m), ts(m, 4)
        if b2 < a: errs.append("cue %d ends before it starts" % i)
        if a < last - 1e-6: errs.append("cue %d out of order" % i)
        last = a
        body = "\n".join(lines[2:])
        if vtt and not re.fullmatch(r"<v speaker-\d+( \([\w-]+\))?>[^<>]+</v>", body): errs.append("cue %d body %r" % (i, body))
        if not vtt and not re.fullmatch(r"speaker-\d+( \([\w-]+\))?: .+", body): errs.append("cue %d body %r" % (i, body))
        n += 1
    return n, errs

def read_rttm(path):
    turns = []
    for ln, line in enumerate(open(path), 1):
        f = line.split()
        if not f: continue
        turns.append((ln, f))
    return turns

def check_rttm(path, name):
    errs = []; out = []
    for ln, f in read_rttm(path):
        if len(f) != 10: errs.append("line %d has %d fields" % (ln, len(f))); continue
        if f[0] != "SPEAKER" or f[1] != name or f[2] != "1" or f[5] != "<NA>" or f[6] != "<NA>" or f[8] != "<NA>" or f[9] != "<NA>":
            errs.append("line %d fields %r" % (ln, f))
        try:
            s, d = float(f[3]), float(f[4])
            if s < 0 or d <= 0: errs.append("line %d times" % ln)
            out.append((s, s + d, f[7]))
        except ValueError:
            errs.append("line %d numbers" % ln)
    return out, errs

def load_ref_rttm(path):
    return [(float(f[3]), float(f[3]) + float(f[4]), f[7]) for _, f in read_rttm(path) if f[0] == "SPEAKER"]

def attribution(ref, hyp, step=0.01):
    """Share of single-speaker reference speech whose hypothesis speaker is
    the mapped one, under the best one-to-one mapping."""
    end = max([e for _, e, _ in ref] + [e for _, e, _ in hyp] + [0])
    n = int(end / step) + 1
    rlab = [None] * n; rcount = [0] * n; hlab = [None] * n
    for s, e, spk in ref:
        for i in range(int(s / step), min(n, int(e / step))):
            rcount[i] += 1; rlab[i] = spk
    for s, e, spk in hyp:
        for i in range(int(s / step), min(n, int(e / step))):
            hlab[i] = spk
    pairs = {}
    total = 0
    for i in range(n):
        if rcount[i] == 1:
            total += 1
            if hlab[i] is not None:
                pairs[(rlab[i], hlab[i])] = pairs.get((rlab[i], hlab[i]), 0) + 1
    rs = sorted({r for r, _ in pairs} | {s for _, _, s in ref}); hs = sorted({h for _, h in pairs})
    best = 0
    small, big = (rs, hs) if len(rs) <= len(hs) else (hs, rs)
    for perm in itertools.permutations(big, len(small)):
        m = dict(zip(small, perm))
        score = sum(v for (r, h), v in pairs.items() if (m.get(r) == h if small is rs else m.get(h) == r))
        best = max(best, score)
    return best / total if total else 1.0

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out"); ap.add_argument("name")
    ap.add_argument("--ref-rttm"); ap.add_argument("--min-attrib", type=float, default=0.8)
    ap.add_argument("--words-tsv"); ap.add_argument("--max-word-dt", type=float, default=0.3)
    ap.add_argument("--speakers", type=int)
    a = ap.parse_args()
    d = os.path.join(a.out, a.name)
    try:
        t, errs = check_json(os.path.join(d, "transcript.json"))
    except (OSError, ValueError) as e:
        check(False, "%s: transcript.json readable (%s)" % (a.name, e)); return 1
    check(not errs, "%s: transcript.json follows the schema %s" % (a.name, "; ".join(errs[:5])))
    n, errs = check_cues(os.path.join(d, "transcript.srt"), False)
    check(not errs and n > 0, "%s: transcript.srt is valid SubRip (%d cues) %s" % (a.name, n, "; ".join(errs[:5])))
    n, errs = check_cues(os.path.join(d, "transcript.vtt"), True)
    check(not errs and n > 0, "%s: transcript.vtt is valid WebVTT (%d cues) %s" % (a.name, n, "; ".join(errs[:5])))
    hyp, errs = check_rttm(os.path.join(d, "transcript.rttm"), a.name)
    check(not errs and hyp, "%s: transcript.rttm has valid RTTM fields (%d turns) %s" % (a.name, len(hyp), "; ".join(errs[:5])))
    lines = open(os.path.join(d, "transcript.txt")).read().splitlines()
    bad = [l for l in lines if not re.fullmatch(r"\[\d\d:\d\d:\d\d\.\d\d\d - \d\d:\d\d:\d\d\.\d\d\d\] speaker-\d+( \([\w-]+\))?: .+", l)]
    check(lines and not bad, "%s: transcript.txt lines well formed %s" % (a.name, bad[:2]))
    rows = list(csv.reader(open(os.path.join(a.out, "summary.csv"))))
    mine = [r for r in rows[1:] if r[0] == a.name]
    spk = {s["id"] for s in t["speakers"]}
    roles = {s["id"]: s.get("role") or "" for s in t["speakers"]}
    ok = rows[0] == ["recording", "speaker", "word", "count", "role"] and mine and all(len(r) == 5 and r[1] in spk and r[3].isdigit() and r[4] == roles[r[1]] for r in mine)
    targets = {r[2] for r in mine}
    ok = ok and len(mine) == len(spk) * len(targets)
    check(ok, "%s: summary.csv has one row per speaker x target (%d rows)" % (a.name, len(mine)))
    samples_ok = True
    for s in t["speakers"]:
        if s["sample"]:
            p = os.path.join(d, s["sample"]["path"])
            dur = s["sample"]["end"] - s["sample"]["start"]
            if not os.path.exists(p) or dur > 10.001: samples_ok = False
            elif abs((os.path.getsize(p) - 44) / 32000 - dur) > 0.01: samples_ok = False
    check(samples_ok and any(s["sample"] for s in t["speakers"]), "%s: a WAV sample of at most 10 s per speaker" % a.name)
    if a.speakers:
        check(len(t["speakers"]) == a.speakers, "%s: %d speakers found (expected %d)" % (a.name, len(t["speakers"]), a.speakers))
    if a.ref_rttm:
        acc = attribution(load_ref_rttm(a.ref_rttm), hyp)
        check(acc >= a.min_attrib, "%s: %.1f%% of speech attributed to the right speaker (need %.0f%%)" % (a.name, acc * 100, a.min_attrib * 100))
    if a.words_tsv:
        ref = []
        for row in csv.reader(open(a.words_tsv), delimiter="\t"):
            if row and row[0] != "start":
                ref.append((float(row[0]), float(row[1]), row[3].lower()))
        used = set(); dts = []
        for w in t["words"]:
            cands = [(abs(r[0] - w["start"]), i) for i, r in enumerate(ref) if i not in used and r[2] == w["word"] and abs(r[0] - w["start"]) < 1.0]
            if cands:
                _, i = min(cands); used.add(i)
                dts.append(max(abs(ref[i][0] - w["start"]), abs(ref[i][1] - w["end"])))
        within = sum(1 for x in dts if x <= a.max_word_dt)
        frac = within / len(dts) if dts else 0
        check(len(dts) >= 0.5 * len(ref) and frac >= 0.9,
              "%s: %d of %d reference words recognised; %.0f%% of them start and end within %.1f s of the truth (median error %.3f s)"
              % (a.name, len(dts), len(ref), frac * 100, a.max_word_dt, sorted(dts)[len(dts) // 2] if dts else -1))
    return 0 if all(results) else 1

if __name__ == "__main__":
    sys.exit(main())
