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
"""

import os

from analyze_common import analyze, main, query, sim_config, write_repo

COMMON = ["--perf-analyzer-flag", "measurement-interval=200", "--duration-seconds", "0",
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
                           FROM predictions p JOIN measurements m ON m.id = p.measurement_id""")
    print(f"# predicted vs measured: {[(round(a), round(b)) for a, b, *_ in preds]}",
          flush=True)
    c.check(preds and all(u >= 0.03 and "exec" in model for _, _, u, model in preds),
            "predictive: each guided point's prediction is stored with its measurement",
            preds[:2])
    errors = sorted(abs(a - b) / b for a, b, *_ in preds)
    # Under 25%: the fit is made on a busy 2-core host, under ASan in CI's
    # second pass, where the server's own time per request grows and moves
    # (medians seen: 4-11% plain, 15% under ASan).
    c.check(errors and errors[len(errors) // 2] < 0.25,
            "predictive: the median prediction error is under 25%", errors)
    out = p.stdout + p.stderr
    c.check("predicted" in out and "measured" in out,
            "predictive: predictions are shown against measurements", out[-1500:])

    # Again on the same folder: the same decisions, all reused.
    before = query(pred, "SELECT count(*) FROM variants")[0][0]
    p = analyze(infertune, base + ["--export-path", pred, "--run-config-search-mode",
                                   "predictive"], check=0)
    c.equal(p.returncode, 0, "resume: analyze exits 0")
    c.check("0 measurements taken" in p.stdout, "resume: nothing measured again",
            p.stdout[-800:])
    c.equal(query(pred, "SELECT count(*) FROM variants")[0][0], before,
            "resume: no new configuration proposed")
    c.equal(best_throughput(pred), tp, "resume: the same recommendation")


def no_batching(c, infertune, scratch):
    cfg = sim_config("simnb", base_us=3000, per_item_us=0, slots=2, max_batch_size=0)
    repo = write_repo(os.path.join(scratch, "repo_nb"), {"simnb": cfg})
    export = os.path.join(scratch, "nb")
    p = analyze(infertune, ["--model-repository", repo, "--profile-models", "simnb",
                            "--export-path", export, "--run-config-search-mode",
                            "predictive"] + COMMON, check=0)
    c.equal(p.returncode, 0, "no batching: analyze exits 0")
    rows = query(export, """SELECT v.instance_count, v.max_batch_size FROM rankings r
                            JOIN variants v ON v.id = r.variant_id ORDER BY r.rank""")
    c.check(rows and rows[0][0] == 2 and all(r[1] == 0 for r in rows),
            "no batching: 2 instances on 2 slots win, nothing batches", rows)


def run(c, infertune, scratch):
    against_brute(c, infertune, scratch)
    no_batching(c, infertune, scratch)


if __name__ == "__main__":
    main(run)
