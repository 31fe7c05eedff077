#!/usr/bin/env python3
"""Capacity answers: `--request-rate` with `--latency-budget`, end to end.

A sim model without batching (docs/sim-backend.md): an execution takes
T = 10 ms on a device of two slots, so k = min(instances, 2) executions run
at once and a configuration serves k / T requests/s. At constant intervals
below that rate a request never waits (latency about T); above it the queue
grows and the level delivers only k / T. The brute search tries 1 instance
(the default) and 2. Rates 80, 160 and 240 req/s, p99 budget 50 ms (a loaded machine adds
milliseconds to T; a level that falls behind adds hundreds):

- 1 instance serves 80 (100/s capacity); at 160 and 240 it falls behind
  (delivers about 100, under 97% of the offer, with a growing p99), so
  those levels do not count: 80 req/s;
- 2 instances serve 80 and 160 (200/s capacity), not 240: 160 req/s;
- the target, 240, is above both: ceil(0.97 x 240 / 160) = 2 servers like
  the 2-instance configuration (3 of the default: 0.97 x 240 / 80 = 2.91).

Beside each top configuration's measured rate, the predictor's (fitted to
the levels in results.db, docs/predictor.md): the highest rate at constant
intervals within the budget, labelled predicted, near the sim's exact
k / T (200 and 100 req/s) and not above it by more than the bisection's 1%
(the fitted execution time is at least T; a busy machine makes it longer).

Checked in the summary's sentences, results/metrics-capacity.csv and the
report's Capacity section (`infertune report`, from results.db alone).
"""

import os
import re
import subprocess

from analyze_common import analyze, main, query, read_csv, sim_config, write_repo

T_MS = 10
RATES = [80, 160, 240]
BUDGET_MS = 50
CAPACITY_HEADER = ("Model,Batch,Model Config Path,Instance Group,Max Batch Size,"
                   "Latency Budget (ms),Sustained Rate (infer/sec),"
                   "Sustained Rate 95% CI Low (infer/sec),Sustained Rate 95% CI High (infer/sec),"
                   "At Load,p99 Latency (ms),Target Rate (infer/sec),Meets Target,"
                   "Servers For Target,Predicted Sustained Rate (infer/sec),"
                   "Predicted Uncertainty %")
# "beyond the levels measured" only when a level above capacity failed outright.
PREDICTED = (r" \(predicted: ([\d.]+) req/s ±(\d+)% within the budget"
             r"(?:, beyond the levels measured)?\)")


def near_capacity(c, got, k, what):
    """A predicted rate near the sim's exact k / T: 15% below at most, 1% above."""
    exact = k / (T_MS / 1000)
    c.check(0.85 * exact <= got <= 1.01 * exact,
            f"{what}: predicted {got:.1f} req/s is near k / T = {exact:.0f}", got)


