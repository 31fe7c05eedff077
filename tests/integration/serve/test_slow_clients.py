#!/usr/bin/env python3
"""Slow, silent, half-open and killed clients (issue #14, item 3) against a
server with --http-idle-timeout-secs 2, --http-header-timeout-secs 3 and
two HTTP threads: a normal client keeps its latency, the silent and stalled
connections are closed by the idle timeout, the header tricklers hold no
thread and are cut by the header deadline, a body trickled below 1 KiB/s is
cut too while a body sent slowly but above that rate is served, a request
slower than the idle timeout is not cut, a client killed with an infer in
flight costs nothing once its answer is due, and the server ends with no
more threads and file descriptors than it started with."""

import os
import socket
import subprocess
import sys
import threading
import time

from common import HOST, Server, add_sub_pbtxt, binary_request, infer, main, sim_pbtxt, write_model

IDLE_TIMEOUT_S = 2
HEADER_TIMEOUT_S = 3
TRICKLERS = 16          # more than the HTTP threads: none may be held by one
SILENT = 8
SAMPLES = 300

ADD_SUB_BODY = binary_request([("INPUT0", "INT32", [16], list(range(16)), True),
                               ("INPUT1", "INT32", [16], [1] * 16, True)])


def latencies_ms(s, n):
    """n add_sub inferences on one kept-alive connection; latency of each in ms."""
    conn = s.conn()
    out = []
    body, hdrs = ADD_SUB_BODY
    try:
        for _ in range(n):
            t = time.perf_counter()
            st, _, _ = infer(s, "add_sub", body, hdrs, conn=conn)
            out.append((time.perf_counter() - t) * 1000)
            if st != 200:
                raise RuntimeError(f"add_sub answered {st}")
    finally:
        conn.close()
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_closed(sk, until):
    """When (time.monotonic()) the server closed sk (EOF or reset); None if still open at until."""
    try:
        while True:
            sk.settimeout(max(until - time.monotonic(), 0.01))
            if not sk.recv(4096):
                break
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        return None
    return time.monotonic()


class Trickler(threading.Thread):
    """Sends a request's headers one byte per second on each of its sockets."""

    def __init__(self, port, n):
        super().__init__(daemon=True)
        self.request = (b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Slow: "
                        + b"s" * 200 + b"\r\n\r\n")
        self.socks = [socket.create_connection((HOST, port), timeout=5) for _ in range(n)]
        self.stop = threading.Event()
        self.sent = 0
        self.cut = 0   # sockets the server closed while we were still sending

    def run(self):
        while not self.stop.wait(1.0) and self.sent < len(self.request):
            byte = self.request[self.sent:self.sent + 1]
            for sk in self.socks:
                try:
                    sk.sendall(byte)
                except OSError:
                    self.cut += 1
            self.sent += 1

    def close(self):
        self.stop.set()
        self.join(5)
        for sk in self.socks:
            sk.close()


KILLED_CLIENT = r"""
import socket, sys
sk = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
sk.sendall(bytes.fromhex(sys.argv[2]))
print("sent", flush=True)
sys.stdin.read()
"""


