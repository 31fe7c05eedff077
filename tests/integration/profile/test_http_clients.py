#!/usr/bin/env python3
"""The two HTTP clients of the load engine (--http-client h1 and libcurl).

Both measure a `sim` model of known service time alike. The h1 client,
which frames HTTP/1.1 itself, is driven against a raw-socket server that
answers in every framing a server may use: Content-Length, chunked with
extensions and trailers, `Connection: close`, an interim 100 Continue, an
HTTP/1.0 body that ends with the connection, and keep-alive connections the
server drops while idle. None of that may cost a request. Broken answers (a
malformed status line, a body cut short, a reset) fail the run with a
message that says what was wrong."""

import json
import socket
import threading

from profile_common import HOST, Server, main, profile, sim_model

META = {"name": "fake", "versions": ["1"], "platform": "fake",
        "inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [4]}],
        "outputs": [{"name": "OUTPUT0", "datatype": "FP32", "shape": [4]}]}
OUT = b'{"model_name":"fake","outputs":[]}'


def plain(body, status="200 OK", extra=b""):
    return (b"HTTP/1.1 " + status.encode() + b"\r\nContent-Type: application/json\r\n" +
            extra + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def chunked(body):
    half = len(body) // 2
    return (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
            b"%x;note=1\r\n" % half + body[:half] + b"\r\n" +
            b"%X\r\n" % (len(body) - half) + body[half:] + b"\r\n" +
            b"0\r\nX-Trailer: yes\r\n\r\n")


class RawServer:
    """A threaded HTTP/1.1 server written on sockets, so that each answer's
    framing is exactly what the test says. infer(n) -> (bytes, close_after)
    answers the n-th inference request; idle_close_s closes a kept-alive
    connection that stays idle that long."""

    def __init__(self, infer, idle_close_s=None):
        self.infer = infer
        self.idle_close_s = idle_close_s
        self.count = 0
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.closing = False
        threading.Thread(target=self.accept, daemon=True).start()

    @property
    def url(self):
        return f"{HOST}:{self.port}"

    def accept(self):
        while not self.closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def read_request(self, conn, buf):
        while b"\r\n\r\n" not in buf:
            data = conn.recv(65536)
            if not data:
                return None, b""
            buf += data
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        while len(rest) < length:
            data = conn.recv(65536)
            if not data:
                return None, b""
            rest += data
        return lines[0], rest[length:]

    def serve(self, conn):
        buf = b""
        try:
            while True:
                if self.idle_close_s is not None and not buf:
                    conn.settimeout(self.idle_close_s)
                try:
                    line, buf = self.read_request(conn, buf)
                except socket.timeout:
                    return
                conn.settimeout(None)
                if line is None:
                    return
                method, path, _ = line.split(" ", 2)
                if method == "GET":
                    if path == "/v2/models/fake":
                        conn.sendall(plain(json.dumps(META).encode()))
                    elif path == "/v2/models/fake/config":
                        conn.sendall(plain(b'{"name":"fake","max_batch_size":0}'))
                    else:
                        conn.sendall(plain(b'{"error":"Not Found"}', "404 Not Found"))
                    continue
                with self.lock:
                    self.count += 1
                    n = self.count
                data, close = self.infer(n)
                conn.sendall(data)
                if close:
                    return
        except OSError:
            return
        finally:
            conn.close()

    def close(self):
        self.closing = True
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def every_framing(n):
    """Cycles through the framings a server may use."""
    k = n % 5
    if k == 0:
        return chunked(OUT), False
    if k == 1:
        return plain(OUT, extra=b"Connection: close\r\n"), True
    if k == 2:
        return b"HTTP/1.1 100 Continue\r\n\r\n" + plain(OUT), False
    if k == 3:
        # HTTP/1.0 without a length: the body ends with the connection.
        return b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + OUT, True
    return plain(OUT, extra=b"connection: Keep-Alive\r\n"), False


def csv_value(r, column):
    try:
        return float(r.rows[0][column])
    except (IndexError, KeyError, ValueError):
        return 0.0


def run(c, infertune, scratch):
    # --- both clients measure a known model alike ---------------------------
    # Two device slots of 20 ms, four requests in flight: the device never
    # idles, so X = 2 / T with T the service time the server reports, and
    # by Little's law X * latency = 4 (see test_closed_loop.py).
    repo = f"{scratch}/repo"
    sim_model(repo, "sim20", 20000, slots=2, instances=2)
    with Server(infertune, scratch, repo) as s:
        for client in ("h1", "libcurl"):
            r = profile(infertune, scratch, ["-m", "sim20", "-u", s.url,
                                             "--concurrency-range", "4", "-p", "2000",
                                             "--http-client", client],
                        csv_name=f"{client}.csv")
            x = csv_value(r, "Inferences/Second")
            t_us = csv_value(r, "Server Compute Infer")
            lat_us = csv_value(r, "Avg latency")
            want = 2e6 / t_us if t_us else 0
            c.check(r.code == 0 and want and abs(x - want) <= 0.03 * want,
                    f"--http-client {client}: {x:.1f} infer/s, analytic {want:.1f} (within 3%)", r)
            c.check(abs(x * lat_us / 1e6 - 4) <= 0.12,
                    f"--http-client {client}: {x * lat_us / 1e6:.3f} requests in flight, 4 (within 3%)")
            c.check(csv_value(r, "Client Send") > 0 and csv_value(r, "Client Recv") > 0,
                    f"--http-client {client}: client send and receive times are measured", r)

    # --- every framing, reconnecting when the server closes -----------------
    with RawServer(every_framing) as f:
        r = profile(infertune, scratch, ["-m", "fake", "-u", f.url, "-p", "400", "-s", "50",
                                         "--concurrency-range", "3", "--http-client", "h1"])
        c.check(r.code == 0 and csv_value(r, "Inferences/Second") > 0,
                "h1: chunked, Connection: close, 100 Continue and HTTP/1.0 answers cost no request", r)
        c.check(f.connections >= f.count // 5,
                f"h1: reconnected after each close ({f.connections} connections for {f.count} requests)")
        r = profile(infertune, scratch, ["-m", "fake", "-u", f.url, "-p", "400", "-s", "50",
                                         "--http-client", "libcurl"])
        c.check(r.code == 0, "libcurl takes the same answers", r)

    # --- the server drops idle kept-alive connections ---------------------
    with RawServer(lambda n: (plain(OUT), False), idle_close_s=0.02) as f:
        r = profile(infertune, scratch, ["-m", "fake", "-u", f.url, "-p", "1000", "-s", "50",
                                         "--request-rate-range", "30", "--http-client", "h1"])
        c.check(r.code == 0 and "failed" not in r.err,
                "h1: connections closed by the server while idle cost no request", r)
        c.check(f.connections > 5,
                f"h1: the server did close idle connections ({f.connections} opened)")

    # --- broken answers fail with what was wrong --------------------------
    for name, answer, needles in (
            ("malformed status line", lambda n: (b"HTTP/1.1 2OO OK\r\n\r\n", True),
             ["bad response", "status"]),
            ("body cut short", lambda n: (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                                          + b"x" * 10, True),
             ["connection closed 90 bytes before the end of the body"]),
            ("closed without answering", lambda n: (b"", True),
             ["connection closed before the response began"]),
            ("server error", lambda n: (plain(b'{"error":"model exploded"}',
                                              "500 Internal Server Error"), False),
             ["HTTP 500: model exploded"])):
        with RawServer(answer) as f:
            r = profile(infertune, scratch, ["-m", "fake", "-u", f.url, "-p", "300",
                                             "--http-client", "h1"], timeout=30)
            c.check(r.code == 1 and all(n in r.err + r.out for n in needles),
                    f"h1: {name} fails the run and says so", r)

    # --- https needs libcurl ----------------------------------------------
    r = profile(infertune, scratch, ["-m", "fake", "-u", "https://127.0.0.1:1",
                                     "--http-client", "h1"], timeout=10)
    c.check(r.code == 2 and "plain http:// only" in r.err,
            "--http-client h1 refuses an https:// URL before any network", r)
    r = profile(infertune, scratch, ["-m", "fake", "-u", "127.0.0.1:1",
                                     "--http-client", "h2"], timeout=10)
    c.check(r.code == 2 and "choose auto, h1 or libcurl" in r.err,
            "--http-client with an unknown value is a usage error", r)


if __name__ == "__main__":
    main(run)
