#!/usr/bin/env python3
"""kw_choose.py — choose the verifier threshold and the background test's PASS
on a tuning half, report them on a held-out half (README, Accuracy: "Choosing
the verifier, PASS and the keyword LM weight on a tuning half").

  kw_choose.py --lexicon SWEEP.lex --gen-ref DIR --tune SET... --held SET...

SET is LABEL:KIND:OUTDIR:LOG as for kw_report.py (KIND free or gen; runs with
verify_min_llr -50 and, for figures without spotting, no spot lines). Every
(verifier, PASS) of the grid is recounted with kw_report.py's counted() and
`background RATE ALPHA MIN PASS` (--background RATE,ALPHA,MIN). The rule:
on the tuning sets, no counted target on any free set and the most true
targets over the gen sets; ties go to --prefer (verifier nearest, then PASS
nearest). The held-out sets are only read at the chosen setting and at
--prefer.
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
        label, kind, outdir, log = spec.split(":")[:4]
        if kind not in ("free", "gen"):
            sys.exit("kw_choose.py: %s: KIND must be free or gen" % spec)
        words, dur, den = K.load_set(outdir, log, targets)
        sets.append((label, kind, K.hits_at(words, targets), dur, den))
    return sets


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
    a = ap.parse_args()
    targets = K.load_lexicon(a.lexicon)
    rate, alpha, mn = a.background.split(",")
    bg = (float(rate), float(alpha), int(mn))
    pv, pp = (float(x) for x in a.prefer.split(","))
    verify = [None if x == "off" else float(x) for x in a.verify.split(",")]
    passes = [float(x) for x in a.pass_share.split(",")]
    tune = load(a.tune, targets)
    held = load(a.held, targets)
    best = None
    for v, p in itertools.product(verify, passes):
        fig = figures(tune, targets, a.gen_ref, v, p, bg)
        if any(f[0] == "free" and f[1] for f in fig.values()):
            continue
        tp = sum(f[1] for f in fig.values() if f[0] == "gen")
        vv = -50.0 if v is None else v
        key = (tp, -abs(vv - pv), -abs(p - pp))
        if best is None or key > best[0]:
            best = (key, v, p)
    if best is None:
        print("no setting of the grid counts no target on the tuning free sets")
    rows = ([("chosen on the tuning sets", best[1], best[2])] if best else [])
    rows.append(("preferred (--prefer)", pv, pp))
    for name, v, p in rows:
        print("%s: verify %s, PASS %g" % (name, "off" if v is None else "%g" % v, p))
        print("  tuning:   " + show(figures(tune, targets, a.gen_ref, v, p, bg)))
        if held:
            print("  held out: " + show(figures(held, targets, a.gen_ref, v, p, bg)))
    if best is None:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
