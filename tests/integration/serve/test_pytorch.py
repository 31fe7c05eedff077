#!/usr/bin/env python3
"""The pytorch backend end to end: `infertune serve` runs the small reference
models of scripts/export-models (resnet-tiny, bert-tiny) and its answers match
the stored references, for single requests, for whole batches in one request
and for concurrent requests that dynamic batching merges (a merged batch's
rows equal the same requests run alone). Bad requests get a clear 400 with
libtorch's message and the server keeps serving; models that cannot load
(not TorchScript, forward() arity) say why.

Needs $INFERTUNE_TORCH_MODELS, the folder the torch_models CTest fixture
exports into."""

import json
import os
import struct
import threading

from common import Server, binary_request, infer, main, parse_infer_response

MODELS = os.environ.get("INFERTUNE_TORCH_MODELS", "")


def reference(model):
    """The stored cases: [{batch_size, inputs, outputs}] with decoded values."""
    d = os.path.join(MODELS, model, "reference")
    with open(os.path.join(d, "reference.json")) as f:
        ref = json.load(f)
    for case in ref["cases"]:
        for t in case["inputs"] + case["outputs"]:
            with open(os.path.join(d, t["file"]), "rb") as f:
                t["raw"] = f.read()
            code = {"FP32": "f", "INT64": "q"}[t["datatype"]]
            t["values"] = list(struct.unpack(f"<{len(t['raw']) // struct.calcsize(code)}{code}",
                                             t["raw"]))
    return ref


def close(got, want, atol, rtol):
    """numpy.allclose's rule; returns (ok, worst index)."""
    if len(got) != len(want):
        return False, -1
    for i, (g, w) in enumerate(zip(got, want)):
        if not abs(g - w) <= atol + rtol * abs(w):
            return False, i
    return True, None


def rows(t, batch):
    n = len(t["values"]) // batch
    return [t["values"][k * n:(k + 1) * n] for k in range(batch)]


def request_for(case, row=None):
    """A binary request of a whole case, or of one of its rows."""
    inputs = []
    for t in case["inputs"]:
        shape = list(t["shape"])
        values = t["values"]
        if row is not None:
            values = rows(t, case["batch_size"])[row]
            shape[0] = 1
        inputs.append((t["name"], t["datatype"], shape, values, True))
    return binary_request(inputs, outputs=[("OUTPUT__0", True)])


def link_model(repo, model, config_text=None, source=None):
    """repo/model with a symlink to an exported model.pt and a config."""
    src = os.path.join(MODELS, source or model)
    os.makedirs(os.path.join(repo, model, "1"), exist_ok=True)
    os.symlink(os.path.join(src, "1", "model.pt"),
               os.path.join(repo, model, "1", "model.pt"))
    if config_text is None:
        with open(os.path.join(src, "config.pbtxt")) as f:
            config_text = f.read()
    with open(os.path.join(repo, model, "config.pbtxt"), "w") as f:
        f.write(config_text)


