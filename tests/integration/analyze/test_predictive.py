#!/usr/bin/env python3
"""The predictive search (docs/search.md) on sim models.

- Against brute on the same model and bounds: the predictive search finds a
  configuration within 5% of brute's best throughput while measuring far
  fewer levels, although its space is larger (dynamic batching's delay and
  preferred size); every guided point has its prediction stored next to the
  measurement that checked it.
- A model that does not batch: the space is instances only, and it works.
- Run again on the same export folder: the same decisions (every point is
  reused from results.db, nothing measured, the same recommendation).
- Request rates instead of concurrencies: the search measures and predicts
  at the run's rates.
- A latency budget that nothing meets: the analysis says so and names the
  closest configuration.
- A remote server that sends no batch_stats (as an older Triton: here a
  proxy in front of `infertune serve` that removes them): the search says
  it cannot predict and measures brute search's configurations instead.
"""

import json
import os

from analyze_common import (analyze, main, query, sim_config, start_proxy, start_serve,
                            stop, write_repo)

COMMON = ["--perf-analyzer-flag", "measurement-interval=150", "--duration-seconds", "0",
          "--skip-summary-reports", "--run-config-search-max-instance-count", "2",
          "--run-config-search-max-concurrency", "8"]


def best_throughput(export):
    rows = query(export, """SELECT x.throughput FROM rankings r
                            JOIN measurements x ON x.id = r.best_measurement_id
                            WHERE r.rank = 1 ORDER BY r.run_id DESC LIMIT 1""")
    return rows[0][0] if rows else None


def levels(export):
    return query(export, "SELECT count(*) FROM measurements WHERE phase = 'sweep'")[0][0]


