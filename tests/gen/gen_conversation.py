#!/usr/bin/env python3
"""Deterministic generator of synthetic multi-speaker conversations with exact
ground truth (speaker turns, transcripts, target-word counts, optional
per-word timings).  Python 3 standard library only; shells out to espeak-ng,
Festival, sox and (for noise / compressed output) ffmpeg.

See tests/gen/README.md and `gen_conversation.py --help`.
"""

import argparse
import array
import hashlib
import json
import math
import operator
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from concurrent.futures import ThreadPoolExecutor

GEN_VERSION = 2          # bump when the synthesis/trim/normalise output changes
TEXT_VERSION = 2         # bump when the sentence lists change (same seed, new text);
                         # 2: sentences with aiyo, lepak, tapau, sibei
SR = 16000               # working sample rate
FRAME = 80               # 5 ms analysis frames for trimming
TRIM_REL_DB = 40.0       # trim threshold: this far below the loudest frame ...
TRIM_ABS_DBFS = -65.0    # ... but never below this absolute level
FEST_MARGIN = 0.03       # s kept around Festival's first/last phone before energy trim
TARGET_RMS = 0.06 * 32768   # per-utterance RMS after normalisation (~ -24.4 dBFS)
PEAK_MAX = 0.5 * 32768      # per-utterance peak limit (-6 dBFS): two overlapped never clip
FADE = 32                # 2 ms fade-in/out on every synthesised unit
LEAD_IN = 0.5            # s of silence before the first utterance
TAIL = 0.5               # s of silence after the last utterance (--turns)
MIN_TAIL = 0.3           # s minimum silence at the end (--minutes)

# --------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------

TARGETS = ["lah", "lor", "leh", "meh", "sia", "hor", "walao", "shiok", "paiseh",
           "alamak", "bojio", "kiasu", "sian", "makan", "jialat", "chope",
           "aiyo", "lepak", "tapau", "sibei"]

# How the synthesizers should be told to say the target words.  The reference
# transcript always uses the canonical spelling (the key).
RESPELL = {
    "lah": "lah", "lor": "lore", "leh": "leh", "meh": "meh", "sia": "see ah",
    "hor": "hor", "walao": "wah lao", "shiok": "she awk", "paiseh": "pie say",
    "alamak": "ah lah mahk", "bojio": "bo jee oh", "kiasu": "kee ah sue",
    "sian": "see ahn", "makan": "mah kahn", "jialat": "jee ah laht",
    "chope": "chope", "aiyo": "eye yo", "lepak": "leh pahk", "tapau": "tah pow",
    "sibei": "see bay",
}

EVERYDAY = [
    "The weather is really nice today.",
    "I will meet you at the train station later.",
    "Can you pass me the salt please?",
    "We should book the tickets before they sell out.",
    "My brother just bought a new car.",
    "The meeting has been moved to Thursday afternoon.",
    "Please remember to water the plants.",
    "She walked the dog around the park.",
    "Dinner will be ready in about ten minutes.",
    "I think it might rain this evening.",
    "Have you seen my keys anywhere?",
    "The library closes at nine on weekdays.",
    "We need more milk and some bread.",
    "He is working from home this week.",
    "Could you send me the report by Friday?",
    "The children are playing in the garden.",
    "Let me know when you arrive.",
    "I usually take the bus to work.",
    "That movie was much better than I expected.",
    "Our flight leaves early tomorrow morning.",
    "Please close the window, it is getting cold.",
    "The new restaurant downtown is very popular.",
    "I forgot to charge my phone last night.",
    "She is learning to play the piano.",
    "We painted the kitchen light blue.",
    "The printer on the second floor is broken.",
    "Can we move the call to next week?",
    "I would like a cup of coffee please.",
    "The garden looks lovely in the spring.",
    "He forgot his umbrella at the office.",
    "Turn left at the next traffic light.",
    "My sister lives near the beach.",
    "The shop around the corner sells fresh fruit.",
    "We had a great time at the party.",
    "Please keep the noise down after ten.",
    "The package should arrive on Monday.",
    "I am going to the gym after work.",
    "Do you want to watch a film tonight?",
    "The soup needs a little more pepper.",
    "The people next door are moving away.",
    "I left my jacket in the car.",
    "The train was delayed by twenty minutes.",
    "Could you help me carry these boxes?",
    "She always reads before going to sleep.",
    "The cat is sleeping on the sofa.",
    "We should leave now to avoid the traffic.",
    "My laptop is running very slowly today.",
    "The museum is free on Sunday mornings.",
    "He plays football with his friends every weekend.",
    "I need to buy a birthday present.",
    "The water in the lake is very clear.",
    "Please write your name at the top.",
    "The bakery sells the best bread in town.",
    "Let us take a short break.",
    "I cannot find the remote control.",
    "The hotel room had a wonderful view.",
    "She called her mother on the way home.",
    "We are planning a trip to the mountains.",
    "The doctor told him to rest for a week.",
    "I really enjoy the cool autumn evenings.",
    "The bus stop is just across the road.",
    "Remember to lock the door when you leave.",
    "He is reading a book about history.",
    "The concert starts at eight tonight.",
    "Could you turn the music down a little?",
    "I had eggs and toast for breakfast.",
    "The kids finished their homework early.",
    "We ran out of sugar again.",
    "The office will be closed on the holiday.",
    "She bought a new pair of running shoes.",
]