def run(c, infertune, scratch):
    if not MODELS or not os.path.isdir(MODELS):
        c.check(False, "INFERTUNE_TORCH_MODELS names the exported models", MODELS)
        return
    refs = {m: reference(m) for m in ("resnet-tiny", "bert-tiny")}
    repo = os.path.join(scratch, "repo")
    for model in refs:
        with open(os.path.join(MODELS, model, "config.pbtxt")) as f:
            text = f.read()
        # A queue delay makes concurrent requests meet in one batch reliably
        # even when the machine is busy.
        text = text.replace("dynamic_batching { }",
                            "dynamic_batching { max_queue_delay_microseconds: 20000 }")
        link_model(repo, model, text)
    # bert-tiny with a variable sequence length: shapes only libtorch checks.
    with open(os.path.join(MODELS, "bert-tiny", "config.pbtxt")) as f:
        text = f.read().replace('name: "bert-tiny"', 'name: "bert-var"')
    link_model(repo, "bert-var", text.replace("dims: [ 16 ]", "dims: [ -1 ]"),
               source="bert-tiny")

    with Server(infertune, scratch, [repo]) as s:
        log = s.stderr()
        c.check("pytorch: instance 'bert-tiny_0_0' of model 'bert-tiny' on CPU: intra-op threads"
                in log, "the log names each instance's thread counts")

        # -- single requests and whole batches
        for model, ref in refs.items():
            for case in ref["cases"]:
                body, hdrs = request_for(case)
                st, rh, data = infer(s, model, body, hdrs)
                if not c.equal(st, 200, f"{model} batch {case['batch_size']}: 200"):
                    print(data[:300])
                    continue
                js, vals = parse_infer_response(rh, data)
                out = case["outputs"][0]
                c.equal(js["outputs"][0]["shape"], out["shape"],
                        f"{model} batch {case['batch_size']}: output shape")
                ok, where = close(vals["OUTPUT__0"], out["values"], ref["atol"], ref["rtol"])
                c.check(ok, f"{model} batch {case['batch_size']}: output equals the reference "
                        f"within {ref['atol']} + {ref['rtol']}*|ref|", where)

        # -- concurrent single-row requests, merged by dynamic batching
        for model, ref in refs.items():
            case = ref["cases"][1]  # batch 3
            want = rows(case["outputs"][0], case["batch_size"])
            results, errors = [], []
            lock = threading.Lock()

            def client(k):
                conn = s.conn()
                body, hdrs = request_for(case, row=k % case["batch_size"])
                try:
                    for _ in range(4):
                        st, rh, data = infer(s, model, body, hdrs, conn=conn)
                        with lock:
                            if st != 200:
                                errors.append((st, data[:200]))
                            else:
                                results.append((k % case["batch_size"],
                                                parse_infer_response(rh, data)[1]["OUTPUT__0"]))
                finally:
                    conn.close()

            threads = [threading.Thread(target=client, args=(k,)) for k in range(9)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            c.equal(len(errors), 0, f"{model}: 36 concurrent requests succeed")
            bad = [r for r, v in results
                   if not close(v, want[r], ref["atol"], ref["rtol"])[0]]
            c.check(len(results) == 36 and not bad,
                    f"{model}: every batched answer equals its row of the batch-3 reference",
                    f"{len(results)} answers, {len(bad)} differ")
            st, stats = s.get_json(f"/v2/models/{model}/stats")
            e = stats["model_stats"][0]
            sizes = {b["batch_size"]: b["compute_infer"]["count"] for b in e["batch_stats"]}
            print(f"    {model}: batch sizes executed (size: count): {sizes}")
            c.check(any(k > 1 for k in sizes), f"{model}: dynamic batching merged requests",
                    sizes)
            c.check(all(k <= 8 for k in sizes), f"{model}: no batch above max_batch_size 8",
                    sizes)

        # -- bad requests: a clear 400, and the server keeps serving
        bert = refs["bert-tiny"]["cases"][0]
        ids = bert["inputs"][0]["values"]
        mask = bert["inputs"][1]["values"]
        body, hdrs = binary_request([("input_ids", "INT64", [1, 15], ids[:15], True),
                                     ("attention_mask", "INT64", [1, 15], mask[:15], True)])
        st, rh, data = infer(s, "bert-tiny", body, hdrs)
        c.equal(st, 400, "a request of the wrong shape gets 400")
        c.check(b"input_ids" in data, "the message names the input", data[:300])

        # Shapes the config allows but the model cannot take: libtorch says no.
        long_ids = (ids * 40)[:600]
        body, hdrs = binary_request([("input_ids", "INT64", [1, 600], long_ids, True),
                                     ("attention_mask", "INT64", [1, 600], [1] * 600, True)])
        st, rh, data = infer(s, "bert-var", body, hdrs)
        c.equal(st, 400, "600 tokens (512 positions) gets 400 from libtorch")
        msg = json.loads(data).get("error", "") if data else ""
        print(f"    libtorch said: {msg}")
        c.check("PyTorch execute failure: RuntimeError: " in msg and "512" in msg,
                "the 400 carries libtorch's message", msg)
        body, hdrs = binary_request([("input_ids", "INT64", [1, 16], ids, True),
                                     ("attention_mask", "INT64", [1, 8], mask[:8], True)])
        st, rh, data = infer(s, "bert-var", body, hdrs)
        msg = json.loads(data).get("error", "") if data else ""
        print(f"    libtorch said: {msg}")
        c.check(st == 400 and "RuntimeError" in msg and "Traceback" not in msg,
                "mismatched lengths: 400 with libtorch's error, without its traceback", msg)

        body, hdrs = request_for(bert)
        st, rh, data = infer(s, "bert-var", body, hdrs)
        ok = st == 200 and close(parse_infer_response(rh, data)[1]["OUTPUT__0"],
                                 bert["outputs"][0]["values"], 1e-4, 1e-4)[0]
        c.check(ok, "after the errors the same model answers correctly")
        c.check(s.proc.poll() is None, "the server is still running")
        c.equal(s.stop(), 0, "the server exits 0 on SIGTERM")

    # -- models that cannot load say why; the others still serve
    repo2 = os.path.join(scratch, "repo2")
    link_model(repo2, "bert-tiny")
    os.makedirs(os.path.join(repo2, "garbage", "1"))
    with open(os.path.join(repo2, "garbage", "1", "model.pt"), "w") as f:
        f.write("not a model\n")
    with open(os.path.join(repo2, "garbage", "config.pbtxt"), "w") as f:
        f.write(open(os.path.join(MODELS, "resnet-tiny", "config.pbtxt")).read()
                .replace('name: "resnet-tiny"', 'name: "garbage"'))
    text = ('name: "one-input"\nplatform: "pytorch_libtorch"\nmax_batch_size: 8\n'
            'input [ { name: "input_ids" data_type: TYPE_INT64 dims: [ 16 ] } ]\n'
            'output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 128 ] } ]\n')
    link_model(repo2, "one-input", text, source="bert-tiny")
    with open(os.path.join(MODELS, "bert-tiny", "config.pbtxt")) as f:
        text = f.read().replace('name: "bert-tiny"', 'name: "on-gpu"')
    link_model(repo2, "on-gpu", text.replace("KIND_CPU", "KIND_GPU"), source="bert-tiny")
    with Server(infertune, scratch, [repo2], args=["--exit-on-error", "false"],
                name="server2") as s:
        st, index = s.post_json("/v2/repository/index")
        states = {m["name"]: m for m in index} if st == 200 else {}
        c.equal(states.get("bert-tiny", {}).get("state"), "READY", "bert-tiny loads")
        g = states.get("garbage", {})
        c.check(g.get("state") == "UNAVAILABLE" and
                "is not a TorchScript module" in g.get("reason", ""),
                "a file that is not TorchScript: UNAVAILABLE, and why", g)
        o = states.get("one-input", {})
        c.check(o.get("state") == "UNAVAILABLE" and
                "model expects 2 inputs in forward() (input_ids, attention_mask), config lists 1"
                in o.get("reason", ""), "forward() arity: UNAVAILABLE, and why", o)
        g = states.get("on-gpu", {})
        c.check(g.get("state") == "UNAVAILABLE" and
                "instance group kind KIND_GPU needs libtorch with CUDA; this build is CPU-only"
                in g.get("reason", ""), "KIND_GPU on a CPU-only libtorch: UNAVAILABLE, and why", g)
        body, hdrs = request_for(bert)
        st, rh, data = infer(s, "bert-tiny", body, hdrs)
        c.equal(st, 200, "the loadable model serves")

    # -- without its libtorch library the backend says so; the server still runs
    os.environ["INFERTUNE_TORCH_SHIM"] = "/nonexistent/libinfertune_torch.so"
    try:
        with Server(infertune, scratch, [repo2], args=["--exit-on-error", "false"],
                    name="server3") as s:
            st, index = s.post_json("/v2/repository/index")
            states = {m["name"]: m for m in index} if st == 200 else {}
            b = states.get("bert-tiny", {})
            c.check(b.get("state") == "UNAVAILABLE" and
                    "the pytorch backend cannot load its libtorch library: "
                    "/nonexistent/libinfertune_torch.so: no such file" in b.get("reason", ""),
                    "no shim library: UNAVAILABLE, and why", b)
            st, _ = s.get_json("/v2/health/live")
            c.equal(st, 200, "the server without libtorch is live")
    finally:
        del os.environ["INFERTUNE_TORCH_SHIM"]


if __name__ == "__main__":
    main(run)
