#!/usr/bin/env python3
"""Deterministic generator of synthetic telephone calls with exact ground truth:
call-progress tones (ringback, busy, congestion, SIT) of several countries, DTMF
key presses (ITU-T Q.23 pairs, Q.24 timing), a recorded IVR menu played twice,
an answering-machine beep, synthesised music (queue music, hold music) and a
conversation between an agent and a customer (overlaps, long silences).

Stereo: channel 0 = agent leg (IVR prompts, queue/hold music and the agent's
voice), channel 1 = customer leg (network tones, the beep, DTMF, the
customer's voice).  Mono: everything mixed; every channel in the truth is -1.

Speech comes from tests/gen/gen_conversation.py (imported: same voices, same
cache).  Python 3 standard library only; shells out to espeak-ng, Festival and
sox.  See tests/gen/README.md ("gen_call.py") and `gen_call.py --help`.
"""

import argparse
import array
import hashlib
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_conversation as gc  # noqa: E402

CALL_VERSION = 2     # bump when the layout or synthesis of calls changes
                     # 2: DTMF twist -6..+3 dB (Q.24 limits), sequences 3-4 s apart
SR = gc.SR           # working rate (16 kHz); --rate 8000 resamples at the end
SILENCE_MIN = 2.0    # s: a gap with nobody talking at least this long is a "silence"

# --------------------------------------------------------------------------
# Tone tables (frequencies in Hz, cadences in s: on, off, on, off, ...)
# ITU-T E.180 Supplement 2 and the national specifications (ANSI T1.401,
# BT SIN 350, ETSI TR 101 041 / CEPT, IDA Singapore, MCMC Malaysia, DoT India).
# 'mod' is the amplitude-modulation frequency ("425x24 Hz"), 0 = none.
# --------------------------------------------------------------------------

COUNTRIES = {
    "us": {"ringback": ((440, 480), 0, (2.0, 4.0)),
           "busy": ((480, 620), 0, (0.5, 0.5)),
           "congestion": ((480, 620), 0, (0.25, 0.25))},
    "uk": {"ringback": ((400, 450), 0, (0.4, 0.2, 0.4, 2.0)),
           "busy": ((400,), 0, (0.375, 0.375)),
           "congestion": ((400,), 0, (0.4, 0.35, 0.225, 0.525))},
    "eu": {"ringback": ((425,), 0, (1.0, 4.0)),
           "busy": ((425,), 0, (0.5, 0.5)),
           "congestion": ((425,), 0, (0.25, 0.25))},
    "sg": {"ringback": ((425,), 24, (0.4, 0.2, 0.4, 2.0)),
           "busy": ((425,), 0, (0.75, 0.75)),
           "congestion": ((425,), 0, (0.25, 0.25))},
    "my": {"ringback": ((425,), 0, (0.4, 0.2, 0.4, 2.0)),
           "busy": ((425,), 0, (0.5, 0.5)),
           "congestion": ((425,), 0, (0.25, 0.25))},
    "in": {"ringback": ((400,), 25, (0.4, 0.2, 0.4, 2.0)),
           "busy": ((400,), 0, (0.75, 0.75)),
           "congestion": ((400,), 0, (0.25, 0.25))},
}
# Special information tone: three rising tones then 1 s of silence.
# ITU-T Q.35/E.180: 950, 1400, 1800 Hz, 330 ms each.  North America (ANSI
# T1.401, "intercept"): 913.8 (274 ms), 1370.6 (274 ms), 1776.7 Hz (380 ms).
SIT_ITU = ((950.0, 0.330), (1400.0, 0.330), (1800.0, 0.330))
SIT_US = ((913.8, 0.274), (1370.6, 0.274), (1776.7, 0.380))

DTMF_ROWS = (697, 770, 852, 941)
DTMF_COLS = (1209, 1336, 1477, 1633)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")