SINGLISH = [
    "Walao, this queue so long sia.",
    "The chicken rice here very shiok lah.",
    "Paiseh, I am late again.",
    "Alamak, I forgot my wallet at home.",
    "You all went for supper and bojio.",
    "Why you so kiasu, queue so early for what?",
    "Today work until so late, very sian.",
    "Let us go makan first lah.",
    "The traffic on the expressway jialat sia.",
    "Can you help me chope a seat?",
    "Okay lor, we meet at six then.",
    "You coming tonight or not leh?",
    "He really can finish everything meh?",
    "You already ate lunch, hor?",
    "Walao, the price went up again.",
    "This durian really shiok, you must try.",
    "Paiseh, can you repeat that again?",
    "Alamak, the train broke down again lah.",
    "Why you all go shopping bojio me?",
    "My mother very kiasu, always buy extra.",
    "Monday morning again, so sian.",
    "Where you want to makan tonight?",
    "His handwriting very jialat, cannot read at all.",
    "Use a tissue packet to chope the table.",
    "Cannot make it then never mind lor.",
    "Why you never tell me earlier leh?",
    "Is it really that expensive meh?",
    "This one very nice sia.",
    "Remember to bring umbrella hor, later rain.",
    "So hot today, cold drink very shiok.",
    "Walao, my phone battery die already.",
    "Sorry lah, I really forgot about it.",
    "Paiseh, I took the wrong order.",
    "Alamak, the lift is spoiled again.",
    "Everybody went to the beach, bojio.",
    "The kiasu parents already queued since morning.",
    "Waiting for the bus so long, very sian lor.",
    "After the meeting we go makan together.",
    "This exam very jialat, I never study.",
    "Go chope the seats first, I buy the drinks.",
    "You so smart, why never think of that leh?",
    "He can cook meh, I never see before.",
    "Tomorrow must wake up early hor.",
    "Walao, the food court so crowded today.",
    "The noodles here damn shiok sia.",
    "Do not be so kiasu lah, got enough for everyone.",
    "Alamak, paiseh, I spilled the coffee.",
    "Then how, the shop closed already lor.",
    "You want to makan at the hawker centre or not?",
    "Traffic jam again, so sian sia.",
    "Aiyo, why you never bring your jacket?",
    "Aiyo, the printer jam again.",
    "Aiyo, so late already, better go home.",
    "This weekend I just want to lepak at home.",
    "We always lepak at the void deck after school.",
    "Sunday we go lepak by the beach lah.",
    "Can you tapau one chicken rice for me?",
    "I tapau dinner already, no need to cook.",
    "The hawker let us tapau the soup also.",
    "Today the weather sibei hot.",
    "This bubble tea sibei nice, you must try.",
    "The queue at the clinic sibei long lor.",
]

_TARGET_RE = re.compile(r"\b(" + "|".join(sorted(TARGETS, key=len, reverse=True)) + r")\b",
                        re.IGNORECASE)


def normalise(sentence):
    """Reference form: lowercase words, no punctuation, canonical target spelling."""
    return re.sub(r"[^a-z]+", " ", sentence.lower()).split()


def tts_text(sentence):
    """Text handed to the synthesizer: target words replaced by respellings."""
    return _TARGET_RE.sub(lambda m: RESPELL[m.group(1).lower()], sentence)


def word_tts(word):
    return RESPELL.get(word, word)


def _check_text_lists():
    for lst, need_target in ((EVERYDAY, False), (SINGLISH, True)):
        for s in lst:
            w = normalise(s)
            assert 4 <= len(w) <= 12, s
            has = any(x in TARGETS for x in w)
            assert has == need_target, s
            assert re.fullmatch(r"[A-Za-z ,.?!]+", s), s
    assert len(EVERYDAY) >= 60 and len(SINGLISH) >= 40


# --------------------------------------------------------------------------
# Voices
# --------------------------------------------------------------------------

FESTIVAL_VOICES = {
    # name: (kind, voice's own Duration_Stretch, voice's own target_f0_mean, f0 std)
    "kal_diphone": ("diphone", 1.1, 105.0, 14.0),
    "ked_diphone": ("diphone", 1.1, 105.0, 15.0),
    "cmu_us_slt_arctic_hts": ("hts", None, None, None),
}


