#!/usr/bin/env python3
"""Scheduling seen from outside: dynamic batching forms batches (never above
max_batch_size), and more instances give more throughput on a `sim` model as
its model predicts: an execution of batch b holds one of the device's slots
for sim_base_us + sim_per_item_us * b, slots shared by all instances. A
backend that fails one execution (sim_fail_every, issue #14) fails exactly
the requests of that batch; the others, and the requests after it, are
served."""

import os
import re
import threading
import time

from common import Server, binary_request, infer, main, model_pbtxt, sim_pbtxt, write_model

BASE_US = 20000           # 20 ms per execution, batch 1
CLIENTS = 8
WINDOW_S = 1.5


def load(s, model, clients, window_s):
    """Closed loop: `clients` threads send batch-1 requests for window_s; returns req/s."""
    done = [0] * clients
    errors = []
    stop_at = time.monotonic() + window_s

    def client(i):
        conn = s.conn()
        body, hdrs = binary_request([("INPUT0", "FP32", [4], [1.0] * 4, True)])
        try:
            while time.monotonic() < stop_at:
                st, rh, data = infer(s, model, body, hdrs, conn=conn)
                if st != 200:
                    errors.append((st, data[:200]))
                    return
                done[i] += 1
        finally:
            conn.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sum(done) / (time.monotonic() - t0), errors


def burst(s, model, clients=24, each=4):
    """`clients` concurrent clients send `each` batch-1 requests; returns [(status, body)]."""
    answers = []

    def client():
        conn = s.conn()
        body, hdrs = binary_request([("INPUT0", "FP32", [1, 4], [1.0] * 4, True)])
        for _ in range(each):
            st, _, data = infer(s, model, body, hdrs, conn=conn)
            answers.append((st, data))
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


def run(c, infertune, scratch):
    repo = os.path.join(scratch, "repo")
    write_model(repo, "batched", sim_pbtxt(
        "batched", base_us=20000, per_item_us=1000, max_batch_size=8,
        dynamic_batching="max_queue_delay_microseconds: 50000"))
    write_model(repo, "flaky", model_pbtxt(
        "flaky", "sim", [("INPUT0", "TYPE_FP32", [4])], [("OUTPUT0", "TYPE_FP32", [4])],
        max_batch_size=8, dynamic_batching="max_queue_delay_microseconds: 20000",
        parameters={"sim_base_us": 10000, "sim_fail_every": 3}))
    for name, instances, slots in (("one", 1, 4), ("four", 4, 4), ("four_on_two", 4, 2)):
        write_model(repo, name, sim_pbtxt(name, base_us=BASE_US, slots=slots,
                                          instances=instances, max_batch_size=0))

    with Server(infertune, scratch, [repo]) as s:
        # -- dynamic batching: 24 concurrent clients, 4 requests each
        results = [st for st, _ in burst(s, "batched")]
        c.equal(results.count(200), 96, "96 concurrent batch-1 requests all succeed")
        st, stats = s.get_json("/v2/models/batched/stats")
        e = stats["model_stats"][0]
        sizes = {b["batch_size"]: b["compute_infer"]["count"] for b in e["batch_stats"]}
        print(f"    batch sizes executed (size: count): {sizes}")
        c.check(any(k > 1 for k in sizes), "dynamic batching formed batches larger than 1", sizes)
        c.check(all(1 <= k <= 8 for k in sizes), "no batch is larger than max_batch_size 8", sizes)
        c.equal(sum(k * n for k, n in sizes.items()), 96, "batch sizes add up to the 96 inferences")
        c.check(e["inference_count"] == 96 and e["execution_count"] == sum(sizes.values())
                and e["execution_count"] < 96, "inference_count 96, fewer executions", e)
        c.equal(e["inference_stats"]["success"]["count"], 96, "success counts requests")

        # -- a backend that fails every third execution: only its batch's requests fail
        answers = burst(s, "flaky")
        failed = [d for st, d in answers if st != 200]
        st, stats = s.get_json("/v2/models/flaky/stats")
        e = stats["model_stats"][0]
        fail_count = e["inference_stats"]["fail"]["count"]
        print(f"    flaky: {len(answers)} answers, {len(failed)} failed, "
              f"{e['execution_count']} executions, fail count {fail_count}")
        c.equal(len(answers), 96, "flaky: every request is answered")
        c.check(failed and all(b"sim_fail_every" in d for d in failed),
                "flaky: the failed requests carry the backend's error", failed[:2])
        # Tied to the batches: each failed execution names its number and its
        # batch size; exactly that many requests carry it, and only every
        # third execution failed.
        by_exec = {}
        for d in failed:
            m = re.search(rb"execution (\d+) of a batch of (\d+) failed", d)
            key = (int(m.group(1)), int(m.group(2))) if m else None
            by_exec[key] = by_exec.get(key, 0) + 1
        c.check(by_exec and all(k is not None and k[0] % 3 == 0 and n == k[1]
                                for k, n in by_exec.items()),
                "flaky: each failed execution failed exactly the requests of its batch",
                by_exec)
        c.equal(fail_count, len(failed), "flaky: the statistics count exactly those failures")
        c.equal(e["inference_stats"]["success"]["count"], 96 - len(failed),
                "flaky: every other request succeeded")
        # Executions go on: one at a time now, exactly every third fails.
        conn = s.conn()
        body, hdrs = binary_request([("INPUT0", "FP32", [1, 4], [1.0] * 4, True)])
        after = [infer(s, "flaky", body, hdrs, conn=conn)[0] for _ in range(6)]
        conn.close()
        c.equal(after.count(200), 4, "flaky: later requests are served (2 of 6 fail, by design)")

        # -- instances: throughput = min(instances, slots) / (sim_base_us) with 8 clients
        rates = {}
        for name in ("one", "four", "four_on_two"):
            rate, errors = load(s, name, CLIENTS, WINDOW_S)
            rates[name] = rate
            c.check(not errors, f"{name}: every request succeeds under load", errors[:3])
        one, four, two = rates["one"], rates["four"], rates["four_on_two"]
        per_slot = 1e6 / BASE_US
        print(f"    req/s: 1 instance {one:.1f} (model {per_slot:.0f}), 4 instances {four:.1f} "
              f"(model {4 * per_slot:.0f}), 4 instances on 2 slots {two:.1f} (model {2 * per_slot:.0f})")
        c.check(0.7 * per_slot <= one <= 1.1 * per_slot,
                "1 instance: about 1/sim_base_us requests per second", one)
        c.check(0.7 * 4 * per_slot <= four <= 1.1 * 4 * per_slot,
                "4 instances on 4 slots: about 4/sim_base_us requests per second", four)
        c.check(2.8 <= four / one <= 4.4, "4 instances give 3-4x the throughput of 1", four / one)
        c.check(1.5 <= two / one <= 2.3,
                "4 instances sharing 2 device slots give about 2x (they queue for the device)", two / one)
        c.equal(s.stop(), 0, "server exits 0 on SIGTERM")


if __name__ == "__main__":
    main(run)
