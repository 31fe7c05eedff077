#!/usr/bin/env python3
"""Every endpoint of protocol.md §1 and §3.1-3.3: routing, status codes, JSON shapes."""

import json
import os

from common import (Server, add_sub_pbtxt, main, model_pbtxt, write_model)


def run(c, infertune, scratch):
    repo = os.path.join(scratch, "repo")
    write_model(repo, "add_sub", add_sub_pbtxt())
    write_model(repo, "add_sub_batch", add_sub_pbtxt("add_sub_batch", max_batch_size=8))
    write_model(repo, "idm", model_pbtxt(
        "idm", "identity", [("IN", "TYPE_FP32", [-1])], [("OUT", "TYPE_FP32", [-1])],
        extra="version_policy: { all { } }"), versions=(1, 2))

    with Server(infertune, scratch, [repo]) as s:
        # -- server metadata and health
        st, meta = s.get_json("/v2")
        c.equal(st, 200, "GET /v2 is 200")
        c.check(isinstance(meta, dict) and isinstance(meta.get("name"), str)
                and isinstance(meta.get("version"), str), "server metadata has name and version", meta)
        exts = meta.get("extensions", [])
        for e in ("binary_tensor_data", "model_repository", "model_configuration",
                  "statistics", "parameters"):
            c.check(e in exts, f"server metadata lists extension {e}")
        for e in ("system_shared_memory", "cuda_shared_memory", "sequence", "classification"):
            c.check(e not in exts, f"server metadata does not claim {e}")
        for path in ("/v2/health/live", "/v2/health/ready"):
            st, hdrs, body = s.request("GET", path)
            c.check(st == 200 and body == b"", f"GET {path} is 200 with an empty body", (st, body))
        st, hdrs, body = s.request("POST", "/v2/health/live")
        c.check(st == 405 and json.loads(body) == {"error": "Method Not Allowed"},
                "POST /v2/health/live is 405 Method Not Allowed", (st, body))
        c.equal(hdrs.get("content-type"), "application/json", "errors are application/json")

        # -- routing: 404 for what no regex matches, query strings ignored
        for path in ("/", "/v2/", "/v3", "/v2/models", "/v2/models/add_sub/foo",
                     "/v2/models/add_sub/versions/x/ready", "/v2/models/add_sub/versions//ready",
                     "/v2/health", "/v2/health/live/now", "/v2/repository/index/x"):
            st, hdrs, body = s.request("GET", path)
            c.check(st == 404 and json.loads(body) == {"error": "Not Found"},
                    f"GET {path} is 404 Not Found", (st, body))
        st, _, _ = s.request("GET", "/v2/health/ready?verbose=true&x=1")
        c.equal(st, 200, "query string is ignored (health)")
        st, m = s.get_json("/v2/models/add_sub?x=y")
        c.check(st == 200 and m["name"] == "add_sub", "query string is ignored (metadata)")
        for path, method in (("/v2/systemsharedmemory/status", "GET"),
                             ("/v2/cudasharedmemory/region/r/register", "POST"),
                             ("/v2/trace/setting", "GET"), ("/v2/logging", "GET"),
                             ("/v2/models/add_sub/generate", "POST")):
            st, hdrs, body = s.request(method, path)
            c.check(st == 501 and "error" in json.loads(body),
                    f"{method} {path} (not offered) is 501 with an error", (st, body))

        # -- model names never reach the file system
        st, hdrs, body = s.request("GET", "/v2/models/%2E%2E/config")
        c.check(st == 400 and b"not allowed" in body, "model name '..' is refused with 400", (st, body))
        st, hdrs, body = s.request("GET", "/v2/models/..%2F..%2Fetc%2Fpasswd/config")
        c.check(st in (400, 404) and b"root:" not in body, "encoded path traversal is refused", (st, body))
        st, hdrs, body = s.request("GET", "/v2/models/" + "a" * 300 + "/ready")
        c.check(st == 400 and b"longer than" in body, "a 300-byte model name is refused with 400", (st, body))
        st, hdrs, body = s.request("GET", "/v2/models/add_sub/versions/99999999999999999999/ready")
        c.check(st == 400, "an out-of-range version is 400", (st, body))

        # -- model metadata
        st, m = s.get_json("/v2/models/add_sub")
        c.equal(st, 200, "GET /v2/models/add_sub is 200")
        c.equal(m, {"name": "add_sub", "versions": ["1"], "platform": "add_sub",
                    "inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [16]},
                               {"name": "INPUT1", "datatype": "INT32", "shape": [16]}],
                    "outputs": [{"name": "OUTPUT0", "datatype": "INT32", "shape": [16]},
                                {"name": "OUTPUT1", "datatype": "INT32", "shape": [16]}]},
                "model metadata of a non-batching model")
        st, m = s.get_json("/v2/models/add_sub_batch")
        c.equal(m["inputs"][0]["shape"], [-1, 16], "a batching model's metadata has a -1 batch dimension")
        st, m = s.get_json("/v2/models/idm")
        c.equal(m["versions"], ["1", "2"], "metadata without a version lists every READY version")
        st, m = s.get_json("/v2/models/idm/versions/1")
        c.equal((st, m["versions"]), (200, ["1"]), "metadata of /versions/1 lists just that version")
        st, m = s.get_json("/v2/models/idm/versions/7")
        c.check(st == 404 and "version 7 is not found" in m["error"],
                "metadata of a missing version is 404 with Triton's message", (st, m))
        st, m = s.get_json("/v2/models/nope")
        c.check(st == 400 and m == {"error": "Request for unknown model: 'nope' is not found"},
                "metadata of an unknown model is 400 with Triton's message", (st, m))
        st, hdrs, body = s.request("POST", "/v2/models/add_sub")
        c.equal(st, 405, "POST on model metadata is 405")

        # -- model ready
        for path in ("/v2/models/add_sub/ready", "/v2/models/idm/versions/2/ready"):
            st, hdrs, body = s.request("GET", path)
            c.check(st == 200 and body == b"", f"GET {path} is 200 with an empty body", (st, body))
        for path in ("/v2/models/idm/versions/9/ready", "/v2/models/nope/ready"):
            st, hdrs, body = s.request("GET", path)
            c.check(st == 400 and json.loads(body) == {"error": "Model version not ready"},
                    f"GET {path} is 400 Model version not ready", (st, body))

        # -- config: the complete proto-JSON with numeric int64 values
        st, cfg = s.get_json("/v2/models/add_sub/config")
        c.equal(st, 200, "GET /config is 200")
        c.check(isinstance(cfg, dict) and "config" not in cfg and cfg.get("name") == "add_sub",
                "config is the bare ModelConfig object", cfg)
        c.equal(cfg.get("max_batch_size"), 0, "config max_batch_size")
        c.equal(cfg["input"][0].get("dims"), [16], "config dims are JSON numbers")
        c.equal(cfg["input"][0].get("data_type"), "TYPE_INT32", "config enums are names")
        for key in ("platform", "backend", "parameters", "input", "output", "instance_group",
                    "default_model_filename", "metric_tags"):
            c.check(key in cfg, f"config has field {key} (always_print_primitive_fields)")
        c.equal(cfg["input"][0].get("is_shape_tensor"), False, "config prints default-valued booleans")
        st, cfg2 = s.get_json("/v2/models/idm/versions/2/config")
        c.check(st == 200 and cfg2["version_policy"] == {"all": {}}, "config of /versions/2", cfg2)
        st, e = s.get_json("/v2/models/nope/config")
        c.check(st == 400 and "unknown model" in e["error"], "config of an unknown model is 400", (st, e))

        # -- one inference so the statistics have something to show
        req = {"inputs": [{"name": "INPUT0", "shape": [16], "datatype": "INT32", "data": list(range(16))},
                          {"name": "INPUT1", "shape": [16], "datatype": "INT32", "data": [1] * 16}]}
        st, r = s.post_json("/v2/models/add_sub/infer", req)
        c.check(st == 200 and r["outputs"][0]["data"] == [i + 1 for i in range(16)], "add_sub infers", r)
        st, hdrs, body = s.request("GET", "/v2/models/add_sub/infer")
        c.equal(st, 405, "GET on infer is 405")

        # -- statistics
        st, stats = s.get_json("/v2/models/add_sub/stats")
        c.equal(st, 200, "GET /v2/models/add_sub/stats is 200")
        ms = stats["model_stats"]
        c.check(len(ms) == 1 and ms[0]["name"] == "add_sub" and ms[0]["version"] == "1",
                "per-model stats have one entry with a string version", ms)
        e = ms[0]
        for k in ("success", "fail", "queue", "compute_input", "compute_infer", "compute_output",
                  "cache_hit", "cache_miss"):
            v = e["inference_stats"].get(k, {})
            c.check(isinstance(v.get("count"), int) and isinstance(v.get("ns"), int) and v["count"] >= 0,
                    f"stats inference_stats.{k} has integer count and ns", v)
        c.check(e["inference_count"] == 1 and e["execution_count"] == 1
                and e["inference_stats"]["success"]["count"] == 1
                and e["inference_stats"]["queue"]["count"] == 1, "stats count the inference", e)
        c.check(isinstance(e["last_inference"], int) and e["last_inference"] > 1600000000000,
                "last_inference is ms since the epoch", e["last_inference"])
        c.check(e["batch_stats"] and e["batch_stats"][0]["batch_size"] == 1
                and e["batch_stats"][0]["compute_infer"]["count"] == 1, "batch_stats per batch size", e["batch_stats"])
        c.check("response_stats" in e and "memory_usage" in e, "stats have response_stats and memory_usage")
        st, stats = s.get_json("/v2/models/idm/versions/2/stats")
        c.check(st == 200 and [x["version"] for x in stats["model_stats"]] == ["2"], "per-version stats", stats)
        st, stats = s.get_json("/v2/models/idm/stats")
        c.check([x["version"] for x in stats["model_stats"]] == ["1", "2"],
                "stats without a version cover every READY version", stats)
        st, stats = s.get_json("/v2/models/stats")
        names = sorted((x["name"], x["version"]) for x in stats["model_stats"])
        c.equal(names, [("add_sub", "1"), ("add_sub_batch", "1"), ("idm", "1"), ("idm", "2")],
                "GET /v2/models/stats covers every READY model version")
        st, e = s.get_json("/v2/models/nope/stats")
        c.check(st == 400 and e == {"error": "requested model 'nope' is not available"},
                "stats of an unknown model is 400 with Triton's message", (st, e))
        st, e = s.get_json("/v2/models/idm/versions/5/stats")
        c.check(st == 400 and "not available" in e["error"], "stats of a missing version is 400", (st, e))

        # -- repository index (control mode none: load/unload refused)
        st, idx = s.post_json("/v2/repository/index")
        c.equal(st, 200, "POST /v2/repository/index with an empty body is 200")
        c.equal(idx, [{"name": "add_sub", "version": "1", "state": "READY"},
                      {"name": "add_sub_batch", "version": "1", "state": "READY"},
                      {"name": "idm", "version": "1", "state": "READY"},
                      {"name": "idm", "version": "2", "state": "READY"}],
                "repository index sorted by name, one entry per version")
        st, idx = s.post_json("/v2/repository/index", {"ready": True})
        c.equal((st, len(idx)), (200, 4), "index with {\"ready\":true}")
        st, hdrs, body = s.request("GET", "/v2/repository/index")
        c.equal(st, 405, "GET /v2/repository/index is 405")
        st, e = s.post_json("/v2/repository/r1/index")
        c.check(st == 501 and "not supported" in e["error"], "a repository name in the path is 501", (st, e))
        for action in ("load", "unload"):
            st, e = s.post_json(f"/v2/repository/models/add_sub/{action}")
            c.check(st == 503 and "polling is enabled" in e["error"],
                    f"{action} in control mode none is 503 'polling is enabled'", (st, e))
        st, e = s.post_json("/v2/repository/index", [1])
        c.check(st == 400 and "error" in e, "index with a non-object body is 400", (st, e))

        # -- keep-alive: one connection, many requests
        conn = s.conn()
        s.request("GET", "/v2/health/live", conn=conn)
        sock = conn.sock
        for path in ("/v2", "/v2/models/add_sub", "/v2/models/nope/ready", "/v2/nothing",
                     "/v2/models/add_sub/config"):
            st, hdrs, body = s.request("GET", path, conn=conn)
        st, r = s.post_json("/v2/models/add_sub/infer", req, conn=conn)
        c.check(st == 200 and conn.sock is sock and sock is not None,
                "HTTP/1.1 keep-alive: errors and infers reuse one connection")
        conn.close()

        code = s.stop()
        c.equal(code, 0, "server exits 0 on SIGTERM")
        if code != 0:
            print(s.stderr())


if __name__ == "__main__":
    main(run)