TONE_DBFS = -20.0     # per component of a call-progress tone (RMS)
IVR_VOICE = gc.Voice("espeak", "en-us+f2", 55, 150)   # not one of the conversation voices
AGENT_VOICE = gc.DEFAULT_VOICES[0]      # Festival kal
CUSTOMER_VOICE = gc.DEFAULT_VOICES[1]   # Festival HTS slt

IVR_MENU = ("Thank you for calling Parley Bank. For accounts and balances, press one. "
            "For cards, press two. For loans, press three. To repeat this menu, press nine.")
HOLD_IN = "Please hold while I check that for you."
HOLD_OUT = "Thank you for holding."

KINDS = ("ringback", "busy", "congestion", "sit", "beep", "ivr_prompt", "dtmf", "music", "hold")


def db_amp(dbfs):
    """Peak amplitude (s16) of a sine whose RMS is dbfs."""
    return math.sqrt(2.0) * 32768.0 * 10 ** (dbfs / 20.0)


def fade_env(n, i, ramp):
    if i < ramp:
        return 0.5 - 0.5 * math.cos(math.pi * (i + 0.5) / ramp)
    if i >= n - ramp:
        return 0.5 - 0.5 * math.cos(math.pi * (n - i - 0.5) / ramp)
    return 1.0


def tone(freqs, dur, amps, mod=0.0, phase=0.0, ramp=0.004):
    """Sum of sines (list of floats), raised-cosine ramps; mod = 100% AM frequency."""
    n = int(round(dur * SR))
    r = max(1, min(int(ramp * SR), n // 2))
    out = [0.0] * n
    ws = [2 * math.pi * f / SR for f in freqs]
    wm = 2 * math.pi * mod / SR
    for i in range(n):
        v = 0.0
        for w, a in zip(ws, amps):
            v += a * math.sin(w * i + phase)
        if mod:
            v *= 0.5 + 0.5 * math.sin(wm * i)
        out[i] = v * fade_env(n, i, r)
    return out


# --------------------------------------------------------------------------
# Music: a synthesised loop (chords, bass, melody) tiled to the length wanted
# --------------------------------------------------------------------------

NOTE_A4 = 440.0
MAJOR = (0, 2, 4, 5, 7, 9, 11)
PROGRESSIONS = ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 4), (5, 3, 0, 4))  # scale degrees


def midi_hz(m):
    return NOTE_A4 * 2 ** ((m - 69) / 12.0)


def wavetable(partials, size=2048):
    t = [0.0] * size
    for k, a in partials:
        for i in range(size):
            t[i] += a * math.sin(2 * math.pi * k * i / size)
    peak = max(abs(v) for v in t) or 1.0
    return [v / peak for v in t]


def add_note(buf, start, dur, hz, amp, table, attack=0.01, release=0.08):
    n = int(dur * SR)
    size = len(table)
    step = hz * size / SR
    ph = 0.0
    na, nr = max(1, int(attack * SR)), max(1, int(release * SR))
    end = min(len(buf), start + n)
    for i in range(start, end):
        j = i - start
        if j < na:
            e = j / na
        elif j > n - nr:
            e = max(0.0, (n - j) / nr)
        else:
            e = 1.0 - 0.3 * (j - na) / n     # gentle decay
        buf[i] += amp * e * table[int(ph) % size]
        ph += step


