#!/usr/bin/env python3
"""check_remote_words.py OUT NAME REF_JSON [NAME REF_JSON ...] [--min-attrib F]
    [--engine NAME] [--label L] [--summary]

Checks that OUT/NAME/transcript.json holds exactly the scripted words of the
generated conversation REF_JSON (what tests/servers/fake_engines.py answers),
in order, and that the words are attributed to the diarized speakers: under
the best one-to-one mapping of parley speakers to script speakers, at least
F (default 0.9) of the words carry their utterance's speaker. Prints TAP lines
(with --summary: one line for all the recordings, naming the wrong ones).
"""
import argparse
import itertools
import json
import sys


def check_one(a, name, refpath, lines):
    tag = a.label or name
    ok = True

    def check(what, cond):
        nonlocal ok
        lines.append(("ok - " if cond else "not ok - ") + tag + ": " + what)
        ok = ok and cond

    try:
        t = json.load(open("%s/%s/transcript.json" % (a.out, name)))
    except (OSError, ValueError) as e:
        check("transcript.json readable (%s)" % e, False)
        return False
    ref = json.load(open(refpath))
    script = []
    for u in ref["utterances"]:
        for w in u["text"].split():
            script.append((w, u["speaker"], u["start"], u["end"]))
    got = [w["word"] for w in t["words"]]
    want = [w for w, _, _, _ in script]
    check("the server's words, in order (%d of %d)" % (len(got), len(want)), got == want)
    if a.engine:
        check("engine %s in transcript.json" % a.engine,
              t["engines"].get("stt_engine", {}).get("name") == a.engine)
    if got != want or not got:
        return ok
    spk = [w["speaker"] for w in t["words"]]
    mine = sorted(set(spk))
    theirs = sorted(set(s for _, s, _, _ in script))
    best = 0
    for perm in itertools.permutations(theirs, min(len(mine), len(theirs))):
        m = dict(zip(mine, perm))
        agree = sum(1 for i, s in enumerate(spk) if m.get(s) == script[i][1])
        best = max(best, agree)
    frac = best / len(spk)
    check("words attributed to the diarized speakers (%.0f%% agree, want %.0f%%)" %
          (100 * frac, 100 * a.min_attrib), frac >= a.min_attrib)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("pairs", nargs="+", help="NAME REF_JSON ...")
    ap.add_argument("--min-attrib", type=float, default=0.9)
    ap.add_argument("--engine")
    ap.add_argument("--label", default="")
    ap.add_argument("--summary", action="store_true")
    a = ap.parse_args()
    if len(a.pairs) % 2:
        ap.error("NAME REF_JSON pairs")
    bad = []
    for i in range(0, len(a.pairs), 2):
        lines = []
        if not check_one(a, a.pairs[i], a.pairs[i + 1], lines):
            bad.append(a.pairs[i])
        if not a.summary:
            print("\n".join(lines))
        elif bad and bad[-1] == a.pairs[i] and len(bad) <= 3:
            print("# " + "; ".join(l for l in lines if l.startswith("not ok")))
    if a.summary:
        n = len(a.pairs) // 2
        print(("ok - " if not bad else "not ok - ") + "%s%d recordings have the server's words "
              "exactly once%s" % (a.label + ": " if a.label else "", n,
                                  " (wrong: %s)" % " ".join(bad[:10]) if bad else ""))
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
