#!/usr/bin/env python3
"""early_client.py — a client that uploads a body the server refuses at its
headers, and keeps writing it while it reads the answer (as curl, a phone
app, a browser do). Standard library only; used by
tests/integration/test_http_early.sh.

  early_client.py BASE METHOD PATH STATUS [options]

Each of --count rounds opens a connection, sends the request line and the
headers (Content-Length: --length, or chunked with --chunked; Expect:
100-continue with --expect; each --header), then writes the body in 64 KiB
pieces while reading, until the whole answer (status line, headers and
Content-Length bytes of body) is in. A round passes when that answer is
complete and has STATUS, with no "100 Continue" before it when --expect;
with --keep-alive the connection must then stay open (no "Connection:
close") and answer a GET /health on it; with --closes the answer must say
"Connection: close" and the server must end the connection (EOF, not a
reset) once the client stops writing; with --endless the client writes on
after the answer without reading, and the server must end the connection
within --wait seconds (its lingering is bounded). A reset (ECONNRESET, EPIPE) or an EOF
before the whole answer fails the round, as does no answer within --wait
seconds. Prints one line: "rounds N ok N reset N eof N bad N [first
failure]" and exits 1 when a round failed.
"""
import argparse
import errno
import select
import socket
import sys
import time
import urllib.parse

PIECE = 65536


class Fail(Exception):
    def __init__(self, kind, why):
        super().__init__(why)
        self.kind = kind
        self.why = why


