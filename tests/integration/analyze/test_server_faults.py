#!/usr/bin/env python3
"""The server under measurement stops answering (issue #14).

- Embedded: the server is frozen (SIGSTOP) in the middle of the search.
  The level in progress is recorded as failed with the reason, the frozen
  server is replaced by a new one, the search goes on and the analysis
  finishes with a recommendation.
- Remote: a separately started server is frozen. The analysis ends by
  itself (no hang), exits non-zero, says the server does not answer, and
  keeps every measurement taken before; once the server runs again, the
  same command resumes and finishes, reusing them.
- Remote, answering garbage: a proxy in front of the server answers the
  next inference requests with an HTML page under HTTP 200, or with bytes
  that are not HTTP. The level in progress is recorded as failed with the
  reason; the server still answers, so the analysis goes on and finishes
  with a recommendation.
"""

import os
import signal
import subprocess
import threading
import time

from analyze_common import (Raw, children, main, query, sim_config, start_proxy,
                            start_serve, stop, wait_for, write_repo)

FLAGS = ["--perf-analyzer-flag", "measurement-interval=200", "--duration-seconds", "0",
         "--skip-summary-reports", "--run-config-search-max-instance-count", "2",
         "--run-config-search-max-model-batch-size", "2", "-c", "1,2"]


def measured(export):
    try:
        return query(export, "SELECT count(*) FROM measurements WHERE status = 'ok'")[0][0]
    except Exception:  # not created yet
        return 0


def start_analyze(infertune, args, log_path):
    log = open(log_path, "w")
    p = subprocess.Popen([infertune, "analyze"] + args, stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    log.close()
    return p


def read(path):
    with open(path) as f:
        return f.read()


def embedded(c, infertune, repo, scratch):
    export = os.path.join(scratch, "embedded")
    log = os.path.join(scratch, "embedded.log")
    p = start_analyze(infertune, ["--model-repository", repo, "--profile-models", "simh",
                                  "--export-path", export] + FLAGS, log)
    try:
        c.check(wait_for(lambda: measured(export) >= 3, 120), "embedded: measuring")
        servers = [pid for pid in children(p.pid)]
        c.check(len(servers) == 1, "embedded: one server process", servers)
        frozen = servers[0]
        os.kill(frozen, signal.SIGSTOP)
        rc = p.wait(timeout=240)
    finally:
        if p.poll() is None:
            p.kill()
    out = read(log)
    c.equal(rc, 0, "embedded: the analysis finishes")
    c.check("best configuration" in out, "embedded: with a recommendation", out[-800:])
    failed = query(export, "SELECT message FROM measurements WHERE status != 'ok'")
    c.check(failed and all(any(s in m for s in ("no answer", "not answer")) for (m,) in failed),
            "embedded: the level in progress failed, with the reason", failed)
    after = query(export, f"""SELECT count(*) FROM measurements
                              WHERE status = 'ok' AND id > (SELECT max(id) FROM measurements
                                                            WHERE status != 'ok')""")[0][0]
    c.check(after >= 1, "embedded: the search went on after it, on a new server", after)
    try:
        os.kill(frozen, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start_remote(infertune, http, metrics, scratch, name):
    """analyze of a remote server at port http, into scratch/name; returns
    (process, export folder, arguments, log path) once 3 levels are measured."""
    export = os.path.join(scratch, name)
    log = os.path.join(scratch, name + ".log")
    args = ["--server", "remote", "--url", f"127.0.0.1:{http}",
            "--metrics-url", f"http://127.0.0.1:{metrics}/metrics",
            "--profile-models", "simh", "--export-path", export] + FLAGS
    p = start_analyze(infertune, args, log)
    wait_for(lambda: measured(export) >= 3, 120)
    return p, export, args, log


def remote(c, infertune, repo, scratch):
    proc, http, metrics = start_serve(infertune, repo, scratch, "serve-hang")
    p, export, args, log = start_remote(infertune, http, metrics, scratch, "remote")
    try:
        c.check(measured(export) >= 3, "remote: measuring")
        proc.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        rc = p.wait(timeout=240)
        took = time.monotonic() - t0
        kept = measured(export)
        out = read(log)
        c.equal(rc, 1, "remote: the analysis ends by itself, exit 1")
        c.check(took < 120, "remote: within the request timeouts, no hang", took)
        c.check("does not answer" in out and "Analysis stopped by an error" in out,
                "remote: it says the server does not answer", out[-1000:])
        c.check(kept >= 3, "remote: every measurement before the hang is kept", kept)
        proc.send_signal(signal.SIGCONT)
        p = start_analyze(infertune, args, log + ".resume")
        rc = p.wait(timeout=240)
        out = read(log + ".resume")
        c.equal(rc, 0, "remote resumed: the analysis finishes")
        c.check(f"{kept} reused from results.db" in out,
                "remote resumed: the kept measurements are reused", out[-800:])
    finally:
        if p.poll() is None:
            p.kill()
        proc.send_signal(signal.SIGCONT)
        stop(proc)


class Garbler:
    """Answers the next `left` inference requests with garbage, in turn an
    HTML page under HTTP 200 and bytes that are not HTTP."""
    def __init__(self):
        self.left = 0
        self.sent = 0
        self.lock = threading.Lock()

    def __call__(self, method, path, status, data):
        if method != "POST" or not path.endswith("/infer"):
            return data
        with self.lock:
            if self.left <= 0:
                return data
            self.left -= 1
            self.sent += 1
            n = self.sent
        if n % 2:
            return b"<html><body>502 Bad Gateway</body></html>"
        return Raw(b"\x00\x17garbage, not HTTP\r\n\r\n")


def garbage(c, infertune, repo, scratch):
    proc, http, metrics = start_serve(infertune, repo, scratch, "serve-garbage")
    garbler = Garbler()
    proxy = start_proxy(http, garbler)
    p, export, _, log = start_remote(infertune, proxy.server_address[1], metrics, scratch,
                                     "garbage")
    try:
        c.check(measured(export) >= 3, "garbage: measuring")
        garbler.left = 4
        rc = p.wait(timeout=240)
    finally:
        if p.poll() is None:
            p.kill()
        proxy.shutdown()
        stop(proc)
    out = read(log)
    c.check(garbler.sent >= 2, "garbage: the proxy sent both kinds", garbler.sent)
    c.equal(rc, 0, "garbage: the analysis finishes")
    c.check("best configuration" in out, "garbage: with a recommendation", out[-800:])
    failed = query(export, "SELECT message FROM measurements WHERE status = 'failed'")
    c.check(failed and all("not a KServe inference response" in m or "bad response" in m
                           for (m,) in failed),
            "garbage: the level in progress failed, with the reason", failed)
    after = query(export, f"""SELECT count(*) FROM measurements
                              WHERE status = 'ok' AND id > (SELECT max(id) FROM measurements
                                                            WHERE status != 'ok')""")[0][0]
    c.check(after >= 1, "garbage: the search went on after it", after)


def run(c, infertune, scratch):
    repo = write_repo(os.path.join(scratch, "repo"),
                      {"simh": sim_config("simh", base_us=4000, per_item_us=500, slots=2,
                                          max_batch_size=2)})
    embedded(c, infertune, repo, scratch)
    remote(c, infertune, repo, scratch)
    garbage(c, infertune, repo, scratch)


if __name__ == "__main__":
    main(run)