def music_loop(seed, cache_dir):
    """One loop (4 bars) of synthesised music, list of floats at SR, RMS ~ -22 dBFS.
    Cached by its parameters (the loop is the costly part)."""
    rng = random.Random("parley-music:%d" % seed)
    key = rng.randrange(-5, 7)          # tonic = C4 + key
    bpm = rng.choice((84, 92, 100, 108, 116))
    prog = rng.choice(PROGRESSIONS)
    beat = 60.0 / bpm
    tonic = 60 + key
    h = hashlib.sha1(json.dumps([CALL_VERSION, "music", seed, key, bpm, prog]).encode()).hexdigest()
    path = os.path.join(cache_dir, "music", h + ".f32")
    if os.path.exists(path):
        a = array.array("f")
        with open(path, "rb") as f:
            a.frombytes(f.read())
        return list(gc.to_le(a))
    bar = 4 * beat
    n = int(round(4 * bar * SR))
    buf = [0.0] * n
    pad = wavetable([(1, 1.0), (2, 0.45), (3, 0.25), (4, 0.12)])
    lead = wavetable([(1, 1.0), (2, 0.6), (3, 0.4), (5, 0.2), (7, 0.1)])
    bass = wavetable([(1, 1.0), (2, 0.3)])

    def scale_note(deg):
        octave, d = divmod(deg, 7)
        return tonic + 12 * octave + MAJOR[d]

    for b, deg in enumerate(prog):
        t0 = int(round(b * bar * SR))
        for k in (0, 2, 4):                       # triad
            add_note(buf, t0, bar * 0.98, midi_hz(scale_note(deg + k)), 0.10, pad,
                     attack=0.03, release=0.15)
        add_note(buf, t0, bar * 0.98, midi_hz(scale_note(deg) - 12), 0.16, bass,
                 attack=0.02, release=0.1)
        # melody: chord tones and neighbours, eighth/quarter notes
        t = 0.0
        while t < 4 * beat - 1e-6:
            d = rng.choice((0.5, 1.0, 1.0, 0.5, 1.5)) * beat
            d = min(d, 4 * beat - t)
            step = rng.choice((0, 2, 4, 7, 1, 3))
            add_note(buf, t0 + int(round(t * SR)), d * 0.95,
                     midi_hz(scale_note(deg + step) + 12), 0.14, lead, attack=0.01, release=0.05)
            t += d
    rms = math.sqrt(sum(v * v for v in buf) / n) or 1.0
    g = 32768.0 * 10 ** (-22.0 / 20.0) / rms
    buf = [v * g for v in buf]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(gc.to_le(array.array("f", buf)).tobytes())
    os.replace(tmp, path)
    return buf


