#!/usr/bin/env python3
"""abuse_client.py — hostile HTTP clients against a running `parley serve`
(tests/integration/test_abuse.sh, bench/bench_abuse.sh). Standard library
only. Each check prints one TAP line ("ok - …" / "not ok - …").

  abuse_client.py BASE TOKEN SCENARIO [ARGS…]

Scenarios: strict (duplicate Content-Length, CL + chunked, many query
arguments, %2F in a path), gaps SID (one chunk 99999: the view stays small),
pages (the session list in pages). A client that gets no answer within
--wait seconds fails its check (a hang is a failure, not a slow pass)."""
import io
import json
import socket
import struct
import sys
import time
import urllib.parse

WAIT = 20.0
QUIET = False  # bench: the probes' checks are not printed


def ok(cond, what):
    if not QUIET:
        print(("ok - " if cond else "not ok - ") + what, flush=True)
    return cond


def addr_of(base):
    u = urllib.parse.urlparse(base)
    return u.hostname, u.port


def raw(base, data, source=None, wait=WAIT):
    """Send bytes, read until the server closes (or wait passes); returns
    (status or 0, headers dict, body bytes)."""
    host, port = addr_of(base)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if source:
        s.bind((source, 0))
    s.settimeout(wait)
    out = b""
    try:
        s.connect((host, port))
        s.sendall(data)
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
            if b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                hl = {k.strip().lower(): v.strip() for k, _, v in
                      (l.partition(":") for l in head.decode("latin-1").split("\r\n")[1:])}
                if "content-length" in hl and len(body) >= int(hl["content-length"]):
                    break
    except (socket.timeout, ConnectionError, OSError):
        pass
    finally:
        s.close()
    if not out.startswith(b"HTTP/"):
        return 0, {}, b""
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return status, hdrs, body


def request(base, method, path, token=None, body=b"", ctype=None, extra=b"", source=None,
            wait=WAIT):
    h = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    if token:
        h += f"Authorization: Bearer {token}\r\n"
    if ctype:
        h += f"Content-Type: {ctype}\r\n"
    if body or method in ("PUT", "POST"):
        h += f"Content-Length: {len(body)}\r\n"
    return raw(base, h.encode() + extra + b"\r\n" + body, source=source, wait=wait)


def err_code(body):
    try:
        return json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def wav(seconds, rate=16000):
    """A mono 16-bit WAV of silence with a quiet tone."""
    n = int(seconds * rate)
    pcm = bytes(2 * n)
    b = io.BytesIO()
    b.write(b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt ")
    b.write(struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16))
    b.write(b"data" + struct.pack("<I", len(pcm)) + pcm)
    return b.getvalue()


def new_session(base, token):
    st, _, body = request(base, "POST", "/v1/sessions", token, b"{}", "application/json")
    if st != 201:
        return None
    return json.loads(body)["id"]


