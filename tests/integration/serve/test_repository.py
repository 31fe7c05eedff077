#!/usr/bin/env python3
"""Model control: explicit load/unload with a `config` override exactly as
Model Analyzer sends it, repository index states, --load-model, rescans for
new model folders, --exit-on-error, and the command line itself."""

import json
import os
import subprocess

from common import (Server, add_sub_pbtxt, binary_request, infer, main, sim_pbtxt,
                    write_model)


def ma_config(name, count, delay_us, base_us="1000", versions=None):
    """What Model Analyzer sends: json.dumps(MessageToDict(cfg, preserving_proto_field_name=True)):
    int64/uint64 as strings, enums as names, defaults left out."""
    cfg = {
        "name": name,
        "backend": "sim",
        "max_batch_size": 8,
        "input": [{"name": "INPUT0", "data_type": "TYPE_FP32", "dims": ["4"]}],
        "output": [{"name": "OUTPUT0", "data_type": "TYPE_FP32", "dims": ["4"]}],
        "instance_group": [{"count": count, "kind": "KIND_CPU"}],
        "dynamic_batching": {"max_queue_delay_microseconds": delay_us},
        "parameters": {"sim_base_us": {"string_value": base_us}},
    }
    if versions is not None:
        cfg["version_policy"] = {"specific": {"versions": versions}}
    return cfg


def load_body(cfg):
    return {"parameters": {"config": json.dumps(cfg)}}


def sim_infer(s, model):
    body, hdrs = binary_request([("INPUT0", "FP32", [1, 4], [1.0] * 4, True)])
    return infer(s, model, body, hdrs)