def music(seed, dur, cache_dir):
    loop = music_loop(seed, cache_dir)
    n = int(round(dur * SR))
    out = [loop[i % len(loop)] for i in range(n)]
    r = int(0.05 * SR)
    for i in range(min(r, n // 2)):
        w = (i + 0.5) / r
        out[i] *= w
        out[n - 1 - i] *= w
    return out


# --------------------------------------------------------------------------
# Call layout
# --------------------------------------------------------------------------

class Call:
    def __init__(self, channels):
        self.stereo = channels == 2
        self.ch = [[], []]
        self.events = []
        self.turns = []

    def ensure(self, n):
        for c in self.ch:
            if len(c) < n:
                c.extend([0.0] * (n - len(c)))

    def put(self, ch, start, samples):
        self.ensure(start + len(samples))
        buf = self.ch[ch]
        for i, v in enumerate(samples):
            buf[start + i] += v

    def length(self):
        return len(self.ch[0])

    def event(self, kind, start, end, ch, **detail):
        e = {"kind": kind, "start": round(start / SR, 3), "end": round(end / SR, 3),
             "channel": ch if self.stereo else -1}
        e.update(detail)
        self.events.append(e)


def cadence_tone(call, ch, at, freqs, mod, cadence, cycles, amp_db, rng):
    """Plays `cycles` cadence periods, stopping after the last on-part of the
    last cycle (the call is answered in the pause).  Returns (start, end)."""
    amps = [db_amp(amp_db + rng.uniform(-1.0, 1.0)) for _ in freqs]
    t = at
    end = at
    for c in range(cycles):
        for k in range(0, len(cadence), 2):
            on = tone(freqs, cadence[k], amps, mod)
            call.put(ch, t, on)
            end = t + len(on)
            t = end
            last = c == cycles - 1 and k + 2 >= len(cadence)
            if not last:
                t += int(round(cadence[k + 1] * SR))
    return at, end


def sit_tone(call, ch, at, country, repeats):
    seq = SIT_US if country == "us" else SIT_ITU
    t = at
    end = at
    for r in range(repeats):
        for hz, d in seq:
            x = tone((hz,), d, (db_amp(-18.0),))
            call.put(ch, t, x)
            end = t = t + len(x)
        if r + 1 < repeats:
            t += SR          # 1 s silence between repeats
    return at, end


def dtmf_seq(call, ch, at, digits, rng):
    """Key presses with Q.24-valid timing: tone 60-150 ms, pause 70-400 ms,
    low-group level -12..-18 dBFS, twist (high - low) -6..+3 dB."""
    t = at
    low = rng.uniform(-18.0, -12.0)
    twist = rng.uniform(-6.0, 3.0)
    presses = []
    for i, d in enumerate(digits):
        r = next(k for k, row in enumerate(DTMF_KEYS) if d in row)
        c = DTMF_KEYS[r].index(d)
        dur = rng.uniform(0.060, 0.150)
        x = tone((DTMF_ROWS[r], DTMF_COLS[c]), dur,
                 (db_amp(low), db_amp(low + twist)), ramp=0.002)
        call.put(ch, t, x)
        presses.append({"digit": d, "start": round(t / SR, 3), "end": round((t + len(x)) / SR, 3)})
        end = t + len(x)
        t = end + int(rng.uniform(0.070, 0.400) * SR)
    call.event("dtmf", at, end, ch if call.stereo else -1, digits=digits, count=len(digits),
               presses=presses)
    return end


def s16(x):
    return [float(v) for v in x]


def build(args, log):
    rng = random.Random("parley-call:%d" % args.seed)
    cache = args.cache_dir or os.environ.get("PARLEY_GEN_CACHE") or os.path.join(args.out, ".cache")
    synth = gc.Synth(cache, args.jobs, log)
    call = Call(args.channels)
    AG, CU = 0, 1                           # channel of the agent / the customer leg
    t = int(round(rng.uniform(0.3, 0.8) * SR))
    country = args.country

    # ---- failed attempts first (as if redialled): busy / congestion / SIT
    for kind in args.tones:
        if kind == "sit":
            a, b = sit_tone(call, CU, t, country, 2)
        else:
            freqs, mod, cad = COUNTRIES[country][kind]
            cycles = max(2, int(math.ceil(3.0 / sum(cad))))
            a, b = cadence_tone(call, CU, t, freqs, mod, cad, cycles, TONE_DBFS, rng)
        call.event(kind, a, b, CU, country=country)
        t = b + int(rng.uniform(0.8, 1.5) * SR)

    # ---- ringback
    if args.ringback:
        freqs, mod, cad = COUNTRIES[country]["ringback"]
        cycles = args.ringback
        a, b = cadence_tone(call, CU, t, freqs, mod, cad, cycles, TONE_DBFS, rng)
        call.event("ringback", a, b, CU, country=country)
        t = b + int(rng.uniform(0.5, 1.2) * SR)

    # ---- answering-machine beep
    if args.beep:
        hz = rng.choice((440.0, 800.0, 1000.0, 1400.0, 1800.0)) + rng.uniform(-10, 10)
        dur = rng.uniform(0.25, 1.0)
        x = tone((hz,), dur, (db_amp(rng.uniform(-20.0, -12.0)),), ramp=0.005)
        call.put(CU, t, x)
        call.event("beep", t, t + len(x), CU, freq=round(hz, 1))
        t += len(x) + int(rng.uniform(0.6, 1.2) * SR)

    # ---- recorded IVR menu, played twice (identically), then the key press
    if args.ivr_prompt:
        synth.ensure([(IVR_VOICE, IVR_MENU)])
        p = s16(synth.get(IVR_VOICE, IVR_MENU))
        for rep in range(2):
            call.put(AG, t, p)
            call.event("ivr_prompt", t, t + len(p), AG, text=" ".join(gc.normalise(IVR_MENU)),
                       prompt="menu", play=rep + 1)
            t += len(p) + int(rng.uniform(1.5, 2.5) * SR)

    if args.dtmf:
        for k, digits in enumerate(args.dtmf.split(",")):
            end = dtmf_seq(call, CU, t, digits, rng)
            t = end + int(rng.uniform(3.0, 4.0) * SR)   # sequences >= 3 s apart

    # ---- queue music before the agent answers
    if args.queue > 0:
        x = music(args.seed * 2 + 1, args.queue, cache)
        call.put(AG, t, x)
        call.event("music", t, t + len(x), AG)
        t += len(x) + int(rng.uniform(0.5, 1.0) * SR)

    # ---- conversation
    conv_start = t
    total_conv = int(round(args.minutes * 60 * SR))
    planner = gc.Planner(args.seed, 2, args.singlish)
    plan = []
    est = 0
    while est < total_conv * 1.3 or len(plan) < 4:
        plan.append(planner.next())
        est += int(2.3 * SR)
    hold_after = len(plan) // 2 if args.hold > 0 else None
    voices = (AGENT_VOICE, CUSTOMER_VOICE)
    reqs = [(voices[s], gc.tts_text(txt)) for s, txt in plan]
    if args.hold > 0:
        reqs += [(AGENT_VOICE, HOLD_IN), (AGENT_VOICE, HOLD_OUT)]
    synth.ensure(reqs)
    rt = random.Random("parley-call-time:%d" % args.seed)
    prev_end = {0: 0, 1: 0}
    last = None               # (start, end, spk) of the previous turn
    cur = conv_start
    items = []
    for i, (spk, txt) in enumerate(plan):
        items.append((spk, txt))
        if hold_after is not None and i == hold_after:
            items += [(0, HOLD_IN), ("hold", None), (0, HOLD_OUT)]
    for spk, txt in items:
        if spk == "hold":
            a = cur + int(0.4 * SR)
            x = music(args.seed * 2 + 2, args.hold, cache)
            call.put(AG, a, x)
            call.event("hold", a, a + len(x), AG)
            cur = a + len(x) + int(0.4 * SR)
            last = None
            continue
        tts = txt if txt in (HOLD_IN, HOLD_OUT) else gc.tts_text(txt)
        audio = s16(synth.get(voices[spk], tts))
        dur = len(audio)
        if last is None:
            start = cur
        elif last[2] != spk and rt.random() < args.overlap:
            ov = rt.uniform(0.3, 0.9) * SR
            ov = min(ov, 0.5 * (last[1] - last[0]), 0.5 * dur)
            start = max(prev_end[spk], last[1] - int(round(ov)))
        elif rt.random() < args.long_silences:
            start = last[1] + int(round(rt.uniform(SILENCE_MIN + 0.5, SILENCE_MIN + 3.0) * SR))
        else:
            start = last[1] + int(round(rt.uniform(args.pause_min, args.pause_max) * SR))
        if start + dur > conv_start + total_conv and len(call.turns) >= 4 and txt not in (HOLD_IN, HOLD_OUT):
            break
        call.put(spk if call.stereo else 0, start, audio)
        call.turns.append({"start": round(start / SR, 3), "end": round((start + dur) / SR, 3),
                           "speaker": "spk%d" % (spk + 1), "role": ("agent", "customer")[spk],
                           "channel": spk if call.stereo else -1,
                           "text": " ".join(gc.normalise(txt))})
        prev_end[spk] = start + dur
        if last is None or start + dur >= last[1]:
            last = (start, start + dur, spk)
        cur = max(cur, start + dur)
    total = max(call.length(), cur) + int(round(rng.uniform(0.5, 1.0) * SR))
    call.ensure(total)
    call.events.sort(key=lambda e: (e["start"], e["kind"]))
    call.turns.sort(key=lambda u: (u["start"], u["speaker"]))
    return call, total, synth


# --------------------------------------------------------------------------
# Metrics truth (definitions shared with the metrics stage; H-chan may refine)
# --------------------------------------------------------------------------

def union(iv):
    out = []
    for a, b in sorted(iv):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def total_len(iv):
    return sum(b - a for a, b in iv)


def intersect(x, y):
    out, i, j = [], 0, 0
    while i < len(x) and j < len(y):
        a, b = max(x[i][0], y[j][0]), min(x[i][1], y[j][1])
        if a < b:
            out.append([a, b])
        if x[i][1] < y[j][1]:
            i += 1
        else:
            j += 1
    return out


def metrics_truth(turns, events, duration, silence_min=SILENCE_MIN, interrupt_yield=2.0):
    """The figures of core/call_metrics.h (the metrics stage), from the true
    turns and events; definitions there. Per role: talk_time (union of the
    role's turns), talk_share (of the summed talk), turns (consecutive turns
    of a role are one unless the other role talked between them or the pause
    is a silence), words, wpm (words / talk minutes), mean_turn (talk_time /
    turns). Call: overlap_time (both roles talking), silences (gaps >=
    silence_min with nobody talking and no event going on, between the first
    and the last turn), interruptions (B starts while A talks, A stops within
    interrupt_yield s while B still talks; start = B's start, end = A's
    stop), hold_time/hold_count (events "hold"), ivr_time (first ivr_prompt
    or dtmf start to the last one's end), agent_first_word (first agent turn
    start)."""
    out = {}
    talk = {}
    for role in ("agent", "customer"):
        ts = [u for u in turns if u["role"] == role]
        iv = union([[u["start"], u["end"]] for u in ts])
        tt = total_len(iv)
        words = sum(len(u["text"].split()) for u in ts)
        talk[role] = iv
        out[role] = {"talk_time": round(tt, 3), "words": words,
                     "wpm": round(words / (tt / 60.0), 2) if tt > 0 else 0.0}
    for role, other in (("agent", "customer"), ("customer", "agent")):
        n = 0
        for k, (a, b) in enumerate(talk[role]):
            if k == 0:
                n += 1
                continue
            gap = [[talk[role][k - 1][1], a]]
            if a - gap[0][0] >= silence_min or intersect(gap, talk[other]):
                n += 1
        out[role]["turns"] = n
        out[role]["mean_turn"] = round(out[role]["talk_time"] / n, 3) if n else 0.0
    s = out["agent"]["talk_time"] + out["customer"]["talk_time"]
    for role in ("agent", "customer"):
        out[role]["talk_share"] = round(out[role]["talk_time"] / s, 4) if s > 0 else 0.0
    overlap = intersect(talk["agent"], talk["customer"])
    anyone = union(talk["agent"] + talk["customer"])
    busy = union([[e["start"], e["end"]] for e in events])
    holds = [[e["start"], e["end"]] for e in events if e["kind"] == "hold"]
    silences = []
    for k in range(1, len(anyone)):
        cur, b = anyone[k - 1][1], anyone[k][0]
        for ea, eb in busy + [[b, b]]:
            if eb <= cur:
                continue
            stop = min(ea, b)
            if stop - cur >= silence_min:
                silences.append({"start": round(cur, 3), "end": round(stop, 3)})
            cur = max(cur, eb)
            if cur >= b:
                break
    inter = []
    for role, other in (("agent", "customer"), ("customer", "agent")):
        for rb in talk[role]:
            for ra in talk[other]:
                if ra[0] < rb[0] < ra[1] and ra[1] <= rb[0] + interrupt_yield and rb[1] > ra[1]:
                    inter.append({"start": round(rb[0], 3), "end": round(ra[1], 3),
                                  "by": role, "of": other})
    ivr = [[e["start"], e["end"]] for e in events if e["kind"] in ("ivr_prompt", "dtmf")]
    agent_turns = [u["start"] for u in turns if u["role"] == "agent"]
    out["call"] = {
        "duration": round(duration, 3),
        "silence_min": silence_min,
        "interrupt_yield": interrupt_yield,
        "talk_time": round(total_len(anyone), 3),
        "overlap_time": round(total_len(overlap), 3),
        "silences": silences,
        "interruptions": sorted(inter, key=lambda x: x["start"]),
        "hold_time": round(total_len(holds), 3),
        "hold_count": len(holds),
        "ivr_time": round(max(b for a, b in ivr) - min(a for a, b in ivr), 3) if ivr else 0.0,
        "agent_first_word": min(agent_turns) if agent_turns else None,
    }
    return out


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def add_noise(call, total, snr, seed):
    """White Gaussian noise per channel, SNR against the speech power (turns)."""
    rng = random.Random("parley-call-noise:%d" % seed)
    s2, n = 0.0, 0
    for u in call.turns:
        ch = u["channel"] if call.stereo else 0
        a, b = int(u["start"] * SR), int(u["end"] * SR)
        seg = call.ch[ch][a:b]
        s2 += sum(v * v for v in seg)
        n += len(seg)
    p = s2 / max(1, n) if n else (32768 * 0.06) ** 2
    sigma = math.sqrt(p / 10 ** (snr / 10.0))
    for c in range(2 if call.stereo else 1):
        buf = call.ch[c]
        g = rng.gauss
        for i in range(total):
            buf[i] += g(0.0, sigma)


def write_output(args, call, total, tmp):
    nch = 2 if call.stereo else 1
    if not call.stereo:
        m0, m1 = call.ch
        call.ch[0] = [m0[i] + m1[i] for i in range(total)]
    if args.crosstalk is not None and call.stereo:
        g = 10 ** (args.crosstalk / 20.0)
        d = int(0.03 * SR)
        a, b = call.ch[0][:], call.ch[1][:]
        for i in range(d, total):
            call.ch[0][i] += g * b[i - d]
            call.ch[1][i] += g * a[i - d]
    if args.snr is not None:
        add_noise(call, total, args.snr, args.seed)
    peak = max(max(abs(v) for v in call.ch[c][:total]) for c in range(nch)) or 1.0
    gain = min(1.0, 32000.0 / peak)
    inter = array.array("h", bytes(2 * total * nch))
    for c in range(nch):
        buf = call.ch[c]
        for i in range(total):
            inter[i * nch + c] = int(round(buf[i] * gain))
    raw = os.path.join(tmp, "call16.wav")
    with wave.open(raw, "wb") as w:
        w.setnchannels(nch)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(gc.to_le(inter).tobytes())
    final = os.path.join(args.out, args.name + ".wav")
    if args.rate == 8000 or args.telephone:
        mu = os.path.join(tmp, "mu.wav")
        gc.run(["sox", "-D", "-R", raw, "-e", "u-law", "-b", "8", mu, "sinc", "300-3400",
                "rate", "8000"])
        out = os.path.join(tmp, "tel.wav")
        cmd = ["sox", "-D", "-R", mu, "-e", "signed-integer", "-b", "16", out]
        if args.rate != 8000:
            cmd += ["rate", str(args.rate)]
        gc.run(cmd)
        raw = out
    part = "%s.%d.tmp" % (final, os.getpid())  # tests may generate the same call at once
    shutil.copyfile(raw, part)
    os.replace(part, final)
    return final, gain


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Generate a deterministic synthetic telephone call (tones, DTMF, IVR "
                    "prompt, music, beep, agent/customer conversation) with exact truth.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Writes NAME.wav (s16, --channels, --rate) and NAME.truth.json; see "
               "tests/gen/README.md.  Countries: %s." % ", ".join(sorted(COUNTRIES)))
    ap.add_argument("--out", required=True, metavar="DIR")
    ap.add_argument("--name", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--channels", type=int, choices=(1, 2), default=2,
                    help="2: agent leg on channel 0, customer leg on 1; 1: mixed (default 2)")
    ap.add_argument("--rate", type=int, choices=(8000, 16000), default=16000,
                    help="8000 implies the telephone channel (300-3400 Hz, G.711 mu-law)")
    ap.add_argument("--telephone", action="store_true",
                    help="at 16 kHz: 300-3400 Hz band and mu-law too")
    ap.add_argument("--country", choices=sorted(COUNTRIES), default="us")
    ap.add_argument("--ringback", type=int, default=2, metavar="CYCLES",
                    help="ringback cadence cycles before the answer, 0 = none (default 2)")
    ap.add_argument("--tones", default="",
                    help="comma list of busy,congestion,sit played first (failed attempts)")
    ap.add_argument("--dtmf", default="",
                    help="key presses after the IVR menu; commas separate sequences "
                         "(e.g. 2,1234#)")
    ap.add_argument("--ivr-prompt", action="store_true",
                    help="a recorded IVR menu (espeak-ng voice) played twice, identically")
    ap.add_argument("--queue", type=float, default=0.0, metavar="SECONDS",
                    help="music before the agent answers (event kind music)")
    ap.add_argument("--hold", type=float, default=0.0, metavar="SECONDS",
                    help="hold music in the middle of the conversation (event kind hold)")
    ap.add_argument("--beep", action="store_true", help="an answering-machine beep")
    ap.add_argument("--snr", type=float, default=None, metavar="DB",
                    help="white noise on every channel at this SNR (speech power)")
    ap.add_argument("--crosstalk", type=float, default=None, metavar="DB",
                    help="stereo: each channel leaks into the other at this level, 30 ms late")
    ap.add_argument("--minutes", type=float, default=1.0,
                    help="length of the conversation part (default 1.0)")
    ap.add_argument("--overlap", type=float, default=0.15,
                    help="fraction of speaker changes that overlap 0.3-0.9 s (default 0.15)")
    ap.add_argument("--long-silences", type=float, default=0.08,
                    help="fraction of gaps that are silences of 2.5-5 s (default 0.08)")
    ap.add_argument("--pause-min", type=float, default=0.2)
    ap.add_argument("--pause-max", type=float, default=1.0)
    ap.add_argument("--singlish", type=float, default=0.3)
    ap.add_argument("--cache-dir", help="synthesis cache (default $PARLEY_GEN_CACHE or DIR/.cache)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", args.name):
        ap.error("--name must be [A-Za-z0-9_.-]+")
    if args.dtmf and not re.fullmatch(r"[0-9A-D*#]+(,[0-9A-D*#]+)*", args.dtmf):
        ap.error("--dtmf: digits 0-9 A-D * #, sequences separated by commas")
    args.tones = [x for x in args.tones.split(",") if x]
    for x in args.tones:
        if x not in ("busy", "congestion", "sit"):
            ap.error("--tones: busy, congestion or sit")
    if args.ringback < 0 or args.hold < 0 or args.queue < 0 or args.minutes <= 0:
        ap.error("--ringback, --hold, --queue must be >= 0 and --minutes > 0")
    os.makedirs(args.out, exist_ok=True)
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    try:
        call, total, _ = build(args, log)
        tmp = tempfile.mkdtemp(prefix="parley_call_")
        try:
            final, gain = write_output(args, call, total, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except RuntimeError as e:
        print("gen_call.py: error: %s" % e, file=sys.stderr)
        sys.exit(1)
    duration = total / SR
    truth = {
        "generator": "tests/gen/gen_call.py", "version": CALL_VERSION, "seed": args.seed,
        "audio": os.path.basename(final), "duration": round(duration, 3), "rate": args.rate,
        "channels": args.channels, "country": args.country,
        "roles": {"0": "agent", "1": "customer"} if args.channels == 2 else {},
        "voices": {"agent": AGENT_VOICE.describe(), "customer": CUSTOMER_VOICE.describe(),
                   "ivr": IVR_VOICE.describe()},
        "options": {k: v for k, v in vars(args).items()
                    if k not in ("out", "cache_dir", "jobs", "quiet")},
        "events": call.events,
        "turns": call.turns,
        "metrics": metrics_truth(call.turns, call.events, duration),
    }
    truth_path = os.path.join(args.out, args.name + ".truth.json")
    part = "%s.%d.tmp" % (truth_path, os.getpid())
    with open(part, "w") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")
    os.replace(part, truth_path)
    log("%s: %.1f s, %d ch, %d Hz, %d events, %d turns"
        % (os.path.basename(final), duration, args.channels, args.rate, len(call.events),
           len(call.turns)))


if __name__ == "__main__":
    main()
