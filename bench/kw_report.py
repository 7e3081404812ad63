#!/usr/bin/env python3
"""kw_report.py — target-word verification trade-off, from `parley run -v` outputs.

Each SET argument is  LABEL:KIND:OUTDIR:LOG[:LIST]
  KIND   free  real speech in which nobody says a target: every counted target is
               a false alarm (figures: false alarms per hour)
         gen   generated conversations with exact target counts (the reference
               NAME.counts.csv files in --gen-ref): recall and precision
  OUTDIR a `parley run` output folder (its parley.db)
  LOG    that run's stderr with -v: one "pocketsphinx: verify TARGET S-E s conf C
         llr L base B kept|rejected" line per target candidate; L is swept; and
         one "pocketsphinx: spot TARGET S-E s llr L added|duplicate|rejected"
         line per keyphrase-search hit (the second candidate source); the
         added ones are words of the run, counted at spot threshold S when
         L >= S (--spot-sweep, at the verification threshold --verify).
         A spotted word is found by its word and start, or (when the engine
         moved its start or end inside the logged span to give way to a
         kept hypothesis word) by lying inside that span. The "off" rows of
         a run with spot lines leave the spotted words out, but the English
         words they replaced stay gone (the pause after a particle can read
         longer than a run without spot lines would give): for exact
         figures without spotting, run without spot lines.
  LIST   optional "name<TAB>source" lines (bench/real_asr_sets.sh) to break a
         free set down by source

The runs must use a lexicon whose verify_min_llr is low enough that the run
itself rejected nothing that is swept here (bench_keywords.sh uses -50). A
target occurrence counts at verification threshold T when it passes the
lexicon's confidence threshold (as `parley run` counts) and its llr >= T;
"off" counts without verification. Counts are compared per recording and
target word, over all speakers (any-speaker counts). For each target-free set
it also prints the share of the target candidates (every target word of the
final transcripts) that passes every per-word test at each threshold: the
fifth value (PASS) of the lexicon's "background" line, recounted with
--background RATE,ALPHA,MIN,PASS. The PASS test is skipped, as the words
stage skips it, for a recording the stt stage recognised denoised: its
"stt_denoised" segment in parley.db, or (runs from before that was saved)
the log's "stt: NAME: SNR estimate ... recognising denoised audio" line.
"""
import argparse
import collections
import csv
import json
import math
import os
import re
import sqlite3
import sys

DENOISED_RE = re.compile(r"stt: (\S+): SNR estimate .* recognising denoised audio")
VERIFY_RE = re.compile(
    r"pocketsphinx: verify (\S+) ([0-9.]+)-([0-9.]+) s conf ([0-9.]+) llr (\S+) base (\S+) "
    r"(?:score (\S+) )?(kept|rejected)(?: in (.+))?$")
SPOT_RE = re.compile(
    r"pocketsphinx: spot (\S+) ([0-9.]+)-([0-9.]+) s llr (\S+) (?:loop (\S+) )?(added|duplicate|rejected)"
    r"(?: in (.+))?$")


FINAL = {}  # target -> phrase_final pause (lexicon "phrase_final" lines)
BACKGROUND = None  # (rate per hour, alpha, min, pass or 0) of the lexicon's "background" line


def poisson_tail(mean, n):
    """P(N >= n) for N ~ Poisson(mean), as src/text/lexicon.c computes it."""
    term, below = math.exp(-mean), 0.0
    for k in range(n):
        below += term
        term *= mean / (k + 1)
    return 0.0 if below >= 1.0 else 1.0 - below


def binomial_tail(k, q, n):
    """P(X >= n) for X ~ Binomial(k, q), as src/text/lexicon.c computes it."""
    if n <= 0:
        return 1.0
    if n > k:
        return 0.0
    if n <= k * q:
        return 1.0
    return min(1.0, sum(math.comb(k, i) * q ** i * (1 - q) ** (k - i) for i in range(n, k + 1)))


def supported(n, seconds, bg, candidates=0, original=True):
    """lexicon_supported(): are n countable targets among `candidates` target
    words heard in a recording of `seconds` more than the background explains?
    original False (recognised denoised) skips the PASS test."""
    if n == 0:
        return False
    if bg is None:
        return True
    rate, alpha, mn = bg[:3]
    pas = bg[3] if len(bg) > 3 else 0.0
    if not (n >= mn and poisson_tail(rate * max(seconds, 0.0) / 3600.0, n) <= alpha):
        return False
    return pas <= 0 or not original or binomial_tail(max(candidates, n), pas, n) <= alpha


