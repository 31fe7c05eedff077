"""Shared helpers for the `infertune analyze` integration tests.

Standard library only. Each test script calls `main(run)`; `run(c, infertune,
scratch)` gets a Checker, the built binary and its own scratch folder. The
tests analyze `sim` models (docs/sim-backend.md) whose best configuration
follows from the model: two device slots, a batch of b takes 10 + 2b ms, so
with at most 16 clients the best is max_batch_size 8 with 2 instances (a
third instance only waits for a slot and splits the batches). Windows are
short (250 ms) to keep the suite fast; sim sleeps, so the figures hold on a
loaded two-core machine.
"""

import csv
import http.client
import http.server
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"

# Model Analyzer's CSV headers (model_analyzer result_table_manager.py and its
# golden file tests/common/single-model-ckpt/golden-metrics-model-inference.csv).
MA_INFERENCE_HEADER = ("Model,Batch,Concurrency,Model Config Path,Instance Group,"
                       "Max Batch Size,Satisfies Constraints,Throughput (infer/sec),"
                       "p99 Latency (ms)")
MA_GPU_HEADER = ("Model,GPU UUID,Batch,Concurrency,Model Config Path,Instance Group,"
                 "Satisfies Constraints,GPU Memory Usage (MB),GPU Utilization (%),"
                 "GPU Power Usage (W)")
MA_SERVER_ONLY_HEADER = ("Model,GPU UUID,GPU Memory Usage (MB),GPU Utilization (%),"
                         "GPU Power Usage (W)")

# The search space of the tests: instances 1..3 x max_batch_size 1..8,
# concurrency up to 16, 250 ms windows.
SEARCH_FLAGS = [
    "--run-config-search-max-instance-count", "3",
    "--run-config-search-max-model-batch-size", "8",
    "--run-config-search-max-concurrency", "16",
    "--perf-analyzer-flag", "measurement-interval=150",
    "--duration-seconds", "0.5",
    # The HTML/PDF report has its own tests (tests/integration/report/);
    # test_cli.py checks that analyze writes it.
    "--skip-summary-reports",
]


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import Checker  # noqa: E402,F401


def main(run):
    """Runs run(checker, infertune, scratch) and exits with the verdict."""
    harness.main(run, "analyze-")


def sim_config(name, base_us=10000, per_item_us=2000, slots=2, max_batch_size=8,
               instances=1, extra_params=None):
    params = {"sim_base_us": base_us, "sim_per_item_us": per_item_us,
              "sim_device_slots": slots}
    params.update(extra_params or {})
    lines = [f'name: "{name}"', 'backend: "sim"', f"max_batch_size: {max_batch_size}",
             'input [{ name: "IN", data_type: TYPE_FP32, dims: [ 4 ] }]',
             'output [{ name: "OUT", data_type: TYPE_FP32, dims: [ 4 ] }]',
             f"instance_group [{{ count: {instances}, kind: KIND_CPU }}]"]
    for k, v in params.items():
        lines.append(f'parameters {{ key: "{k}" value {{ string_value: "{v}" }} }}')
    return "\n".join(lines) + "\n"


def write_repo(root, models):
    """models: {name: config text}. Each model gets a version folder 1/."""
    for name, text in models.items():
        os.makedirs(os.path.join(root, name, "1"), exist_ok=True)
        with open(os.path.join(root, name, "config.pbtxt"), "w") as f:
            f.write(text)
    return root


def analyze(infertune, args, timeout=300, check=None):
    """Runs `infertune analyze ARGS`; returns the CompletedProcess."""
    p = subprocess.run([infertune, "analyze"] + args, capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    if check is not None and p.returncode != check:
        print(f"--- infertune analyze {' '.join(args)} exited {p.returncode}")
        print(p.stdout[-3000:])
        print(p.stderr[-3000:])
    return p


def db(export):
    return sqlite3.connect(os.path.join(export, "results.db"))


def query(export, sql, *args):
    with db(export) as con:
        return con.execute(sql, args).fetchall()


def best_row(export, model):
    """(variant name, instance count, max batch size) of the top-ranked variant."""
    rows = query(export, """
        SELECT v.name, v.instance_count, v.max_batch_size FROM rankings r
        JOIN variants v ON v.id = r.variant_id JOIN models m ON m.id = r.model_id
        WHERE m.name = ? AND r.rank = 1 ORDER BY r.run_id DESC LIMIT 1""", model)
    return rows[0] if rows else None


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def first_line(path):
    with open(path, newline="") as f:
        return f.readline().rstrip("\r\n")


def process_dead(pid):
    """True when pid is gone or a zombie (it exited; nobody reaped it yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True


def children(pid):
    """PIDs whose parent is pid."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
                out.append(int(entry))
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            pass
    return out


def processes_mentioning(text):
    """Live (non-zombie) PIDs whose command line contains text."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            if text in cmd and not process_dead(int(entry)):
                out.append(int(entry))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def wait_for(cond, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def start_serve(infertune, repo, scratch, name="serve", mode="explicit"):
    """Starts `infertune serve` (explicit mode) on free ports; returns (proc, http, metrics)."""
    port_file = os.path.join(scratch, name + ".ports")
    log = open(os.path.join(scratch, name + ".log"), "w")
    proc = subprocess.Popen([infertune, "serve", "--model-repository", repo,
                             "--model-control-mode", mode, "--http-port", "0",
                             "--metrics-port", "0", "--port-file", port_file],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    ports = {}

    def ready():
        try:
            with open(port_file) as f:
                for line in f:
                    k, _, v = line.strip().partition("=")
                    ports[k] = int(v)
        except (FileNotFoundError, ValueError):
            return False
        return "http" in ports and "metrics" in ports
    if not wait_for(ready, 30):
        proc.kill()
        raise RuntimeError("infertune serve did not start")
    return proc, ports["http"], ports["metrics"]


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Forward(http.server.BaseHTTPRequestHandler):
    """Forwards every request to the server's upstream; server.rewrite may
    change the answer: rewrite(method, path, status, data) returns the body to
    send with that status, or bytes wrapped in Raw to send as they are (no
    HTTP) before closing the connection."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        conn = http.client.HTTPConnection(*self.server.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = self.server.rewrite(self.command, self.path, r.status, r.read())
        conn.close()
        if isinstance(data, Raw):
            self.wfile.write(data.data)
            self.close_connection = True
            return
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = forward


class Raw:
    """Bytes a proxy sends instead of an HTTP answer."""
    def __init__(self, data):
        self.data = data


def start_proxy(upstream_port, rewrite):
    """A threaded HTTP proxy on a free port in front of 127.0.0.1:upstream_port
    whose answers pass through rewrite (see _Forward). Returns the server:
    server_address[1] is its port, shutdown() stops it."""
    proxy = http.server.ThreadingHTTPServer((HOST, 0), _Forward)
    proxy.daemon_threads = True
    proxy.upstream = (HOST, upstream_port)
    proxy.rewrite = rewrite
    proxy.handle_error = lambda request, address: None  # a client that hung up
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    return proxy
