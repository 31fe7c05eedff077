#!/usr/bin/env python3
"""Inference: JSON and binary round trips of every data type through identity,
add_sub correctness, output selection, request ids, client-side batching."""

import json
import os
import random
import struct

from common import (Server, add_sub_pbtxt, binary_request, infer, main, model_pbtxt,
                    parse_infer_response, write_model)

TYPES = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32",
         "INT64", "FP16", "FP32", "FP64", "BYTES", "BF16"]

CONFIG_TYPE = {t: "TYPE_" + ("STRING" if t == "BYTES" else t) for t in TYPES}

# Six values per type (shape [2, 3]), extremes included. JSON carries UINT64
# only up to 2^63-1 (JSON parsers read signed 64-bit); binary carries all.
VALUES = {
    "BOOL": [True, False, True, True, False, False],
    "UINT8": [0, 1, 127, 128, 254, 255],
    "UINT16": [0, 1, 255, 256, 65534, 65535],
    "UINT32": [0, 1, 65536, 2**31, 2**32 - 2, 2**32 - 1],
    "UINT64": [0, 1, 2**32, 2**53 + 1, 2**63 - 2, 2**63 - 1],
    "INT8": [-128, -1, 0, 1, 126, 127],
    "INT16": [-32768, -1, 0, 1, 32766, 32767],
    "INT32": [-2**31, -1, 0, 1, 2**31 - 2, 2**31 - 1],
    "INT64": [-2**63, -1, 0, 1, 2**53 + 1, 2**63 - 1],
    "FP16": [0.5, -2.0, 65504.0, 0.0009765625, 0.0, -1.5],
    "FP32": [1.5, -2.25, 3.0e38, 1.0e-38, 0.0, 1.0 / 3.0],
    "FP64": [1.5, -2.25, 1.7976931348623157e308, 5e-324, 0.0, 0.1],
    "BYTES": [b"", b"a", b"hello world", "\u00fcn\u00efcode".encode(), b"x" * 100, b"tab\tquote\"back\\"],
    "BF16": [1.0, -2.0, 0.5, 3.0, 256.0, -0.125],
}
BINARY_ONLY_VALUES = {
    "UINT64": [0, 1, 2**63, 2**64 - 2, 2**64 - 1, 12345],
    "BYTES": [b"\xff\x00\x01", b"", b"\x00", b"\x80" * 7, b"z", b"\x00\x00"],
}


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def same(dtype, got, want):
    if got is None or len(got) != len(want):
        return False
    if dtype == "FP32":
        return [f32(g) for g in got] == [f32(w) for w in want]
    if dtype == "FP16":
        return [struct.unpack("<e", struct.pack("<e", g))[0] for g in got] == \
               [struct.unpack("<e", struct.pack("<e", w))[0] for w in want]
    if dtype == "BOOL":
        return [bool(g) for g in got] == [bool(w) for w in want]
    return list(got) == list(want)


