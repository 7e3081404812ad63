#!/usr/bin/env python3
"""kw_choose.py — choose the verifier threshold and the background test's PASS
on a tuning half, report them on a held-out half (README, Accuracy: "Choosing
the verifier, PASS and the keyword LM weight on a tuning half").

  kw_choose.py --lexicon SWEEP.lex --gen-ref DIR --tune SET... --held SET...

SET is LABEL:KIND:OUTDIR:LOG[:NAMES] as for kw_report.py (KIND free or gen;
runs with verify_min_llr -50 and, for figures without spotting, no spot
lines); NAMES, when given, is a file of recording names (one per line): only
those recordings of the run are read, so one decode can give a tuning and a
held-out half. Every point of the grid, verifier x PASS x MIN (--min, the
background line's third value) x the confidence thresholds scaled
(--scale-long for the words that are not phrase-final particles,
--scale-particle for those; each threshold times the factor, at most 0.99),
is recounted with kw_report.py's counted() and `background RATE ALPHA MIN
PASS` (--background RATE,ALPHA,MIN). The rule: on the tuning sets, no
counted target on any free set and the most true targets over the gen sets;
ties go to --prefer (verifier nearest, then PASS nearest, then the scales
nearest 1 and MIN nearest the --background one). With --margin a setting
must also count no target on the tuning free sets at the next lower PASS of
the grid (one step looser), so the choice does not sit on the edge of the
tuning half's false alarms. The held-out sets are only
read at the chosen setting and at --prefer.
"""
import argparse
import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kw_report as K  # noqa: E402

VERIFY = "off,-3,-2.5,-2,-1.75,-1.5,-1.25,-1,-0.75,-0.5,-0.25,0"
PASS = "0,0.05,0.075,0.1,0.125,0.15,0.175,0.2,0.25,0.3"


def load(specs, targets):
    sets = []
    for spec in specs:
        f = spec.split(":")
        if len(f) < 4:
            sys.exit("kw_choose.py: %s: expected LABEL:KIND:OUTDIR:LOG[:NAMES]" % spec)
        label, kind, outdir, log = f[:4]
        if kind not in ("free", "gen"):
            sys.exit("kw_choose.py: %s: KIND must be free or gen" % spec)
        words, dur, den = K.load_set(outdir, log, targets)
        if len(f) > 4 and f[4]:
            keep = {n.strip() for n in open(f[4]) if n.strip()}
            words = [w for w in words if w[0] in keep]
            dur = {n: d for n, d in dur.items() if n in keep}
            den = {n for n in den if n in keep}
        sets.append((label, kind, K.hits_at(words, targets), dur, den))
    return sets


def scaled(targets, long_f, part_f):
    """The confidence thresholds with the long words' times long_f and the
    phrase-final particles' times part_f, at most 0.99."""
    return {w: min(0.99, t * (part_f if w in K.FINAL else long_f)) for w, t in targets.items()}


def figures(sets, targets, ref, verify, pas, bg):
    """{label: (counted, hours, heard) or (tp, ref, hyp)}"""
    out = {}
    for label, kind, hits, dur, den in sets:
        c = K.counted(hits, targets, verify, dur=dur, bg=bg + (pas,), denoised=den)
        if kind == "free":
            out[label] = ("free", sum(c.values()), sum(dur.values()) / 3600.0, len(hits))
        else:
            r = K.gen_refs(ref, dur.keys())
            tp = sum(min(c[k], r[k]) for k in set(c) | set(r))
            out[label] = ("gen", tp, sum(r.values()), sum(c.values()))
    return out


def show(fig):
    parts = []
    for label, f in fig.items():
        if f[0] == "free":
            parts.append("%s %d FA in %.3f h (%.0f/h; %d heard)" % (
                label, f[1], f[2], f[1] / f[2] if f[2] else 0.0, f[3]))
        else:
            parts.append("%s recall %.3f (%d/%d) precision %.3f" % (
                label, f[1] / f[2] if f[2] else 0.0, f[1], f[2], f[1] / f[3] if f[3] else 0.0))
    return "; ".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lexicon", required=True)
    ap.add_argument("--gen-ref", required=True, help="folder of NAME.counts.csv")
    ap.add_argument("--tune", nargs="+", required=True)
    ap.add_argument("--held", nargs="*", default=[])
    ap.add_argument("--verify", default=VERIFY)
    ap.add_argument("--pass-share", default=PASS)
    ap.add_argument("--background", default="30,0.05,2", help="RATE,ALPHA,MIN")
    ap.add_argument("--prefer", default="-1,0.1", help="VERIFY,PASS ties go to")
    ap.add_argument("--scale-long", default="1", help="factors on the long words' thresholds")
    ap.add_argument("--scale-particle", default="1", help="factors on the particles' thresholds")
    ap.add_argument("--min", default="", help="MIN values (default: --background's)")
    ap.add_argument("--margin", action="store_true",
                    help="a setting also needs no counted target at the next lower PASS of the grid")
    a = ap.parse_args()
    targets = K.load_lexicon(a.lexicon)
    rate, alpha, mn = a.background.split(",")
    bg = (float(rate), float(alpha), int(mn))
    pv, pp = (float(x) for x in a.prefer.split(","))
    verify = [None if x == "off" else float(x) for x in a.verify.split(",")]
    passes = [float(x) for x in a.pass_share.split(",")]
    tune = load(a.tune, targets)
    held = load(a.held, targets)
    longs = [float(x) for x in a.scale_long.split(",")]
    parts = [float(x) for x in a.scale_particle.split(",")]
    mins = [int(x) for x in a.min.split(",")] if a.min else [bg[2]]
    best = None
    for v, p, sl, sp, m in itertools.product(verify, passes, longs, parts, mins):
        th, b = scaled(targets, sl, sp), bg[:2] + (m,)
        fig = figures(tune, th, a.gen_ref, v, p, b)
        if any(f[0] == "free" and f[1] for f in fig.values()):
            continue
        k = passes.index(p)
        if a.margin and k > 0 and any(f[0] == "free" and f[1] for f in figures(
                tune, th, a.gen_ref, v, passes[k - 1], b).values()):
            continue
        tp = sum(f[1] for f in fig.values() if f[0] == "gen")
        vv = -50.0 if v is None else v
        key = (tp, -abs(vv - pv), -abs(p - pp), -abs(sl - 1) - abs(sp - 1), -abs(m - bg[2]))
        if best is None or key > best[0]:
            best = (key, v, p, sl, sp, m)
    if best is None:
        print("no setting of the grid counts no target on the tuning free sets")
    rows = ([("chosen on the tuning sets",) + best[1:]] if best else [])
    rows.append(("preferred (--prefer)", pv, pp, 1.0, 1.0, bg[2]))
    for name, v, p, sl, sp, m in rows:
        th, b = scaled(targets, sl, sp), bg[:2] + (m,)
        print("%s: verify %s, PASS %g, thresholds x %g (long) x %g (particles), MIN %d" % (
            name, "off" if v is None else "%g" % v, p, sl, sp, m))
        print("  tuning:   " + show(figures(tune, th, a.gen_ref, v, p, b)))
        if held:
            print("  held out: " + show(figures(held, th, a.gen_ref, v, p, b)))
    if best is None:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
