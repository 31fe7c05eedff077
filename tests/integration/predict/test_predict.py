#!/usr/bin/env python3
"""`infertune predict` on the results.db of real, short analyses of sim models.

Two analyses (docs/sim-backend.md; 200 ms windows, about 8 s together):

- `simnb` does not batch: T = 10 ms, 2 device slots; brute search over 1-2
  instances at concurrency 1, 2, 4. Asked for 3 instances, which were
  never measured, at concurrency 3 and 4 the prediction must give the
  sim's exact throughput min(I, S, C) / T = 200 infer/s and latency C / X,
  within the stated uncertainty or 10%; at a request rate below capacity
  the rate itself, above it "saturated". Asked for a configuration and
  load that were measured, the measurement is shown beside it.
- `simb` batches: T(b) = 4 + 1 b ms, 1 slot, default configuration only
  (max_batch_size 4, preferred 2 and 4) at concurrency 1 and 4. Asked for
  max_batch_size 8 with preferred size 8 and a 2 ms delay at concurrency 8,
  every batch holds the 8 clients' requests, so the throughput is
  8 / (T(8) + the client's overhead) with T(8) = 12 ms extrapolated from
  batches of at most 4.

With `--latency-budget`, the highest rate within it: for `simnb` with 2
instances just under k / T = 200 req/s for a generous budget, none for a
budget below T, and the servers a target rate needs.

Then the text, CSV and JSON forms, and the bad inputs: each exits 2 with a
message that names the flag, the file or the model.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analyze"))
from analyze_common import analyze, query, sim_config, write_repo  # noqa: E402
import harness  # noqa: E402

COMMON = ["--perf-analyzer-flag", "measurement-interval=200", "--duration-seconds", "0",
          "--skip-summary-reports"]
T_NB_MS = 10.0
SLOTS = 2


def t_b_ms(b):
    return 4.0 + 1.0 * b


def predict(infertune, *args):
    return subprocess.run([infertune, "predict"] + list(args), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def predict_json(c, infertune, what, *args):
    p = predict(infertune, *args, "--format", "json")
    if not c.equal(p.returncode, 0, f"{what}: predict exits 0"):
        print(p.stderr)
        return None
    return json.loads(p.stdout)


def tolerance(doc):
    return max(doc["fit"]["rel_uncertainty"], 0.10)


def not_batching(c, infertune, scratch, nb):
    # 3 instances were never measured: k = min(3, 2 slots) executions at once.
    doc = predict_json(c, infertune, "3 instances", "-e", nb, "--instance-count", "3",
                       "--concurrency-range", "3:4")
    if not doc:
        return
    c.check(doc["prediction"] is True and doc["configuration"]["instance_count"] == 3,
            "json: labelled a prediction, of 3 instances", doc["configuration"])
    tol = tolerance(doc)
    for lv in doc["levels"]:
        conc = lv["load_value"]
        x = min(3, SLOTS, conc) / (T_NB_MS / 1000)
        got = lv["predicted"]["throughput"]
        c.check(abs(got - x) <= tol * x, f"3 instances, concurrency {conc:g}: "
                f"{got:.1f} infer/s is min(I, S, C) / T = {x:.0f} within {tol:.0%}")
        c.check(lv["measured"] is None, f"concurrency {conc:g}: nothing measured there")
        c.equal(lv["extrapolated"], "3 instances, measured up to 2",
                f"concurrency {conc:g}: labelled an extrapolation (2 instances measured at most)")
    lat = doc["levels"][1]["predicted"]["latency_avg_ms"]
    want = 4 / 200 * 1000
    c.check(abs(lat - want) <= tol * want,
            f"3 instances, concurrency 4: average latency {lat:.2f} ms is C / X = {want:.0f} ms")

    levels = query(nb, "SELECT count(*) FROM measurements WHERE status = 'ok' "
                   "AND phase = 'sweep'")[0][0]
    p = predict(infertune, "-e", nb, "--instance-count", "3", "--concurrency-range", "3:4")
    c.check(p.returncode == 0 and "PREDICTION (not measured)" in p.stdout,
            "text: titled PREDICTION (not measured)", p.stdout[:300] + p.stderr)
    c.check(f"fitted to {levels} measured levels of 2 configurations" in p.stdout,
            "text: says what the fit rests on", p.stdout[:400])
    c.check(re.search(r"^ +4 +predicted +\d+\.\d .*EXTRAPOLATED: 3 instances, measured up to 2$",
                      p.stdout, re.M) and "EXTRAPOLATED rows lie beyond what was measured" in
            p.stdout, "text: a row per load, an extrapolation said so and explained", p.stdout)

    # Open loop: below capacity the rate; above, saturated.
    doc = predict_json(c, infertune, "rates", "-e", nb, "--instance-count", "3",
                       "--request-rate-range", "100:300:200")
    if doc:
        low, high = doc["levels"]
        c.check(not low["saturated"] and abs(low["predicted"]["throughput"] - 100) <= 10,
                "rate 100/s: not saturated, throughput the rate", low)
        c.check(high["saturated"] and high["predicted"]["latency_p99_ms"] is None,
                "rate 300/s: saturated (capacity 200), no latency given", high)
    p = predict(infertune, "-e", nb, "--instance-count", "3", "--request-rate-range", "300")
    c.check(p.returncode == 0 and "saturated" in p.stdout, "text: 'saturated' above capacity",
            p.stdout)

    # A configuration and load that were measured: the measurement beside it.
    name, thr = query(nb, """SELECT v.name, m.throughput FROM measurements m
                             JOIN variants v ON v.id = m.variant_id
                             WHERE v.instance_count = 2 AND m.load_value = 4
                             AND m.status = 'ok'""")[0]
    doc = predict_json(c, infertune, "measured point", "-e", nb, "--instance-count", "2",
                       "--concurrency-range", "4")
    if doc:
        m = doc["levels"][0]["measured"]
        c.check(m and m["variant"] == name and abs(m["throughput"] - thr) <= 1e-8 * thr,
                "json: the measured figures beside the prediction", m)
        c.check(doc["levels"][0]["extrapolated"] is None,
                "json: within what was measured, no extrapolation", doc["levels"][0])
    p = predict(infertune, "-e", nb, "--instance-count", "2", "--concurrency-range", "4")
    c.check(re.search(r"^ +measured .*as " + name + "$", p.stdout, re.M),
            "text: a measured row under the predicted one", p.stdout)
    c.check(re.search(r"^ +4 +predicted +\d+\.\d .*±\d+%$", p.stdout, re.M) and
            "EXTRAPOLATED" not in p.stdout,
            "text: within what was measured, the row carries its uncertainty", p.stdout)

    p = predict(infertune, "-e", nb, "--instance-count", "2", "--concurrency-range", "2:4:2",
                "--format", "csv")
    rows = p.stdout.splitlines()
    c.equal(rows[0] if rows else "", "Concurrency,Inferences/Second,Avg latency,p50 latency,"
            "p90 latency,p95 latency,p99 latency,Server Queue,Server Compute,Avg Batch,"
            "Saturated,Prediction,Uncertainty %,Extrapolated",
            "csv: perf_analyzer's column names and ours")
    c.check(len(rows) == 5 and [r.split(",")[11] for r in rows[1:]] == ["Yes", "No"] * 2,
            "csv: a predicted and a measured row per load", rows)


def batching(c, infertune, scratch, b):
    doc = predict_json(c, infertune, "batches of 8", "-e", b, "--max-batch-size", "8",
                       "--preferred-batch-size", "8", "--max-queue-delay-us", "2000",
                       "--concurrency-range", "8")
    if doc:
        lv = doc["levels"][0]
        model = doc["fit"]["model"]
        overhead = float(re.search(r"overhead ([0-9.]+) ms", model).group(1))
        t8 = float(re.search(r"([0-9.]+) ms at 8", model).group(1))
        # The front end's cost per response, when the fit found one: the 8
        # responses of a batch leave one after another, and the next batch
        # forms when the last client is back (docs/predictor.md).
        serial = re.search(r"([0-9.]+) us per response", model)
        stagger = 8 * float(serial.group(1)) / 1000 if serial else 0
        x = 8 / ((t8 + overhead + stagger) / 1000)
        got = lv["predicted"]["throughput"]
        # The fit's T(8) comes from the server's measured compute times (batches
        # up to 4, extrapolated), which a busy machine stretches; the sim's is exact.
        c.check(abs(t8 - t_b_ms(8)) <= 0.15 * t_b_ms(8),
                f"T(8) extrapolated from batches up to 4: {t8} ms is the sim's "
                f"{t_b_ms(8)} ms within 15%")
        c.check(lv["predicted"]["server_avg_batch"] == 8, "batches of 8 predicted", lv)
        # The default's levels (concurrency 1 and 4) executed batches of at
        # most 4, how many depends on the machine's timing.
        c.check(re.fullmatch(r"batches of 8, executed up to [1-4]", lv["extrapolated"] or ""),
                "batches of 8: labelled an extrapolation (batches up to 4 at most executed)",
                lv["extrapolated"])
        c.check(abs(got - x) <= 0.02 * x, f"max_batch_size 8 at concurrency 8: {got:.1f} "
                f"infer/s is 8 / (T(8) + overhead + 8 x the cost per response) = {x:.0f} "
                f"within 2%")
    p = predict(infertune, "-e", b, "--concurrency-range", "4")
    c.check(p.returncode == 0 and "as simb_config_default" in p.stdout and
            "the simulator batches to the largest preferred_batch_size, 4" in p.stdout,
            "text: the default beside its measurement; the largest preferred size said",
            p.stdout + p.stderr)


def capacity(c, infertune, nb):
    # 2 instances on 2 slots: k / T = 200 req/s; at constant intervals below it
    # no request waits, so a generous budget gives a rate just under 200 (the
    # fitted execution is T or longer on a busy machine; the bisection stops
    # within 1% below), and a budget below T gives none.
    exact = min(2, SLOTS) / (T_NB_MS / 1000)
    doc = predict_json(c, infertune, "capacity", "-e", nb, "--instance-count", "2",
                       "--latency-budget", "50", "--target-rate", "500")
    if doc:
        cap = doc["capacity"]
        c.check(doc["prediction"] is True and doc["levels"] == [] and cap["within_budget"],
                "json: a prediction, the capacity instead of the default load", cap)
        c.check(0.85 * exact <= cap["sustained_rate"] <= 1.01 * exact,
                f"capacity {cap['sustained_rate']:.1f} req/s is just under k / T = {exact:.0f}")
        c.check(T_NB_MS <= cap["latency_p99_ms"] <= 50, "its p99 is T or more, within 50 ms",
                cap)
        c.equal(cap["servers"], 3, "500 req/s needs ceil(500 / rate) = 3 such servers")
    p = predict(infertune, "-e", nb, "--instance-count", "2", "--latency-budget", "50",
                "--target-rate", "500")
    c.check(re.search(r"^Highest rate within p99 <= 50 ms at constant intervals, PREDICTED "
                      r"\(not measured\): 1\d\d\.\d req/s ±\d+% within the budget; p99 "
                      r"[\d.]+ ms there\.$", p.stdout, re.M) and
            re.search(r"^500 req/s at p99 <= 50 ms, predicted: 3 servers like this "
                      r"configuration \(1\d\d\.\d req/s each within budget, ±\d+%\)\.$",
                      p.stdout, re.M), "text: the capacity and the servers, labelled",
            p.stdout + p.stderr)
    p = predict(infertune, "-e", nb, "--instance-count", "2", "--latency-budget", "5",
                "--format", "csv")
    rows = [r.split(",") for r in p.stdout.splitlines()]
    c.check(len(rows) == 2 and rows[0][2] == "Predicted Sustained Rate (infer/sec)" and
            rows[1][2] == "" and float(rows[1][3]) >= T_NB_MS and rows[1][7] == "Yes",
            "csv: a budget below T gives none, with the p99 at the lightest rate", rows)
    p = predict(infertune, "-e", nb, "--instance-count", "2", "--latency-budget", "5")
    c.check(re.search(r"PREDICTED \(not measured\): none, p99 [\d.]+ ms ±\d+% even at "
                      r"[\d.]+ req/s; [\d.]+ ms over the budget\.", p.stdout),
            "text: none, and by how much", p.stdout)


def bad_inputs(c, infertune, scratch, nb, b):
    notdb = os.path.join(scratch, "notes.txt")
    with open(notdb, "w") as f:
        f.write("this is not a database, only text long enough to fill a page header\n")
    stripped = os.path.join(scratch, "nostats")
    os.makedirs(stripped)
    shutil.copy(os.path.join(nb, "results.db"), stripped)
    with sqlite3.connect(os.path.join(stripped, "results.db")) as con:
        con.execute("DELETE FROM batch_stats")
    cases = [
        (["-e", os.path.join(scratch, "none")], "none/results.db: no results.db"),
        (["--results", notdb], "not an infertune results.db"),
        (["-e", nb, "-m", "nosuch"], "no model 'nosuch' (it holds: simnb)"),
        (["-e", stripped], "results.db has no batch statistics for model 'simnb' "
                           "(its server did not send batch_stats)"),
        (["-e", nb, "--max-batch-size", "4"], "the model's default has max_batch_size 0"),
        (["-e", nb, "--concurrency-range", "0"], "--concurrency-range '0'"),
        (["-e", nb, "--instance-count", "2000"], "--instance-count '2000'"),
        (["-e", nb, "--request-rate-range", "2e9"], "--request-rate-range"),
        (["-e", nb, "--threads", "2"], "--threads"),
        (["-e", b, "--max-queue-delay-us", "3600000001"], "--max-queue-delay-us"),
        (["-e", b, "--preferred-batch-size", "8"],
         "--preferred-batch-size 8 is above max_batch_size 4"),
        (["-e", b, "-b", "5"], "-b 5 is above max_batch_size 4"),
        (["-e", nb, "--latency-budget", "0"], "--latency-budget '0': expected a number > 0"),
        (["-e", nb, "--latency-budget", "soon"], "--latency-budget 'soon'"),
        (["-e", nb, "--target-rate", "100"], "--target-rate needs --latency-budget"),
        (["-e", nb, "--latency-budget", "50", "--request-rate-range", "100",
          "--request-distribution", "poisson"], "constant intervals only"),
        (["-e", nb, "--latency-budget", "50", "--concurrency-range", "2", "--format", "csv"],
         "--format csv takes one table"),
    ]
    for args, want in cases:
        p = predict(infertune, *args)
        c.check(p.returncode == 2 and want in p.stderr and not p.stdout,
                f"{' '.join(a.replace(scratch, '.') for a in args)}: exits 2 naming it",
                (p.returncode, p.stderr))


def run(c, infertune, scratch):
    nb_cfg = sim_config("simnb", base_us=int(T_NB_MS * 1000), per_item_us=0, slots=SLOTS,
                        max_batch_size=0)
    b_cfg = sim_config("simb", base_us=4000, per_item_us=1000, slots=1, max_batch_size=4) + \
        "dynamic_batching { preferred_batch_size: [ 2, 4 ] }\n"
    repo = write_repo(os.path.join(scratch, "repo"), {"simnb": nb_cfg, "simb": b_cfg})
    nb, b = os.path.join(scratch, "nb"), os.path.join(scratch, "b")
    p = analyze(infertune, ["--model-repository", repo, "--profile-models", "simnb",
                            "--export-path", nb, "--run-config-search-max-instance-count", "2",
                            "--run-config-search-max-concurrency", "4"] + COMMON, check=0)
    if not c.equal(p.returncode, 0, "analyze simnb (brute, 1-2 instances) exits 0"):
        return
    p = analyze(infertune, ["--model-repository", repo, "--profile-models", "simb",
                            "--export-path", b, "--run-config-search-disable",
                            "--concurrency", "1,4"] + COMMON, check=0)
    if not c.equal(p.returncode, 0, "analyze simb (default only) exits 0"):
        return
    not_batching(c, infertune, scratch, nb)
    capacity(c, infertune, nb)
    batching(c, infertune, scratch, b)
    bad_inputs(c, infertune, scratch, nb, b)


if __name__ == "__main__":
    harness.main(run, "predict-")