def run(c, infertune, scratch):
    repo = os.path.join(scratch, "repo")
    write_model(repo, "add_sub", add_sub_pbtxt())
    write_model(repo, "slow", sim_pbtxt("slow", base_us=2500000, max_batch_size=8))
    args = ["--http-idle-timeout-secs", str(IDLE_TIMEOUT_S),
            "--http-header-timeout-secs", str(HEADER_TIMEOUT_S), "--http-thread-count", "2"]
    with Server(infertune, scratch, [repo], args) as s:
        pid = s.proc.pid
        latencies_ms(s, 50)  # warm-up
        base = latencies_ms(s, SAMPLES)
        threads0, fds0 = proc_status(pid, "Threads"), open_fds(pid)
        print(f"    baseline: p50 {pct(base, 50):.3f} ms, p99 {pct(base, 99):.3f} ms; "
              f"{threads0} threads, {fds0} fds")

        # -- the hostile crowd
        t_start = time.monotonic()
        trickle = Trickler(s.http_port, TRICKLERS)
        trickle.start()
        silent = [socket.create_connection((HOST, s.http_port)) for _ in range(SILENT)]
        stalled = socket.create_connection((HOST, s.http_port))
        stalled.sendall(b"POST /v2/models/add_sub/infer HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                        b'{"inputs": [')
        body, hdrs = binary_request([("INPUT0", "FP32", [1, 4], [1.0] * 4, True)])
        head = (f"POST /v2/models/slow/infer HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                f"Inference-Header-Content-Length: {hdrs['Inference-Header-Content-Length']}\r\n\r\n")
        killed = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT, str(s.http_port),
                                   (head.encode() + body).hex()],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        c.equal(killed.stdout.readline().strip(), b"sent", "the killed client sent its infer")
        time.sleep(0.2)  # the 2.5 s execution is under way
        killed.kill()
        killed.wait()

        during = latencies_ms(s, SAMPLES)
        b50, d50 = pct(base, 50), pct(during, 50)
        print(f"    with {TRICKLERS} tricklers, {SILENT} silent, 1 stalled body, 1 killed: "
              f"p50 {d50:.3f} ms, p99 {pct(during, 99):.3f} ms")
        c.check(d50 <= 3 * b50 + 2.0,
                "normal clients keep their latency among the hostile ones (p50 within 3x + 2 ms)",
                (b50, d50))

        # -- the silent and the stalled are closed by the idle timeout, not before
        until = t_start + IDLE_TIMEOUT_S + 4
        after = [(lambda t: t and round(t - t_start, 2))(wait_closed(sk, until))
                 for sk in silent + [stalled]]
        c.check(all(after[:SILENT]) and min(after[:SILENT]) >= IDLE_TIMEOUT_S - 0.5,
                f"{SILENT} connections that send nothing are closed after the "
                f"{IDLE_TIMEOUT_S} s idle timeout (within 4 s more)", after[:SILENT])
        c.check(after[SILENT] and after[SILENT] >= IDLE_TIMEOUT_S - 0.5,
                "a body that stops after its headers is closed by the idle timeout",
                after[SILENT])
        for sk in silent + [stalled]:
            sk.close()

        # -- the header tricklers: every byte resets the idle timeout, so it
        # is the header deadline that cuts them (checked once a second)
        closed = [wait_closed(sk, t_start + HEADER_TIMEOUT_S + 4) for sk in trickle.socks]
        at = [t and round(t - t_start, 2) for t in closed]
        c.check(all(at) and min(at) >= HEADER_TIMEOUT_S - 0.5 and trickle.sent > IDLE_TIMEOUT_S,
                f"header tricklers (1 byte/s) are cut by the {HEADER_TIMEOUT_S} s header "
                "deadline, after outliving the idle timeout", (at, trickle.sent))
        again = latencies_ms(s, 100)
        c.check(pct(again, 50) <= 3 * b50 + 2.0,
                f"after {TRICKLERS} tricklers on 2 HTTP threads a normal client is still served",
                pct(again, 50))
        trickle.close()

        # -- bodies: one trickled at 4 bytes/s is cut; one sent at 2 KiB/s over
        # more than the deadline (8 KiB in 4 s) is served
        json_body = (b'{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [16], '
                     b'"data": [' + b",".join(b"%d" % i for i in range(16)) + b']}, '
                     b'{"name": "INPUT1", "datatype": "INT32", "shape": [16], "data": ['
                     + b",".join(b"1" for _ in range(16)) + b']}]' + b" " * 8000 + b"}")
        head = (b"POST /v2/models/add_sub/infer HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(json_body))
        slow_body = socket.create_connection((HOST, s.http_port))
        good_body = socket.create_connection((HOST, s.http_port))
        t_body = time.monotonic()
        slow_body.sendall(head)
        good_body.sendall(head)
        sent_good, cut_at = 0, None
        while sent_good < len(json_body):
            good_body.sendall(json_body[sent_good:sent_good + 512])
            sent_good += 512
            try:
                slow_body.sendall(json_body[:1])
            except OSError:
                cut_at = cut_at or time.monotonic() - t_body
            time.sleep(0.25)
        good_body.settimeout(10)
        answer = good_body.recv(4096)
        c.check(answer.startswith(b"HTTP/1.1 200"),
                "a body sent at 2 KiB/s for 4 s, beyond the header deadline, is served",
                answer[:200])
        if cut_at is None:
            t = wait_closed(slow_body, t_body + HEADER_TIMEOUT_S + 4)
            cut_at = t and t - t_body
        c.check(cut_at and cut_at >= HEADER_TIMEOUT_S - 0.5,
                f"a body trickled at 4 bytes/s is cut after the {HEADER_TIMEOUT_S} s deadline",
                cut_at)
        slow_body.close()
        good_body.close()

        # -- the killed client's request ran and was answered into a closed socket
        body, hdrs = binary_request([("INPUT0", "FP32", [1, 4], [1.0] * 4, True)])
        st, _, _ = infer(s, "slow", body, hdrs)
        c.equal(st, 200, "an infer of 2.5 s, longer than the idle timeout, is answered "
                "(a request waiting for its model is not idle)")
        st, js = s.get_json("/v2/models/slow/stats")
        ok = js["model_stats"][0]["inference_stats"]["success"]["count"] if st == 200 else None
        c.equal(ok, 2, "the killed client's infer was executed and counted (2 with this one)")

        # -- nothing held: threads and descriptors back to where they were
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (open_fds(pid) > fds0
                                               or proc_status(pid, "Threads") > threads0):
            time.sleep(0.1)
        # (<=: the baseline may still count the measuring client's last connection)
        end = (proc_status(pid, "Threads"), open_fds(pid))
        c.check(end[0] <= threads0 and end[1] <= fds0,
                "after the hostile clients are gone the server holds no more threads and fds "
                "than before them", (end, (threads0, fds0)))
        t = time.monotonic()
        c.equal(s.stop(), 0, "server exits 0 on SIGTERM (no request left waiting)")
        c.check(time.monotonic() - t < 5, "... at once", time.monotonic() - t)


if __name__ == "__main__":
    main(run)
