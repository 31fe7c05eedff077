#!/usr/bin/env python3
"""The -f CSV: headers byte-identical to perf_analyzer's (report_writer.cc)
for the plain, --verbose-csv (+ --collect-metrics, Model Analyzer's way of
running it) and --percentile variants, request-rate runs, one row per
stable level sorted by throughput, times in integer microseconds; and
--collect-metrics on the console."""

import re

from profile_common import Server, main, profile, sim_model

PA_HEADER = ("Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,"
             "Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,"
             "Client Recv,p50 latency,p90 latency,p95 latency,p99 latency\n")
PA_VERBOSE_METRICS = PA_HEADER[:-1] + (",Avg latency,request/response,response wait,"
                                       "Avg GPU Utilization,Avg GPU Power Usage,"
                                       "Max GPU Memory Usage,Total GPU Memory\n")
PA_P95_VERBOSE = PA_HEADER[:-1] + ",request/response,response wait\n"
PA_P75 = PA_HEADER.replace("p50 latency,p90", "p50 latency,p75 latency,p90")
PA_RATE = "Request Rate" + PA_HEADER[len("Concurrency"):]

# The CSV is the subject here, not stability: three short windows always merge.
FAST = ["-p", "500", "-s", "1000", "-r", "3"]


def header(r):
    return r.csv_text.split("\n", 1)[0] + "\n" if r.csv_text else None


def run(c, infertune, scratch):
    repo = f"{scratch}/repo"
    sim_model(repo, "m", 2000, slots=4, instances=4)
    with Server(infertune, scratch, repo) as s:
        r = profile(infertune, scratch, ["-m", "m", "-u", s.url, "--concurrency-range", "1:3"] + FAST,
                    verbose_csv=False)
        c.check(r.code == 0, "plain run", r)
        c.check(header(r) == PA_HEADER, "plain header is perf_analyzer's, byte for byte",
                repr(header(r)))
        c.check(len(r.rows) == 3 and all(len(row) == 13 for row in r.rows),
                "three rows of 13 columns", r.csv_text)
        xs = [float(row["Inferences/Second"]) for row in r.rows]
        c.check(xs == sorted(xs), "rows sorted by increasing throughput", xs)
        c.check(all(re.fullmatch(r"\d+", row[k]) for row in r.rows
                    for k in row if k not in ("Inferences/Second",)),
                "every time column is a whole number of microseconds", r.csv_text)
        c.check(sorted(row["Concurrency"] for row in r.rows) == ["1", "2", "3"],
                "one row per level")

        metrics_url = f"127.0.0.1:{s.metrics_port}/metrics"
        r = profile(infertune, scratch, ["-m", "m", "-u", s.url, "--concurrency-range", "2",
                                         "--collect-metrics", "--metrics-url", metrics_url,
                                         "--metrics-interval", "200"] + FAST)
        c.check(r.code == 0, "--verbose-csv --collect-metrics run", r)
        c.check(header(r) == PA_VERBOSE_METRICS,
                "verbose + metrics header is perf_analyzer's, byte for byte", repr(header(r)))
        if r.rows:
            line = r.csv_text.split("\n")[1]
            # No GPU here: four empty "uuid:value;" lists.
            c.check(line.endswith(",,,,"), "GPU columns empty without GPUs", line)
            row = r.rows[0]
            c.check(int(row["request/response"]) >= 0 and int(row["Avg latency"]) > 0,
                    "verbose columns filled", row)
        c.check("Server Prometheus Metrics:" in r.out and "Avg CPU Utilization:" in r.out,
                "the server's CPU series on the console", r.out[-1500:])

        r = profile(infertune, scratch, ["-m", "m", "-u", s.url, "--percentile", "95"] + FAST)
        c.check(r.code == 0 and header(r) == PA_P95_VERBOSE,
                "--percentile 95 --verbose-csv: no Avg latency, no repeated p95", repr(header(r)))
        c.check("Stabilizing using p95 latency" in r.out and "p95 Batch Latency" in r.out,
                "console says it stabilises on p95", r.out[:800])

        r = profile(infertune, scratch, ["-m", "m", "-u", s.url, "--percentile", "75"] + FAST,
                    verbose_csv=False)
        c.check(r.code == 0 and header(r) == PA_P75, "--percentile 75 adds a p75 column in order",
                repr(header(r)))

        r = profile(infertune, scratch, ["-m", "m", "-u", s.url, "--request-rate-range",
                                         "100:200:100"] + FAST, verbose_csv=False)
        c.check(r.code == 0 and header(r) == PA_RATE, "request-rate header", repr(header(r)))
        c.check(sorted(row["Request Rate"] for row in r.rows) == ["100", "200"],
                "request-rate rows", r.csv_text)


if __name__ == "__main__":
    main(run)
