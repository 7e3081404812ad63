#!/usr/bin/env python3
"""Compare the call events of a parley transcript.json with gen_call.py's
truth: every truth event found (same kind, start and end within --tol s,
ringback country, DTMF digits exact when --digits, no digits otherwise),
no event that the truth does not have, channel right when the stage saw
channels. With --segments: no speech segment inside an event span (later
stages skip them); with --expect-overlap the opposite (the control run
without ivr must have speech there, so the check can fail). Prints TAP."""
import argparse
import json
import sys


def ov(a0, a1, b0, b1):
    return max(0.0, min(a1, b1) - max(a0, b0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("transcript")
    ap.add_argument("truth")
    ap.add_argument("--tol", type=float, default=0.2)
    ap.add_argument("--digits", action="store_true")
    ap.add_argument("--segments", action="store_true")
    ap.add_argument("--expect-overlap", action="store_true")
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    t = json.load(open(a.transcript))
    truth = json.load(open(a.truth))
    lab = a.label or truth["audio"]
    bad = 0

    def tap(ok, what):
        nonlocal bad
        print("%s - %s: %s" % ("ok" if ok else "not ok", lab, what))
        bad += 0 if ok else 1

    talk_kinds = ("ivr_prompt", "music", "hold")
    if a.expect_overlap:
        segs = t.get("segments", [])
        spans = [e for e in truth["events"] if e["kind"] in talk_kinds]
        inside = sum(ov(s["start"], s["end"], e["start"], e["end"]) for s in segs for e in spans)
        tap(inside > 1.0, "without ivr, speech segments cover %.1f s of prompts/music (> 1 s)" % inside)
        return 1 if bad else 0
    ev = t.get("events")
    tap(isinstance(ev, list), "transcript.json has an events list")
    if not isinstance(ev, list):
        return 1
    used = [False] * len(ev)
    for te in truth["events"]:
        best = None
        for i, e in enumerate(ev):
            if used[i] or e["kind"] != te["kind"]:
                continue
            if abs(e["start"] - te["start"]) <= a.tol and abs(e["end"] - te["end"]) <= a.tol:
                best = i
                break
        what = "%s %.2f-%.2f" % (te["kind"], te["start"], te["end"])
        if best is None:
            near = [(e["kind"], round(e["start"], 2), round(e["end"], 2)) for e in ev
                    if ov(e["start"], e["end"], te["start"] - 1, te["end"] + 1) > 0]
            tap(False, "%s found within %.1f s (near: %s)" % (what, a.tol, near))
            continue
        used[best] = True
        e = ev[best]
        tap(True, "%s found (%.3f-%.3f)" % (what, e["start"], e["end"]))
        if e["channel"] != -1 or truth["channels"] == 1:
            tap(e["channel"] == te["channel"], "%s on channel %d (got %d)"
                % (what, te["channel"], e["channel"]))
        if te["kind"] == "ringback":
            tap(e.get("country") == te["country"], "%s country %s (got %s)"
                % (what, te["country"], e.get("country")))
        if te["kind"] == "dtmf":
            if a.digits:
                tap(e.get("digits") == te["digits"], "%s digits %s (got %s)"
                    % (what, te["digits"], e.get("digits")))
            else:
                tap("digits" not in e and e.get("count") == te["count"],
                    "%s: count %d and no digits stored by default" % (what, te["count"]))
    extra = [(e["kind"], round(e["start"], 2), round(e["end"], 2)) for i, e in enumerate(ev)
             if not used[i]]
    tap(not extra, "no event the truth does not have (extra: %s)" % extra)
    if a.segments:
        segs = t.get("segments", [])
        spans = [e for e in ev if e["kind"] in talk_kinds]
        inside = sum(ov(s["start"], s["end"], e["start"], e["end"]) for s in segs for e in spans)
        tap(len(segs) > 0 and inside < 0.01,
            "%d speech segments, %.2f s of them inside IVR prompts and music" % (len(segs), inside))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
