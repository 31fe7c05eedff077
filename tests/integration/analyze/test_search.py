#!/usr/bin/env python3
"""Brute and quick search on a sim model with a known best configuration.

Both must find max_batch_size 8 with 2 instances (docs in analyze_common.py);
quick must take fewer measurements than brute (the counts are printed). The
outputs are checked too: Model Analyzer's CSV headers byte for byte, the
rich CSV, the variants in the output model repository (each config named
after its folder) and the deployable best config under the model's name.
"""

import os
import subprocess

from analyze_common import (MA_INFERENCE_HEADER, MA_SERVER_ONLY_HEADER, SEARCH_FLAGS,
                            analyze, best_row, first_line, main, query, read_csv,
                            sim_config, write_repo)


def run_mode(c, infertune, repo, scratch, mode):
    export = os.path.join(scratch, mode)
    p = analyze(infertune, ["--model-repository", repo, "--profile-models", "simbest",
                            "--export-path", export, "--run-config-search-mode", mode]
                + SEARCH_FLAGS, check=0)
    c.equal(p.returncode, 0, f"{mode}: analyze exits 0")
    best = best_row(export, "simbest")
    c.check(best is not None and best[1:] == (2, 8),
            f"{mode}: the best configuration is 2 instances, max_batch_size 8", best)
    c.check("best configuration" in p.stdout and "Deployable config" in p.stdout,
            f"{mode}: the summary names the best configuration", p.stdout[-500:])
    n = query(export, "SELECT count(*) FROM measurements WHERE status = 'ok'")[0][0]
    total = query(export, "SELECT count(*) FROM measurements")[0][0]
    variants = query(export, "SELECT count(*) FROM variants")[0][0]
    print(f"# {mode}: {total} measurements ({n} stable) across {variants} configurations",
          flush=True)
    return export, total


