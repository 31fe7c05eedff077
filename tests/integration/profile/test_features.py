#!/usr/bin/env python3
"""The rest of the command line against `infertune serve`: --early-stop
(LoadGen's estimate, the queries it rests on, too few queries failing the
run), --input-data FILE in perf_analyzer's format, --request-intervals,
count windows, warm-up, -b (batch counted in the throughput), -l ending a
concurrency sweep, JSON tensors, and the model version."""

import base64
import json
import re
import struct

from profile_common import Server, add_sub_model, main, profile, row_for, sim_model

ES_RE = re.compile(r"Early stopping \(99% confidence\): p(\d+) latency estimate (\d+) usec "
                   r"from (\d+) queries \(the (\d+) highest set aside\)")


def run(c, infertune, scratch):
    repo = f"{scratch}/repo"
    sim_model(repo, "fast", 1000, slots=4, instances=4)
    sim_model(repo, "five", 5000, slots=1, instances=1)
    sim_model(repo, "slow", 10000, slots=1, instances=1)
    sim_model(repo, "batchy", 4000, per_item_us=1000, slots=1, instances=1)
    add_sub_model(repo)
    with Server(infertune, scratch, repo) as s:
        # --- early stopping ------------------------------------------------
        r = profile(infertune, scratch, ["-m", "fast", "-u", s.url, "--concurrency-range", "2",
                                         "-p", "1000", "-s", "100", "--percentile", "90",
                                         "--early-stop", "0.99"])
        m = ES_RE.search(r.out)
        c.check(r.code == 0 and m is not None, "--early-stop states its estimate", r)
        if m and r.rows:
            row = r.rows[0]
            c.check(m.group(1) == "90", "on the chosen percentile")
            c.check(int(m.group(2)) >= int(row["p90 latency"]),
                    f"the estimate {m.group(2)} is conservative (>= p90 {row['p90 latency']})")
            n = int(m.group(3))
            c.check(n == int(re.search(r"Request count: (\d+)", r.out).group(1)),
                    f"it rests on every merged query ({n})")
        # p99 needs 662 queries: 5 ms x 3 windows of 1 s = ~600, so the
        # measurement goes on while the windows still agree.
        r = profile(infertune, scratch, ["-m", "five", "-u", s.url, "-p", "1000", "-s", "100",
                                         "--early-stop", "99"])
        m = ES_RE.search(r.out)
        c.check(r.code == 0 and m is not None and int(m.group(3)) >= 662,
                "--early-stop extends a stable run until p99 has its 662 queries", r)
        r = profile(infertune, scratch, ["-m", "slow", "-u", s.url, "-p", "500", "-s", "100",
                                         "-r", "3", "--early-stop", "0.99"])
        c.check(r.code == 1 and "early stopping at 99% confidence needs at least 662 queries for a p99 estimate"
                in r.err, "too few queries for early stopping fails the run", r)

        # --- input data file (perf_analyzer's format) ------------------------
        data = {"data": [{"INPUT0": list(range(16)), "INPUT1": [1] * 16},
                         {"INPUT0": {"content": [[5] * 8, [6] * 8], "shape": [16]},
                          "INPUT1": {"b64": base64.b64encode(struct.pack("<16i", *[1] * 16)).decode()}}]}
        path = f"{scratch}/data.json"
        with open(path, "w") as f:
            json.dump(data, f)
        r = profile(infertune, scratch, ["-m", "add_sub", "-u", s.url, "--input-data", path,
                                         "-p", "500", "-s", "100"])
        c.check(r.code == 0, "--input-data FILE drives add_sub", r)
        bad = f"{scratch}/bad.json"
        with open(bad, "w") as f:
            f.write('{"data": [{"INPUT0": [1, 2]}]}')
        r = profile(infertune, scratch, ["-m", "add_sub", "-u", s.url, "--input-data", bad])
        c.check(r.code == 2 and "2 values given, shape [16] needs 16" in r.err,
                "a data file that does not fit the input is refused", r)

        # --- request intervals -------------------------------------------------
        path = f"{scratch}/intervals.txt"
        with open(path, "w") as f:
            f.write("10000\n20000\n")   # 15 ms on average: 66.67/s
        r = profile(infertune, scratch, ["-m", "fast", "-u", s.url, "--request-intervals", path,
                                         "-p", "1500", "-s", "100"])
        c.check(r.code == 0 and r.rows, "--request-intervals", r)
        if r.rows:
            c.check(r.rows[0]["Request Rate"] == "66.6667", "the rate column is the intervals' mean",
                    r.rows[0])
            c.near(float(r.rows[0]["Inferences/Second"]), 1000 / 15, 0.05, "achieved interval rate")

        # --- count windows, warm-up, version ------------------------------------
        r = profile(infertune, scratch, ["-m", "fast", "-u", s.url, "-x", "1",
                                         "--measurement-mode", "count_windows",
                                         "--measurement-request-count", "300",
                                         "--warmup-request-count", "50", "-s", "100"])
        c.check(r.code == 0 and "Minimum number of samples in each window: 300" in r.out
                and "Sending 50 warmup requests" in r.out, "count windows with warm-up", r)
        if r.rows:
            c.check(int(re.search(r"Request count: (\d+)", r.out).group(1)) >= 900,
                    "three count windows of at least 300 requests")
        r = profile(infertune, scratch, ["-m", "fast", "-u", s.url, "-x", "7"])
        c.check(r.code == 2 and "version 7 is not available" in r.err, "unknown version", r)

        # --- batch size: inferences, not requests -------------------------------
        r = profile(infertune, scratch, ["-m", "batchy", "-u", s.url, "-b", "4", "-p", "1000",
                                         "-s", "100"])
        c.check(r.code == 0 and r.rows, "-b 4", r)
        if r.rows:
            row = r.rows[0]
            t_us = float(row["Server Compute Infer"])
            c.near(t_us, 8000, 0.10, "batch 4 takes base + 4 x per-item = 8 ms")
            reqs = 1e6 / float(row["Avg latency"])
            c.near(float(row["Inferences/Second"]), 4 * reqs, 0.03,
                   "throughput counts 4 inferences per request")
            c.check("Inference count:" in r.out and "Input shapes: INPUT0 [4,4]" in r.out,
                    "batched shape sent")

        # --- -l ends a sweep: over the threshold is not a failure --------------
        r = profile(infertune, scratch, ["-m", "slow", "-u", s.url, "--concurrency-range", "1:0:2",
                                         "-l", "25", "-p", "500", "-s", "100"])
        c.check(r.code == 0 and "Measured latency went over the set limit of 25 msec." in r.err,
                "-l ends the sweep at 25 ms", r)
        c.check([row["Concurrency"] for row in r.rows] == ["1"],
                "only the level under the threshold is a row", r.csv_text)

        # --- JSON tensors -----------------------------------------------------
        r = profile(infertune, scratch, ["-m", "add_sub", "-u", s.url, "--input-tensor-format",
                                         "json", "--output-tensor-format", "json", "-p", "500",
                                         "-s", "100"])
        c.check(r.code == 0 and "JSON tensors" in r.out, "JSON tensors on request", r)


if __name__ == "__main__":
    main(run)
