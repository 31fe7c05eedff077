#!/usr/bin/env python3
"""Remote mode: a separately started `infertune serve` in explicit mode.

The analysis has no file access to the server's repository: the default
configuration is read from the server, and every variant is loaded as the
original model with the `config` JSON override of the repository API. The
known best must be found; the server's repository must stay untouched.
results.db says the remote server's CPU and memory are not known. Also: a
remote server that does not answer, and one that does not accept loads, fail
before anything is measured.
"""

import os

from analyze_common import (SEARCH_FLAGS, analyze, best_row, main, query, sim_config,
                            start_serve, stop, write_repo)


def run(c, infertune, scratch):
    repo = write_repo(os.path.join(scratch, "served"), {"simbest": sim_config("simbest")})
    before = sorted(os.listdir(repo))
    proc, http, metrics = start_serve(infertune, repo, scratch)
    try:
        export = os.path.join(scratch, "export")
        p = analyze(infertune, ["--server", "remote", "--url", f"127.0.0.1:{http}",
                                "--metrics-url", f"http://127.0.0.1:{metrics}/metrics",
                                "--profile-models", "simbest", "--export-path", export,
                                "--run-config-search-mode", "quick"] + SEARCH_FLAGS, check=0)
        c.equal(p.returncode, 0, "remote analysis exits 0")
        best = best_row(export, "simbest")
        c.check(best is not None and best[1:] == (2, 8),
                "remote: the best configuration is 2 instances, max_batch_size 8", best)
        c.equal(sorted(os.listdir(repo)), before, "the server's repository is untouched")
        with open(os.path.join(scratch, "serve.log")) as f:
            log = f.read()
        c.check(log.count("loaded model 'simbest'") >= 5,
                "every variant was loaded as 'simbest' through the repository API")
        mode = query(export, "SELECT server_mode, server_url FROM runs")[0]
        c.check(mode[0] == "remote" and str(http) in mode[1], "the run records the remote server",
                mode)
        # The remote server's CPU and memory are not known here: the meta rows say
        # so and name the client instead of passing it off as the server.
        meta = dict(query(export, "SELECT key, value FROM meta WHERE key LIKE 'machine_%'"))
        cores = f"{os.sysconf('SC_NPROCESSORS_ONLN')} cores"
        client = "; client running analyze: "
        cpu, memory = meta.get("machine_cpu", ""), meta.get("machine_memory", "")
        c.check(cpu.startswith(f"not known (remote server at {mode[1]}){client}")
                and cpu.endswith(cores), "machine_cpu: the remote server is not known", cpu)
        c.check(memory.startswith(f"not known (remote server){client}") and memory.endswith(" GB"),
                "machine_memory: the remote server is not known", memory)
        cpu = query(export, """SELECT count(*) FROM measurements WHERE status = 'ok'
                               AND cpu_utilization_pct IS NOT NULL""")[0][0]
        c.check(cpu > 0, "the server's nv_cpu_* series were sampled in every window")
        rss = query(export, "SELECT count(*) FROM measurements WHERE server_rss_mb IS NOT NULL")
        c.equal(rss[0][0], 0, "no server process figures for a remote server (absent, not 0)")
    finally:
        stop(proc)

    # A server that does not take loads (not in explicit mode): fails fast.
    proc, http, metrics = start_serve(infertune, repo, scratch, "serve-none", mode="none")
    try:
        export = os.path.join(scratch, "none")
        p = analyze(infertune, ["--server", "remote", "--url", f"127.0.0.1:{http}",
                                "--profile-models", "simbest", "--export-path", export])
        c.equal(p.returncode, 2, "a server not in explicit mode: exit 2")
        c.check("--model-control-mode explicit" in p.stderr,
                "the message says how to start the server", p.stderr[-300:])
        c.equal(query(export, "SELECT count(*) FROM measurements")[0][0], 0,
                "nothing was measured")
    finally:
        stop(proc)

    # A server that is not there: fails fast.
    p = analyze(infertune, ["--server", "remote", "--url", f"127.0.0.1:{http}",
                            "--profile-models", "simbest",
                            "--export-path", os.path.join(scratch, "gone")])
    c.equal(p.returncode, 1, "an unreachable remote server: exit 1")
    c.check("not reachable" in p.stderr, "the message says the server is not reachable",
            p.stderr[-300:])


if __name__ == "__main__":
    main(run)
