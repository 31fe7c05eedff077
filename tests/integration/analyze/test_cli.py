#!/usr/bin/env python3
"""The command line: everything is checked before anything is measured.

YAML errors point at file:line:col; a bad flag value, a missing repository
or model, an invalid model_config_parameters combination, an existing
output model repository, --resume without results.db and a second analysis
on the same export folder all fail with exit status 2 (or 1) and a clear
message, and without a single measurement. --run-config-search-disable
measures the default configuration only.
"""

import os
import subprocess
import time

from analyze_common import analyze, main, query, sim_config, wait_for, write_repo


def measurements(export):
    path = os.path.join(export, "results.db")
    if not os.path.exists(path):
        return 0
    return query(export, "SELECT count(*) FROM measurements")[0][0]


def expect_fail(c, infertune, args, status, text, what, export=None):
    p = analyze(infertune, args, timeout=60)
    c.equal(p.returncode, status, f"{what}: exit {status}")
    c.check(text in p.stderr, f"{what}: the message says '{text}'", p.stderr[-400:])
    if export:
        c.equal(measurements(export), 0, f"{what}: nothing measured")
    return p


def cpus_allowed(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Cpus_allowed_list:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def check_pinning(c, infertune, base, scratch):
    """--server-cpus/--client-cpus: the server child and the analysis run where told."""
    if len(os.sched_getaffinity(0)) < 2:
        c.check(True, "pinning: skipped, this process may use one CPU only")
        return
    first, second = sorted(os.sched_getaffinity(0))[:2]
    export = os.path.join(scratch, "e7")
    p = subprocess.Popen([infertune, "analyze"] + base +
                         ["-e", export, "--run-config-search-disable", "--concurrency", "1",
                          "--perf-analyzer-flag", "measurement-interval=500", "--duration-seconds",
                          "0", "--skip-summary-reports", "--server-cpus", str(first),
                          "--client-cpus", str(second)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = {}
    deadline = time.monotonic() + 60
    while p.poll() is None and time.monotonic() < deadline and "server" not in seen:
        for child in children(p.pid):
            allowed = cpus_allowed(child)
            if allowed is not None:
                seen["server"] = allowed
        seen["client"] = cpus_allowed(p.pid)
        time.sleep(0.05)
    out, err = p.communicate(timeout=120)
    c.check(p.returncode == 0, "a pinned analysis runs", err[-400:])
    c.equal(seen.get("server"), str(first), "the embedded server runs on --server-cpus")
    c.equal(seen.get("client"), str(second), "the analysis runs on --client-cpus")
    c.equal(query(export, "SELECT value FROM meta WHERE key = 'cpu_pinning'"),
            [(f"server on CPUs {first}, load generator on CPUs {second}",)],
            "results.db records the pinning")
    expect_fail(c, infertune, base + ["-e", os.path.join(scratch, "e8"), "--server-cpus",
                                      f"{first}", "--client-cpus", f"{first}"], 2,
                "overlap", "overlapping CPU sets are refused")
    expect_fail(c, infertune, base + ["-e", os.path.join(scratch, "e8"), "--client-cpus", "1-x"],
                2, "is not a CPU list", "a malformed CPU list is refused")


def run(c, infertune, scratch):
    repo = write_repo(os.path.join(scratch, "repo"), {"simbest": sim_config("simbest")})
    base = ["--model-repository", repo, "--profile-models", "simbest"]

    p = analyze(infertune, ["--help"])
    c.check(p.returncode == 0 and p.stdout.startswith("usage: infertune analyze"),
            "--help prints the usage")

    # YAML errors at the right line and column.
    cfg = os.path.join(scratch, "bad.yaml")
    with open(cfg, "w") as f:
        f.write("model_repository: x\nprofile_models: simbest\n"
                "run_config_search_max_concurency: 4\n")
    expect_fail(c, infertune, ["-f", cfg], 2,
                f"{cfg}:3:1: unknown option 'run_config_search_max_concurency'",
                "an unknown YAML key")
    with open(cfg, "w") as f:
        f.write("profile_models:\n  simbest:\n    model_config_parameters:\n"
                "      instance_group:\n      - kind: KIND_CPU\n        count: [1, lots]\n")
    expect_fail(c, infertune, ["-f", cfg, "-m", repo], 2, f"{cfg}:6:20:",
                "a bad value inside model_config_parameters")
    with open(cfg, "w") as f:
        f.write("profile_models: [simbest\n")
    expect_fail(c, infertune, ["-f", cfg], 2, f"{cfg}:2:1: YAML", "a YAML syntax error")

    export = os.path.join(scratch, "e1")
    expect_fail(c, infertune, base + ["-e", export, "--run-config-search-mode", "optuna"], 2,
                "choose brute, quick or predictive", "an unknown search mode")
    # The predictive search proposes concurrencies; asked for request rates it
    # would answer another question (and rank rate levels against them).
    expect_fail(c, infertune, base + ["-e", export, "--run-config-search-mode", "predictive",
                                      "--request-rate", "100,200"], 2,
                "model 'simbest': the predictive search measures concurrency levels and "
                "cannot search request rates", "predictive search with --request-rate", export)
    expect_fail(c, infertune, ["--profile-models", "simbest", "-e", export, "-m",
                               os.path.join(scratch, "nowhere")], 2, "nowhere",
                "a missing model repository")
    expect_fail(c, infertune, ["-m", repo, "--profile-models", "nosuch", "-e", export], 2,
                "model 'nosuch' is not in the model repository", "an unknown model", export)
    with open(cfg, "w") as f:
        f.write("profile_models:\n  simbest:\n    model_config_parameters:\n"
                "      max_batch_size: [4]\n      sequence_batching: {}\n"
                "      dynamic_batching: {}\n")
    expect_fail(c, infertune, ["-f", cfg, "-m", repo, "-e", export], 2,
                "model_config_parameters combination 1", "an invalid combination", export)
    expect_fail(c, infertune, base + ["-e", os.path.join(scratch, "e2"), "--resume"], 2,
                "to resume from", "--resume without results.db")

    # An output model repository that exists is not overwritten unless asked.
    out = os.path.join(scratch, "out")
    os.makedirs(os.path.join(out, "something"))
    expect_fail(c, infertune, base + ["-e", os.path.join(scratch, "e3"),
                                      "--output-model-repository-path", out], 2,
                "--override-output-model-repository", "an existing output repository")
    c.check(os.path.isdir(os.path.join(out, "something")), "and it is left alone")

    # Search disabled: the default only, with --override-output-model-repository.
    export = os.path.join(scratch, "e4")
    args = base + ["-e", export, "--output-model-repository-path", out,
                   "--override-output-model-repository", "--run-config-search-disable",
                   "--concurrency", "1,2", "--perf-analyzer-flag", "measurement-interval=250",
                   "--duration-seconds", "0"]
    p = analyze(infertune, args, check=0)
    c.equal(p.returncode, 0, "--run-config-search-disable runs")
    c.equal(query(export, "SELECT name FROM variants"), [("simbest_config_default",)],
            "only the default configuration is measured")
    c.equal(measurements(export), 2, "at the two listed concurrencies")
    c.check(not os.path.exists(os.path.join(out, "something")),
            "--override-output-model-repository replaced the old folder")
    report = os.path.join(export, "reports", "simbest", "report.html")
    c.check(os.path.isfile(report) and report in p.stdout,
            "the HTML report is written at the end (infertune report's library)", p.stdout[-300:])

    # Request rates and client batch sizes.
    export = os.path.join(scratch, "e6")
    p = analyze(infertune, base + ["-e", export, "--run-config-search-disable",
                                   "--request-rate", "20,40", "--batch-sizes", "1,2",
                                   "--perf-analyzer-flag", "measurement-interval=250",
                                   "--duration-seconds", "0", "--skip-summary-reports"], check=0)
    c.equal(p.returncode, 0, "--request-rate with --batch-sizes runs")
    rows = query(export, """SELECT batch_size, load_kind, load_value, status FROM measurements
                            ORDER BY batch_size, load_value""")
    c.equal([r[:3] for r in rows], [(1, "request_rate", 20.0), (1, "request_rate", 40.0),
                                    (2, "request_rate", 20.0), (2, "request_rate", 40.0)],
            "every batch size at every rate")
    with open(os.path.join(export, "results", "metrics-model-inference.csv")) as f:
        header = f.readline().strip()
    c.check(header.startswith("Model,Batch,Request Rate,"),
            "rate runs swap Concurrency for Request Rate (as Model Analyzer)", header)

    check_pinning(c, infertune, base, scratch)

    # One analysis per export folder at a time.
    export = os.path.join(scratch, "e5")
    first = subprocess.Popen([infertune, "analyze"] + base +
                             ["-e", export, "--run-config-search-disable", "--concurrency", "1",
                              "--perf-analyzer-flag", "measurement-interval=2000",
                              "--duration-seconds", "0"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: os.path.exists(os.path.join(export, "results.db")), 30)
        expect_fail(c, infertune, base + ["-e", export], 1,
                    "another infertune analyze is running", "a second analysis on one export")
    finally:
        first.kill()
        first.wait()


if __name__ == "__main__":
    main(run)