def run(c, infertune, scratch):
    repo = write_repo(os.path.join(scratch, "repo"), {"simbest": sim_config("simbest")})
    brute, n_brute = run_mode(c, infertune, repo, scratch, "brute")
    quick, n_quick = run_mode(c, infertune, repo, scratch, "quick")
    c.check(n_quick < n_brute, "quick search needs fewer measurements than brute",
            f"quick {n_quick}, brute {n_brute}")
    print(f"# measurements: quick {n_quick}, brute {n_brute}", flush=True)

    # Brute's walk: the default first, then instances x max_batch_size.
    names = query(brute, "SELECT name, label FROM variants ORDER BY id")
    c.equal(names[0], ("simbest_config_default", "default"), "brute: the default comes first")
    c.equal(names[1], ("simbest_config_0", "instances=1 max_batch_size=1"),
            "brute: then instances=1, max_batch_size=1 as <model>_config_0")
    # Model Analyzer's early exit: a sweep stops after 4 of its 5 levels
    # (1..16) exactly when those 4 gained no more than 5% in throughput.
    # Which sweeps are flat depends on the machine: one instance with
    # max_batch_size 1 runs one execution at a time, flat from concurrency 1
    # on, unless a loaded machine's HTTP round trip (paid at concurrency 1,
    # hidden from 2 on) adds over 5%. So the rule is checked on what was
    # measured, both ways, for every configuration.
    sweeps = {}
    for label, load, tput in query(brute, """SELECT v.label, m.load_value, m.throughput
                                             FROM measurements m JOIN variants v
                                             ON v.id = m.variant_id
                                             ORDER BY v.id, m.load_value"""):
        sweeps.setdefault(label, []).append(tput)
    wrong = []
    for label, tps in sweeps.items():
        first4 = tps[:4]
        flat = len(first4) == 4 and first4[0] > 0 and \
            (max(first4) - first4[0]) / first4[0] <= 0.05
        if (len(tps) == 4) != flat:
            wrong.append((label, [round(t, 1) for t in tps]))
    c.check(not wrong, "brute: a sweep exits after 4 levels exactly when they gained <= 5%",
            wrong)
    flat = [label for label, tps in sweeps.items() if len(tps) == 4]
    print(f"# sweeps that exited early: {flat}", flush=True)
    levels = query(brute, """SELECT count(*) FROM measurements m JOIN variants v
                             ON v.id = m.variant_id WHERE v.label = ? AND m.phase = 'sweep'""",
                   "instances=2 max_batch_size=8")[0][0]
    c.equal(levels, 5, "brute: a rising sweep goes on to the maximum concurrency")

    # CSVs: Model Analyzer's headers byte for byte.
    results = os.path.join(brute, "results")
    c.equal(first_line(os.path.join(results, "metrics-model-inference.csv")),
            MA_INFERENCE_HEADER, "metrics-model-inference.csv header is Model Analyzer's")
    c.equal(first_line(os.path.join(results, "metrics-server-only.csv")),
            MA_SERVER_ONLY_HEADER, "metrics-server-only.csv header is Model Analyzer's")
    c.check(not os.path.exists(os.path.join(results, "metrics-model-gpu.csv")),
            "no metrics-model-gpu.csv without GPUs (as Model Analyzer)")
    rows = read_csv(os.path.join(results, "metrics-model-inference.csv"))
    c.equal(rows[1][3], best_row(brute, "simbest")[0],
            "the first row is the best configuration")
    c.equal(rows[1][4], "2:CPU", "Instance Group is '<count>:<KIND>'")
    c.check(all(len(r) == 9 for r in rows), "every row has the 9 columns")
    c.check(all("." in r[7] and len(r[7].split(".")[1]) == 1 for r in rows[1:]),
            "throughput rounded to 1 decimal", rows[1])
    ok = query(brute, "SELECT count(*) FROM measurements WHERE status = 'ok'")[0][0]
    c.equal(len(rows) - 1, ok, "one inference row per stable measurement")
    rich = read_csv(os.path.join(results, "measurements.csv"))
    header = rich[0]
    for col in ("Throughput (infer/sec)", "p99 Latency (ms)", "Server Queue time (ms)",
                "Server Compute Infer time (ms)", "Client Send (ms)", "Server RSS (MB)",
                "Energy per Inference (J)", "GPU Utilization (%)"):
        c.check(col in header, f"measurements.csv has '{col}'")
    gpu_col = header.index("GPU Utilization (%)")
    c.check(all(r[gpu_col] == "" for r in rich[1:]),
            "GPU figures are absent (empty), never 0, without a GPU")

    # Intervals you can trust (issue #12): every stable level of a sim model
    # (exact service times) has a known throughput interval around its
    # throughput, stored and in measurements.csv; the phase is the sweep's.
    ivs = query(brute, """SELECT throughput, throughput_lo, throughput_hi, phase,
                          stopped_early, client_cpu_share FROM measurements
                          WHERE status = 'ok'""")
    # Leaders that tie are re-measured interleaved (docs/statistics.md): their
    # rows have phase 'interleaved'; every other row is the sweep's.
    ivs_sweep = [r for r in ivs if r[3] != "interleaved"]
    c.check(ivs and all(lo is not None and hi is not None and lo <= tp <= hi
                        for tp, lo, hi, *_ in ivs),
            "every stable level stores a known throughput interval containing it", ivs[:3])
    c.check(ivs_sweep and all(r[3] == "sweep" and r[4] in (0, 1) for r in ivs_sweep),
            "phase 'sweep' (or 'interleaved'), stopped_early 0/1", ivs[:3])
    c.check(all(r[5] is None or 0 <= r[5] <= 1 for r in ivs),
            "client_cpu_share is a share of the machine", ivs[:3])
    lo_col = header.index("Throughput 95% CI Low (infer/sec)")
    hi_col = header.index("Throughput 95% CI High (infer/sec)")
    tp_col = header.index("Throughput (infer/sec)")
    st_col = header.index("Status")
    ok_rows = [r for r in rich[1:] if r[st_col] == "ok"]
    c.check(ok_rows and all(float(r[lo_col]) <= float(r[tp_col]) <= float(r[hi_col])
                            for r in ok_rows),
            "measurements.csv has the throughput interval of every stable level",
            ok_rows[:1])
    for col in ("Phase", "Precision Met", "Stopped Early", "Client CPU Share (%)",
                "p99 Latency 95% CI Low (ms)", "p99 Latency 95% CI High (ms)"):
        c.check(col in header, f"measurements.csv has '{col}'")

    # The figures behind it: server breakdown and process memory were measured.
    r = query(brute, """SELECT server_queue_ms, server_compute_infer_ms, server_rss_mb,
                        latency_p99_ms, window_count, merged_count FROM measurements
                        WHERE status = 'ok' LIMIT 1""")[0]
    c.check(all(x is not None for x in r[:4]), "queue, compute, RSS and p99 are stored", r)
    # analyze's default is the precision rule (docs/statistics.md): at least
    # the floor of 3 merged windows.
    c.check(r[5] >= 3 and r[4] >= r[5], "window data: >= 3 merged windows", r)
    c.check(query(brute, "SELECT gpu_power_w FROM measurements LIMIT 1")[0][0] is None,
            "GPU power is NULL when not measured")

    # The output model repository: one folder per variant, named as its config.
    out = os.path.join(brute, "output_model_repository")
    for name, in query(brute, "SELECT name FROM variants"):
        with open(os.path.join(out, name, "config.pbtxt")) as f:
            text = f.read()
        if not c.check(f'name: "{name}"' in text, f"{name}/config.pbtxt is named {name}"):
            break

    # The deployable best config: the model's own name, valid for Triton.
    best = os.path.join(brute, "best", "simbest", "config.pbtxt")
    with open(best) as f:
        text = f.read()
    c.check('name: "simbest"' in text, "best/simbest/config.pbtxt keeps the original name")
    c.check("count: 2" in text and "max_batch_size: 8" in text and "dynamic_batching" in text,
            "best config: 2 instances, max_batch_size 8, dynamic batching", text)
    p = subprocess.run([infertune, "config", "check", best], capture_output=True, text=True)
    c.equal(p.returncode, 0, "the best config passes `infertune config check`")


if __name__ == "__main__":
    main(run)