def parse_answer(buf):
    """(status, headers, total length) of a complete answer in buf, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    parts = head[0].split()
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise Fail("bad", "not an HTTP answer: %r" % head[0][:80])
    status = int(parts[1])
    hdrs = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        hdrs.setdefault(k.strip().lower(), v.strip())
    if 100 <= status < 200:  # an interim answer: the caller drops it
        return status, hdrs, end + 4
    n = int(hdrs.get("content-length", "0"))
    if len(buf) < end + 4 + n:
        return None
    return status, hdrs, end + 4 + n


def io_error(e, where):
    if e.errno in (errno.ECONNRESET, errno.EPIPE):
        return Fail("reset", "%s: %s" % (where, errno.errorcode.get(e.errno, e.errno)))
    return Fail("bad", "%s: %s" % (where, e))


def one_round(a, host, port):
    s = socket.create_connection((host, port), timeout=a.wait)
    try:
        return exchange(a, s)
    finally:
        s.close()


def exchange(a, s):
    head = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (a.method, a.path, a.host_header)
    for h in a.header:
        head += h + "\r\n"
    if a.chunked:
        head += "Transfer-Encoding: chunked\r\n"
    else:
        head += "Content-Length: %d\r\n" % a.length
    if a.expect:
        head += "Expect: 100-continue\r\n"
    pending = memoryview(head.encode() + b"\r\n")
    body_left = a.length
    piece = b"x" * PIECE
    got = b""
    saw_continue = False
    deadline = time.monotonic() + a.wait
    # --expect: give the server --expect-wait seconds to answer before the
    # body goes (curl waits up to a second), then write it anyway.
    hold_until = time.monotonic() + (a.expect_wait if a.expect else 0.0)
    s.setblocking(False)
    headers_sent = False

    def next_piece():
        nonlocal body_left
        chunk = piece[:min(PIECE, body_left)]
        body_left -= len(chunk)
        if a.chunked:
            chunk = b"%x\r\n" % len(chunk) + chunk + b"\r\n" + (b"0\r\n\r\n" if body_left == 0 else b"")
        return memoryview(chunk)
    while True:
        now = time.monotonic()
        if now > deadline:
            raise Fail("bad", "no complete answer within %.0f s (%d bytes in)" % (a.wait, len(got)))
        if not pending and headers_sent and body_left > 0 and now >= hold_until:
            pending = next_piece()
        want_w = [s] if pending else []
        r, w, _ = select.select([s], want_w, [], 0.05)
        # Write as much as the socket takes, as a client that writes its
        # whole body before it reads does; read when it would block.
        while w and pending:
            try:
                n = s.send(pending)
            except BlockingIOError:
                break
            except OSError as e:
                raise io_error(e, "write (%d body bytes left)" % body_left)
            pending = pending[n:]
            if not pending:
                headers_sent = True
                if body_left > 0 and time.monotonic() >= hold_until:
                    pending = next_piece()
        if r:
            try:
                d = s.recv(65536)
            except BlockingIOError:
                d = None
            except OSError as e:
                raise io_error(e, "read after %d bytes of answer" % len(got))
            if d == b"":
                raise Fail("eof", "EOF after %d bytes of answer" % len(got))
            if d:
                got += d
                while True:
                    ans = parse_answer(got)
                    if not ans:
                        break
                    status, hdrs, n = ans
                    if 100 <= status < 200:
                        saw_continue = True
                        got = got[n:]
                        continue
                    return finish(a, s, status, hdrs, saw_continue)


def finish(a, s, status, hdrs, saw_continue):
    if status != a.status:
        raise Fail("bad", "status %d, not %d" % (status, a.status))
    if a.expect and saw_continue:
        raise Fail("bad", "100 Continue before a refusal")
    close = hdrs.get("connection", "").lower() == "close"
    s.setblocking(True)
    s.settimeout(a.wait)
    if a.keep_alive:
        if close:
            raise Fail("bad", "Connection: close after a drained small body")
        try:
            s.sendall(("GET /health HTTP/1.1\r\nHost: %s\r\n\r\n" % a.host_header).encode())
            got = b""
            while True:
                d = s.recv(65536)
                if not d:
                    raise Fail("bad", "the kept-alive connection closed before its next answer")
                got += d
                ans = parse_answer(got)
                if ans and ans[0] >= 200:
                    if ans[0] != 200:
                        raise Fail("bad", "GET /health on the kept-alive connection: %d" % ans[0])
                    break
        except socket.timeout:
            raise Fail("bad", "no answer to GET /health on the kept-alive connection")
        except OSError as e:
            raise io_error(e, "the kept-alive connection")
    if a.endless:
        # Keep writing and never read: the server must still end the
        # connection (its lingering close is bounded).
        piece = b"y" * PIECE
        until = time.monotonic() + a.wait
        try:
            while time.monotonic() < until:
                s.sendall(piece)
        except socket.timeout:
            pass
        except OSError:
            return "ok"
        raise Fail("bad", "the server still holds the connection after %.0f s" % a.wait)
    if a.closes:
        if not close:
            raise Fail("bad", "no Connection: close after an unread large body")
        try:
            while s.recv(65536):
                pass
        except socket.timeout:
            raise Fail("bad", "the server kept the connection open after Connection: close")
        except OSError as e:
            raise io_error(e, "waiting for the server's close")
    return "ok"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("base")
    p.add_argument("method")
    p.add_argument("path")
    p.add_argument("status", type=int)
    p.add_argument("--length", type=int, default=2 << 20)
    p.add_argument("--chunked", action="store_true")
    p.add_argument("--expect", action="store_true")
    p.add_argument("--expect-wait", type=float, default=0.2)
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--keep-alive", action="store_true")
    p.add_argument("--closes", action="store_true")
    p.add_argument("--endless", action="store_true")
    p.add_argument("--wait", type=float, default=20.0)
    a = p.parse_args()
    u = urllib.parse.urlparse(a.base)
    host, port = u.hostname, u.port
    a.host_header = "%s:%d" % (host, port)
    counts = {"ok": 0, "reset": 0, "eof": 0, "bad": 0}
    first = ""
    for i in range(a.count):
        try:
            counts[one_round(a, host, port)] += 1
        except Fail as f:
            counts[f.kind] += 1
            if not first:
                first = "round %d: %s: %s" % (i + 1, f.kind, f.why)
        except OSError as e:
            counts["bad"] += 1
            if not first:
                first = "round %d: connect: %s" % (i + 1, e)
    print("rounds %d ok %d reset %d eof %d bad %d%s" % (
        a.count, counts["ok"], counts["reset"], counts["eof"], counts["bad"],
        " (" + first + ")" if first else ""))
    return 0 if counts["ok"] == a.count else 1


if __name__ == "__main__":
    sys.exit(main())