class Voice:
    """engine 'festival': pitch = target F0 mean in Hz (diphone voices only; None =
    voice default), rate = speed factor (1.0 = voice default, >1 faster).
    engine 'espeak': pitch = espeak-ng -p (0..99), rate = -s words per minute."""

    def __init__(self, engine, name, pitch=None, rate=None):
        self.engine, self.name = engine, name
        if engine == "festival":
            if name not in FESTIVAL_VOICES:
                raise ValueError("unknown Festival voice %r (have: %s)"
                                 % (name, ", ".join(FESTIVAL_VOICES)))
            if FESTIVAL_VOICES[name][0] == "hts":
                pitch = None         # no F0 control exposed for the HTS voice
            self.pitch = None if pitch is None else float(pitch)
            self.rate = 1.0 if rate is None else float(rate)
        elif engine == "espeak":
            self.pitch = 50 if pitch is None else int(pitch)
            self.rate = 160 if rate is None else int(rate)
        else:
            raise ValueError("unknown engine %r" % engine)

    def key(self):
        return [self.engine, self.name, self.pitch, self.rate]

    def describe(self):
        d = {"engine": self.engine, "voice": self.name, "pitch": self.pitch, "rate": self.rate}
        if self.engine == "festival":
            d["pitch_unit"] = "target F0 mean Hz (null = voice default)"
            d["rate_unit"] = "speed factor"
        else:
            d["pitch_unit"] = "espeak-ng -p"
            d["rate_unit"] = "espeak-ng -s (wpm)"
        return d

    def spec(self):
        p = "" if self.pitch is None else ("%g" % self.pitch)
        return "%s:%s:%s:%g" % (self.engine, self.name, p, self.rate)


# Default speaker order (median F0 measured on generated speech):
# 1 = low male, Festival kal ~90 Hz; 2 = female, Festival HTS slt ~175 Hz;
# 3 = male, Festival ked raised to ~127 Hz; 4 = espeak-ng US female ~245 Hz;
# 5 = espeak-ng British male ~110 Hz; 6 = espeak-ng female ~195 Hz, slow.
# Festival first: PocketSphinx recognises it far better than espeak-ng.
DEFAULT_VOICES = [
    Voice("festival", "kal_diphone", 90, 1.0),
    Voice("festival", "cmu_us_slt_arctic_hts", None, 1.0),
    Voice("festival", "ked_diphone", 125, 0.95),
    Voice("espeak", "en-us+f4", 80, 170),
    Voice("espeak", "en-gb+m1", 60, 150),
    Voice("espeak", "en+f3", 45, 145),
]


def parse_voices(spec):
    out = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        parts = item.split(":")
        if parts[0] in ("festival", "espeak"):
            engine, parts = parts[0], parts[1:]
        else:
            engine = "festival" if parts[0] in FESTIVAL_VOICES else "espeak"
        if not parts or not parts[0]:
            raise ValueError("bad voice spec %r" % item)
        name = parts[0]
        pitch = parts[1] if len(parts) > 1 and parts[1] not in ("", "-") else None
        rate = parts[2] if len(parts) > 2 and parts[2] not in ("", "-") else None
        out.append(Voice(engine, name, pitch, rate))
    return out


# --------------------------------------------------------------------------
# Audio helpers
# --------------------------------------------------------------------------

def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if p.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (
            p.returncode, " ".join(cmd), p.stderr.decode("utf-8", "replace")[-2000:]))
    return p


def to_le(a):
    if sys.byteorder == "big":
        a = array.array(a.typecode, a)
        a.byteswap()
    return a


def load_16k(path):
    """Any audio file -> array('h') at 16 kHz mono (sox, no dither)."""
    raw = run(["sox", "-D", "-R", path, "-t", "raw", "-e", "signed-integer", "-b", "16",
               "-c", "1", "-r", str(SR), "-"]).stdout
    a = array.array("h")
    a.frombytes(raw)
    return to_le(a)


def write_wav(path, samples, rate=SR):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(to_le(samples).tobytes())


def sumsq(x):
    return sum(map(operator.mul, x, x))


def frame_db(x, a, b):
    """10*log10 of mean square (in LSB^2) of x[a:b]."""
    n = b - a
    if n <= 0:
        return -100.0
    s = sumsq(x[a:b])
    return 10.0 * math.log10(s / n + 1e-9)


def trim(x, window=None):
    """Return (lo, hi) sample bounds of the speech in x by frame-energy threshold,
    searched inside window=(lo, hi) if given."""
    lo, hi = (0, len(x)) if window is None else window
    lo, hi = max(0, lo), min(len(x), hi)
    if hi - lo < FRAME:
        return lo, hi
    dbs = [frame_db(x, s, s + FRAME) for s in range(lo, hi - FRAME + 1, FRAME)]
    thr = max(max(dbs) - TRIM_REL_DB, TRIM_ABS_DBFS + 20 * math.log10(32768))
    idx = [i for i, d in enumerate(dbs) if d >= thr]
    if not idx:
        return lo, hi
    a = lo + idx[0] * FRAME
    b = min(hi, lo + (idx[-1] + 1) * FRAME)
    # sample-accurate refinement: first/last sample above 1/4 of the threshold amplitude
    amp = 0.25 * math.sqrt(10 ** (thr / 10.0))
    for i in range(a, min(b, a + FRAME)):
        if abs(x[i]) >= amp:
            a = i
            break
    for i in range(b - 1, max(a, b - FRAME) - 1, -1):
        if abs(x[i]) >= amp:
            b = i + 1
            break
    return a, b