def against_brute(c, infertune, scratch):
    cfg = sim_config("simpred", base_us=4000, per_item_us=500, slots=2, max_batch_size=4)
    repo = write_repo(os.path.join(scratch, "repo"), {"simpred": cfg})
    base = ["--model-repository", repo, "--profile-models", "simpred",
            "--run-config-search-max-model-batch-size", "8"] + COMMON
    brute = os.path.join(scratch, "brute")
    p = analyze(infertune, base + ["--export-path", brute], check=0)
    c.equal(p.returncode, 0, "brute: analyze exits 0")
    pred = os.path.join(scratch, "pred")
    p = analyze(infertune, base + ["--export-path", pred, "--run-config-search-mode",
                                   "predictive"], check=0)
    c.equal(p.returncode, 0, "predictive: analyze exits 0")
    tb, tp = best_throughput(brute), best_throughput(pred)
    nb, np = levels(brute), levels(pred)
    print(f"# brute: {tb} infer/s in {nb} levels; predictive: {tp} infer/s in {np} levels",
          flush=True)
    c.check(tb and tp and tp >= 0.95 * tb,
            "predictive: within 5% of brute's best throughput", (tp, tb))
    c.check(np <= 0.6 * nb, "predictive: at most 60% of brute's measurements", (np, nb))
    preds = query(pred, """SELECT p.throughput, m.throughput, p.rel_uncertainty, p.model
                           FROM predictions p JOIN measurements m ON m.id = p.measurement_id
                           WHERE p.role = 'guided'""")
    print(f"# predicted vs measured: {[(round(a), round(b)) for a, b, *_ in preds]}",
          flush=True)
    c.check(preds and all(u >= 0.03 and "exec" in model for _, _, u, model in preds),
            "predictive: each guided point's prediction is stored with its measurement",
            preds[:2])
    roles = dict(query(pred, "SELECT role, count(*) FROM predictions GROUP BY role"))
    c.check(roles.get("probe", 0) >= 1 and roles.get("guided", 0) >= 1,
            "predictive: the probes' predictions are stored too, as role 'probe'", roles)
    errors = sorted(abs(a - b) / b for a, b, *_ in preds)
    # Under 25%: the fit is made on a busy 2-core host, under ASan in CI's
    # second pass, where the server's own time per request grows and moves
    # (medians seen: 4-11% plain, 15% under ASan).
    c.check(errors and errors[len(errors) // 2] < 0.25,
            "predictive: the median prediction error is under 25%", errors)
    out = p.stdout + p.stderr
    c.check("predicted" in out and "measured" in out,
            "predictive: predictions are shown against measurements", out[-1500:])
    c.check("throughput predictions missed by" in out and "guided points" in out,
            "predictive: the errors' median and worst are summed up", out[-1500:])

    # Again on the same folder: the same decisions, all reused.
    before = query(pred, "SELECT count(*) FROM variants")[0][0]
    n_preds = query(pred, "SELECT count(*) FROM predictions")[0][0]
    p = analyze(infertune, base + ["--export-path", pred, "--run-config-search-mode",
                                   "predictive"], check=0)
    c.equal(p.returncode, 0, "resume: analyze exits 0")
    c.check("0 measurements taken" in p.stdout, "resume: nothing measured again",
            p.stdout[-800:])
    c.equal(query(pred, "SELECT count(*) FROM variants")[0][0], before,
            "resume: no new configuration proposed")
    c.equal(best_throughput(pred), tp, "resume: the same recommendation")
    c.equal(query(pred, "SELECT count(*) FROM predictions")[0][0], n_preds,
            "resume: the predictions of reused points are not stored again")


def predictive_unbatched(c, infertune, scratch, name, what, extra=()):
    """Predictive analysis of a sim model that does not batch: 3 ms on 2 slots
    (one instance serves 333/s, two 666/s). Returns (export, process)."""
    cfg = sim_config(name, base_us=3000, per_item_us=0, slots=2, max_batch_size=0)
    repo = write_repo(os.path.join(scratch, "repo_" + name), {name: cfg})
    export = os.path.join(scratch, name)
    p = analyze(infertune, ["--model-repository", repo, "--profile-models", name,
                            "--export-path", export, "--run-config-search-mode", "predictive"]
                + list(extra) + COMMON, check=0)
    c.equal(p.returncode, 0, what + ": analyze exits 0")
    return export, p


def no_batching(c, infertune, scratch):
    export, _ = predictive_unbatched(c, infertune, scratch, "simnb", "no batching")
    rows = query(export, """SELECT v.instance_count, v.max_batch_size FROM rankings r
                            JOIN variants v ON v.id = r.variant_id ORDER BY r.rank""")
    c.check(rows and rows[0][0] == 2 and all(r[1] == 0 for r in rows),
            "no batching: 2 instances on 2 slots win, nothing batches", rows)


def request_rates(c, infertune, scratch):
    export, _ = predictive_unbatched(c, infertune, scratch, "simrate", "request rates",
                                     ["--request-rate", "150,450", "--latency-budget", "30"])
    kinds = query(export, "SELECT DISTINCT load_kind FROM measurements")
    c.equal(kinds, [("request_rate",)], "request rates: every level is a request rate")
    preds = query(export, "SELECT load_kind, load_value FROM predictions")
    c.check(preds and all(k == "request_rate" and v in (150, 450) for k, v in preds),
            "request rates: predictions are made at the run's rates", preds)
    rows = query(export, """SELECT v.instance_count FROM rankings r
                            JOIN variants v ON v.id = r.variant_id ORDER BY r.rank""")
    c.check(rows and rows[0][0] == 2, "request rates: 2 instances serve 450/s, 1 cannot", rows)


def nothing_meets(c, infertune, scratch):
    # 3 ms per execution: a p99 of 1 ms is out of reach.
    export, p = predictive_unbatched(c, infertune, scratch, "simslow", "nothing meets",
                                     ["--latency-budget", "1"])
    best = query(export, """SELECT v.name FROM rankings r JOIN variants v ON v.id = r.variant_id
                            WHERE r.rank = 1""")
    c.check(best and "NO configuration met the constraints" in p.stdout and
            f"Recommending {best[0][0]}: the least violation" in p.stdout,
            "nothing meets: said so, naming the closest configuration", p.stdout[-900:])


def without_batch_stats(method, path, status, data):
    """Statistics answers without batch_stats, as an older Triton sends them."""
    if path.endswith("/stats") and status == 200:
        stats = json.loads(data)
        for m in stats.get("model_stats", []):
            m.pop("batch_stats", None)
        data = json.dumps(stats).encode()
    return data


def remote_without_batch_stats(c, infertune, scratch):
    cfg = sim_config("simold", base_us=3000, per_item_us=0, slots=2, max_batch_size=0)
    repo = write_repo(os.path.join(scratch, "repo_old"), {"simold": cfg})
    proc, port, metrics = start_serve(infertune, repo, scratch, "serve-old")
    proxy = start_proxy(port, without_batch_stats)
    try:
        export = os.path.join(scratch, "old")
        p = analyze(infertune, ["--server", "remote",
                                "--url", f"127.0.0.1:{proxy.server_address[1]}",
                                "--metrics-url", f"http://127.0.0.1:{metrics}/metrics",
                                "--profile-models", "simold", "--export-path", export,
                                "--run-config-search-mode", "predictive"] + COMMON, check=0)
        c.equal(p.returncode, 0, "no batch_stats: analyze exits 0")
        out = p.stdout + p.stderr
        c.check("measuring brute search's configurations instead" in out,
                "no batch_stats: the search says it falls back to measuring", out[-1500:])
        c.equal(query(export, "SELECT count(*) FROM batch_stats")[0][0], 0,
                "no batch_stats: none reached results.db")
        c.equal(query(export, "SELECT count(*) FROM predictions")[0][0], 0,
                "no batch_stats: nothing was predicted")
        # Brute's configurations (instances=1 is the default), each swept over
        # the run's 4 concurrencies.
        rows = query(export, """SELECT v.instance_count, count(*) FROM variants v
                                JOIN measurements m ON m.variant_id = v.id
                                WHERE m.phase = 'sweep'
                                GROUP BY v.id ORDER BY v.instance_count""")
        c.equal(rows, [(1, 4), (2, 4)],
                "no batch_stats: brute's instance counts measured over the sweep")
    finally:
        proxy.shutdown()
        stop(proc)


def run(c, infertune, scratch):
    against_brute(c, infertune, scratch)
    no_batching(c, infertune, scratch)
    request_rates(c, infertune, scratch)
    nothing_meets(c, infertune, scratch)
    remote_without_batch_stats(c, infertune, scratch)


if __name__ == "__main__":
    main(run)
