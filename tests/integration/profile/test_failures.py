#!/usr/bin/env python3
"""Bad input and failures: each gets a clear message, a non-zero exit, and
no hang. Unreachable server, unknown model, variable dimensions without
--shape, wrong --shape, invalid range strings, a run that cannot stabilise,
a server killed mid-window, a server refusing connections mid-run, server
errors (failing by default, tolerated with --max-error-percentage), a
server that stops answering, malformed metrics pages, and Ctrl-C."""

import subprocess
import time

from profile_common import (FakeServer, Server, free_port, main, profile,
                            sim_model)


def expect(c, r, code, needles, what, max_s=30):
    ok = r.code == code and all(n in r.err + r.out for n in needles)
    c.check(ok, what, r)
    c.check(r.elapsed < max_s, f"{what}: done in {r.elapsed:.1f} s (no hang)")


def run(c, infertune, scratch):
    # --- nothing listening -------------------------------------------------
    port = free_port()
    r = profile(infertune, scratch, ["-m", "m", "-u", f"127.0.0.1:{port}"])
    expect(c, r, 1, [f"cannot reach the server at http://127.0.0.1:{port}",
                     "onnect"], "unreachable server", 15)
    # --- invalid flags: exit 2 before any network -----------------------
    for args, needle in ((["--concurrency-range", "4:2"], "end (2) is below the start (4)"),
                         (["--concurrency-range", "1:x"], "'x' is not a whole number"),
                         (["--concurrency-range", "1:2:3:4"], "more than three parts"),
                         (["--request-rate-range", "0"], "start of the range must be > 0"),
                         (["--concurrency-range", "1:0"], "-l/--latency-threshold"),
                         (["--shape", "INPUT0"], "expected NAME:D1,D2"),
                         (["--measurement-mode", "forever"], "time_windows"),
                         (["-i", "grpc"], "only the HTTP protocol"),
                         (["--early-stop", "150"], "confidence"),
                         (["--bogus"], "unknown option '--bogus'")):
        r = profile(infertune, scratch, ["-m", "m", "-u", f"127.0.0.1:{port}"] + args)
        expect(c, r, 2, [needle], f"invalid {' '.join(args)}", 10)

    repo = f"{scratch}/repo"
    sim_model(repo, "fixed", 1000, slots=4, instances=4)
    sim_model(repo, "var", 1000, slots=4, instances=4, dims=(-1,))
    sim_model(repo, "slow", 5000, slots=1, instances=1)
    with Server(infertune, scratch, repo) as s:
        r = profile(infertune, scratch, ["-m", "nope", "-u", s.url])
        expect(c, r, 2, ["model 'nope' is not available", "unknown model"], "unknown model", 10)
        r = profile(infertune, scratch, ["-m", "var", "-u", s.url])
        expect(c, r, 2, ["input 'INPUT0' has variable dimensions [-1]",
                         "--shape INPUT0:"], "variable dims need --shape", 10)
        r = profile(infertune, scratch, ["-m", "var", "-u", s.url, "--shape", "INPUT0:2,2"])
        expect(c, r, 2, ["input 'INPUT0' has 1 dimension(s)"], "wrong rank in --shape", 10)
        r = profile(infertune, scratch, ["-m", "fixed", "-u", s.url, "--shape", "INPUT0:8"])
        expect(c, r, 2, ["fixed at 4, not 8"], "--shape against a fixed dimension", 10)
        r = profile(infertune, scratch, ["-m", "fixed", "-u", s.url, "--shape", "IN:4"])
        expect(c, r, 2, ["no such input (its inputs: 'INPUT0')"], "--shape for an unknown input", 10)
        r = profile(infertune, scratch, ["-m", "var", "-u", s.url, "--shape", "INPUT0:8",
                                         "-p", "500", "-s", "50"])
        c.check(r.code == 0 and "Input shapes: INPUT0 [1,8]" in r.out,
                "--shape makes a variable-shape model work", r)
        r = profile(infertune, scratch, ["-m", "fixed", "-u", s.url, "-b", "9"])
        expect(c, r, 2, ["exceeds model 'fixed''s max_batch_size 8"], "batch too large", 10)

        # --- cannot stabilise ---------------------------------------------
        r = profile(infertune, scratch, ["-m", "fixed", "-u", s.url, "-s", "0", "-r", "3",
                                         "-p", "300"])
        expect(c, r, 1, ["Failed to obtain stable measurement within 3 measurement windows for concurrency 1",
                         "Pass [1] throughput:", "Pass [3] throughput:", "no stable measurement"],
               "an unstable run says so with its numbers and fails", 15)

        # --- errors beyond tolerance (none by default) ---------------------
    with FakeServer(infer=lambda n: (500, '{"error":"boom"}') if n % 2 else (200, "{}")) as f:
        r = profile(infertune, scratch, ["-m", "fake", "-u", f.url, "-p", "500"])
        expect(c, r, 1, ["requests failed in window 1", "HTTP 500: boom"],
               "server errors fail the measurement", 15)
        r = profile(infertune, scratch, ["-m", "fake", "-u", f.url, "-p", "500", "-s", "50",
                                         "--max-error-percentage", "60"])
        c.check(r.code == 0, "--max-error-percentage 60 tolerates 50% errors", r)

    # --- a server that stops answering -----------------------------------
    with FakeServer(infer=lambda n: (time.sleep(20), (200, "{}"))[1] if n > 5 else (200, "{}")) as f:
        r = profile(infertune, scratch, ["-m", "fake", "-u", f.url, "-p", "1000"])
        expect(c, r, 1, ["no request completed in window", "not answering"],
               "a silent server fails the window", 15)

    # --- malformed metrics page, at the start and mid-run ---------------
    with FakeServer(metrics_page="<html>oops</html>\n") as f:
        r = profile(infertune, scratch, ["-m", "fake", "-u", f.url, "--collect-metrics",
                                         "--metrics-url", f"{f.url}/metrics"])
        expect(c, r, 2, ["/metrics:1:1", "malformed metrics page",
                         "expected a metric name, found '<html>oops</html>'"],
               "malformed metrics page", 10)
    pages = iter(["nv_cpu_utilization 0.5\n"] * 3)
    with FakeServer(metrics_page=lambda: next(pages, "nv_cpu_utilization{ 0.5\n")) as f:
        r = profile(infertune, scratch, ["-m", "fake", "-u", f.url, "--collect-metrics",
                                         "--metrics-url", f"{f.url}/metrics",
                                         "--metrics-interval", "100", "-p", "1000"])
        expect(c, r, 1, ["malformed metrics page", ":1:"],
               "a metrics page that turns malformed fails the run", 15)

    # --- Ctrl-C: the level ends after the window in progress, results kept ---
    with Server(infertune, scratch, repo, name="interrupted") as v:
        csv_path = f"{scratch}/interrupted.csv"
        p = subprocess.Popen([infertune, "profile", "-m", "slow", "-u", v.url, "-p", "1500",
                              "-f", csv_path], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)
        start = time.monotonic()
        p.send_signal(__import__("signal").SIGINT)
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        c.check(p.returncode == 1 and "concurrency 1: interrupted" in err
                and "Pass [1] throughput:" in out and "Sanitizer" not in err,
                "SIGINT ends the level with the windows it saw", f"exit {p.returncode}\n{out}\n{err}")
        c.check(time.monotonic() - start < 5, "SIGINT: out within the window in progress")
        c.check(open(csv_path).read().startswith("Concurrency,"), "SIGINT: the CSV is written")

    # --- server killed mid-window; server refusing connections mid-run ------
    for sig, what in (("SIGKILL", "server killed mid-window"),
                      ("SIGTERM", "server stopping (refusing connections) mid-run")):
        with Server(infertune, scratch, repo, name="victim") as v:
            cmd = [infertune, "profile", "-m", "slow", "-u", v.url, "--concurrency-range", "4",
                   "-p", "5000"]
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(2.0)
            start = time.monotonic()
            v.kill(getattr(__import__("signal"), sig))
            try:
                out, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            elapsed = time.monotonic() - start
            c.check(p.returncode == 1 and "requests failed in window 1" in err
                    and "first error:" in err and "Sanitizer" not in err,
                    what, f"exit {p.returncode}\n{out}\n{err}")
            c.check(elapsed < 10, f"{what}: exits {elapsed:.1f} s after the server went away")


if __name__ == "__main__":
    main(run)