def run(c, infertune, scratch):
    config = sim_config("simcap", base_us=T_MS * 1000, per_item_us=0, slots=2,
                        max_batch_size=0, instances=1)
    repo = write_repo(os.path.join(scratch, "repo"), {"simcap": config})
    export = os.path.join(scratch, "out")
    p = analyze(infertune, ["--model-repository", repo, "--profile-models", "simcap",
                            "--export-path", export,
                            "--run-config-search-max-instance-count", "2",
                            "--request-rate", ",".join(str(r) for r in RATES),
                            "--latency-budget", str(BUDGET_MS),
                            "--perf-analyzer-flag", "measurement-interval=250",
                            "--duration-seconds", "0", "--skip-summary-reports"],
                check=0)
    if not c.equal(p.returncode, 0, "analyze exits 0"):
        return
    lines = [ln.strip() for ln in p.stdout.splitlines() if "Capacity: " in ln]
    print("# " + "\n# ".join(lines), flush=True)

    # The target: above both configurations, 2 servers like the 2-instance one.
    m = re.search(r"Capacity: 240 req/s at p99 <= 50 ms: (\d+) servers like (\S+) "
                  r"\(([\d.,]+) req/s each within budget\)\.", p.stdout)
    if c.check(m, "the summary answers the target with a number of servers", lines):
        c.equal(m.group(1), "2", "2 servers serve 240 req/s")
        c.equal(m.group(2), "simcap_config_0", "like the 2-instance configuration")
        c.near(float(m.group(3).replace(",", "")), 160, 0.03, "each sustaining 160 req/s")
    m = re.search(r"Capacity: Highest rate within p99 <= 50 ms, as measured: "
                  r"simcap_config_0 ([\d.]+) req/s at request rate 160, p99 ([\d.]+) ms"
                  + PREDICTED + r"; simcap_config_default ([\d.]+) req/s at request rate 80, "
                  r"p99 ([\d.]+) ms" + PREDICTED + r"\.", p.stdout)
    predicted = {}
    if c.check(m, "the summary gives each top configuration's highest rate, measured and "
               "predicted", lines):
        c.near(float(m.group(1)), 160, 0.03, "2 instances: 160 req/s")
        c.near(float(m.group(5)), 80, 0.03, "1 instance: 80 req/s (160 and 240 saturated)")
        c.check(T_MS <= float(m.group(2)) <= BUDGET_MS and
                T_MS <= float(m.group(6)) <= BUDGET_MS,
                "their p99 is T or more, within the budget", m.groups())
        predicted = {"simcap_config_0": float(m.group(3)),
                     "simcap_config_default": float(m.group(7))}
        near_capacity(c, predicted["simcap_config_0"], 2, "2 instances")
        near_capacity(c, predicted["simcap_config_default"], 1, "1 instance")
        c.check(int(m.group(4)) >= 3, "with the fit's uncertainty (3% at least)", m.group(4))

    # The levels above a configuration's capacity fell behind: a level that
    # stays valid delivered under 97% of its rate (an overloaded level may also
    # fail outright: the previous level's queue still drains).
    behind = query(export, """SELECT v.name, m.load_value, m.status, m.throughput
                              FROM measurements m JOIN variants v ON v.id = m.variant_id
                              WHERE (v.name = 'simcap_config_default' AND m.load_value >= 160)
                              OR (v.name = 'simcap_config_0' AND m.load_value >= 240)""")
    c.check(len(behind) == 3, "the levels above capacity were measured", behind)
    c.check(all(st != "ok" or tp < 0.97 * load for _, load, st, tp in behind),
            "and fell behind their rate", behind)

    rows = read_csv(os.path.join(export, "results", "metrics-capacity.csv"))
    c.equal(",".join(rows[0]), CAPACITY_HEADER, "metrics-capacity.csv: header")
    by_name = {r[2]: dict(zip(rows[0], r)) for r in rows[1:]}
    c.equal(sorted(by_name), ["simcap_config_0", "simcap_config_default"],
            "metrics-capacity.csv: one row per configuration")
    for name, rate, load, servers in (("simcap_config_0", 160, "request rate 160", "2"),
                                      ("simcap_config_default", 80, "request rate 80", "3")):
        r = by_name.get(name)
        if not c.check(r, f"{name}: a row"):
            continue
        c.near(float(r["Sustained Rate (infer/sec)"]), rate, 0.03, f"{name}: sustained rate")
        c.check(float(r["Sustained Rate 95% CI Low (infer/sec)"]) <=
                float(r["Sustained Rate (infer/sec)"]) <=
                float(r["Sustained Rate 95% CI High (infer/sec)"]),
                f"{name}: the rate lies in its interval", r)
        c.equal((r["At Load"], r["Latency Budget (ms)"], r["Target Rate (infer/sec)"],
                 r["Meets Target"], r["Servers For Target"], r["Batch"]),
                (load, "50", "240.0", "No", servers, "1"), f"{name}: load, target, servers")
        if name in predicted:
            c.check(abs(float(r["Predicted Sustained Rate (infer/sec)"]) - predicted[name])
                    <= 0.051 and float(r["Predicted Uncertainty %"]) >= 3,
                    f"{name}: the predicted rate and its uncertainty, as in the summary", r)

    # The report recomputes the answers from results.db alone.
    r = subprocess.run([infertune, "report", "-e", export, "--no-pdf"], capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    if not c.equal(r.returncode, 0, "infertune report exits 0"):
        print(r.stdout, r.stderr)
        return
    with open(os.path.join(export, "reports", "simcap", "report.html")) as f:
        html = f.read()
    c.check('<h2 id="capacity">Capacity</h2>' in html, "the report has a Capacity section")
    c.check('id="capacity-table"' in html and html.count("request rate 160</td>") == 1,
            "and the capacity table")
    c.check("<th>Predicted (req/s), not measured</th>" in html,
            "with the predicted rates, labelled")
    for line in lines:
        sentence = line.split("Capacity: ", 1)[1].replace("<", "&lt;")
        c.check(f'<p class="summary">{sentence}</p>' in html,
                "the report says what the summary said", sentence)


if __name__ == "__main__":
    main(run)