def run(c, infertune, scratch):
    repo = os.path.join(scratch, "repo")
    for t in TYPES:
        write_model(repo, f"identity_{t.lower()}", model_pbtxt(
            f"identity_{t.lower()}", "identity", [("IN", CONFIG_TYPE[t], [-1])],
            [("OUT", CONFIG_TYPE[t], [-1])], max_batch_size=4))
    write_model(repo, "add_sub", add_sub_pbtxt())
    write_model(repo, "add_sub_fp32", add_sub_pbtxt("add_sub_fp32", "TYPE_FP32"))
    write_model(repo, "add_sub_batch", add_sub_pbtxt("add_sub_batch", max_batch_size=8))

    with Server(infertune, scratch, [repo]) as s:
        conn = s.conn()
        for t in TYPES:
            model = f"identity_{t.lower()}"
            vals = VALUES[t]
            json_ok = t not in ("FP16", "BF16")
            # JSON in, JSON out
            if json_ok:
                body, hdrs = binary_request([("IN", t, [2, 3], vals, False)],
                                            outputs=[("OUT", False)])
                st, rh, data = infer(s, model, body, hdrs, conn=conn)
                ok = st == 200 and rh.get("content-type") == "application/json" \
                    and "inference-header-content-length" not in rh
                js, out = parse_infer_response(rh, data) if st == 200 else ({}, {})
                c.check(ok and same(t, out.get("OUT"), vals)
                        and js["outputs"][0]["shape"] == [2, 3]
                        and js["outputs"][0]["datatype"] == t
                        and "parameters" not in js["outputs"][0],
                        f"{t}: JSON round trip", (st, data[:300]))
            else:
                body, hdrs = binary_request([("IN", t, [2, 3], vals, False)])
                st, rh, data = infer(s, model, body, hdrs, conn=conn)
                c.check(st == 400 and b"JSON" in data, f"{t}: JSON input is refused with 400", (st, data))
            # binary in, binary out
            bvals = BINARY_ONLY_VALUES.get(t, vals)
            body, hdrs = binary_request([("IN", t, [2, 3], bvals, True)], outputs=[("OUT", True)])
            st, rh, data = infer(s, model, body, hdrs, conn=conn)
            js, out = parse_infer_response(rh, data) if st == 200 else ({}, {})
            c.check(st == 200 and rh.get("content-type") == "application/octet-stream"
                    and int(rh.get("inference-header-content-length", -1)) > 0
                    and same(t, out.get("OUT"), bvals)
                    and "data" not in js["outputs"][0],
                    f"{t}: binary round trip", (st, data[:300]))
            # binary in, JSON out (FP16/BF16 outputs cannot be JSON)
            body, hdrs = binary_request([("IN", t, [2, 3], vals, True)], outputs=[("OUT", False)])
            st, rh, data = infer(s, model, body, hdrs, conn=conn)
            if json_ok:
                js, out = parse_infer_response(rh, data) if st == 200 else ({}, {})
                c.check(st == 200 and same(t, out.get("OUT"), vals), f"{t}: binary in, JSON out", (st, data[:300]))
            else:
                c.check(st == 400 and b"error" in data, f"{t}: JSON output is refused with 400", (st, data))
            # JSON in, binary out
            if json_ok:
                body, hdrs = binary_request([("IN", t, [2, 3], vals, False)], outputs=[("OUT", True)])
                st, rh, data = infer(s, model, body, hdrs, conn=conn)
                js, out = parse_infer_response(rh, data) if st == 200 else ({}, {})
                c.check(st == 200 and same(t, out.get("OUT"), vals), f"{t}: JSON in, binary out", (st, data[:300]))

        # nested JSON arrays are flattened; outputs come back flat
        req = {"inputs": [{"name": "IN", "shape": [2, 3], "datatype": "INT32",
                           "data": [[1, 2, 3], [4, 5, 6]]}]}
        st, r = s.post_json("/v2/models/identity_int32/infer", req, conn=conn)
        c.check(st == 200 and r["outputs"][0]["data"] == [1, 2, 3, 4, 5, 6]
                and r["outputs"][0]["shape"] == [2, 3], "nested JSON data is accepted, output is flat", r)

        # request id: echoed when set, absent when empty
        req["id"] = "req-42"
        st, r = s.post_json("/v2/models/identity_int32/infer", req, conn=conn)
        c.check(st == 200 and r.get("id") == "req-42" and r.get("model_name") == "identity_int32"
                and r.get("model_version") == "1", "id, model_name and model_version in the response", r)
        req["id"] = ""
        st, r = s.post_json("/v2/models/identity_int32/infer", req, conn=conn)
        c.check(st == 200 and "id" not in r, "an empty id is not echoed", r)

        # add_sub: random data, JSON and binary, INT32 and FP32
        rnd = random.Random(3)
        for model, t in (("add_sub", "INT32"), ("add_sub_fp32", "FP32")):
            for _ in range(3):
                if t == "INT32":
                    a = [rnd.randint(-10**6, 10**6) for _ in range(16)]
                    b = [rnd.randint(-10**6, 10**6) for _ in range(16)]
                else:
                    a = [f32(rnd.uniform(-100, 100)) for _ in range(16)]
                    b = [f32(rnd.uniform(-100, 100)) for _ in range(16)]
                want0 = [x + y for x, y in zip(a, b)]
                want1 = [x - y for x, y in zip(a, b)]
                for binary in (False, True):
                    body, hdrs = binary_request([("INPUT0", t, [16], a, binary),
                                                 ("INPUT1", t, [16], b, binary)],
                                                outputs=[("OUTPUT0", binary), ("OUTPUT1", binary)])
                    st, rh, data = infer(s, model, body, hdrs, conn=conn)
                    js, out = parse_infer_response(rh, data) if st == 200 else ({}, {})
                    if t == "FP32":
                        ok = st == 200 and [f32(v) for v in out["OUTPUT0"]] == [f32(v) for v in want0] \
                            and [f32(v) for v in out["OUTPUT1"]] == [f32(v) for v in want1]
                    else:
                        ok = st == 200 and out.get("OUTPUT0") == want0 and out.get("OUTPUT1") == want1
                    c.check(ok, f"{model}: sum and difference ({'binary' if binary else 'JSON'})", (st, data[:200]))

        # output selection, binary_data_output, mixed JSON/binary outputs
        a, b = list(range(16)), [2] * 16
        body, hdrs = binary_request([("INPUT0", "INT32", [16], a, False), ("INPUT1", "INT32", [16], b, False)],
                                    outputs=[("OUTPUT1", False)])
        st, rh, data = infer(s, "add_sub", body, hdrs, conn=conn)
        js = json.loads(data)
        c.check(st == 200 and [o["name"] for o in js["outputs"]] == ["OUTPUT1"]
                and js["outputs"][0]["data"] == [x - 2 for x in a], "only the requested output is returned", js)
        body, hdrs = binary_request([("INPUT0", "INT32", [16], a, True), ("INPUT1", "INT32", [16], b, True)],
                                    parameters={"binary_data_output": True})
        st, rh, data = infer(s, "add_sub", body, hdrs, conn=conn)
        js, out = parse_infer_response(rh, data)
        c.check(st == 200 and all("parameters" in o for o in js["outputs"])
                and out["OUTPUT0"] == [x + 2 for x in a] and out["OUTPUT1"] == [x - 2 for x in a],
                "binary_data_output:true returns every output as binary", js)
        body, hdrs = binary_request([("INPUT0", "INT32", [16], a, True), ("INPUT1", "INT32", [16], b, False)],
                                    outputs=[("OUTPUT0", True), ("OUTPUT1", False)])
        st, rh, data = infer(s, "add_sub", body, hdrs, conn=conn)
        js, out = parse_infer_response(rh, data)
        c.check(st == 200 and "parameters" in js["outputs"][0] and "data" in js["outputs"][1]
                and "parameters" not in js["outputs"][1] and out["OUTPUT0"] == [x + 2 for x in a],
                "mixed binary and JSON inputs and outputs", js)

        # header spelling is case-insensitive; the C++ client sends it for pure JSON too
        body = json.dumps({"inputs": [{"name": "INPUT0", "shape": [16], "datatype": "INT32", "data": a},
                                      {"name": "INPUT1", "shape": [16], "datatype": "INT32", "data": b}]}).encode()
        st, rh, data = infer(s, "add_sub", body, {"inference-header-content-length": str(len(body)),
                                                  "Content-Type": "application/json"}, conn=conn)
        c.check(st == 200, "Inference-Header-Content-Length equal to the body, lower-case spelling", (st, data))

        # client-side batching: the batch dimension is in the shape
        rows = [[i * 16 + j for j in range(16)] for i in range(3)]
        flat = [v for row in rows for v in row]
        body, hdrs = binary_request([("INPUT0", "INT32", [3, 16], flat, True),
                                     ("INPUT1", "INT32", [3, 16], [1] * 48, True)],
                                    outputs=[("OUTPUT0", True), ("OUTPUT1", False)])
        st, rh, data = infer(s, "add_sub_batch", body, hdrs, conn=conn)
        js, out = parse_infer_response(rh, data) if st == 200 else ({}, {})
        c.check(st == 200 and js["outputs"][0]["shape"] == [3, 16] and out["OUTPUT0"] == [v + 1 for v in flat]
                and out["OUTPUT1"] == [v - 1 for v in flat], "client-side batch of 3 on a batching model", (st, data[:200]))
        st, stats = s.get_json("/v2/models/add_sub_batch/stats", conn=conn)
        e = stats["model_stats"][0]
        c.check(e["inference_count"] == 3 and e["execution_count"] == 1
                and e["batch_stats"][0]["batch_size"] == 3, "a batch of 3 counts 3 inferences, 1 execution", e)

        # versions in the path
        st, rh, data = infer(s, "add_sub", body=json.dumps({"inputs": [
            {"name": "INPUT0", "shape": [16], "datatype": "INT32", "data": a},
            {"name": "INPUT1", "shape": [16], "datatype": "INT32", "data": b}]}).encode(),
            headers={}, conn=conn, version=1)
        c.check(st == 200 and json.loads(data)["model_version"] == "1", "infer on /versions/1", (st, data[:200]))
        conn.close()
        c.equal(s.stop(), 0, "server exits 0 on SIGTERM")


if __name__ == "__main__":
    main(run)
