#!/usr/bin/env python3
"""1,000 concurrent connections, each with a request in flight on a slow sim
model, all complete on a server with two HTTP threads (a waiting request
holds no thread); SIGTERM with requests in flight lets them complete, stops
accepting, and exits 0."""

import json
import os
import resource
import selectors
import signal
import socket
import time

from common import HOST, Server, binary_request, main, metric_value, parse_prometheus, sim_pbtxt, write_model

N_CONN = 1000


def raw_request(model):
    body, hdrs = binary_request([("INPUT0", "FP32", [1, 4], [1.0] * 4, True)])
    head = f"POST /v2/models/{model}/infer HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {len(body)}\r\n"
    for k, v in hdrs.items():
        head += f"{k}: {v}\r\n"
    return head.encode() + b"\r\n" + body


def response_complete(buf):
    """(status, body) once a whole response with Content-Length is in buf, else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    length = 0
    for line in head[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v)
    if len(buf) < end + 4 + length:
        return None
    return int(head[0].split()[1]), buf[end + 4:end + 4 + length]


class Fleet:
    """Many non-blocking sockets, each sending one request and reading one response."""

    def __init__(self, port, n, payload):
        self.sel = selectors.DefaultSelector()
        self.results = {}
        self.errors = []
        self.socks = []
        for i in range(n):
            sk = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sk.setblocking(False)
            sk.connect_ex((HOST, port))
            state = {"i": i, "out": payload, "in": b""}
            self.sel.register(sk, selectors.EVENT_WRITE, state)
            self.socks.append(sk)

    def pump(self, timeout):
        """Moves bytes for up to `timeout` seconds; returns True when all are answered."""
        deadline = time.monotonic() + timeout
        while len(self.results) + len(self.errors) < len(self.socks):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            for key, ev in self.sel.select(min(left, 0.05)):
                sk, st = key.fileobj, key.data
                try:
                    if ev & selectors.EVENT_WRITE:
                        n = sk.send(st["out"])
                        st["out"] = st["out"][n:]
                        if not st["out"]:
                            self.sel.modify(sk, selectors.EVENT_READ, st)
                    else:
                        chunk = sk.recv(65536)
                        if not chunk:
                            raise ConnectionError("closed before the response")
                        st["in"] += chunk
                        done = response_complete(st["in"])
                        if done:
                            self.results[st["i"]] = done
                            self.sel.unregister(sk)
                except (OSError, ConnectionError) as e:
                    self.errors.append((st["i"], repr(e)))
                    self.sel.unregister(sk)
        return True

    def close(self):
        for sk in self.socks:
            sk.close()
        self.sel.close()


def pending(s, model):
    try:
        fams = parse_prometheus(s.metrics_text())
        return metric_value(fams, "nv_inference_pending_request_count", model=model, version="1") or 0
    except Exception:
        return -1


def run(c, infertune, scratch):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = N_CONN + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(want, soft)), hard))
    c.check(resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= want,
            f"this test process may open {want} descriptors")

    repo = os.path.join(scratch, "repo")
    # 1000 requests in batches of up to 64 on 4 instances: about 4 rounds of 0.3 s.
    write_model(repo, "slow", sim_pbtxt("slow", base_us=300000, slots=4, instances=4, max_batch_size=64,
                                        dynamic_batching="max_queue_delay_microseconds: 20000"))
    write_model(repo, "slow2", sim_pbtxt("slow2", base_us=700000, max_batch_size=32,
                                         dynamic_batching="max_queue_delay_microseconds: 1000"))

    with Server(infertune, scratch, [repo], ["--http-thread-count", "2"]) as s:
        t0 = time.monotonic()
        fleet = Fleet(s.http_port, N_CONN, raw_request("slow"))
        try:
            peak = 0
            finished = False
            while time.monotonic() - t0 < 60 and not finished:
                finished = fleet.pump(0.25)
                peak = max(peak, pending(s, "slow"))
            elapsed = time.monotonic() - t0
            statuses = [st for st, _ in fleet.results.values()]
            c.check(finished and not fleet.errors,
                    f"{N_CONN} concurrent connections each got an answer ({elapsed:.1f} s)",
                    (len(fleet.results), fleet.errors[:3]))
            c.equal(statuses.count(200), N_CONN, f"all {N_CONN} answers are 200")
            bodies_ok = all(st != 200 or json.loads(b).get("model_name") == "slow"
                            for st, b in fleet.results.values())
            c.check(bodies_ok, "answers are inference responses of the model")
            print(f"    peak nv_inference_pending_request_count: {peak}")
            c.check(peak >= 100, "hundreds of requests waited in the queue at once (held no thread)", peak)
        finally:
            fleet.close()
        st, stats = s.get_json("/v2/models/slow/stats")
        e = stats["model_stats"][0]
        c.equal(e["inference_stats"]["success"]["count"], N_CONN, "the statistics count every request")
        c.check(max(b["batch_size"] for b in e["batch_stats"]) <= 64, "batches stay within max_batch_size")
        c.equal(s.stop(), 0, "server exits 0 on SIGTERM")

    # SIGTERM with requests in flight
    with Server(infertune, scratch, [repo], name="sigterm") as s:
        fleet = Fleet(s.http_port, 20, raw_request("slow2"))
        try:
            fleet.pump(0.25)  # all 20 sent; one 0.7 s batch is executing
            s.proc.send_signal(signal.SIGTERM)
            time.sleep(0.1)
            try:
                probe = socket.create_connection((HOST, s.http_port), timeout=2)
                probe.close()
                refused = False
            except OSError:
                refused = True
            c.check(refused, "after SIGTERM new connections are refused")
            finished = fleet.pump(30)
            statuses = [st for st, _ in fleet.results.values()]
            c.check(finished and statuses.count(200) == 20,
                    "requests in flight at SIGTERM complete with 200", (statuses, fleet.errors[:3]))
        finally:
            fleet.close()
        code = s.wait_exit(30)
        c.equal(code, 0, "the server exits 0 after finishing them")
        log = s.stderr()
        c.check("received SIGTERM" in log and "stopped" in log, "the log tells the shutdown")
        if code != 0:
            print(log[-2000:])


if __name__ == "__main__":
    main(run)
