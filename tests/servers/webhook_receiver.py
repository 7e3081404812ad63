#!/usr/bin/env python3
"""webhook_receiver.py — a real HTTP server for tests that receives parley's
signed webhooks the way a Standard Webhooks consumer does, and fails on
request.

    WEBHOOK_SECRET=whsec_... python3 tests/servers/webhook_receiver.py \
        --port-file FILE --log FILE [--script STEPS] [--tolerance 300]

It listens on 127.0.0.1 on a free port (written to --port-file) until killed.
Every POST is checked: the webhook-id, webhook-timestamp and
webhook-signature headers must be there; the timestamp within --tolerance
seconds of now; one of the signature's space-separated "v1,<base64>" entries
must equal base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)), key
being the base64 part of a whsec_ secret (else the secret's bytes); the body
must be JSON with "type", "timestamp" and "data". A request that fails a
check is answered 401 (signature or timestamp) or 400 (body).

--script STEPS (comma-separated) answers the k-th request carrying a given
webhook-id with step k (after the last step: 200). Steps:
  200 | 204        accept
  500 | 503 | 400  fail with that status
  429[:S]          429 with Retry-After: S (default 1)
  410              Gone (parley disables the endpoint)
  sleep:S          sleep S seconds, then 200 — later than parley's timeout,
                   so not counted as accepted (parley sees a timeout)
  hang:S           like sleep, but the line is logged on arrival with
                   "arrived": true (a test kills the sender meanwhile)
--types T1,T2 limits the script to events of those types (others: 200).

Every request is one JSON line in --log: id, timestamp, type, sig_ok, ts_ok,
status (what was answered; 0 for hang/sleep until answered), step,
accepted (2xx answered in time with a valid signature), time, data.
GET /stats answers {"requests", "accepted", "ids": {id: accepted count}}.
"""
import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time

LOCK = threading.Lock()
SEEN = {}       # webhook-id -> requests so far
ACCEPTED = {}   # webhook-id -> accepted count
STATE = {"requests": 0}


def key_of(secret):
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[6:])
    return secret.encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "webhook-receiver"

    def log_message(self, fmt, *args):
        sys.stderr.write("receiver: " + (fmt % args) + "\n")

    def answer(self, status, headers=None, body=b""):
        try:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def record(self, line):
        with LOCK:
            with open(self.server.opts.log, "a") as f:
                f.write(json.dumps(line) + "\n")
                f.flush()

    def do_GET(self):
        if self.path != "/stats":
            self.answer(404)
            return
        with LOCK:
            body = json.dumps({"requests": STATE["requests"],
                               "accepted": sum(ACCEPTED.values()),
                               "ids": dict(ACCEPTED)}).encode()
        self.answer(200, {"Content-Type": "application/json"}, body)

    def do_POST(self):
        opts = self.server.opts
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        wid = self.headers.get("webhook-id") or ""
        wts = self.headers.get("webhook-timestamp") or ""
        wsig = self.headers.get("webhook-signature") or ""
        line = {"id": wid, "timestamp": wts, "time": time.time(), "path": self.path}
        ts_ok = wts.isdigit() and abs(time.time() - int(wts)) <= opts.tolerance
        expected = base64.b64encode(hmac.new(self.server.key,
                                             wid.encode() + b"." + wts.encode() + b"." + body,
                                             hashlib.sha256).digest()).decode()
        sig_ok = bool(wid) and any(
            part.startswith("v1,") and hmac.compare_digest(part[3:], expected)
            for part in wsig.split(" "))
        line["sig_ok"], line["ts_ok"] = sig_ok, ts_ok
        try:
            doc = json.loads(body)
            line["type"] = doc["type"]
            line["data"] = doc["data"]
            body_ok = isinstance(doc.get("timestamp"), str)
        except (ValueError, KeyError, TypeError):
            body_ok = False
            line["type"] = ""
        with LOCK:
            STATE["requests"] += 1
            k = SEEN.get(wid, 0)
            SEEN[wid] = k + 1
        line["nth"] = k + 1
        if not (sig_ok and ts_ok):
            line.update(status=401, step="check", accepted=False)
            self.record(line)
            self.answer(401, body=b'{"error":"bad signature or timestamp"}')
            return
        if not body_ok:
            line.update(status=400, step="check", accepted=False)
            self.record(line)
            self.answer(400, body=b'{"error":"bad body"}')
            return
        step = "200"
        if opts.types is None or line["type"] in opts.types:
            if k < len(opts.script):
                step = opts.script[k]
        line["step"] = step
        kind, _, arg = step.partition(":")
        if kind in ("hang", "sleep"):
            if kind == "hang":
                self.record(dict(line, arrived=True, status=0, accepted=False))
            time.sleep(float(arg or 30))
            line.update(status=200, accepted=False, late=True)
            self.record(line)
            self.answer(200)
            return
        status = int(kind)
        headers = {}
        if status == 429:
            headers["Retry-After"] = arg or "1"
        accepted = 200 <= status < 300
        line.update(status=status, accepted=accepted)
        if accepted:
            with LOCK:
                ACCEPTED[wid] = ACCEPTED.get(wid, 0) + 1
        self.record(line)
        self.answer(status, headers, b'{"error":{"message":"scripted %d"}}' % status
                    if not accepted else b"")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--script", default="")
    ap.add_argument("--types", default=None)
    ap.add_argument("--tolerance", type=float, default=300)
    ap.add_argument("--secret-env", default="WEBHOOK_SECRET")
    opts = ap.parse_args()
    opts.script = [s for s in opts.script.split(",") if s]
    opts.types = set(opts.types.split(",")) if opts.types else None
    secret = os.environ.get(opts.secret_env, "")
    if not secret:
        sys.exit("receiver: no secret in $" + opts.secret_env)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.opts = opts
    srv.key = key_of(secret)
    tmp = opts.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, opts.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