def load_lexicon(path):
    """targets -> confidence threshold (0 when none); fills FINAL."""
    th = {}
    for line in open(path):
        f = line.split("#", 1)[0].split()
        if not f:
            continue
        if f[0] == "target":
            th.setdefault(f[1].lower(), 0.0)
        elif f[0] == "threshold":
            for w in f[2:]:
                th[w.lower()] = float(f[1])
        elif f[0] == "phrase_final":
            for w in f[2:]:
                FINAL[w.lower()] = float(f[1])
        elif f[0] == "background":
            global BACKGROUND
            BACKGROUND = (float(f[1]), float(f[2]), int(f[3]), float(f[4]) if len(f) > 4 else 0.0)
    return th


def load_set(outdir, log, targets):
    """[(name, word, start, conf, end, speaker, llr, spot llr or None)] for
    every word of the final words (see hits_at), {name: duration} and the
    set of names recognised denoised."""
    db = sqlite3.connect(os.path.join(outdir, "parley.db"))
    dur = {n: d for n, d in db.execute("select name, duration from recordings where status = 'done'")}
    rows = db.execute(
        "select r.name, w.word, w.start_s, w.confidence, w.end_s, w.speaker from words w "
        "join recordings r on r.id = w.recording_id order by r.name, w.idx").fetchall()
    denoised = set()
    if db.execute("select 1 from sqlite_master where name = 'segments'").fetchone():
        denoised = {n for (n,) in db.execute(
            "select distinct r.name from segments s join recordings r on r.id = s.recording_id "
            "where s.kind = 'stt_denoised'")}
    cands = collections.defaultdict(list)  # target -> [(start, llr)]
    spots = collections.defaultdict(list)  # target -> [(start, llr)] of added hits
    for line in open(log, errors="replace"):
        d = DENOISED_RE.search(line)
        if d:
            denoised.add(d.group(1))
        line = line.rstrip("\n")
        m = VERIFY_RE.search(line)
        if m:
            llr = float(m.group(5))
            cands[m.group(1)].append((float(m.group(2)), llr if math.isfinite(llr) else -math.inf,
                                      m.group(9)))
        m = SPOT_RE.search(line)
        if m and m.group(6) == "added":
            # (ratio against the hypothesis, ratio against the phone loop)
            spots[m.group(1)].append((float(m.group(2)), float(m.group(3)),
                                      (float(m.group(4)), float(m.group(5) or "inf")), m.group(7)))
    words = []  # (name, word, start, conf, end, speaker, llr, spot llr or None)
    for name, word, start, conf, end, speaker in rows:
        llr, spot = -math.inf, None
        if word in targets:
            # Lines that name their recording (" in NAME", since stop 18)
            # match only its words; older logs match by target and start.
            for s, e, l, nm in spots.get(word, ()):
                if abs(s - start) < 0.006 and nm in (None, name):
                    spot = l
                    break
            for s, l, nm in cands.get(word, ()):
                if spot is None and abs(s - start) < 0.006 and nm in (None, name):
                    llr = l
                    break
            # A spotted word that overlapped a kept hypothesis word gave way
            # (the engine moved its start or end inside the logged span), so
            # its stored times differ from its spot line; it has no verify
            # line. Without this it read as a hypothesis word never verified.
            if spot is None and llr == -math.inf:
                for s, e, l, nm in spots.get(word, ()):
                    if s - 0.006 <= start and end <= e + 0.006 and start < end and nm in (None, name):
                        spot = l
                        break
        words.append((name, word, start, conf, end, speaker, llr, spot))
    return words, dur, denoised


def hits_at(words, targets, spot=None, spot_words=None, verify=-math.inf):
    """[(name, target, conf, llr, pause after, spotted)] for every target word
    when spotted words with ratio below `spot` (None: every spotted word) are
    left out, as a run at that spot threshold would have. The pause after a
    word is the same speaker's next word's start minus its end, infinite when
    another speaker's word or none follows (as src/text/lexicon.h defines
    it). A spotted word is kept when its ratio against the hypothesis is at
    least `spot` (a dict: its word's value there, words not in it never)
    and against the phone loop at least `verify`."""
    if isinstance(spot, dict):  # per-word thresholds (--spot-per-word)
        kept = [w for w in words if w[7] is None or (w[1] in spot and w[7][0] >= spot[w[1]] and
                                                       w[7][1] >= verify)]
    else:
        kept = [w for w in words if w[7] is None or (spot is not None and w[7][0] >= spot and
                                                       w[7][1] >= verify and
                                                       (spot_words is None or w[1] in spot_words))]
    out = []
    for i, (name, word, start, conf, end, speaker, llr, sp) in enumerate(kept):
        if word not in targets:
            continue
        nxt = kept[i + 1] if i + 1 < len(kept) else None
        pause = nxt[2] - end if nxt and nxt[0] == name and nxt[5] == speaker else math.inf
        out.append((name, word, conf, llr, pause, sp is not None))
    return out