def run(c, infertune, scratch):
    repo = os.path.join(scratch, "repo")
    write_model(repo, "add_sub", add_sub_pbtxt())
    write_model(repo, "simm", sim_pbtxt("simm", base_us=1000, max_batch_size=8), versions=(1, 2))

    with Server(infertune, scratch, [repo], ["--model-control-mode=explicit"]) as s:
        st, idx = s.post_json("/v2/repository/index")
        c.equal(idx, [{"name": "add_sub"}, {"name": "simm"}],
                "explicit mode without --load-model: models listed by name only")
        st, _, _ = s.request("GET", "/v2/health/ready")
        c.equal(st, 200, "ready with nothing asked to load")
        st, rh, data = sim_infer(s, "simm")
        c.check(st == 400 and b"unknown model" in data, "infer on a model never loaded is 400", (st, data))

        st, e = s.post_json("/v2/repository/models/simm/load")
        c.equal(st, 200, "load without parameters is 200")
        st, idx = s.post_json("/v2/repository/index")
        c.equal([x for x in idx if x["name"] == "simm"],
                [{"name": "simm", "version": "2", "state": "READY"}],
                "the latest version (policy default) is READY")
        st, cfg = s.get_json("/v2/models/simm/config")
        c.equal(cfg["instance_group"][0]["count"], 1, "config before the override: one instance")
        st, rh, data = sim_infer(s, "simm")
        c.equal(st, 200, "the loaded model serves")

        # the override, as Model Analyzer sends it (int64 as strings; count as a string too)
        st, e = s.post_json("/v2/repository/models/simm/load", load_body(ma_config("simm", "3", "100")))
        c.check(st == 200, "load with a Model Analyzer config override is 200", (st, e))
        st, cfg = s.get_json("/v2/models/simm/config")
        c.equal(cfg.get("instance_group", [{}])[0].get("count"), 3, "/config reflects instance_group count 3")
        c.equal(cfg.get("dynamic_batching", {}).get("max_queue_delay_microseconds"), 100,
                "/config reflects max_queue_delay_microseconds 100 (as a number)")
        c.equal(cfg.get("parameters", {}).get("sim_base_us"), {"string_value": "1000"},
                "/config reflects the parameters")
        st, rh, data = sim_infer(s, "simm")
        c.equal(st, 200, "the model serves with the new config")
        st, e = s.post_json("/v2/repository/models/simm/load", load_body(ma_config("simm", 2, "250")))
        st2, cfg = s.get_json("/v2/models/simm/config")
        c.check(st == 200 and cfg["instance_group"][0]["count"] == 2
                and cfg["dynamic_batching"]["max_queue_delay_microseconds"] == 250,
                "a second override (numeric count) replaces the first", (st, e))

        # bad overrides: refused, and the loaded model keeps serving
        bad = [("a config whose name differs", load_body(ma_config("other", 1, "1")), "does not match"),
               ("a config that is not JSON", {"parameters": {"config": "{not json"}}, "not valid JSON"),
               ("a config with an unknown field",
                load_body(dict(ma_config("simm", 1, "1"), bogus_field=1)), "bogus_field"),
               ("a config with a bad enum",
                load_body(dict(ma_config("simm", 1, "1"),
                               instance_group=[{"count": 1, "kind": "KIND_TOASTER"}])), "KIND_TOASTER"),
               ("a config the backend refuses",
                load_body(dict(ma_config("simm", 1, "1"),
                               parameters={"sim_base_us": {"string_value": "soon"}})), "sim_base_us"),
               ("parameters that are not an object", {"parameters": 5}, "parameters"),
               ("a config that is not a string", {"parameters": {"config": {"name": "simm"}}}, "string")]
        for what, body, word in bad:
            st, e = s.post_json("/v2/repository/models/simm/load", body)
            c.check(st == 400 and word in (e or {}).get("error", ""), f"load with {what} is 400", (st, e))
            print(f"    message: {(e or {}).get('error')}")
        st, cfg = s.get_json("/v2/models/simm/config")
        st2, rh, data = sim_infer(s, "simm")
        c.check(cfg["instance_group"][0]["count"] == 2 and st2 == 200,
                "after failed reloads the previous config keeps serving", (cfg.get("instance_group"), st2))

        # version policy from the override: specific [1] serves version 1, unloads 2
        st, e = s.post_json("/v2/repository/models/simm/load",
                            load_body(ma_config("simm", 1, "1", versions=["1"])))
        st, idx = s.post_json("/v2/repository/index")
        c.equal([x for x in idx if x["name"] == "simm"],
                [{"name": "simm", "version": "1", "state": "READY"},
                 {"name": "simm", "version": "2", "state": "UNAVAILABLE", "reason": "unloaded"}],
                "an override's version_policy selects the versions served")

        # Model Analyzer writes a new model folder after start, then loads it
        write_model(repo, "simm_config_0", sim_pbtxt("simm_config_0", base_us=500, instances=2))
        st, e = s.post_json("/v2/repository/models/simm_config_0/load")
        c.check(st == 200, "a model folder created after start can be loaded (rescan)", (st, e))
        st, rh, data = sim_infer(s, "simm_config_0")
        c.equal(st, 200, "the new model serves")

        # unload
        st, e = s.post_json("/v2/repository/models/simm/unload")
        c.equal(st, 200, "unload is 200")
        st, e = s.post_json("/v2/repository/models/simm/unload", {"parameters": {"unload_dependents": False}})
        c.equal(st, 200, "unloading again (with unload_dependents) is 200")
        st, idx = s.post_json("/v2/repository/index")
        c.equal([x for x in idx if x["name"] == "simm"],
                [{"name": "simm", "version": "1", "state": "UNAVAILABLE", "reason": "unloaded"},
                 {"name": "simm", "version": "2", "state": "UNAVAILABLE", "reason": "unloaded"}],
                "unloaded versions stay in the index as UNAVAILABLE 'unloaded'")
        st, idx = s.post_json("/v2/repository/index", {"ready": True})
        c.equal(sorted(x["name"] for x in idx), ["simm_config_0"], "index {\"ready\": true} lists READY ones only")
        st, _, body = s.request("GET", "/v2/models/simm/ready")
        c.equal(st, 400, "an unloaded model is not ready")
        st, _, _ = s.request("GET", "/v2/health/ready")
        c.equal(st, 200, "server ready after an explicit unload")
        st, e = s.post_json("/v2/repository/models/add_sub/unload")
        c.equal(st, 200, "unloading a model never loaded is 200")
        st, e = s.post_json("/v2/repository/models/ghost/unload")
        c.check(st == 400 and "ghost" in e["error"], "unloading an unknown model is 400", (st, e))
        st, e = s.post_json("/v2/repository/models/simm/load")
        st2, rh, data = sim_infer(s, "simm")
        c.check(st == 200 and st2 == 200, "a model can be loaded again after unload", (st, st2))
        c.equal(s.stop(), 0, "server exits 0 on SIGTERM")

    # --load-model at start, --flag=value and --model-store forms
    with Server(infertune, scratch, [], ["--model-store=" + repo, "--model-control-mode=explicit",
                                        "--load-model=add_sub", "--log-verbose=1"], name="loadmodel") as s:
        st, idx = s.post_json("/v2/repository/index")
        c.equal([x for x in idx if x["name"] in ("add_sub", "simm")],
                [{"name": "add_sub", "version": "1", "state": "READY"}, {"name": "simm"}],
                "--load-model=add_sub loads just add_sub (--model-store= alias)")
        c.check("model 'add_sub' version 1: READY" in s.stderr(), "the log has one line per model with its state")
        c.equal(s.stop(), 0, "server exits 0 on SIGTERM")
    with Server(infertune, scratch, [repo], ["--model-control-mode", "explicit", "--load-model", "*"],
                name="loadall") as s:
        st, idx = s.post_json("/v2/repository/index", {"ready": True})
        c.equal(sorted({x["name"] for x in idx}), ["add_sub", "simm", "simm_config_0"], "--load-model * loads all")
        c.equal(s.stop(), 0, "server exits 0 on SIGTERM")

    # --exit-on-error
    brepo = os.path.join(scratch, "brepo")
    write_model(brepo, "add_sub", add_sub_pbtxt())
    write_model(brepo, "bad_backend", sim_pbtxt("bad_backend", base_us=1000).replace('"sim"', '"nonexistent"'))
    s = Server(infertune, scratch, [brepo], name="exit", expect_start=False)
    code = s.wait_exit(30)
    log = s.stderr()
    s.stop()
    c.check(code == 1 and "bad_backend" in log and "UNAVAILABLE" in log,
            "a model that fails to load makes the server exit 1 (--exit-on-error default true)", (code, log[-500:]))
    with Server(infertune, scratch, [brepo], ["--exit-on-error", "false"], name="noexit") as s:
        st, _, _ = s.request("GET", "/v2/health/ready")
        c.equal(st, 400, "--exit-on-error false: server runs but is not ready (strict readiness)")
        st, _, _ = s.request("GET", "/v2/health/live")
        c.equal(st, 200, "... and live")
        st, idx = s.post_json("/v2/repository/index")
        bad = [x for x in idx if x["name"] == "bad_backend"]
        c.check(len(bad) == 1 and bad[0]["state"] == "UNAVAILABLE" and "nonexistent" in bad[0].get("reason", ""),
                "the failed model is UNAVAILABLE with the backend's reason", bad)
        body, hdrs = binary_request([("INPUT0", "INT32", [16], list(range(16)), True),
                                     ("INPUT1", "INT32", [16], [1] * 16, True)])
        st, rh, data = infer(s, "add_sub", body, hdrs)
        c.equal(st, 200, "the other models keep serving")
        c.equal(s.stop(), 0, "server exits 0 on SIGTERM")

    # the command line itself
    r = subprocess.run([infertune, "serve", "--help"], capture_output=True, text=True, timeout=30)
    c.check(r.returncode == 0 and "--model-repository" in r.stdout and "--port-file" in r.stdout,
            "serve --help prints the usage and exits 0")
    for args, what in ((["--http-port", "1"], "no --model-repository"),
                       (["--model-repository", repo, "--bogus", "1"], "an unknown flag"),
                       (["--model-repository", repo, "--http-port", "70000"], "a bad port"),
                       (["--model-repository", repo, "--load-model", "x"], "--load-model without explicit mode"),
                       (["--model-repository", repo, "--allow-metrics", "maybe"], "a bad boolean"),
                       (["--model-repository", os.path.join(scratch, "missing")], "a missing repository")):
        r = subprocess.run([infertune, "serve"] + args, capture_output=True, text=True, timeout=30)
        c.check(r.returncode == 2 and r.stderr.strip(), f"{what}: exit 2 with a message", (r.returncode, r.stderr))


if __name__ == "__main__":
    main(run)
