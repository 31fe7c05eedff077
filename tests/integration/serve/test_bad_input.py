#!/usr/bin/env python3
"""Every bad input of issue #3's list gets the right status and a clear
message, and the server keeps serving the next request."""

import http.client
import json
import os
import socket
import threading
import time

from common import (HOST, Server, add_sub_pbtxt, binary_request, infer, main, pack,
                    sim_pbtxt, write_model)

A = list(range(16))
B = [1] * 16


def good_body():
    return binary_request([("INPUT0", "INT32", [16], A, False), ("INPUT1", "INT32", [16], B, False)])


def json_body(inputs, **extra):
    obj = {"inputs": inputs}
    obj.update(extra)
    return json.dumps(obj).encode()


def inp(name="INPUT0", shape=(16,), dtype="INT32", data=None):
    return {"name": name, "shape": list(shape), "datatype": dtype,
            "data": A if data is None else data}


def run(c, infertune, scratch):
    repo = os.path.join(scratch, "repo")
    write_model(repo, "add_sub", add_sub_pbtxt())
    write_model(repo, "add_sub_batch", add_sub_pbtxt("add_sub_batch", max_batch_size=8))
    write_model(repo, "tiny_queue", sim_pbtxt("tiny_queue", base_us=300000, max_batch_size=1,
                                              dynamic_batching="default_queue_policy { max_queue_size: 2 }"))

    def still_serves(s, conn, what):
        body, hdrs = good_body()
        st, rh, data = infer(s, "add_sub", body, hdrs, conn=conn)
        c.check(st == 200, f"after {what}: the next request on the same connection succeeds", (st, data[:200]))

    def expect(s, conn, what, status, words, model="add_sub", body=b"", headers=None, version=None):
        st, rh, data = infer(s, model, body, headers or {}, conn=conn, version=version)
        try:
            msg = json.loads(data)["error"]
        except (ValueError, KeyError, TypeError):
            msg = None
        ok = st == status and isinstance(msg, str) and all(w.lower() in msg.lower() for w in words)
        c.check(ok, f"{what}: {status} with a clear message", (st, data[:300]))
        if msg:
            print(f"    message: {msg}")
        if conn is not None:
            still_serves(s, conn, what)

    with Server(infertune, scratch, [repo]) as s:
        conn = s.conn()
        expect(s, conn, "malformed JSON", 400, ["parse"], body=b'{"inputs": [')
        expect(s, conn, "empty body", 400, ["parse"], body=b"")
        expect(s, conn, "JSON that is not an object", 400, ["object"], body=b"[1,2]")
        expect(s, conn, "'inputs' not an array", 400, ["inputs"], body=b'{"inputs": 3}')
        expect(s, conn, "missing input", 400, ["INPUT1"], body=json_body([inp()]))
        expect(s, conn, "wrong datatype", 400, ["INPUT0", "FP32", "INT32"],
               body=json_body([inp(dtype="FP32", data=[0.5] * 16), inp("INPUT1")]))
        expect(s, conn, "unknown datatype string", 400, ["FLOAT"],
               body=json_body([inp(dtype="FLOAT"), inp("INPUT1")]))
        expect(s, conn, "wrong element count", 400, ["INPUT0"],
               body=json_body([inp(data=A[:15]), inp("INPUT1")]))
        expect(s, conn, "shape of the wrong rank", 400, ["INPUT0", "shape"],
               body=json_body([inp(shape=(4, 4)), inp("INPUT1")]))
        expect(s, conn, "wrong dimension", 400, ["INPUT0"],
               body=json_body([inp(shape=(8,), data=A[:8]), inp("INPUT1")]))
        expect(s, conn, "negative dimension", 400, ["shape"],
               body=json_body([inp(shape=(-16,)), inp("INPUT1")]))
        expect(s, conn, "element count that overflows", 400, ["INPUT0"], model="add_sub_batch",
               body=json_body([inp(shape=(2**62, 2**62, 16), data=[]), inp("INPUT1")]))
        expect(s, conn, "input given twice", 400, ["INPUT0"],
               body=json_body([inp(), inp(), inp("INPUT1")]))
        expect(s, conn, "10000 inputs", 400, [],
               body=json_body([inp("I%d" % i) for i in range(10000)]))
        expect(s, conn, "unknown input", 400, ["INPUTX"],
               body=json_body([inp(), inp("INPUT1"), inp("INPUTX")]))
        st, rh, data = infer(s, "add_sub", json_body([inp(), inp("INPUT1")],
                                                     outputs=[{"name": "OUTPUTX"}]), {}, conn=conn)
        c.check(st in (400, 404) and b"OUTPUTX" in data, "unknown output: 4xx naming it", (st, data))
        still_serves(s, conn, "unknown output")
        expect(s, conn, "data and binary_data_size together", 400, ["INPUT0"],
               body=json_body([dict(inp(), parameters={"binary_data_size": 64}), inp("INPUT1")]))
        expect(s, conn, "id that is not a string", 400, ["id"],
               body=json_body([inp(), inp("INPUT1")], id=7))
        expect(s, conn, "reserved triton_ parameter", 400, ["triton_"],
               body=json_body([inp(), inp("INPUT1")], parameters={"triton_x": 1}))

        # binary sizes that do not add up
        body, hdrs = binary_request([("INPUT0", "INT32", [16], A, True), ("INPUT1", "INT32", [16], B, True)])
        expect(s, conn, "binary data shorter than binary_data_size", 400, ["INPUT1"],
               body=body[:-4], headers=hdrs)
        expect(s, conn, "extra bytes after the binary inputs", 400, ["additional"],
               body=body + b"\0\0\0\0", headers=hdrs)
        bad = dict(hdrs)
        bad["Inference-Header-Content-Length"] = str(len(body) + 1)
        expect(s, conn, "Inference-Header-Content-Length above the body", 400, ["Inference-Header-Content-Length"],
               body=body, headers=bad)
        bad["Inference-Header-Content-Length"] = "12abc"
        expect(s, conn, "Inference-Header-Content-Length not a number", 400, ["header"],
               body=body, headers=bad)
        bad["Inference-Header-Content-Length"] = "-5"
        expect(s, conn, "negative Inference-Header-Content-Length", 400, ["negative"],
               body=body, headers=bad)
        hdr = {"inputs": [{"name": "INPUT0", "shape": [16], "datatype": "INT32",
                           "parameters": {"binary_data_size": 60}},
                          {"name": "INPUT1", "shape": [16], "datatype": "INT32", "data": B}]}
        js = json.dumps(hdr).encode()
        expect(s, conn, "binary_data_size that does not match the shape", 400, ["INPUT0"],
               body=js + pack("INT32", A)[:60], headers={"Inference-Header-Content-Length": str(len(js))})
        # unknown model / version
        body, hdrs = good_body()
        expect(s, conn, "unknown model", 400, ["unknown model", "nope"], model="nope", body=body, headers=hdrs)
        expect(s, conn, "unknown version", 404, ["version 3"], body=body, headers=hdrs, version=3)
        # batch above max_batch_size
        rows = 9
        body, hdrs = binary_request([("INPUT0", "INT32", [rows, 16], list(range(16 * rows)), True),
                                     ("INPUT1", "INT32", [rows, 16], [1] * 16 * rows, True)])
        expect(s, conn, "batch of 9 above max_batch_size 8", 400, ["batch"], model="add_sub_batch",
               body=body, headers=hdrs)
        # a full queue (max_queue_size 2): Triton's UNAVAILABLE, 503
        got = []

        def queued():
            b, h = binary_request([("INPUT0", "FP32", [1, 4], [1.0] * 4, True)])
            got.append(infer(s, "tiny_queue", b, h)[::2])

        threads = [threading.Thread(target=queued) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        codes = sorted(st for st, _ in got)
        full = [d for st, d in got if st == 503]
        c.check(200 in codes and full and b"queue" in full[0],
                "requests beyond max_queue_size get 503 'exceeds maximum queue size'", codes)
        if full:
            print(f"    message: {full[0].decode()}")
        still_serves(s, conn, "a full queue")
        # compression is not offered
        body, hdrs = good_body()
        hdrs = dict(hdrs)
        hdrs["Content-Encoding"] = "gzip"
        st, rh, data = infer(s, "add_sub", body, hdrs, conn=conn)
        c.check(st in (400, 501) and b"Content-Encoding" in data, "gzip body is refused clearly", (st, data))
        still_serves(s, conn, "gzip body")
        conn.close()
        c.equal(s.stop(), 0, "server exits 0 on SIGTERM")

    # oversized bodies: a server with a small cap
    with Server(infertune, scratch, [repo], ["--http-max-input-size", "4096"], name="small") as s:
        big = json_body([inp(data=[0] * 16), inp("INPUT1", data=[0] * 16)], pad="x" * 10000)
        st, rh, data = infer(s, "add_sub", big, {"Content-Type": "application/json"})
        c.check(st == 400 and b"4096" in data and b"maximum input size" in data,
                "a body above --http-max-input-size (Content-Length) is 400", (st, data))
        print(f"    message: {data.decode()}")
        # chunked: no Content-Length, refused once the received bytes pass the cap
        hc = http.client.HTTPConnection(HOST, s.http_port, timeout=30)
        hc.request("POST", "/v2/models/add_sub/infer", body=iter([big[:3000], big[3000:]]),
                   encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
        r = hc.getresponse()
        data = r.read()
        c.check(r.status == 400 and b"maximum input size" in data, "a chunked body above the cap is 400", (r.status, data))
        hc.close()
        # a raw socket announcing 64 GiB gets its answer without sending the body
        sk = socket.create_connection((HOST, s.http_port), timeout=30)
        sk.sendall(b"POST /v2/models/add_sub/infer HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Length: 68719476736\r\n\r\n")
        reply = sk.recv(4096)
        sk.close()
        c.check(reply.startswith(b"HTTP/1.1 400") and b"maximum input size" in reply,
                "a 64 GiB Content-Length is refused before any body is sent", reply[:200])
        body, hdrs = good_body()
        st, rh, data = infer(s, "add_sub", body, hdrs)
        c.check(st == 200, "the small-cap server keeps serving normal requests", (st, data))
        c.equal(s.stop(), 0, "small-cap server exits 0 on SIGTERM")

    # explicit mode: a broken config, and requests during an unload
    erepo = os.path.join(scratch, "erepo")
    write_model(erepo, "add_sub", add_sub_pbtxt())
    write_model(erepo, "slow", sim_pbtxt("slow", base_us=400000, max_batch_size=8,
                                         dynamic_batching="max_queue_delay_microseconds: 1000"))
    write_model(erepo, "broken", 'name: "broken"\nbackend: "identity"\nmax_batch_size: 0\n'
                                 'input [ { name: "IN" data_type: TYPE_FP32 dims: [ 4 ] } ]\n'
                                 'output [ { name: "OUT" data_type: TYPE_BOGUS dims: [ 4 ] } ]\n')
    with Server(infertune, scratch, [erepo], ["--model-control-mode", "explicit",
                                              "--load-model", "add_sub", "--load-model", "slow"],
                name="explicit") as s:
        st, e = s.post_json("/v2/repository/models/broken/load")
        c.check(st == 400 and "config.pbtxt:5:" in e.get("error", "") and "TYPE_BOGUS" in e["error"],
                "load of a broken config is 400 naming file:line:col", (st, e))
        print(f"    message: {e.get('error')}")
        st, idx = s.post_json("/v2/repository/index")
        broken = [x for x in idx if x["name"] == "broken"]
        c.check(len(broken) == 1 and broken[0].get("state") == "UNAVAILABLE"
                and "TYPE_BOGUS" in broken[0].get("reason", ""),
                "the broken model is UNAVAILABLE with the reason in the index", broken)
        st, e = s.post_json("/v2/repository/models/absent/load")
        c.check(st == 400 and "absent" in e.get("error", ""), "load of a model with no folder is 400", (st, e))
        body, hdrs = good_body()
        st, rh, data = infer(s, "add_sub", body, hdrs)
        c.check(st == 200, "after a failed load the server keeps serving", (st, data))

        # requests during unload: in-flight ones finish, new ones get a clear error
        results = []

        def one():
            b, h = binary_request([("INPUT0", "FP32", [1, 4], [1.0] * 4, True)])
            results.append(infer(s, "slow", b, h)[0])

        threads = [threading.Thread(target=one) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.15)  # all six are queued or executing (one 0.4 s batch)
        unload_result = []
        ut = threading.Thread(target=lambda: unload_result.append(
            s.post_json("/v2/repository/models/slow/unload")))
        ut.start()
        time.sleep(0.1)
        b, h = binary_request([("INPUT0", "FP32", [1, 4], [1.0] * 4, True)])
        st, rh, data = infer(s, "slow", b, h)
        c.check(st == 503 and b"UNLOADING" in data, "a request during unload is 503 saying UNLOADING", (st, data))
        print(f"    message: {data.decode()}")
        ut.join(30)
        for t in threads:
            t.join(30)
        c.equal(sorted(results), [200] * 6, "requests in flight during unload complete with 200")
        c.check(unload_result and unload_result[0][0] == 200, "unload returns 200 after they finished", unload_result)
        st, rh, data = infer(s, "slow", b, h)
        c.check(st in (400, 404, 503) and b"slow" in data, "a request after unload is refused naming the model", (st, data))
        st, idx = s.post_json("/v2/repository/index")
        slow = [x for x in idx if x["name"] == "slow"]
        c.equal(slow, [{"name": "slow", "version": "1", "state": "UNAVAILABLE", "reason": "unloaded"}],
                "an unloaded model stays in the index as UNAVAILABLE 'unloaded'")
        st, rh, data = infer(s, "add_sub", body, hdrs)
        c.check(st == 200, "other models keep serving after the unload", (st, data))
        c.equal(s.stop(), 0, "explicit server exits 0 on SIGTERM")


if __name__ == "__main__":
    main(run)
