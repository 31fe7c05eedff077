#!/usr/bin/env python3
"""The server's executions per batch size reach results.db (batch_stats).

A sim model with dynamic batching (docs/sim-backend.md): one instance on a
one-slot device, so an execution never waits for a slot and the server's
compute_infer of a batch of b is the sim's T(b) = 4000 + 1000 b µs. At
concurrency 1 every execution is a batch of 1; at concurrency 8 requests
queue while the instance is busy and the next execution takes them
together. For every stable measurement:

- batch_stats has rows, and sum(execution_count x batch_size) (the
  inferences the server executed over the merged windows) is the
  measurement's request count (client batch 1) within the requests in
  flight at the merged windows' two ends, and over sum(execution_count)
  it is server_avg_batch (the same statistics snapshots);
- compute_infer_ns / execution_count of each batch size is T(b) within
  -5% / +25% (the sim sleeps to a deadline: never early; late by the
  scheduler's wake-up on a loaded machine).
"""

import os

from analyze_common import analyze, main, query, sim_config, write_repo

BASE_US = 4000
PER_ITEM_US = 1000
MAX_BATCH = 8
CONCURRENCY = 8
# The executions behind a mean worth judging (a size seen once or twice is
# a straggler at a window boundary; its mean is still checked, loosely).
MIN_EXECUTIONS = 5


def t_us(b):
    return BASE_US + PER_ITEM_US * b


def run(c, infertune, scratch):
    config = sim_config("simbatch", base_us=BASE_US, per_item_us=PER_ITEM_US, slots=1,
                        max_batch_size=MAX_BATCH, instances=1) + "dynamic_batching { }\n"
    repo = write_repo(os.path.join(scratch, "repo"), {"simbatch": config})
    export = os.path.join(scratch, "out")
    p = analyze(infertune, ["--model-repository", repo, "--profile-models", "simbatch",
                            "--export-path", export, "--run-config-search-disable",
                            "--concurrency", f"1,{CONCURRENCY}",
                            "--perf-analyzer-flag", "measurement-interval=250",
                            "--duration-seconds", "0", "--skip-summary-reports"],
                check=0)
    if not c.equal(p.returncode, 0, "analyze exits 0"):
        return
    c.equal(query(export, "PRAGMA user_version")[0][0], 3, "results.db is schema 3")

    levels = query(export, """SELECT id, load_value, request_count, server_avg_batch,
                              merged_count FROM measurements WHERE status = 'ok'
                              ORDER BY load_value""")
    c.check([int(r[1]) for r in levels] == [1, CONCURRENCY],
            "both levels are stable measurements", levels)
    for mid, load, requests, avg_batch, merged in levels:
        rows = query(export, """SELECT batch_size, execution_count, compute_input_ns,
                                compute_infer_ns, compute_output_ns FROM batch_stats
                                WHERE measurement_id = ? ORDER BY batch_size""", mid)
        what = f"concurrency {int(load)}"
        if not c.check(rows, f"{what}: batch_stats rows are stored"):
            continue
        print(f"# {what}: {requests} requests, avg batch {avg_batch:.2f}, batch_stats "
              + ", ".join(f"b{b}: {n} x {inf / n / 1000:.0f} us" for b, n, _, inf, _ in rows),
              flush=True)
        c.check(all(1 <= b <= MAX_BATCH and n > 0 for b, n, *_ in rows),
                f"{what}: sizes within max_batch_size, each executed", rows)
        executions = sum(n for _, n, *_ in rows)
        inferences = sum(b * n for b, n, *_ in rows)
        # The snapshots bracket the merged windows, not the requests ending in
        # them: the requests in flight at either end may fall on either side.
        slack = 2 * int(load) + 2
        c.check(abs(inferences - requests) <= max(slack, 0.02 * requests),
                f"{what}: sum(execution_count x batch_size) is the request count",
                f"{inferences} vs {requests} requests")
        c.check(avg_batch is not None and
                abs(inferences / executions - avg_batch) <= 0.02 * avg_batch,
                f"{what}: and over the executions, server_avg_batch",
                f"{inferences / executions:.3f} vs {avg_batch}")
        for b, n, cin, inf, cout in rows:
            mean_us = inf / n / 1000
            lo, hi = 0.95 * t_us(b), 1.25 * t_us(b)
            if n < MIN_EXECUTIONS:
                hi = 1.5 * t_us(b)
            c.check(lo <= mean_us <= hi,
                    f"{what}: compute_infer of a batch of {b} is T({b}) = {t_us(b)} us",
                    f"{mean_us:.0f} us over {n} executions")
            c.check(cin >= 0 and cout >= 0 and cin + cout < inf,
                    f"{what}: compute input/output of a batch of {b} are stored",
                    (cin, cout, inf))
        if int(load) == 1:
            c.equal([r[0] for r in rows], [1], f"{what}: one request at a time, batches of 1")
        else:
            c.check(any(b > 1 for b, *_ in rows),
                    f"{what}: dynamic batching formed batches larger than 1", rows)
    dangling = query(export, """SELECT count(*) FROM batch_stats b LEFT JOIN measurements m
                                ON m.id = b.measurement_id WHERE m.id IS NULL""")[0][0]
    c.equal(dangling, 0, "every batch_stats row belongs to a measurement")


if __name__ == "__main__":
    main(run)
