#!/usr/bin/env python3
"""fake_engines.py — a real HTTP server for tests and benches that speaks the
engine APIs parley calls, answering with the scripted words of generated
conversations, and failing on request.

    python3 tests/servers/fake_engines.py --truth DIR [--truth DIR2 ...]
        [--port-file FILE] [--delay S] [--api-key KEY] [--seed N]

It listens on 127.0.0.1 on a free port (written to --port-file) until killed.

APIs
  POST /v1/audio/transcriptions   OpenAI: multipart file=WAV; verbose_json with
                                  top-level "words" when timestamp_granularities[]
                                  holds "word"; language "english"
  POST /inference                 whisper.cpp server: segments whose "words"
                                  are sub-word tokens (" wal", "ao", ".",
                                  "[_BEG_]"); language "en"
  POST /v1/chat/completions       chat: with response_format json_schema the
                                  reply is a JSON document built to fit the
                                  schema (enum/minimum/required honoured);
                                  a questionnaire prompt (schema name
                                  audit_question) answered by fixed rules
                                  over its transcript (audit_answer())
  POST /denoise                   parley's denoise protocol (engines/denoise_http.h):
                                  multipart file=WAV; answers the same audio as
                                  a WAV (times gain=G with that mode)
  GET  /v1/models                 {"data": [{"id": "fake-whisper"}]}
  GET  /stats                     counters (requests, failures by kind, chat and
                                  questionnaire requests, most
                                  requests in flight at once, auth seen)

Where the words come from: every NAME.wav beside a NAME.json (from
tests/gen/gen_conversation.py) in the --truth folders is loaded. A posted WAV
is located inside the known audio by searching its loudest 32 samples
(byte-exact, so pieces cut from the decoded recording are found); the answer
holds the scripted words whose middle falls inside the piece, with times
relative to the piece (audio not found: the --unknown-text words). Word times are the utterance's span divided over its
words by character count (or the generator's exact times with --word-gaps).

Failing on request: a path prefix /mode/MODES/ (MODES comma-separated) before
the API path, e.g. http://127.0.0.1:PORT/mode/500/v1. Modes:
  slow (sleep 30 s)  500  429 (Retry-After: 1)  malformed (200, not JSON)
  truncated (Content-Length larger than the body)  reset (close without
  answering)  401  400 (bad request with a message)  ignore_schema (chat
  reply that ignores the schema, every time)  fix_on_retry (ignores it
  unless the conversation already holds a validation error)
  nowords (OpenAI: no word timestamps even when asked)
  plain   questionnaire prompts answered in plain words ("Yes.", "About 4
          lines."), ignoring the schema
  rate=P  a fraction P of requests fail with one of 500, 429, malformed,
          truncated, reset (seeded: --seed)
  delay=S sleep S seconds before answering
  lang=CODE  the language both speech-to-text APIs report (default: english/en;
          whisper.cpp's with detected_language_probability 0.93)
  gain=G  /denoise: samples times G;  short  /denoise: half the audio back;
  notaudio  /denoise: 200 with a body that is not audio
  fail_over=S  /denoise: 500 for audio longer than S seconds
  /stats "language_hints" counts the language field of transcription requests
"""
import argparse
import hashlib
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Truth:
    def __init__(self, unknown_text=""):
        self.files = []  # (name, pcm bytes, rate, words[(start, end, word)])
        self.unknown_text = unknown_text

    def load_dir(self, d):
        for fn in sorted(os.listdir(d)):
            if not fn.endswith(".json"):
                continue
            name = fn[:-5]
            wav = os.path.join(d, name + ".wav")
            if not os.path.exists(wav):
                continue
            try:
                meta = json.load(open(os.path.join(d, fn)))
            except (OSError, ValueError):
                continue
            if "utterances" not in meta:
                continue
            with wave.open(wav, "rb") as w:
                if w.getsampwidth() != 2 or w.getnchannels() != 1:
                    continue
                rate = w.getframerate()
                pcm = w.readframes(w.getnframes())
            words = []
            for u in meta["utterances"]:
                if u.get("words"):
                    for ww in u["words"]:
                        words.append((ww["start"], ww["end"], ww["word"]))
                    continue
                toks = u["text"].split()
                total = sum(len(t) for t in toks) or 1
                t0, t1 = u["start"], u["end"]
                seen = 0
                for t in toks:
                    s = t0 + (t1 - t0) * seen / total
                    seen += len(t)
                    e = t0 + (t1 - t0) * seen / total
                    words.append((s, e, t))
            words.sort()
            self.files.append((name, pcm, rate, words))

    def locate(self, piece, rate):
        """(file, offset seconds) of the piece's samples, or None."""
        n = len(piece) // 2
        if n < 64:
            return None
        # the loudest 32-sample window, as bytes
        best, best_i = -1, 0
        step = 16
        for i in range(0, n - 32, step):
            e = 0
            for k in range(0, 32, 4):
                v = struct.unpack_from("<h", piece, 2 * (i + k))[0]
                e += v * v
            if e > best:
                best, best_i = e, i
        key = piece[2 * best_i:2 * best_i + 64]
        for f in self.files:
            if f[2] != rate:
                continue
            pos = f[1].find(key)
            while pos >= 0 and pos % 2:
                pos = f[1].find(key, pos + 1)
            if pos >= 0:
                return f, (pos // 2 - best_i) / rate
        return None

    def words_in(self, piece, rate):
        hit = self.locate(piece, rate)
        dur = len(piece) / 2 / rate
        if not hit:
            toks = self.unknown_text.split()
            total = sum(len(t) for t in toks) or 1
            out, seen = [], 0
            for t in toks:  # spread over the middle 80% of the piece
                s = dur * (0.1 + 0.8 * seen / total)
                seen += len(t)
                out.append((s, dur * (0.1 + 0.8 * seen / total), t))
            return out, dur, None
        f, off = hit
        out = []
        for s, e, w in f[3]:
            mid = (s + e) / 2
            if off <= mid < off + dur:
                out.append((max(0.0, s - off), min(dur, e - off), w))
        return out, dur, f[0]


def parse_multipart(body, ctype):
    if "boundary=" not in ctype:
        return {}
    boundary = ctype.split("boundary=", 1)[1].strip().strip('"').encode()
    fields = {}
    for part in body.split(b"--" + boundary):
        if b"\r\n\r\n" not in part:
            continue
        head, data = part.split(b"\r\n\r\n", 1)
        if data.endswith(b"\r\n"):
            data = data[:-2]
        name = None
        for line in head.decode("latin-1").split("\r\n"):
            if line.lower().startswith("content-disposition"):
                for item in line.split(";"):
                    item = item.strip()
                    if item.startswith("name="):
                        name = item[5:].strip('"')
        if name:
            fields.setdefault(name, []).append(data)
    return fields


def wav_pcm(data):
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None, 0
    rate = struct.unpack_from("<I", data, 24)[0]
    # find the data chunk
    pos = 12
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        size = struct.unpack_from("<I", data, pos + 4)[0]
        if cid == b"data":
            return data[pos + 8:pos + 8 + size], rate
        pos += 8 + size + (size & 1)
    return None, 0


def fit_schema(schema, depth=0):
    """A value that satisfies the (subset) schema."""
    if depth > 8 or not isinstance(schema, dict):
        return None
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    t = schema.get("type")
    if isinstance(t, list):
        t = t[0] if t else None
    if t == "object":
        props = schema.get("properties", {})
        return {k: fit_schema(v, depth + 1) for k, v in props.items()
                if k in schema.get("required", props.keys())}
    if t == "array":
        n = schema.get("minItems", 1)
        return [fit_schema(schema.get("items", {}), depth + 1) for _ in range(n)]
    if t == "string":
        s = "ok"
        n = schema.get("minLength", 0)
        return s + "x" * max(0, n - len(s))
    if t == "integer":
        return int(schema.get("minimum", 1))
    if t == "number":
        return float(schema.get("minimum", 0.5))
    if t == "boolean":
        return True
    if t == "null":
        return None
    return "ok"


def audit_answer(prompt, plain=False):
    """A questionnaire prompt (src/audit/answer.c answer_prompt) answered by
    fixed rules over its transcript lines "[start-end] role: words":
      yes_no           yes when a term the question quotes ("refund") is in the
                       transcript (its line is the quote), else no
      single_choice    the first choice whose id is a word of the transcript,
                       else n/a when offered, else the last choice
      multiple_choice  every choice whose id is a word of the transcript
      number           the number of transcript lines
      text             "N lines, first: WORDS"
    plain=True: the answer as a person would type it ("Yes.", "Billing.",
    "About 4 lines."), not JSON: what a server ignoring the schema sends."""
    import re
    lines = prompt.split("\n")
    q = next((l[len("Question: "):] for l in lines if l.startswith("Question: ")), "")
    kind = next((l[len("Answer type: "):] for l in lines if l.startswith("Answer type: ")), "text")
    choices = [l[2:].split(":", 1)[0] for l in lines if l.startswith("- ")]
    start = next((i for i, l in enumerate(lines) if l.startswith("Transcript (")), len(lines))
    tr = [l for l in lines[start + 1:] if l.startswith("[")]
    said = [l.split(": ", 1)[1] if ": " in l else "" for l in tr]

    def norm(t):
        return " ".join(re.sub(r"[^a-z0-9' ]", " ", t.lower()).split())

    def find(term):
        t = norm(term)
        for w in said:
            if (" " + t + " ") in (" " + norm(w) + " "):
                return w
        return None

    quote = ""
    if kind == "yes_no":
        hits = [find(t) for t in re.findall(r'"([^"]+)"', q)]
        hits = [h for h in hits if h]
        answer = "yes" if hits else "no"
        quote = hits[0] if hits else ""
    elif kind == "single_choice":
        real = [c for c in choices if c != "n/a"]
        found = [c for c in real if find(c)]
        answer = found[0] if found else ("n/a" if "n/a" in choices else real[-1])
        quote = find(found[0]) if found else ""
    elif kind == "multiple_choice":
        answer = [c for c in choices if find(c)]
    elif kind == "number":
        answer = len(tr)
    else:
        answer = "%d lines, first: %s" % (len(tr), said[0] if said else "none")
    if plain:
        if isinstance(answer, list):
            return ", ".join(a.capitalize() for a in answer) or "None of them."
        if isinstance(answer, int):
            return "About %d lines." % answer
        return answer.capitalize() + "."
    return {"answer": answer, "quote": quote}


class State:
    def __init__(self, args):
        self.truth = Truth(args.unknown_text)
        for d in args.truth or []:
            self.truth.load_dir(d)
        self.delay = args.delay
        self.api_key = args.api_key
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()
        self.stats = {"requests": 0, "by_path": {}, "failures": {}, "in_flight": 0,
                      "max_in_flight": 0, "auth_ok": 0, "auth_bad": 0, "located": 0,
                      "not_located": 0, "chat": 0, "questions": 0, "language_hints": {}}

    def bump(self, key, sub=None, n=1):
        with self.lock:
            if sub is None:
                self.stats[key] += n
            else:
                self.stats[key][sub] = self.stats[key].get(sub, 0) + n


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-engines/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def send_json(self, code, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def modes(self):
        path = self.path.split("?", 1)[0]
        modes = {}
        if path.startswith("/mode/"):
            rest = path[len("/mode/"):]
            spec, _, path = rest.partition("/")
            path = "/" + path
            for m in spec.split(","):
                k, _, v = m.partition("=")
                modes[k] = v
        return path, modes

    def fail(self, kind):
        st = self.server.state
        st.bump("failures", kind)
        if kind == "slow":
            time.sleep(30)
            self.send_json(500, {"error": {"message": "too slow"}})
        elif kind == "500":
            self.send_json(500, {"error": {"message": "internal error (fake)"}})
        elif kind == "429":
            self.send_json(429, {"error": {"message": "rate limited (fake)"}},
                           {"Retry-After": "1"})
        elif kind == "malformed":
            body = b'{"text": "oops'  # not JSON
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif kind == "truncated":
            body = b'{"text": "this answer is cut sho'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) + 500))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif kind == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        elif kind == "401":
            self.send_json(401, {"error": {"message": "Incorrect API key provided (fake)"}})
        elif kind == "400":
            self.send_json(400, {"error": {"message": "model 'nope' does not exist (fake)"}})

    def do_GET(self):
        st = self.server.state
        path, modes = self.modes()
        if path == "/stats":
            with st.lock:
                self.send_json(200, st.stats)
            return
        if path in ("/v1/models", "/models"):
            self.send_json(200, {"object": "list", "data": [{"id": "fake-whisper"},
                                                              {"id": "fake-llm"}]})
            return
        self.send_json(404, {"error": {"message": "no such path " + path}})

    def do_POST(self):
        st = self.server.state
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length else b""
        path, modes = self.modes()
        st.bump("requests")
        st.bump("by_path", path)
        with st.lock:
            st.stats["in_flight"] += 1
            st.stats["max_in_flight"] = max(st.stats["max_in_flight"], st.stats["in_flight"])
        try:
            self.handle_post(path, modes, body)
        finally:
            with st.lock:
                st.stats["in_flight"] -= 1

    def handle_post(self, path, modes, body):
        st = self.server.state
        delay = float(modes.get("delay", st.delay) or 0)
        if delay > 0:
            time.sleep(delay)
        if st.api_key is not None:
            if self.headers.get("Authorization") != "Bearer " + st.api_key:
                st.bump("auth_bad")
                self.send_json(401, {"error": {"message": "Incorrect API key provided"}})
                return
            st.bump("auth_ok")
        for kind in ("slow", "500", "429", "malformed", "truncated", "reset", "401", "400"):
            if kind in modes:
                self.fail(kind)
                return
        if "rate" in modes:
            with st.lock:
                r = st.rng.random()
                kind = st.rng.choice(["500", "429", "malformed", "truncated", "reset"])
            if r < float(modes["rate"]):
                self.fail(kind)
                return
        if path in ("/v1/audio/transcriptions", "/audio/transcriptions"):
            self.transcribe(body, openai=True, modes=modes)
        elif path == "/inference":
            self.transcribe(body, openai=False, modes=modes)
        elif path in ("/v1/chat/completions", "/chat/completions"):
            self.chat(body, modes)
        elif path == "/denoise":
            self.denoise(body, modes)
        else:
            self.send_json(404, {"error": {"message": "no such path " + path}})

    def transcribe(self, body, openai, modes):
        st = self.server.state
        fields = parse_multipart(body, self.headers.get("Content-Type", ""))
        if "file" not in fields:
            self.send_json(400, {"error": {"message": "no file part"}})
            return
        pcm, rate = wav_pcm(fields["file"][0])
        if pcm is None:
            self.send_json(400, {"error": {"message": "file is not a WAV"}})
            return
        hint = fields.get("language", [b""])[0].decode("utf-8", "replace")
        st.bump("language_hints", hint or "(none)")
        words, dur, name = st.truth.words_in(pcm, rate)
        st.bump("located" if name else "not_located")
        text = " ".join(w for _, _, w in words)
        gran = [g.decode() for g in fields.get("timestamp_granularities[]", [])]
        if openai:
            out = {"task": "transcribe", "language": modes.get("lang") or "english",
                   "duration": dur,
                   "text": text.capitalize() + ("." if text else ""),
                   "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": dur, "text": text,
                                 "tokens": [1, 2, 3], "temperature": 0.0,
                                 "avg_logprob": -0.2, "compression_ratio": 1.0,
                                 "no_speech_prob": 0.01}]}
            if "word" in gran and "nowords" not in modes:
                out["words"] = [{"word": (w.capitalize() if i == 0 else w) +
                                 ("," if i == 1 else ""), "start": round(s, 3),
                                 "end": round(e, 3)} for i, (s, e, w) in enumerate(words)]
            self.send_json(200, out)
            return
        toks = [{"word": "[_BEG_]", "start": 0.0, "end": 0.0, "probability": 1.0}]
        for s, e, w in words:
            if len(w) > 4:  # two sub-word tokens
                cut = len(w) // 2
                mid = s + (e - s) * cut / len(w)
                toks.append({"word": " " + w[:cut], "start": round(s, 2),
                             "end": round(mid, 2), "probability": 0.9})
                toks.append({"word": w[cut:], "start": round(mid, 2), "end": round(e, 2),
                             "probability": 0.8})
            else:
                toks.append({"word": " " + w, "start": round(s, 2), "end": round(e, 2),
                             "probability": 0.95})
        if words:
            toks.append({"word": ".", "start": round(words[-1][1], 2),
                         "end": round(words[-1][1], 2), "probability": 0.99})
        self.send_json(200, {"task": "transcribe", "language": modes.get("lang") or "en",
                             "detected_language_probability": 0.93,
                             "duration": dur,
                             "text": text, "segments": [{"id": 0, "text": text, "start": 0.0,
                                                         "end": dur, "words": toks}]})

    def denoise(self, body, modes):
        st = self.server.state
        fields = parse_multipart(body, self.headers.get("Content-Type", ""))
        if "file" not in fields:
            self.send_json(400, {"error": "no file part"})
            return
        pcm, rate = wav_pcm(fields["file"][0])
        if pcm is None:
            self.send_json(400, {"error": "file is not a WAV"})
            return
        if "fail_over" in modes and len(pcm) / 2 / rate > float(modes["fail_over"]):
            self.send_json(500, {"error": "denoise model crashed (fake)"})
            return
        if "notaudio" in modes:
            out = b"this is not audio at all, just some text " * 20
        else:
            n = len(pcm) // 2
            samples = struct.unpack("<%dh" % n, pcm[:2 * n])
            g = float(modes.get("gain") or 1)
            if "short" in modes:
                samples = samples[:n // 2]
            scaled = [max(-32768, min(32767, int(round(x * g)))) for x in samples]
            data = struct.pack("<%dh" % len(scaled), *scaled)
            out = (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " +
                   struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" +
                   struct.pack("<I", len(data)) + data)
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def chat(self, body, modes):
        st = self.server.state
        st.bump("chat")
        try:
            req = json.loads(body)
        except ValueError:
            self.send_json(400, {"error": {"message": "body is not JSON"}})
            return
        rf = req.get("response_format") or {}
        schema = (rf.get("json_schema") or {}).get("schema")
        msgs = req.get("messages", [])
        retried = any("did not match" in str(m.get("content", "")) for m in msgs)
        question = (rf.get("json_schema") or {}).get("name") == "audit_question"
        if question:
            st.bump("questions")
            prompt = next((str(m.get("content", "")) for m in msgs if m.get("role") == "user"), "")
        if question and "plain" in modes:
            content = audit_answer(prompt, plain=True)
        elif question and not ("ignore_schema" in modes or
                               ("fix_on_retry" in modes and not retried)):
            content = json.dumps(audit_answer(prompt))
        elif schema is not None and not ("ignore_schema" in modes or
                                         ("fix_on_retry" in modes and not retried)):
            content = json.dumps(fit_schema(schema))
        elif schema is not None:
            content = json.dumps({"note": "I ignored your schema", "score": "high"})
        else:
            last = msgs[-1]["content"] if msgs else ""
            content = "echo: " + str(last)[:200]
        digest = hashlib.sha256(body).hexdigest()[:12]
        self.send_json(200, {"id": "chatcmpl-" + digest, "object": "chat.completion",
                             "created": 0, "model": req.get("model") or "fake-llm",
                             "system_fingerprint": "fp_fake",
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant",
                                                      "content": content}}],
                             "usage": {"prompt_tokens": 10, "completion_tokens": 5,
                                       "total_tokens": 15}})


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--truth", action="append", help="folder of NAME.wav + NAME.json")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    ap.add_argument("--api-key", help="require Authorization: Bearer KEY")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--unknown-text", default="",
                    help="words to answer for audio not found in --truth (spread over it)")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.request_queue_size = 128
    srv.state = State(args)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.rename(tmp, args.port_file)
    sys.stderr.write("fake_engines: %d recordings known, listening on 127.0.0.1:%d\n" %
                     (len(srv.state.truth.files), port))
    srv.serve_forever()


if __name__ == "__main__":
    main()
