#!/usr/bin/env python3
"""The Prometheus page: parses as exposition format 0.0.4 (strictly, plain
decimals only), carries Triton's names, types and labels, and its counters
equal the statistics endpoint's."""

import os
import re

from common import (Server, add_sub_pbtxt, binary_request, infer, main, metric_value,
                    model_pbtxt, parse_prometheus, sim_pbtxt, write_model)

COUNTERS = ["nv_inference_request_success", "nv_inference_request_failure", "nv_inference_count",
            "nv_inference_exec_count", "nv_inference_request_duration_us",
            "nv_inference_queue_duration_us", "nv_inference_compute_input_duration_us",
            "nv_inference_compute_infer_duration_us", "nv_inference_compute_output_duration_us"]
GAUGES = ["nv_inference_pending_request_count", "nv_cpu_utilization",
          "nv_cpu_memory_total_bytes", "nv_cpu_memory_used_bytes"]
GPU = ["nv_gpu_utilization", "nv_gpu_memory_total_bytes", "nv_gpu_memory_used_bytes",
       "nv_gpu_power_usage", "nv_gpu_power_limit", "nv_energy_consumption"]


def run(c, infertune, scratch):
    repo = os.path.join(scratch, "repo")
    write_model(repo, "add_sub", add_sub_pbtxt())
    write_model(repo, "sim", sim_pbtxt("sim", base_us=2000, max_batch_size=8,
                                       dynamic_batching="max_queue_delay_microseconds: 2000")
                + "version_policy: { all { } }\n", versions=(1, 2))
    # identity fails at execution when its optional input is missing: a backend failure.
    write_model(repo, "opt", model_pbtxt("opt", "identity", [("IN", "TYPE_INT32", [2], True)],
                                         [("OUT", "TYPE_INT32", [2])]))

    with Server(infertune, scratch, [repo]) as s:
        conn = s.conn()
        for i in range(5):
            body, hdrs = binary_request([("INPUT0", "INT32", [16], list(range(16)), True),
                                         ("INPUT1", "INT32", [16], [i] * 16, i % 2 == 0)])
            st, rh, data = infer(s, "add_sub", body, hdrs, conn=conn)
        for i in range(3):
            body, hdrs = binary_request([("INPUT0", "FP32", [2, 4], [1.0] * 8, True)])
            infer(s, "sim", body, hdrs, conn=conn)
        st, rh, data = infer(s, "opt", b'{"inputs": []}', {}, conn=conn)
        c.check(st >= 400, "a request the backend fails is an error", (st, data))
        conn.close()

        st, hdrs, raw = s.request("GET", "/metrics", metrics=True)
        c.equal(st, 200, "GET /metrics is 200")
        c.check(hdrs.get("content-type", "").startswith("text/plain")
                and "version=0.0.4" in hdrs.get("content-type", ""), "Prometheus text content type", hdrs)
        text = raw.decode("ascii")
        try:
            fams = parse_prometheus(text)
            c.check(True, "the page parses as Prometheus text (HELP/TYPE, escaping, plain decimals)")
        except ValueError as e:
            c.check(False, "the page parses as Prometheus text", e)
            print(text)
            return
        for name in COUNTERS:
            c.equal(fams.get(name, {}).get("type"), "counter", f"{name} is a counter")
        for name in GAUGES:
            c.equal(fams.get(name, {}).get("type"), "gauge", f"{name} is a gauge")
        c.equal(fams["nv_inference_request_success"]["help"],
                "Number of successful inference requests, all batch sizes", "Triton's HELP text")
        c.check(not re.search(r"\de[+-]?\d", text), "no exponent notation anywhere")
        c.check("\n\n" not in text, "no blank lines")

        st, stats = s.get_json("/v2/models/stats")
        c.equal(len(stats["model_stats"]), 4, "four READY model versions")
        for e in stats["model_stats"]:
            lab = {"model": e["name"], "version": e["version"]}
            inf = e["inference_stats"]
            pairs = [("nv_inference_request_success", inf["success"]["count"]),
                     ("nv_inference_count", e["inference_count"]),
                     ("nv_inference_exec_count", e["execution_count"]),
                     ("nv_inference_request_duration_us", (inf["success"]["ns"] + inf["fail"]["ns"]) // 1000),
                     ("nv_inference_queue_duration_us", inf["queue"]["ns"] // 1000),
                     ("nv_inference_compute_input_duration_us", inf["compute_input"]["ns"] // 1000),
                     ("nv_inference_compute_infer_duration_us", inf["compute_infer"]["ns"] // 1000),
                     ("nv_inference_compute_output_duration_us", inf["compute_output"]["ns"] // 1000),
                     ("nv_inference_pending_request_count", 0)]
            for name, want in pairs:
                got = metric_value(fams, name, **lab)
                c.check(got == want, f"{name}{{{e['name']}/{e['version']}}} equals the statistics ({want})", got)
            fails = {r: metric_value(fams, "nv_inference_request_failure", reason=r, **lab)
                     for r in ("BACKEND", "CANCELED", "OTHER", "REJECTED")}
            c.check(sum(fails.values()) == inf["fail"]["count"] and None not in fails.values(),
                    f"nv_inference_request_failure{{{e['name']}/{e['version']}}} by reason adds up to fail.count",
                    (fails, inf["fail"]))
        c.equal(metric_value(fams, "nv_inference_request_success", model="add_sub", version="1"), 5.0,
                "5 successful add_sub requests")
        c.equal(metric_value(fams, "nv_inference_count", model="sim", version="2"), 6.0,
                "3 requests of batch 2 count 6 inferences")
        c.equal(metric_value(fams, "nv_inference_request_failure", model="opt", version="1", reason="BACKEND"),
                1.0, "the backend failure is counted with reason BACKEND")
        for lab, _ in fams["nv_inference_count"]["samples"]:
            c.equal(sorted(lab), ["model", "version"], f"per-model labels are model and version ({lab['model']})")

        u = metric_value(fams, "nv_cpu_utilization")
        c.check(u is not None and 0.0 <= u <= 1.0, "nv_cpu_utilization is a ratio in [0, 1]", u)
        total = metric_value(fams, "nv_cpu_memory_total_bytes")
        used = metric_value(fams, "nv_cpu_memory_used_bytes")
        c.check(total and used and 0 < used <= total, "host memory used <= total, both > 0", (used, total))
        for name, fam in fams.items():
            if name.startswith("nv_cpu"):
                c.check(all(lab == {} for lab, _ in fam["samples"]), f"{name} has no labels")
        gpu = [n for n in GPU if n in fams]
        if not gpu:
            c.check(True, "no GPU series without NVML (absent, not zero)")
        for name in gpu:
            for lab, v in fams[name]["samples"]:
                c.check(list(lab) == ["gpu_uuid"], f"{name} has exactly the gpu_uuid label", lab)
            # perf_analyzer's own regex must find every GPU sample
            found = re.findall(r"\n" + name + r"\{gpu_uuid\=\"([^\"]+)\"\} (\d+\.?\d*)", text)
            c.equal(len(found), len(fams[name]["samples"]), f"perf_analyzer's regex reads {name}")

        st, _, body = s.request("GET", "/metrics/", metrics=True)
        c.equal(st, 200, "GET /metrics/ is 200 too (regex /metrics/?)")
        st, _, body = s.request("POST", "/metrics", metrics=True)
        c.equal(st, 405, "POST /metrics is 405")
        st, _, body = s.request("GET", "/other", metrics=True)
        c.equal(st, 400, "another path on the metrics port is 400, as in Triton")
        c.equal(s.stop(), 0, "server exits 0 on SIGTERM")

    with Server(infertune, scratch, [repo], ["--allow-metrics=false"], name="nometrics") as s:
        c.check(s.metrics_port is None, "--allow-metrics false: no metrics port in the port file")
        c.equal(s.stop(), 0, "server exits 0 on SIGTERM")


if __name__ == "__main__":
    main(run)
