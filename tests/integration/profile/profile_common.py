"""Shared helpers for the `infertune profile` integration tests.

Standard library only. A test script calls `main(run)`; `run(c, infertune,
scratch)` writes model repositories, starts `infertune serve` on ephemeral
ports (--http-port 0 --metrics-port 0 --port-file, as the serve tests do),
runs `infertune profile` against it with a timeout, and checks the figures
it reports (mostly through its -f CSV). Servers are always killed.
"""

import csv
import http.server
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import Checker  # noqa: E402,F401


def main(run):
    """Runs run(checker, infertune, scratch) and exits with the verdict."""
    harness.main(run, "profile-")


# ---- repositories ----------------------------------------------------------

def sim_model(repo, name, base_us, slots=1, instances=1, max_batch_size=8,
              dims=(4,), per_item_us=0):
    """A `sim` model: each execution holds one of `slots` device slots for
    base_us + per_item_us * batch microseconds."""
    d = os.path.join(repo, name)
    os.makedirs(os.path.join(d, "1"), exist_ok=True)
    dims_text = ", ".join(str(x) for x in dims)
    with open(os.path.join(d, "config.pbtxt"), "w") as f:
        f.write(f'''name: "{name}"
backend: "sim"
max_batch_size: {max_batch_size}
input [ {{ name: "INPUT0" data_type: TYPE_FP32 dims: [ {dims_text} ] }} ]
output [ {{ name: "OUTPUT0" data_type: TYPE_FP32 dims: [ {dims_text} ] }} ]
instance_group [ {{ kind: KIND_CPU, count: {instances} }} ]
parameters {{ key: "sim_base_us" value: {{ string_value: "{base_us}" }} }}
parameters {{ key: "sim_per_item_us" value: {{ string_value: "{per_item_us}" }} }}
parameters {{ key: "sim_device_slots" value: {{ string_value: "{slots}" }} }}
''')
    return d


def add_sub_model(repo, name="add_sub"):
    d = os.path.join(repo, name)
    os.makedirs(os.path.join(d, "1"), exist_ok=True)
    with open(os.path.join(d, "config.pbtxt"), "w") as f:
        f.write(f'''name: "{name}"
backend: "add_sub"
max_batch_size: 0
input [ {{ name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }},
        {{ name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] }} ]
output [ {{ name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] }},
         {{ name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] }} ]
instance_group [ {{ kind: KIND_CPU, count: 1 }} ]
''')
    return d


# ---- the server ------------------------------------------------------------

class Server:
    """`infertune serve` on ephemeral ports; a context manager."""

    def __init__(self, infertune, scratch, repo, name="server"):
        self.dir = os.path.join(scratch, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port_file = os.path.join(self.dir, "ports")
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.log = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.proc = subprocess.Popen(
            [infertune, "serve", "--model-repository", repo, "--http-port", "0",
             "--metrics-port", "0", "--port-file", self.port_file],
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            if os.path.exists(self.port_file):
                ports = dict(line.split("=", 1) for line in
                             open(self.port_file).read().split())
                self.http_port = int(ports["http"])
                self.metrics_port = int(ports.get("metrics", 0))
                return
            time.sleep(0.02)
        raise RuntimeError("the server did not write its port file in time")

    @property
    def url(self):
        return f"{HOST}:{self.http_port}"

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        self.log.close()
        return False


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- a fake KServe server for failure cases ---------------------------------

class FakeServer:
    """A threaded Python HTTP/1.1 server answering the metadata, config and
    statistics of one model `fake` (FP32 [4], no batching) and, for
    /infer, calling infer(n) -> (status, body) with the request number.
    Serves `metrics_page` (a string, or a function returning one per GET)
    on /metrics."""

    def __init__(self, infer=None, metrics_page="", with_stats=True):
        outer = self
        self.count = 0
        self.lock = threading.Lock()
        meta = {"name": "fake", "versions": ["1"], "platform": "fake",
                "inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [4]}],
                "outputs": [{"name": "OUTPUT0", "datatype": "FP32", "shape": [4]}]}

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body, ctype="application/json"):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/v2/models/fake":
                    self.reply(200, json.dumps(meta))
                elif self.path == "/v2/models/fake/config":
                    self.reply(200, json.dumps({"name": "fake", "max_batch_size": 0}))
                elif self.path == "/v2/models/fake/stats" and with_stats:
                    self.reply(200, json.dumps({"model_stats": [{
                        "name": "fake", "version": "1", "inference_count": outer.count,
                        "execution_count": outer.count, "inference_stats": {}}]}))
                elif self.path == "/metrics":
                    page = metrics_page() if callable(metrics_page) else metrics_page
                    self.reply(200, page, "text/plain; charset=utf-8")
                else:
                    self.reply(404, '{"error":"Not Found"}')

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(n)
                with outer.lock:
                    outer.count += 1
                    k = outer.count
                status, body = infer(k) if infer else (200, '{"outputs":[]}')
                self.reply(status, body)

        self.httpd = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"{HOST}:{self.port}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# ---- how late this machine wakes a sleeping thread -----------------------------

class SchedulingProbe:
    """While active, a thread sleeps 2 ms again and again and counts the
    wake-ups more than 1 ms late: on a machine with more runnable threads
    than cores (another job, the sanitizers) a client cannot send on time
    however well it is written, and the probe measures how often the
    scheduler alone makes a thread late. A context manager; `late_pct`
    afterwards."""

    def __init__(self):
        self.late = 0
        self.total = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            time.sleep(0.002)
            self.total += 1
            if time.monotonic() - t0 > 0.003:
                self.late += 1

    @property
    def late_pct(self):
        return 100.0 * self.late / self.total if self.total else 0.0

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        return False


# ---- running the profiler ----------------------------------------------------

class Result:
    def __init__(self, code, out, err, elapsed, csv_text):
        self.code, self.out, self.err, self.elapsed = code, out, err, elapsed
        self.csv_text = csv_text
        self.rows = []
        self.header = None
        if csv_text:
            r = list(csv.reader(io.StringIO(csv_text)))
            self.header = r[0]
            self.rows = [dict(zip(self.header, row)) for row in r[1:]]

    def __repr__(self):
        return f"exit {self.code} after {self.elapsed:.1f} s\n{self.out}\n{self.err}"


def profile(infertune, scratch, args, timeout=120, csv_name="out.csv", verbose_csv=True):
    """Runs `infertune profile ARGS -f CSV`; returns a Result. A run that
    outlives `timeout` is a hang: it is killed and reported as exit None."""
    path = os.path.join(scratch, csv_name)
    if os.path.exists(path):
        os.unlink(path)
    cmd = [infertune, "profile"] + list(args) + ["-f", path]
    if verbose_csv:
        cmd.append("--verbose-csv")
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        code, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        code, out, err = None, e.stdout or "", e.stderr or ""
        out = out.decode() if isinstance(out, bytes) else out
        err = err.decode() if isinstance(err, bytes) else err
    elapsed = time.monotonic() - start
    if "Sanitizer" in err or "runtime error:" in err:
        # An ASan/UBSan report is a failure whatever the exit status says.
        print(f"# sanitizer report:\n{err}", flush=True)
        code = "sanitizer"
    text = open(path).read() if os.path.exists(path) else None
    print(f"# {' '.join(cmd[1:])}: exit {code} in {elapsed:.1f} s", flush=True)
    return Result(code, out, err, elapsed, text)


def row_for(result, key, value):
    for r in result.rows:
        if r.get(key) == str(value):
            return r
    return None