def normalise_level(x):
    if not x:
        return x
    rms = math.sqrt(sumsq(x) / len(x))
    peak = max(max(x), -min(x))
    if rms <= 0 or peak <= 0:
        return x
    g = min(TARGET_RMS / rms, PEAK_MAX / peak)
    y = array.array("h", [int(round(v * g)) for v in x])
    # 2 ms raised-cosine fades: no clicks where a voice (e.g. espeak) stops abruptly
    n = min(FADE, len(y) // 2)
    for i in range(n):
        w = 0.5 - 0.5 * math.cos(math.pi * (i + 0.5) / n)
        y[i] = int(round(y[i] * w))
        y[-1 - i] = int(round(y[-1 - i] * w))
    return y


# --------------------------------------------------------------------------
# Synthesis with cache
# --------------------------------------------------------------------------

class Synth:
    def __init__(self, cache_dir, jobs, log):
        self.cache_dir = cache_dir
        self.jobs = max(1, jobs)
        self.log = log
        self.mem = {}
        self.n_synth = 0
        self.n_cached = 0
        self.t_synth = 0.0
        os.makedirs(cache_dir, exist_ok=True)

    def _key(self, voice, text):
        blob = json.dumps([GEN_VERSION, TRIM_REL_DB, TRIM_ABS_DBFS, FEST_MARGIN, TARGET_RMS,
                           PEAK_MAX, FADE, SR, voice.key(), text])
        return hashlib.sha1(blob.encode()).hexdigest()

    def _path(self, h):
        return os.path.join(self.cache_dir, h[:2], h + ".s16")

    def _store(self, h, samples):
        p = self._path(h)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        tmp = "%s.%d.%d.tmp" % (p, os.getpid(), id(samples))
        with open(tmp, "wb") as f:
            f.write(to_le(samples).tobytes())
        os.replace(tmp, p)

    def get(self, voice, text):
        return self.mem[self._key(voice, text)]

    def ensure(self, requests):
        """requests: iterable of (voice, text). Synthesises what is not cached."""
        t0 = time.time()
        pending = {}
        for voice, text in requests:
            h = self._key(voice, text)
            if h in self.mem or h in pending:
                continue
            p = self._path(h)
            if os.path.exists(p):
                a = array.array("h")
                with open(p, "rb") as f:
                    a.frombytes(f.read())
                self.mem[h] = to_le(a)
                self.n_cached += 1
            else:
                pending[h] = (voice, text)
        if not pending:
            return
        tasks = []
        fest = {}
        for h, (voice, text) in pending.items():
            if voice.engine == "festival":
                fest.setdefault(voice.spec(), []).append((h, voice, text))
            else:
                tasks.append(("espeak", [(h, voice, text)]))
        for items in fest.values():
            # Festival start-up dominates (~1 s): batch many texts per process.
            nchunk = max(1, min(self.jobs, len(items) // 12))
            for c in range(nchunk):
                chunk = items[c::nchunk]
                if chunk:
                    tasks.insert(0, ("festival", chunk))
        tmpdir = tempfile.mkdtemp(prefix="parley_gen_")
        try:
            with ThreadPoolExecutor(max_workers=self.jobs) as ex:
                futs = [ex.submit(self._run_task, kind, items, tmpdir, i)
                        for i, (kind, items) in enumerate(tasks)]
                for f in futs:
                    for h, samples in f.result():
                        self.mem[h] = samples
                        self._store(h, samples)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        self.n_synth += len(pending)
        self.t_synth += time.time() - t0

    def _run_task(self, kind, items, tmpdir, tid):
        if kind == "espeak":
            h, voice, text = items[0]
            wav = os.path.join(tmpdir, "e%d.wav" % tid)
            run(["espeak-ng", "-v", voice.name, "-p", str(voice.pitch), "-s", str(voice.rate),
                 "-w", wav, "--stdin"], input=text.encode())
            x = load_16k(wav)
            a, b = trim(x)
            return [(h, normalise_level(x[a:b]))]
        return self._festival(items, tmpdir, tid)

    def _festival(self, items, tmpdir, tid):
        voice = items[0][1]
        kind, stretch0, f0mean0, f0std0 = FESTIVAL_VOICES[voice.name]
        lines = [
            "(define (parley_bounds u)",
            "  (let ((st -1) (en -1))",
            "    (mapcar (lambda (s)",
            "      (if (not (string-equal (item.name s) \"pau\"))",
            "        (begin (if (< st 0) (set! st (item.feat s 'segment_start)))",
            "               (set! en (item.feat s 'end)))))",
            "      (utt.relation.items u 'Segment))",
            "    (list st en)))",
            "(define (parley_say id txt path)",
            "  (let ((u (eval (list 'Utterance 'Text txt))))",
            "    (utt.synth u)",
            "    (utt.save.wave u path 'riff)",
            "    (let ((b (parley_bounds u)))",
            "      (format t \"PARLEY %s %f %f\\n\" id (car b) (car (cdr b))))))",
            "(voice_%s)" % voice.name,
        ]
        if kind == "diphone":
            if voice.pitch is not None:
                std = f0std0 * voice.pitch / f0mean0
                lines.append("(set! int_lr_params '((target_f0_mean %.1f) (target_f0_std %.1f)"
                             " (model_f0_mean 170) (model_f0_std 34)))" % (voice.pitch, std))
            lines.append("(Parameter.set 'Duration_Stretch %.4f)" % (stretch0 / voice.rate))
        else:
            lines.append("(set! hts_engine_params (append hts_engine_params "
                         "(list (list \"-r\" %.4f))))" % voice.rate)
        wavs = {}
        for i, (h, _v, text) in enumerate(items):
            wav = os.path.join(tmpdir, "f%d_%d.wav" % (tid, i))
            wavs[h] = wav
            esc = text.replace("\\", "\\\\").replace('"', '\\"')
            lines.append('(parley_say "%s" "%s" "%s")' % (h, esc, wav))
        scm = os.path.join(tmpdir, "f%d.scm" % tid)
        with open(scm, "w") as f:
            f.write("\n".join(lines) + "\n")
        out = run(["festival", "--batch", scm]).stdout.decode("utf-8", "replace")
        bounds = {}
        for ln in out.splitlines():
            p = ln.split()
            if len(p) == 4 and p[0] == "PARLEY":
                bounds[p[1]] = (float(p[2]), float(p[3]))
        res = []
        for h, _v, text in items:
            if h not in bounds or not os.path.exists(wavs[h]):
                raise RuntimeError("festival produced no audio for %r\n%s" % (text, out[-2000:]))
            x = load_16k(wavs[h])
            st, en = bounds[h]
            win = None
            if st >= 0 and en > st:
                win = (int((st - FEST_MARGIN) * SR), int(math.ceil((en + FEST_MARGIN) * SR)))
            a, b = trim(x, win)
            res.append((h, normalise_level(x[a:b])))
        return res


# --------------------------------------------------------------------------
# Conversation planning and layout
# --------------------------------------------------------------------------

class Planner:
    """Infinite deterministic stream of (speaker_index, sentence)."""

    def __init__(self, seed, n_speakers, singlish):
        self.rng = random.Random("parley-plan:%d" % seed)
        self.n = n_speakers
        self.singlish = singlish
        self.turns = [0] * n_speakers
        self.prev = None
        self.decks = {"e": [], "s": []}
        self.last = None
        self.i = 0

    def _draw(self, which):
        deck = self.decks[which]
        if not deck:
            deck.extend(EVERYDAY if which == "e" else SINGLISH)
            self.rng.shuffle(deck)
            if len(deck) > 1 and deck[-1] == self.last:
                deck[0], deck[-1] = deck[-1], deck[0]
        s = deck.pop()
        self.last = s
        return s

    def next(self):
        if self.i < self.n:
            spk = self.i
        elif self.n == 1:
            spk = 0
        else:
            cands = [s for s in range(self.n) if s != self.prev]
            weights = [1.0 / (1 + self.turns[s]) ** 2 for s in cands]
            spk = self.rng.choices(cands, weights)[0]
        self.i += 1
        self.turns[spk] += 1
        self.prev = spk
        which = "s" if self.rng.random() < self.singlish else "e"
        return spk, self._draw(which)


def build_utterance(synth, voice, sentence, word_gaps, rng_gaps):
    """Return (samples, words) where words = [(start_off, end_off, word)] in samples
    relative to the utterance start (only for word_gaps)."""
    if not word_gaps:
        return synth.get(voice, tts_text(sentence)), None
    words = normalise(sentence)
    out = array.array("h")
    spans = []
    for k, w in enumerate(words):
        if k:
            out.extend(array.array("h", bytes(2 * int(round(rng_gaps.uniform(0.08, 0.2) * SR)))))
        seg = synth.get(voice, word_tts(w))
        spans.append((len(out), len(out) + len(seg), w))
        out.extend(seg)
    return out, spans


def requests_for(turns, voices, word_gaps):
    req = []
    for spk, sentence in turns:
        if word_gaps:
            req.extend((voices[spk], word_tts(w)) for w in normalise(sentence))
        else:
            req.append((voices[spk], tts_text(sentence)))
    return req


def generate(args, log):
    t_start = time.time()
    voices = args.voice_list[:args.speakers]
    cache = args.cache_dir or os.environ.get("PARLEY_GEN_CACHE") or os.path.join(args.out, ".cache")
    synth = Synth(cache, args.jobs, log)
    planner = Planner(args.seed, args.speakers, args.singlish)
    rng_time = random.Random("parley-time:%d" % args.seed)
    rng_gaps = random.Random("parley-gaps:%d" % args.seed)
    overlap = args.overlap if args.speakers > 1 else 0.0

    if args.turns is not None:
        total = None
        budget = args.turns
    else:
        total = int(round(args.minutes * 60 * SR))
        budget = None
    placed = []          # dicts: spk, start, end (samples), sentence, words
    pending = []
    done = False
    est_turn = (3.2 if args.word_gaps else 2.2) + 0.5 * (args.pause_min + args.pause_max)
    while not done:
        if budget is not None:
            n = budget - len(placed)
            if n <= 0:
                break
        else:
            remain = (total - (placed[-1]["end"] if placed else 0)) / SR
            n = max(4, int(remain / est_turn * (1.15 if not placed else 1.3)) + 2)
        batch = [planner.next() for _ in range(n)]
        synth.ensure(requests_for(batch, voices, args.word_gaps))
        for spk, sentence in batch:
            audio, spans = build_utterance(synth, voices[spk], sentence, args.word_gaps, rng_gaps)
            dur = len(audio)
            if not placed:
                start = int(round(LEAD_IN * SR))
            else:
                prev = placed[-1]
                if rng_time.random() < overlap:
                    ov = rng_time.uniform(0.2, 0.8) * SR
                    ov = min(ov, 0.5 * (prev["end"] - prev["start"]), 0.5 * dur)
                    start = prev["end"] - int(round(ov))
                else:
                    start = prev["end"] + int(round(rng_time.uniform(args.pause_min, args.pause_max) * SR))
            if total is not None and start + dur > total - int(MIN_TAIL * SR):
                done = True
                break
            placed.append({"spk": spk, "start": start, "end": start + dur, "sentence": sentence,
                           "audio": audio, "spans": spans})
            if budget is not None and len(placed) >= budget:
                done = True
                break
    if total is None:
        total = (placed[-1]["end"] if placed else 0) + int(round(TAIL * SR))
    t_synth_done = time.time()

    # ---- mix
    buf = array.array("h", bytes(2 * total))
    filled = 0
    for u in placed:
        a, x = u["start"], u["audio"]
        b = a + len(x)
        ov_end = min(b, filled)
        for i in range(a, ov_end):
            v = buf[i] + x[i - a]
            buf[i] = 32767 if v > 32767 else (-32768 if v < -32768 else v)
        if ov_end < b:
            k = max(a, ov_end)
            buf[k:b] = x[k - a:]
        filled = max(filled, b)

    tmp = tempfile.mkdtemp(prefix="parley_mix_")
    try:
        clean = os.path.join(tmp, "clean.wav")
        write_wav(clean, buf)
        cur = clean
        snr_info = None
        if args.noise != "none":
            cur, snr_info = add_noise(args, buf, placed, total, clean, tmp)
        out_rate = SR
        if args.telephone:
            cur, out_rate = telephone(cur, tmp, args.telephone_8k)
        final = os.path.join(args.out, "%s.%s" % (args.name, args.format))
        if args.format == "wav":
            shutil.copyfile(cur, final + ".tmp")
            os.replace(final + ".tmp", final)
        else:
            encode(cur, final, args.format, out_rate)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    write_reference(args, voices, placed, total, out_rate, snr_info, final)
    t_end = time.time()
    log("%s: %.1f s audio, %d utterances, %d speakers; %d units synthesised (%.1f s), "
        "%d from cache; total %.1f s (mix/encode %.1f s)"
        % (os.path.basename(final), total / SR, len(placed), args.speakers, synth.n_synth,
           synth.t_synth, synth.n_cached, t_end - t_start, t_end - t_synth_done))


def add_noise(args, buf, placed, total, clean, tmp):
    # active-speech power: over the union of utterance intervals only
    s2 = 0
    n = 0
    last = 0
    for u in placed:
        a = max(u["start"], last)
        b = u["end"]
        if b > a:
            s2 += sumsq(buf[a:b])
            n += b - a
        last = max(last, b)
    p_speech = s2 / max(1, n)
    noise = os.path.join(tmp, "noise.f32")
    seed = (args.seed * 1000003 + (1 if args.noise == "white" else 2)) % 2147483647
    run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
         "anoisesrc=r=%d:c=%s:a=0.5:s=%d:n=1024:d=%.6f" % (SR, args.noise, seed, total / SR + 0.2),
         "-af", "atrim=end_sample=%d" % total,
         "-f", "f32le", "-c:a", "pcm_f32le", "-y", noise])
    nz = array.array("f")
    with open(noise, "rb") as f:
        nz.frombytes(f.read())
    nz = to_le(nz)
    if len(nz) < total:
        raise RuntimeError("ffmpeg produced %d noise samples, need %d" % (len(nz), total))
    p_noise = sumsq(nz) / len(nz)
    npeak = max(max(nz), -min(nz))
    g = math.sqrt(p_speech / (p_noise * 10 ** (args.snr / 10.0))) if p_noise > 0 else 0.0
    # g maps float noise (full scale 1.0) to s16 units; sox -v needs g / 32768
    sp_gain = 1.0
    speak = max(max(buf), -min(buf)) if buf else 0
    worst = speak + g * npeak
    if worst > 32000:
        sp_gain = 32000.0 / worst
    mixed = os.path.join(tmp, "noisy.wav")
    run(["sox", "-D", "-R", "-m",
         "-v", "%.9f" % sp_gain, clean,
         "-v", "%.9g" % (g * sp_gain / 32768.0),
         "-t", "raw", "-e", "floating-point", "-b", "32", "-r", str(SR), "-c", "1", noise,
         "-e", "signed-integer", "-b", "16", mixed])
    info = {"type": args.noise, "snr_db": args.snr, "speech_power": p_speech * sp_gain ** 2,
            "noise_power": p_noise * (g * sp_gain) ** 2, "speech_gain": sp_gain,
            "source": "ffmpeg anoisesrc seed %d" % seed}
    return mixed, info


def telephone(src, tmp, keep8k):
    """300-3400 Hz band limit, 8 kHz G.711 mu-law, back to 16 kHz unless keep8k."""
    mu = os.path.join(tmp, "tel_mulaw.wav")
    run(["sox", "-D", "-R", src, "-e", "u-law", "-b", "8", mu, "sinc", "300-3400", "rate", "8000"])
    out = os.path.join(tmp, "tel.wav")
    if keep8k:
        run(["sox", "-D", "-R", mu, "-e", "signed-integer", "-b", "16", out])
        return out, 8000
    run(["sox", "-D", "-R", mu, "-e", "signed-integer", "-b", "16", out, "rate", str(SR)])
    return out, SR


def encode(src, dst, fmt, rate):
    codec = {"mp3": ["-c:a", "libmp3lame", "-b:a", "48k" if rate >= 16000 else "24k"],
             "ogg": ["-c:a", "libvorbis", "-q:a", "5"],
             "flac": ["-c:a", "flac"]}[fmt]
    tmp = dst + ".tmp." + fmt
    run(["ffmpeg", "-nostdin", "-v", "error", "-i", src, "-map_metadata", "-1",
         "-fflags", "+bitexact", "-flags:a", "+bitexact"] + codec + ["-y", tmp])
    os.replace(tmp, dst)


def ms(samples):
    return int(round(samples * 1000 / SR))


def fmt_t(samples):
    return "%.3f" % (ms(samples) / 1000.0)


def fmt_d(a, b):
    """duration printed so that start + dur == end exactly at 3 decimals"""
    return "%.3f" % ((ms(b) - ms(a)) / 1000.0)


def write_reference(args, voices, placed, total, out_rate, snr_info, audio_path):
    base = os.path.join(args.out, args.name)
    order = sorted(range(len(placed)), key=lambda i: (placed[i]["start"], placed[i]["spk"]))
    utts = [placed[i] for i in order]
    with open(base + ".rttm", "w") as f:
        for u in utts:
            f.write("SPEAKER %s 1 %s %s <NA> <NA> spk%d <NA> <NA>\n"
                    % (args.name, fmt_t(u["start"]), fmt_d(u["start"], u["end"]), u["spk"] + 1))
    with open(base + ".txt", "w") as f:
        for u in utts:
            f.write(" ".join(normalise(u["sentence"])) + "\n")
    counts = {}
    for u in utts:
        for w in normalise(u["sentence"]):
            if w in TARGETS:
                k = ("spk%d" % (u["spk"] + 1), w)
                counts[k] = counts.get(k, 0) + 1
    with open(base + ".counts.csv", "w") as f:
        f.write("speaker,word,count\n")
        for (spk, w) in sorted(counts, key=lambda k: (int(k[0][3:]), TARGETS.index(k[1]))):
            f.write("%s,%s,%d\n" % (spk, w, counts[(spk, w)]))
    if args.word_gaps:
        rows = []
        for u in utts:
            for a, b, w in u["spans"]:
                rows.append((u["start"] + a, u["start"] + b, u["spk"] + 1, w))
        rows.sort()
        with open(base + ".words.tsv", "w") as f:
            f.write("start\tend\tspeaker\tword\n")
            for a, b, s, w in rows:
                f.write("%s\t%s\tspk%d\t%s\n" % (fmt_t(a), fmt_t(b), s, w))
    meta = {
        "name": args.name,
        "generator": "tests/gen/gen_conversation.py",
        "generator_version": GEN_VERSION,
        "text_version": TEXT_VERSION,
        "seed": args.seed,
        "audio": os.path.basename(audio_path),
        "sample_rate": out_rate,
        "duration": round(total / SR, 3),
        "speakers": {"spk%d" % (i + 1): v.describe() for i, v in enumerate(voices)},
        "options": {
            "speakers": args.speakers, "minutes": args.minutes if args.turns is None else None,
            "turns": args.turns, "overlap": args.overlap, "pause_min": args.pause_min,
            "pause_max": args.pause_max, "noise": args.noise,
            "snr": args.snr if args.noise != "none" else None,
            "telephone": args.telephone, "telephone_8k": args.telephone_8k,
            "format": args.format, "singlish": args.singlish, "word_gaps": args.word_gaps,
        },
        "noise": snr_info,
        "targets": TARGETS,
        "target_counts": {"%s,%s" % k: c for k, c in sorted(counts.items())},
        "utterances": [],
    }
    for u in utts:
        d = {"start": ms(u["start"]) / 1000.0, "end": ms(u["end"]) / 1000.0,
             "speaker": "spk%d" % (u["spk"] + 1), "text": " ".join(normalise(u["sentence"])),
             "sentence": u["sentence"], "tts": tts_text(u["sentence"])}
        if u["spans"] is not None:
            d["words"] = [{"start": ms(u["start"] + a) / 1000.0,
                           "end": ms(u["start"] + b) / 1000.0, "word": w}
                          for a, b, w in u["spans"]]
        meta["utterances"].append(d)
    with open(base + ".json", "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

EPILOG = """\
outputs (in --out DIR):
  NAME.wav           16 kHz mono s16 (8 kHz with --telephone-8k); NAME.<fmt> for
                     --format mp3|ogg|flac instead (encoded by ffmpeg)
  NAME.rttm          one line per utterance, time order, 3 decimals:
                     SPEAKER NAME 1 <start> <dur> <NA> <NA> spkN <NA> <NA>
  NAME.txt           one utterance per line, time order: lowercase words, no
                     punctuation, canonical target spelling (walao, not "wah lao")
  NAME.counts.csv    header speaker,word,count; target words per speaker (only >0)
  NAME.words.tsv     (--word-gaps) header start<TAB>end<TAB>speaker<TAB>word; every word
  NAME.json          metadata: voices, seed, options, duration, utterances
                     (start, end, speaker, text, sentence, tts[, words])

target words: %s

voices (--voices): comma-separated ENGINE:VOICE[:PITCH[:RATE]], engine festival or
  espeak (may be omitted for a known Festival voice).  festival: PITCH = target F0
  mean in Hz (diphone voices only), RATE = speed factor (1 = voice default);
  espeak: PITCH = -p 0..99, RATE = -s words/min.  Empty or '-' = default.
  default: %s

Synthesised utterances are cached (key: voice + text + generator version) in
--cache-dir, else $PARLEY_GEN_CACHE, else DIR/.cache.  Output is identical with or
without a warm cache.  Requires espeak-ng, festival, sox; ffmpeg for --noise and
--format other than wav.
""" % (", ".join(TARGETS), ",".join(v.spec() for v in DEFAULT_VOICES))


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Generate a deterministic synthetic multi-speaker conversation "
                    "(espeak-ng + Festival) with exact ground truth.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, metavar="DIR", help="output directory (created)")
    ap.add_argument("--name", required=True, help="base name of the output files")
    ap.add_argument("--speakers", type=int, default=2, help="number of speakers, 1..6 (default 2)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--minutes", type=float, default=None,
                   help="total duration in minutes; the file is exactly this long (default 1.0)")
    g.add_argument("--turns", type=int, default=None, help="number of utterances instead of --minutes")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--overlap", type=float, default=0.0,
                    help="fraction of turns that start 0.2-0.8 s before the previous turn "
                         "ends (capped at half of either utterance) (default 0)")
    ap.add_argument("--pause-min", type=float, default=0.2, help="min gap between turns, s (default 0.2)")
    ap.add_argument("--pause-max", type=float, default=1.0, help="max gap between turns, s (default 1.0)")
    ap.add_argument("--noise", choices=["none", "white", "pink"], default="none",
                    help="additive noise over the whole file (default none)")
    ap.add_argument("--snr", type=float, default=10.0,
                    help="SNR in dB relative to the active-speech power (default 10)")
    ap.add_argument("--telephone", action="store_true",
                    help="telephone channel: 300-3400 Hz band-pass, 8 kHz G.711 mu-law, back to 16 kHz")
    ap.add_argument("--telephone-8k", action="store_true",
                    help="like --telephone but keep the output at 8 kHz")
    ap.add_argument("--format", choices=["wav", "mp3", "ogg", "flac"], default="wav",
                    help="container of the audio output (default wav)")
    ap.add_argument("--singlish", type=float, default=0.5,
                    help="fraction of sentences that contain target words (default 0.5)")
    ap.add_argument("--word-gaps", action="store_true",
                    help="synthesise every word separately, 80-200 ms gaps; writes NAME.words.tsv")
    ap.add_argument("--voices", metavar="LIST", help="voice list, see below")
    ap.add_argument("--cache-dir", help="synthesis cache (default $PARLEY_GEN_CACHE or DIR/.cache)")
    ap.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 2),
                    help="parallel synthesis processes (default min(4, cores))")
    ap.add_argument("--quiet", action="store_true", help="no summary on stderr")
    args = ap.parse_args(argv)

    if args.turns is None and args.minutes is None:
        args.minutes = 1.0
    if args.telephone_8k:
        args.telephone = True
    if not 1 <= args.speakers <= 6:
        ap.error("--speakers must be 1..6")
    if args.turns is not None and args.turns < 1:
        ap.error("--turns must be >= 1")
    if args.minutes is not None and args.minutes <= 0:
        ap.error("--minutes must be > 0")
    if not 0 <= args.overlap <= 1 or not 0 <= args.singlish <= 1:
        ap.error("--overlap and --singlish are fractions in [0, 1]")
    if not 0 <= args.pause_min <= args.pause_max:
        ap.error("need 0 <= --pause-min <= --pause-max")
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", args.name):
        ap.error("--name must be [A-Za-z0-9_.-]+ (it is written into the RTTM)")
    try:
        args.voice_list = parse_voices(args.voices) if args.voices else DEFAULT_VOICES
    except ValueError as e:
        ap.error("--voices: %s" % e)
    if len(args.voice_list) < args.speakers:
        ap.error("--voices: need %d voices, got %d" % (args.speakers, len(args.voice_list)))
    _check_text_lists()
    os.makedirs(args.out, exist_ok=True)
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    try:
        generate(args, log)
    except RuntimeError as e:
        print("gen_conversation.py: error: %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
