#!/usr/bin/env python3
"""Racing and interleaved re-measurement (docs/statistics.md).

- Equal by construction: max_batch_size 1, 2 and 4 at concurrency 1 (one
  request in flight: batching cannot matter) form one tier; the smallest
  batch is recommended, the sentence says they are equal, and the leaders
  are re-measured interleaved; the gain over the default (max_batch_size 4)
  is not significant, from the side-by-side measurements.
- Different by construction, and racing: the default has 2 instances on a
  2-slot device, the search's 1-instance configuration half its throughput
  at concurrency 2. The default alone is recommended, and the loser's level
  stops at the floor of windows (tight --precision so that precision alone
  would not end it) while the winner's runs to the cap.
- Leaders that do not fit together: each configuration holds 600 of a
  1000 MB simulated memory pool, so each loads alone but the interleaved
  re-measurement cannot load two. The failure is an event, the variants
  keep their sweep measurements and status, and the analysis answers.
- Different by 5%: four instances of a 4-slot device whose execution takes
  21 ms (the default) or 20 ms (manual search over sim_base_us), at
  concurrency 4 (long executions, so that the HTTP round trip's jitter on a
  busy host stays small beside them). The faster one must be recommended alone, not tied.
"""

import os

from analyze_common import analyze, main, query, sim_config, write_repo

COMMON = ["--perf-analyzer-flag", "measurement-interval=250", "--duration-seconds", "0",
          "--skip-summary-reports", "-v"]


def has_column(export, table, column):
    return any(r[1] == column for r in query(export, f"PRAGMA table_info({table})"))


def equal_configs(c, infertune, scratch):
    repo = write_repo(os.path.join(scratch, "repo_eq"),
                      {"simeq": sim_config("simeq", max_batch_size=4)})
    export = os.path.join(scratch, "eq")
    p = analyze(infertune, ["--model-repository", repo, "--profile-models", "simeq",
                            "--export-path", export, "--concurrency", "1",
                            "--run-config-search-max-instance-count", "1",
                            "--run-config-search-max-model-batch-size", "4"] + COMMON,
                check=0)
    c.equal(p.returncode, 0, "equal: analyze exits 0")
    rows = query(export, """SELECT v.max_batch_size, r.in_top_tier, r.recommendation
                            FROM rankings r JOIN variants v ON v.id = r.variant_id
                            ORDER BY r.rank""")
    tier = [r[0] for r in rows if r[1]]
    c.check(tier and rows[0][0] == min(tier),
            "equal: the tier's smallest max_batch_size is recommended", rows)
    c.check(sum(1 for r in rows if r[1]) >= 2, "equal: they form one tier", rows)
    c.check(rows and "equal" in rows[0][2], "equal: the sentence says they are equal",
            rows[0][2] if rows else None)
    c.check(rows and "No significant gain" in rows[0][2] and "side by side" in rows[0][2],
            "equal: no significant gain over the default (max_batch_size 4), measured "
            "side by side", rows[0][2] if rows else None)
    c.check("re-measuring the" in p.stdout + p.stderr,
            "equal: the leaders are re-measured interleaved", p.stdout[-2000:])
    if has_column(export, "measurements", "phase"):
        n = query(export, "SELECT count(*) FROM measurements WHERE phase = 'interleaved'")[0][0]
        c.check(n >= 2, "equal: interleaved measurements are stored for the leaders", n)


def different_configs(c, infertune, scratch):
    repo = write_repo(os.path.join(scratch, "repo_diff"),
                      {"simdiff": sim_config("simdiff", max_batch_size=1, instances=2)})
    export = os.path.join(scratch, "diff")
    p = analyze(infertune, ["--model-repository", repo, "--profile-models", "simdiff",
                            "--export-path", export, "--concurrency", "2",
                            "--run-config-search-max-instance-count", "1",
                            "--run-config-search-max-model-batch-size", "1",
                            "--precision", "0.01"] + COMMON, check=0)
    c.equal(p.returncode, 0, "different: analyze exits 0")
    rows = query(export, """SELECT v.instance_count, r.in_top_tier FROM rankings r
                            JOIN variants v ON v.id = r.variant_id ORDER BY r.rank""")
    c.check(rows and rows[0][0] == 2, "different: 2 instances are recommended", rows)
    c.equal(sum(1 for r in rows if r[1]), 1, "different: a tier of one")
    wins = query(export, """SELECT v.instance_count, m.window_count FROM measurements m
                            JOIN variants v ON v.id = m.variant_id""")
    print(f"# windows per level: {wins}", flush=True)
    loser = [w for i, w in wins if i == 1]
    winner = [w for i, w in wins if i == 2]
    c.check(loser and winner and max(loser) < min(winner),
            "racing: the losing configuration measured fewer windows", wins)
    c.check("racing: stopped after" in p.stdout + p.stderr, "racing: the stop is logged",
            p.stdout[-2000:])
    if has_column(export, "measurements", "stopped_early"):
        n = query(export, "SELECT count(*) FROM measurements WHERE stopped_early = 1")[0][0]
        c.check(n >= 1, "racing: stopped_early is recorded", n)


