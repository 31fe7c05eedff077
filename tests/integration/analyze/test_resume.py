#!/usr/bin/env python3
"""Interruptions and resume.

A quick search on the sim model is killed with SIGKILL twice at different
points, interrupted with Ctrl-C (SIGINT) once, and resumed each time by
re-running the same command. Checked: a kill -9 loses at most the
measurement in progress and leaves no orphan server; Ctrl-C ends with
status 130 and a consistent results.db; no point is ever measured twice
(results.db refuses duplicates, and the runs' own counts add up); the
resumed analysis finds the known best configuration; and a final replay
measures nothing and writes the same answer.
"""

import os
import re
import signal
import subprocess
import time

from analyze_common import (SEARCH_FLAGS, analyze, best_row, children, main, process_dead,
                            processes_mentioning, query, read_csv, sim_config, wait_for,
                            write_repo)


def count(export):
    try:
        return query(export, "SELECT count(*) FROM measurements")[0][0]
    except Exception:  # the file or its tables are not there yet
        return 0


def start(infertune, args, log):
    return subprocess.Popen([infertune, "analyze"] + args, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def measured_lines(path):
    with open(path) as f:
        return len(re.findall(r"^measured ", f.read(), re.M))


def kill_after(c, infertune, args, export, scratch, tag, more):
    """Starts the analysis, SIGKILLs it once `more` new measurements are stored."""
    before = count(export)
    log_path = os.path.join(scratch, tag + ".log")
    with open(log_path, "w") as log:
        p = start(infertune, args, log)
    got = wait_for(lambda: count(export) >= before + more or p.poll() is not None, 120)
    c.check(got and p.poll() is None, f"{tag}: running with {more} new measurements")
    # The server is restarted between variants: look until one is up.
    servers = []
    wait_for(lambda: bool(servers.extend(children(p.pid)) or servers), 5)
    # In the middle of the next measurement, not between two.
    time.sleep(0.4)
    p.send_signal(signal.SIGKILL)
    p.wait()
    printed = measured_lines(log_path)
    stored = count(export) - before
    c.check(stored in (printed, printed + 1),
            f"{tag}: kill -9 lost at most the measurement in progress",
            f"{printed} reported, {stored} stored")
    c.check(len(servers) >= 1, f"{tag}: the embedded server was a child process", servers)
    c.check(all(wait_for(lambda s=s: process_dead(s), 5) for s in servers),
            f"{tag}: the server child died with the analysis")
    # Whichever server was running at the kill (one may have started since).
    c.check(wait_for(lambda: not processes_mentioning(os.path.join(export, ".server-ports")), 5),
            f"{tag}: no orphan server left", processes_mentioning(export))
    runs = query(export, "SELECT status FROM runs ORDER BY id DESC LIMIT 1")[0][0]
    c.equal(runs, "running", f"{tag}: results.db still reads (the killed run shows 'running')")


def run(c, infertune, scratch):
    repo = write_repo(os.path.join(scratch, "repo"), {"simbest": sim_config("simbest")})
    export = os.path.join(scratch, "export")
    args = ["--model-repository", repo, "--profile-models", "simbest", "--export-path", export,
            "--run-config-search-mode", "quick"] + SEARCH_FLAGS

    kill_after(c, infertune, args, export, scratch, "kill-1", 3)
    kill_after(c, infertune, args, export, scratch, "kill-2", 4)

    # Ctrl-C: stops after the current window, consistent, exit 130.
    before = count(export)
    with open(os.path.join(scratch, "sigint.log"), "w") as log:
        p = start(infertune, args, log)
    wait_for(lambda: count(export) >= before + 3 or p.poll() is not None, 120)
    p.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    rc = p.wait(timeout=60)
    c.equal(rc, 130, "Ctrl-C: exit status 130")
    c.check(time.monotonic() - t0 < 10, "Ctrl-C: stopped within a window or two",
            time.monotonic() - t0)
    status = query(export, "SELECT status FROM runs ORDER BY id DESC LIMIT 1")[0][0]
    c.equal(status, "interrupted", "Ctrl-C: the run is recorded as interrupted")
    stale = query(export, "SELECT count(*) FROM runs WHERE status = 'running'")[0][0]
    c.equal(stale, 0, "killed runs are closed as failed by the next run")
    c.check(os.path.exists(os.path.join(export, "results", "metrics-model-inference.csv")),
            "Ctrl-C: the CSVs are written from what was measured")

    # Resume to the end (--resume explicitly this time).
    p = analyze(infertune, args + ["--resume"], check=0)
    c.equal(p.returncode, 0, "the resumed analysis completes")
    c.check("reused from results.db" in p.stdout and "reused  " in p.stderr,
            "it reuses the stored measurements", p.stdout[-300:])
    best = best_row(export, "simbest")
    c.check(best is not None and best[1:] == (2, 8),
            "after three interruptions the answer is the known best (2 instances, mbs 8)", best)

    # Never measured twice: every run measured new points only.
    per_run = query(export, "SELECT run_id, count(*) FROM measurements GROUP BY run_id")
    total = count(export)
    c.equal(sum(n for _, n in per_run), total, "measurements per run add up to the total")
    # The interleaved re-measurement of the leaders is a phase of its own
    # (docs/statistics.md): a point is measured at most once per phase.
    dups = query(export, """SELECT count(*) FROM (SELECT variant_id, profile_key, batch_size,
                            load_kind, load_value, phase FROM measurements
                            GROUP BY 1, 2, 3, 4, 5, 6 HAVING count(*) > 1)""")[0][0]
    c.equal(dups, 0, "no point measured twice (in one phase)")
    runs = query(export, "SELECT count(*) FROM runs")[0][0]
    c.equal(runs, 4, "four runs recorded (2 killed, 1 interrupted, 1 completed)")
    print(f"# resume: {total} measurements over {runs} runs: {per_run}", flush=True)

    # A replay takes the same decisions from the stored figures: nothing new.
    csv_before = read_csv(os.path.join(export, "results", "metrics-model-inference.csv"))
    p = analyze(infertune, args, check=0)
    c.equal(p.returncode, 0, "the replay completes")
    c.equal(count(export), total, "the replay measures nothing")
    c.check("0 measurements taken" in p.stdout, "the replay says it measured nothing",
            p.stdout[:200])
    c.equal(best_row(export, "simbest"), best, "the replay gives the same answer")
    c.equal(read_csv(os.path.join(export, "results", "metrics-model-inference.csv")),
            csv_before, "the replay writes the same metrics-model-inference.csv")


if __name__ == "__main__":
    main(run)