def scenario_strict(base, token):
    st, _, body = raw(base, b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      b"Authorization: Bearer " + token.encode() + b"\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Content-Length: 2\r\nContent-Length: 5\r\n\r\n{}xyz")
    ok(st == 400 and err_code(body) == "invalid",
       f"two different Content-Length headers are 400 invalid ({st})")
    st, _, body = raw(base, b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      b"Authorization: Bearer " + token.encode() + b"\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
    ok(st == 400 and err_code(body) == "invalid",
       f"Content-Length with Transfer-Encoding: chunked is 400 invalid ({st})")
    st, _, body = raw(base, b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      b"Authorization: Bearer " + token.encode() + b"\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}")
    ok(st == 201, f"the same Content-Length twice is accepted ({st})")
    q = "&".join(f"a{i}={i}" for i in range(600))
    st, _, body = request(base, "GET", "/health?" + q)
    ok(st == 414 and err_code(body) == "uri_too_long",
       f"600 query arguments are answered 414 uri_too_long, not a hang ({st})")
    st, _, body = request(base, "GET", "/health?x=" + "a" * 3000)
    ok(st == 414, f"a 3000-byte query is 414 ({st})")
    st, _, _ = request(base, "GET", "/health?a=1&b=2")
    ok(st == 200, f"a short query still works ({st})")
    st, _, body = request(base, "GET", "/static/a%2Fb")
    ok(st == 400 and err_code(body) == "invalid",
       f"an encoded '/' in a path segment is 400, not a separator ({st})")
    st, _, body = request(base, "GET", "/static/a%2fapp.js")
    ok(st == 400, f"a lower-case %2f likewise ({st})")


def scenario_gaps(base, token):
    sid = new_session(base, token)
    if not ok(sid is not None, "a session for the gaps"):
        return
    w = wav(0.5)
    s0, _, _ = request(base, "PUT", f"/v1/sessions/{sid}/chunks/0", token, w,
                       "application/octet-stream")
    s1, _, _ = request(base, "PUT", f"/v1/sessions/{sid}/chunks/99999", token, w,
                       "application/octet-stream")
    ok(s0 == 201 and s1 == 201, f"chunks 0 and 99999 uploaded ({s0} {s1})")
    st, _, body = request(base, "GET", f"/v1/sessions/{sid}", token)
    v = json.loads(body) if st == 200 else {}
    ok(st == 200 and v.get("gaps") == [[1, 99998]] and v.get("missing") == 99998,
       f"the gaps are one range [[1,99998]], missing 99998 ({st})")
    ok(len(body) < 4096, f"the session view of one chunk 99999 is small ({len(body)} bytes)")
    st, _, body = request(base, "GET", "/v1/sessions?limit=200", token)
    ok(st == 200 and len(body) < 200 * 4096,
       f"GET /v1/sessions stays bounded ({len(body)} bytes)")


def scenario_pages(base, token):
    ids = [new_session(base, token) for _ in range(3)]
    ok(all(ids), "three sessions created")
    st, _, body = request(base, "GET", "/v1/sessions?limit=2", token)
    p1 = json.loads(body) if st == 200 else {}
    got = [s["id"] for s in p1.get("sessions", [])]
    ok(st == 200 and len(got) == 2 and p1.get("next") == got[-1],
       f"limit=2 gives two sessions and a next cursor ({st})")
    seen = list(got)
    cur = p1.get("next")
    while cur:
        st, _, body = request(base, "GET", f"/v1/sessions?limit=2&cursor={cur}", token)
        if st != 200:
            break
        p = json.loads(body)
        seen += [s["id"] for s in p["sessions"]]
        cur = p.get("next")
    ok(all(i in seen for i in ids) and len(seen) == len(set(seen)),
       f"following next visits every session once ({len(seen)} seen)")
    st, _, body = request(base, "GET", "/v1/sessions?limit=0", token)
    ok(st == 400 and err_code(body) == "invalid", f"limit=0 is 400 ({st})")
    st, _, body = request(base, "GET", "/v1/sessions?cursor=../../x", token)
    ok(st == 400, f"a cursor that is not a session id is 400 ({st})")


def hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def flood(base, n, make, source=None):
    """n clients at once, each make(i) -> (status, headers, body)."""
    import threading
    res = [None] * n

    def run(i):
        res[i] = make(i)
    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return res


def big_put(base, path, token, size, source=None):
    """PUT size bytes as fast as the server takes them; the answer may come
    before the body is sent (then the rest is not sent)."""
    host, port = addr_of(base)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if source:
        s.bind((source, 0))
    s.settimeout(WAIT)
    h = f"PUT {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    if token:
        h += f"Authorization: Bearer {token}\r\n"
    h += f"Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
    out = b""
    try:
        s.connect((host, port))
        s.sendall(h.encode())
        # as a client with Expect: 100-continue would: a moment for an early
        # answer before the body (a reset would otherwise swallow it)
        s.settimeout(1.0)
        try:
            out = s.recv(65536)
        except socket.timeout:
            out = b""
        if out.startswith(b"HTTP/"):
            return int(out.split()[1])
        block = bytes(1 << 16)
        sent = 0
        s.setblocking(False)
        import select
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            r, w, _ = select.select([s], [s] if sent < size else [], [], 1.0)
            if r:
                d = s.recv(65536)
                if not d:
                    break
                out += d
                if b"\r\n\r\n" in out:
                    break
            if w and sent < size:
                try:
                    sent += s.send(block[:min(len(block), size - sent)])
                except (BlockingIOError, InterruptedError):
                    pass
    except (OSError, ConnectionError):
        pass
    finally:
        s.close()
    if not out.startswith(b"HTTP/"):
        return 0
    return int(out.split()[1])


def scenario_unauth(base, token, pid, n="20", mib="31", max_kb="0"):
    n, size, max_kb = int(n), int(mib) << 20, int(max_kb)
    before = hwm_kb(pid)
    sts = flood(base, n, lambda i: big_put(base, "/v1/sessions/aaaaaaaaaaaaaaaaaaaa/chunks/0",
                                           None, size))
    after = hwm_kb(pid)
    ok(all(st == 401 for st in sts),
       f"{n} unauthenticated {mib} MiB uploads are all 401 ({sorted(set(sts))})")
    print(f"# VmHWM {before} -> {after} kB with {n} unauthenticated {mib} MiB uploads",
          flush=True)
    if max_kb:
        ok(after - before < max_kb,
           f"server peak memory grows by less than {max_kb} kB ({before} -> {after} kB)")
    sid = new_session(base, token)
    sts = flood(base, 4, lambda i: big_put(base, "/v1/sessions/aaaaaaaaaaaaaaaaaaaa/chunks/0",
                                           token, size))
    ok(all(st == 404 for st in sts),
       f"uploads to a session the caller may not see are 404 before the body ({sorted(set(sts))})")
    return sid


def scenario_bodycap(base, token, mib="12"):
    """With --max-body-memory 16 MiB: two 12 MiB uploads at once cannot both
    be held; the one past the cap is 503 busy with Retry-After."""
    sid = new_session(base, token)
    size = int(mib) << 20
    host, port = addr_of(base)
    # the first holds its reservation: headers sent, body not yet
    s = socket.create_connection((host, port))
    s.sendall((f"PUT /v1/sessions/{sid}/chunks/0 HTTP/1.1\r\nHost: x\r\n"
               f"Authorization: Bearer {token}\r\nContent-Length: {size}\r\n\r\n").encode()
              + bytes(1024))
    time.sleep(0.5)
    st = big_put(base, f"/v1/sessions/{sid}/chunks/1", token, size)
    ok(st == 503, f"a body past --max-body-memory is 503 busy, before it is read ({st})")
    s.close()
    time.sleep(0.5)
    st, _, body = request(base, "PUT", f"/v1/sessions/{sid}/chunks/1", token, wav(1),
                          "application/octet-stream")
    ok(st == 201, f"once the held body is gone, uploads work again ({st})")


def scenario_bombs(base, token, pid, files_dir, max_kb="0"):
    import os
    max_kb = int(max_kb)
    sid = new_session(base, token)
    before = hwm_kb(pid)
    # 28 KB WAV at 1 Hz: 14,000 s of "audio"
    n = 14000
    pcm = bytes(2 * n)
    one_hz = (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " +
              struct.pack("<IHHIIHH", 16, 1, 1, 1, 2, 2, 16) + b"data" +
              struct.pack("<I", len(pcm)) + pcm)
    st, _, body = request(base, "PUT", f"/v1/sessions/{sid}/chunks/0", token, one_hz,
                          "application/octet-stream")
    ok(st == 422 and err_code(body) == "audio",
       f"a {len(one_hz) // 1000} KB WAV at 1 Hz is refused 422 audio ({st}: {body[:120]!r})")
    for name in sorted(os.listdir(files_dir)):
        data = open(os.path.join(files_dir, name), "rb").read()
        st, _, body = request(base, "PUT", f"/v1/sessions/{sid}/chunks/1", token, data,
                              "application/octet-stream")
        ok(st == 413 and err_code(body) == "too_large",
           f"{name} ({len(data) // 1000} KB of hours of silence) is 413 too_large ({st})")
    # four at once, and /health answers meanwhile
    datas = [open(os.path.join(files_dir, nm), "rb").read() for nm in sorted(os.listdir(files_dir))]
    import threading
    health = []

    def probe():
        time.sleep(0.05)
        health.append(request(base, "GET", "/health", wait=WAIT)[0])
    t = threading.Thread(target=probe)
    t.start()
    sts = flood(base, 4, lambda i: request(base, "PUT", f"/v1/sessions/{sid}/chunks/{2 + i}",
                                           token, datas[i % len(datas)],
                                           "application/octet-stream")[0])
    t.join()
    ok(all(st == 413 for st in sts) and health == [200],
       f"four bombs at once are 413 and /health answers 200 meanwhile ({sts} {health})")
    after = hwm_kb(pid)
    print(f"# VmHWM {before} -> {after} kB with the decode bombs", flush=True)
    if max_kb:
        ok(after - before < max_kb,
           f"server peak memory grows by less than {max_kb} kB with the bombs ({before} -> {after} kB)")


def scenario_limits(base, token, other, quota):
    """--max-session-hours 0.02 (72 s); `other` (a fresh user) may own
    --quota-sessions (quota) sessions."""
    sid = new_session(base, token)
    w = wav(30)
    sts = [request(base, "PUT", f"/v1/sessions/{sid}/chunks/{i}", token, w,
                   "application/octet-stream")[0] for i in range(3)]
    st, _, body = request(base, "PUT", f"/v1/sessions/{sid}/chunks/3", token, w,
                          "application/octet-stream")
    ok(sts[:2] == [201, 201] and sts[2] == 413,
       f"a session's audio is checked at upload: 30 s chunks past 72 s are 413 ({sts})")
    made = [new_session(base, other) for _ in range(int(quota))]
    st, _, body = request(base, "POST", "/v1/sessions", other, b"{}", "application/json")
    ok(all(made) and st == 413 and err_code(body) == "too_large",
       f"a session past --quota-sessions {quota} is 413 too_large ({st})")


def scenario_slowloris(base, token, pid, n="320", sources="127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6", seconds="6"):
    """n connections from the sources, each sending its request one byte a
    second; meanwhile /health from 127.0.0.1 and a client from one of the
    flooding addresses must be answered."""
    import select
    n, srcs, seconds = int(n), sources.split(","), float(seconds)
    host, port = addr_of(base)
    line = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((srcs[i % len(srcs)], 0))
        s.setblocking(False)
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        socks.append([s, 0])
    closed = 0
    t_end = time.monotonic() + seconds
    health = other = None
    start = time.monotonic()
    while time.monotonic() < t_end:
        for rec in socks:
            s, k = rec
            if s is None:
                continue
            try:
                s.send(line[k:k + 1])
                rec[1] = k + 1
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                s.close()
                rec[0] = None
                closed += 1
        if health is None and time.monotonic() - start > 2.5:
            health = request(base, "GET", "/health", wait=10)[0]
            other = request(base, "GET", "/health", source=srcs[0], wait=10)[0]
        time.sleep(1.0)
    # a cut connection reads as closed
    for rec in socks:
        s = rec[0]
        if s is None:
            continue
        try:
            r, _, _ = select.select([s], [], [], 0)
            if r and not s.recv(1024):
                closed += 1
        except OSError:
            closed += 1
        s.close()
    ok(health == 200, f"/health from another address answers under {n} slow connections ({health})")
    ok(other == 200, f"a client of a flooding address still gets in ({other})")
    print(f"# {closed} of {n} slow connections were closed by the server", flush=True)
    ok(closed >= n // 2, f"slow header senders are closed by the header deadline ({closed} of {n})")
    print(f"# VmHWM {hwm_kb(pid)} kB after the slowloris", flush=True)


def percentile(xs, q):
    xs = sorted(xs)
    if not xs:
        return 0.0
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def health_prober(base, source, out, stop):
    """GET /health from source until stop is set; (status, seconds) into out."""
    while not stop.is_set():
        t0 = time.monotonic()
        st = request(base, "GET", "/health", source=source, wait=WAIT)[0]
        out.append((st, time.monotonic() - t0))
        time.sleep(0.05)


def scenario_pool(base, token, pid, path, n="8", source="127.0.0.2"):
    """With --decode-workers 1 --decode-queue 1: n uploads of a long (but
    legal) recording at once. Two are taken (one decoding, one waiting), the
    rest are 503 busy with Retry-After at once; /health from another address
    answers 200 throughout (its latency is printed, not asserted)."""
    import threading
    n = int(n)
    data = open(path, "rb").read()
    sid = new_session(base, token)
    if not ok(sid is not None, "a session for the decode pool"):
        return
    before = hwm_kb(pid)
    lat, stop = [], threading.Event()
    t = threading.Thread(target=health_prober, args=(base, source, lat, stop))
    t.start()
    time.sleep(0.2)
    res = flood(base, n, lambda i: request(base, "PUT", f"/v1/sessions/{sid}/chunks/{i}", token,
                                           data, "application/octet-stream"))
    stop.set()
    t.join()
    after = hwm_kb(pid)
    sts = sorted(r[0] for r in res)
    busy = [r for r in res if r[0] == 503]
    ok(set(sts) <= {201, 503} and sts.count(201) >= 1,
       f"{n} uploads at once: each is stored (201) or refused (503) ({sts})")
    ok(len(busy) >= 1 and all(err_code(r[2]) == "busy" and r[1].get("retry-after") == "5"
                              for r in busy),
       f"past --decode-workers + --decode-queue an upload is 503 busy with Retry-After: 5 "
       f"({len(busy)} of {n})")
    hs = [st for st, _ in lat]
    ok(hs and all(st == 200 for st in hs),
       f"/health from {source} answered 200 throughout ({len(hs)} probes, {sorted(set(hs))})")
    secs = [x for _, x in lat]
    print(f"# pool: /health p50 {percentile(secs, 0.5) * 1000:.1f} ms, p99 "
          f"{percentile(secs, 0.99) * 1000:.1f} ms over {len(secs)} probes; VmHWM {before} -> "
          f"{after} kB", flush=True)


def batch_create(base, token, name, stages=None):
    req = {"name": name}
    if stages:
        req["stages"] = stages
    st, _, body = request(base, "POST", "/v1/batches", token, json.dumps(req).encode(),
                          "application/json")
    return json.loads(body)["id"] if st == 201 else None


def scenario_batchcap(base, op, user, max_files="2", max_bytes="300000"):
    """Batch uploads answered at the headers (before a byte of the body):
    the token, the role, the batch, the name, the route's 256 MiB, and the
    server's --batch-max-files / --batch-max-bytes (the file replaced by an
    upload of its own name counts once)."""
    big = 200 << 20
    bid = batch_create(base, op, "capped")
    if not ok(bid is not None, "an operator creates a batch"):
        return
    url = f"/v1/batches/{bid}/files/"
    ok(big_put(base, url + "a.wav", None, big) == 401,
       "a 200 MiB batch upload without a token is 401 before its body")
    ok(big_put(base, url + "a.wav", user, big) == 404,
       "a plain user's 200 MiB batch upload is 404 before its body")
    ok(big_put(base, f"/v1/batches/999999/files/a.wav", op, big) == 404,
       "an upload to a batch that does not exist is 404 before its body")
    ok(big_put(base, url + ".hidden", op, big) == 400,
       "an upload under a name that is not a file name is 400 before its body")
    ok(big_put(base, url + "a.wav", op, (256 << 20) + 1) == 413,
       "an upload over the route's 256 MiB is 413 before its body")
    ok(big_put(base, url + "a.wav", op, int(max_bytes) + 1) == 413,
       f"an upload over --batch-max-bytes {max_bytes} is 413 before its body")
    w = wav(1)
    sts = [request(base, "PUT", url + f"f{i}.wav", op, w, "application/octet-stream")[0]
           for i in range(int(max_files))]
    ok(sts == [201] * int(max_files), f"{max_files} files fit --batch-max-files ({sts})")
    st, _, body = request(base, "PUT", url + "f0.wav", op, wav(2), "application/octet-stream")
    ok(st == 201, f"a file of an uploaded name replaces it: counted once ({st})")
    st = big_put(base, url + "more.wav", op, 1 << 20)
    ok(st == 413, f"one more file past --batch-max-files {max_files} is 413 before its body ({st})")
    st, _, body = request(base, "PUT", url + "more.wav", op, w, "application/octet-stream")
    ok(st == 413 and err_code(body) == "too_large" and b"--batch-max-files" in body,
       f"and its answer names the limit ({st}: {body[:100]!r})")


def scenario_leak_setup(base, op):
    """A batch (stage decode only) with one good upload; prints its id."""
    bid = batch_create(base, op, "leaky", "decode")
    st, _, _ = request(base, "PUT", f"/v1/batches/{bid}/files/bad.wav", op, wav(1),
                       "application/octet-stream")
    s2, _, _ = request(base, "POST", f"/v1/batches/{bid}/start", op, b"{}", "application/json")
    ok(bid is not None and st == 201 and s2 == 202, f"a started batch with one upload ({st} {s2})")
    print(f"# batch {bid}", flush=True)


def scenario_leaks(base, op, bid, data_dir):
    """The file failed in a worker (its stored bytes were spoiled): no answer
    about it holds an absolute path, the data directory, a pid or SQL."""
    import os
    import re
    real = os.path.realpath(data_dir)
    answers = {
        "failed": request(base, "GET", f"/v1/batches/{bid}/failed", op),
        "results": request(base, "GET", f"/v1/batches/{bid}/results", op),
        "results.csv": request(base, "GET", f"/v1/batches/{bid}/results?format=csv", op),
        "table": request(base, "GET", f"/v1/batches/{bid}/results?sort=name", op),
        "events": request(base, "GET", f"/v1/batches/{bid}/events?timeout=1", op),
    }
    st, _, body = answers["failed"]
    failed = json.loads(body).get("failed", []) if st == 200 else []
    if not ok(len(failed) == 1 and failed[0].get("name") == "bad.wav",
              f"the spoiled file failed ({st}: {body[:200]!r})"):
        return
    err = failed[0].get("error", "")
    print(f"# stored failure: {err}", flush=True)
    ok(err.startswith("bad.wav"), f"the failure names the file as uploaded ({err!r})")
    answers["recording"] = request(base, "GET", f"/v1/recordings/{failed[0]['recording']}", op)
    pid_re = re.compile(rb"\.tmp\.\d+|pid \d+")
    sql_re = re.compile(rb"\b(SELECT|INSERT|UPDATE|DELETE FROM)\b|sqlite|SQLSTATE")
    path_re = re.compile(rb"(^|[\s\"'(=])/(?!v1/)[A-Za-z0-9._-]+/")
    for name, (st, _, body) in answers.items():
        clean = (real.encode() not in body and data_dir.encode() not in body and
                 not path_re.search(body) and not pid_re.search(body) and
                 not sql_re.search(body))
        ok(st == 200 and clean, f"{name}: no absolute path, pid or SQL ({st}: {body[:160]!r})")


def one_hz_wav(n=14000):
    pcm = bytes(2 * n)
    return (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, 1, 2, 2, 16) + b"data" +
            struct.pack("<I", len(pcm)) + pcm)


def scenario_bench(base, token, pid, long_flac, op, source="127.0.0.7"):
    """bench/bench_abuse.sh: each probe while /health is asked from another
    address; a table of VmHWM before/after and /health p50/p99 per probe.
    Figures only: nothing is asserted."""
    import threading
    global QUIET
    QUIET = True
    data = open(long_flac, "rb").read()
    mb = len(data) / 1e6

    def uploads(n, body):
        sid = new_session(base, token)
        return lambda: flood(base, n, lambda i: request(
            base, "PUT", f"/v1/sessions/{sid}/chunks/{i}", token, body,
            "application/octet-stream")[0])

    def batch_puts():
        bid = batch_create(base, op, f"bench{time.time_ns()}")
        sts = flood(base, 8, lambda i: big_put(base, f"/v1/batches/{bid}/files/f{i}.wav", token,
                                                200 << 20))
        sts += flood(base, 8, lambda i: big_put(base, f"/v1/batches/999999/files/f{i}.wav", op,
                                                 200 << 20))
        return sts

    probes = [
        ("idle (2 s)", lambda: time.sleep(2) or []),
        ("20 unauthenticated 31 MiB chunk uploads", lambda: flood(
            base, 20, lambda i: big_put(base, "/v1/sessions/aaaaaaaaaaaaaaaaaaaa/chunks/0", None,
                                        31 << 20))),
        ("16 batch uploads of 200 MiB refused at the headers", batch_puts),
        ("4 WAVs at 1 Hz (14,000 s each) at once", uploads(4, one_hz_wav())),
        (f"4 FLACs of hours of silence ({mb:.1f} MB) at once", uploads(4, data)),
        (f"16 of them at once (past the decode pool)", uploads(16, data)),
        ("320 slow header senders from 5 addresses", lambda: scenario_slowloris(
            base, token, pid, "320") or []),
    ]
    rows = []
    for name, run in probes:
        lat, stop = [], threading.Event()
        t = threading.Thread(target=health_prober, args=(base, source, lat, stop))
        before = hwm_kb(pid)
        t.start()
        time.sleep(0.1)
        sts = run() or []
        stop.set()
        t.join()
        after = hwm_kb(pid)
        secs = [x for st, x in lat if st == 200]
        bad = sum(1 for st, _ in lat if st != 200)
        rows.append((name, before, after, percentile(secs, 0.5) * 1000,
                     percentile(secs, 0.99) * 1000, len(lat), bad,
                     ",".join(f"{k}x{sts.count(k)}" for k in sorted(set(sts)))))
    print(f"{'probe':<52} {'VmHWM before':>12} {'after':>8} {'health p50':>10} "
          f"{'p99':>8} {'probes':>6} {'not 200':>7}  answers")
    for r in rows:
        print(f"{r[0]:<52} {r[1] / 1024:>9.1f} MB {r[2] / 1024:>5.1f} MB {r[3]:>7.1f} ms "
              f"{r[4]:>5.1f} ms {r[5]:>6} {r[6]:>7}  {r[7]}")


def main():
    global WAIT
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "--wait":
        WAIT = float(args[1])
        args = args[2:]
    base, token, scen, rest = args[0], args[1], args[2], args[3:]
    globals()["scenario_" + scen](base, token, *rest)


if __name__ == "__main__":
    main()