def leaders_do_not_fit(c, infertune, scratch):
    cfg = sim_config("simfit", max_batch_size=1,
                     extra_params={"sim_memory_mb": 600, "sim_memory_capacity_mb": 1000})
    repo = write_repo(os.path.join(scratch, "repo_fit"), {"simfit": cfg})
    export = os.path.join(scratch, "fit")
    p = analyze(infertune, ["--model-repository", repo, "--profile-models", "simfit",
                            "--export-path", export, "--concurrency", "1",
                            "--run-config-search-max-instance-count", "1",
                            "--run-config-search-max-model-batch-size", "4"] + COMMON,
                check=0)
    out = p.stdout + p.stderr
    c.equal(p.returncode, 0, "no fit: analyze exits 0")
    c.check("did not load beside the others" in out and "out of memory" in out,
            "no fit: the failed co-load is logged with its reason", out[-2000:])
    c.check("interleaving: skipped" in out, "no fit: interleaving is skipped", out[-2000:])
    events = query(export, "SELECT kind, message FROM events "
                           "WHERE kind = 'interleave_load_failed'")
    c.check(events and "out of memory" in events[0][1],
            "no fit: the failure is stored as an event with its reason", events)
    rows = query(export, """SELECT v.status, r.in_top_tier, r.recommendation
                            FROM rankings r JOIN variants v ON v.id = r.variant_id
                            ORDER BY r.rank""")
    c.check(len(rows) >= 3 and all(r[0] == "measured" for r in rows),
            "no fit: every variant keeps its sweep status and ranking", rows)
    c.check(rows and rows[0][2], "no fit: a recommendation is made", rows[:1])
    n = query(export, "SELECT count(*) FROM measurements WHERE phase = 'interleaved'")[0][0]
    c.equal(n, 0, "no fit: no interleaved measurement is stored")


def five_percent(c, infertune, scratch):
    cfg = sim_config("sim5", base_us=21000, per_item_us=0, slots=4, max_batch_size=1,
                     instances=4)
    repo = write_repo(os.path.join(scratch, "repo_5"), {"sim5": cfg})
    yaml = os.path.join(scratch, "five.yaml")
    with open(yaml, "w") as f:
        f.write("profile_models:\n  sim5:\n    model_config_parameters:\n"
                "      parameters:\n        sim_base_us:\n"
                "          string_value: [\"21000\", \"20000\"]\n")
    export = os.path.join(scratch, "five")
    p = analyze(infertune, ["-f", yaml, "--model-repository", repo, "--export-path", export,
                            "--concurrency", "4", "--precision", "1",
                            "--perf-analyzer-flag", "measurement-interval=600",
                            "--duration-seconds", "0", "--skip-summary-reports", "-v"], check=0)
    c.equal(p.returncode, 0, "5%: analyze exits 0")
    rows = query(export, """SELECT v.config_json, r.in_top_tier, r.gain_lo_pct, r.gain_hi_pct
                            FROM rankings r JOIN variants v ON v.id = r.variant_id
                            ORDER BY r.rank""")
    print("# 5%:", [('"20000"' in r[0], r[1], r[2], r[3]) for r in rows], flush=True)
    c.check(rows and '"20000"' in rows[0][0], "5%: the 20 ms configuration is recommended",
            [r[0][-80:] for r in rows])
    c.equal(sum(1 for r in rows if r[1]), 1, "5%: they separate (a tier of one)")
    c.check(rows and rows[0][2] is not None and rows[0][2] > 0,
            "5%: the gain over the default is significant", rows[0][2:] if rows else None)


def run(c, infertune, scratch):
    equal_configs(c, infertune, scratch)
    different_configs(c, infertune, scratch)
    leaders_do_not_fit(c, infertune, scratch)
    five_percent(c, infertune, scratch)


if __name__ == "__main__":
    main(run)