def counted(hits, targets, t, final=True, dur=None, bg="lexicon", denoised=frozenset()):
    """Counts at verification threshold t (None: off); final=False ignores the
    lexicon's phrase_final pauses. With dur ({name: seconds}) the
    recording-level background test applies: bg "lexicon" = the lexicon's
    line, None = none, else (rate, alpha, min[, pass]); names in `denoised`
    skip the pass test."""
    c = collections.Counter()
    for name, word, conf, llr, pause, spotted in hits:
        if final and word in FINAL and pause + 1e-9 < FINAL[word]:
            continue
        if spotted:
            c[(name, word)] += 1
        elif conf > 0 and conf >= targets[word] and (t is None or llr >= t):
            c[(name, word)] += 1
    bg = BACKGROUND if bg == "lexicon" else bg
    if dur is not None and bg is not None:
        per = collections.Counter()
        for (name, word), v in c.items():
            per[name] += v
        heard = collections.Counter(h[0] for h in hits)
        c = collections.Counter({k: v for k, v in c.items()
                                 if supported(per[k[0]], dur.get(k[0], 0.0), bg, heard[k[0]],
                                           k[0] not in denoised)})
    return c


def gen_refs(refdir, names):
    ref = collections.Counter()
    for n in names:
        p = os.path.join(refdir, n + ".counts.csv")
        if not os.path.exists(p):
            continue
        for r in csv.DictReader(open(p)):
            ref[(n, r["word"])] += int(r["count"])
    return ref


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="+")
    ap.add_argument("--lexicon", required=True)
    ap.add_argument("--gen-ref", action="append", default=[], help="LABEL:DIR")
    ap.add_argument("--sweep", default="off,-3,-2.5,-2,-1.75,-1.5,-1.25,-1,-0.75,-0.5,-0.25,0")
    ap.add_argument("--background", default="lexicon",
                    help="the recording-level test: 'lexicon' (its background line), 'off', "
                         "or RATE,ALPHA,MIN[,PASS]")
    ap.add_argument("--spot-sweep", default="off,-1.5,-1,-0.75,-0.5,-0.25,0,0.25,0.5",
                    help="spotting thresholds to recount at (off: spotted words left out)")
    ap.add_argument("--spot-words", default="",
                    help="comma-separated targets whose spotted hits count (default: all)")
    ap.add_argument("--spot-per-word", action="append", default=[],
                    help="WORD=T[,WORD=T...]: one more row of the spotting table with a "
                         "threshold per word (as several lexicon spot lines give); repeatable")
    ap.add_argument("--verify", type=float, default=-1.0,
                    help="verification threshold of the spotting table")
    ap.add_argument("--half", choices=("even", "odd"),
                    help="only every other recording of each set (by name order; 0-based even "
                         "or odd positions): a tuning half and a held-out half")
    ap.add_argument("--json")
    a = ap.parse_args()
    targets = load_lexicon(a.lexicon)
    bg = ("lexicon" if a.background == "lexicon" else None if a.background == "off"
          else tuple(t(x) for t, x in zip((float, float, int, float), a.background.split(","))))
    print("recording-level background test: %s" % (
        "none" if (BACKGROUND if bg == "lexicon" else bg) is None
        else "%g per hour, alpha %g, at least %d, pass fraction %g (0: none)" % tuple(
            list(BACKGROUND if bg == "lexicon" else bg) + [0.0])[:4]))
    refdirs = dict(x.split(":", 1) for x in a.gen_ref)
    sweep = [None if x == "off" else float(x) for x in a.sweep.split(",")]
    sets = []
    for spec in a.sets:
        parts = spec.split(":")
        label, kind, outdir, log = parts[:4]
        words, dur, denoised = load_set(outdir, log, targets)
        if a.half:
            keep = set(n for i, n in enumerate(sorted(dur)) if i % 2 == (a.half == "odd"))
            dur = {n: d for n, d in dur.items() if n in keep}
            words = [w for w in words if w[0] in keep]
        hits = hits_at(words, targets)
        src = {}
        if len(parts) > 4 and parts[4]:
            for line in open(parts[4]):
                n, s = line.rstrip("\n").split("\t")
                src[n] = s
        sets.append(dict(label=label, kind=kind, hits=hits, words=words, dur=dur, src=src,
                         denoised=denoised))
        print("%s: %d of %d recordings recognised denoised" % (label, len(denoised & set(dur)), len(dur)))
    result = {"sweep": []}
    head = "%-8s" % "min llr"
    for s in sets:
        head += ("  %-22s" % (s["label"] + (" FA/h" if s["kind"] == "free" else " R / P")))
    print(head)
    for t in sweep:
        row = {"min_llr": t, "sets": {}}
        line = "%-8s" % ("off" if t is None else "%g" % t)
        for s in sets:
            c = counted(s["hits"], targets, t, dur=s["dur"], bg=bg, denoised=s["denoised"])
            hours = sum(s["dur"].values()) / 3600.0
            if s["kind"] == "free":
                fa = sum(c.values())
                row["sets"][s["label"]] = {"fa": fa, "hours": hours, "fa_per_hour": fa / hours if hours else None}
                line += "  %-22s" % ("%6.1f (%d in %.2f h)" % (fa / hours, fa, hours))
            else:
                ref = gen_refs(refdirs[s["label"]], s["dur"].keys())
                tp = sum(min(c[k], ref[k]) for k in set(c) | set(ref))
                nref, nhyp = sum(ref.values()), sum(c.values())
                rec = tp / nref if nref else None
                prec = tp / nhyp if nhyp else None
                row["sets"][s["label"]] = {"tp": tp, "ref": nref, "hyp": nhyp, "recall": rec, "precision": prec}
                line += "  %-22s" % ("%.3f / %.3f (%d/%d)" % (rec or 0, prec or 0, tp, nref))
        result["sweep"].append(row)
        print(line)
    # The second candidate source: spotted words at each spot threshold, the
    # word-hypothesis candidates verified at --verify.
    spot_words = set(a.spot_words.split(",")) if a.spot_words else None
    print("\nspotting (keyphrase search) at verify %g%s" % (
        a.verify, "" if spot_words is None else ", spotted words: " + a.spot_words))
    result["spot_sweep"] = []
    rows = [(x, None if x == "off" else float(x)) for x in a.spot_sweep.split(",")]
    rows += [(x, {w: float(t) for w, t in (kv.split("=") for kv in x.split(","))})
             for x in a.spot_per_word]
    for x, sp in rows:
        row = {"spot_min_llr": sp, "sets": {}}
        if isinstance(sp, dict):
            print("per word: %s" % x)
        line = "%-8s" % ("per-word" if isinstance(sp, dict) else x)
        for s in sets:
            hits = hits_at(s["words"], targets, sp, spot_words, a.verify) if sp is not None else hits_at(s["words"], targets)
            c = counted(hits, targets, a.verify, dur=s["dur"], bg=bg, denoised=s["denoised"])
            hours = sum(s["dur"].values()) / 3600.0
            if s["kind"] == "free":
                fa = sum(c.values())
                row["sets"][s["label"]] = {"fa": fa, "hours": hours}
                line += "  %-22s" % ("%6.1f (%d in %.2f h)" % (fa / hours if hours else 0, fa, hours))
            else:
                ref = gen_refs(refdirs[s["label"]], s["dur"].keys())
                tp = sum(min(c[k], ref[k]) for k in set(c) | set(ref))
                nref, nhyp = sum(ref.values()), sum(c.values())
                row["sets"][s["label"]] = {"tp": tp, "ref": nref, "hyp": nhyp}
                line += "  %-22s" % ("%.3f / %.3f (%d/%d)" % (tp / nref if nref else 0,
                                                             tp / nhyp if nhyp else 0, tp, nref))
        result["spot_sweep"].append(row)
        print(line)
    # False alarms per source and per word of the free sets, without and with
    # verification at each swept threshold's neighbours is too much to print:
    # per source at "off" and at the first threshold given by --show.
    for s in sets:
        if s["kind"] != "free" or not s["src"]:
            continue
        print("\n%s: false alarms by source (off / each threshold)" % s["label"])
        bysrc = collections.defaultdict(float)
        for n, d in s["dur"].items():
            bysrc[s["src"].get(n, "?")] += d
        for src in sorted(bysrc):
            line = "  %-16s %6.1f min" % (src, bysrc[src] / 60)
            for t in sweep:
                c = counted(s["hits"], targets, t, dur=s["dur"], bg=bg, denoised=s["denoised"])
                fa = sum(v for (n, w), v in c.items() if s["src"].get(n, "?") == src)
                line += " %3d" % fa
            print(line)
    # The background line's PASS: the share of the target candidates (every
    # target word of the transcripts) that passes every per-word test on the
    # target-free sets, per threshold of the sweep.
    for s in sets:
        if s["kind"] != "free" or not s["hits"]:
            continue
        line = "%s: candidates %d, share passing per threshold:" % (s["label"], len(s["hits"]))
        for t in sweep:
            c = counted(s["hits"], targets, t)
            line += " %s %.3f" % ("off" if t is None else "%g" % t, sum(c.values()) / len(s["hits"]))
        print(line)
    for s in sets:
        words = collections.Counter(w for n, w, conf, llr, pause, sp in s["hits"]
                                    if conf > 0 and conf >= targets[w])
        print("%s: counted before verification, by word: %s" % (
            s["label"], " ".join("%s %d" % kv for kv in words.most_common())))
    if a.json:
        json.dump(result, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    sys.exit(main())
