#!/usr/bin/env python3
"""Hostile input (issue #14, item 4): model names with '/', '..', NUL or
4 KiB of text in every route and in load/unload, load overrides that name
files, header and body size caps, the default bind on loopback. Each gets a
clear 4xx, the server keeps serving, and no file outside the model
repository is created, changed or read (a canary folder next to it holds a
valid model that a followed '..' would load)."""

import json
import os
import socket

from common import HOST, Server, add_sub_pbtxt, binary_request, infer, main, write_model

# From <repo>/<model>/<version>/ (where backends join default_model_filename) to the canary's model file.
CLIMB = "../../../canary/evil/1/model.pt"

GOOD = binary_request([("INPUT0", "INT32", [16], list(range(16)), True),
                       ("INPUT1", "INT32", [16], [1] * 16, True)])

# As they travel in the path (percent-encoded where a client must encode).
BAD_NAMES = [
    ("a '/' (%2F)", "add_sub%2F1"),
    ("'..'", ".."),
    ("'..' encoded", "%2E%2E"),
    ("'../canary/evil'", "..%2Fcanary%2Fevil"),
    ("a NUL (%00)", "add_sub%00x"),
    ("a NUL alone", "%00"),
    ("a backslash", "..%5Ccanary"),
    ("a control character", "add%01sub"),
    ("4 KiB of text", "m" * 4096),
]

ROUTES = [
    ("GET", "/v2/models/{}"),
    ("GET", "/v2/models/{}/ready"),
    ("GET", "/v2/models/{}/config"),
    ("GET", "/v2/models/{}/stats"),
    ("POST", "/v2/models/{}/infer"),
    ("GET", "/v2/models/{}/versions/1"),
    ("GET", "/v2/models/{}/versions/1/ready"),
    ("GET", "/v2/models/{}/versions/1/config"),
    ("GET", "/v2/models/{}/versions/1/stats"),
    ("POST", "/v2/models/{}/versions/1/infer"),
    ("POST", "/v2/repository/models/{}/load"),
    ("POST", "/v2/repository/models/{}/unload"),
]


def snapshot(top):
    """Every path under top with its size, mtime and, for files, atime (ns);
    folders' atimes move with this very walk."""
    out = {}
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            out[os.path.relpath(p, top)] = (st.st_size, st.st_mtime_ns,
                                            st.st_atime_ns if n in files else None)
    return out


def reads_show(path):
    """Sets path's atime before its mtime, so that a read moves it (relatime);
    True when this file system does show reads that way."""
    st = os.stat(path)
    os.utime(path, ns=(st.st_mtime_ns - 10**12, st.st_mtime_ns))
    before = os.stat(path).st_atime_ns
    with open(path, "rb") as f:
        f.read()
    shows = os.stat(path).st_atime_ns != before
    os.utime(path, ns=(st.st_mtime_ns - 10**12, st.st_mtime_ns))
    return shows


def error_of(data):
    try:
        msg = json.loads(data).get("error")
    except (ValueError, AttributeError):
        return None
    return msg if isinstance(msg, str) and msg else None


def config_json(name, **extra):
    cfg = {"name": name, "backend": "add_sub", "max_batch_size": 0,
           "input": [{"name": "INPUT0", "data_type": "TYPE_INT32", "dims": ["16"]},
                     {"name": "INPUT1", "data_type": "TYPE_INT32", "dims": ["16"]}],
           "output": [{"name": "OUTPUT0", "data_type": "TYPE_INT32", "dims": ["16"]},
                      {"name": "OUTPUT1", "data_type": "TYPE_INT32", "dims": ["16"]}]}
    cfg.update(extra)
    return {"parameters": {"config": json.dumps(cfg)}}


def raw(port, data, limit=65536):
    """Sends raw bytes, returns what the server answers before closing (or 5 s).
    The server may answer and close before it has read everything."""
    sk = socket.create_connection((HOST, port), timeout=5)
    got = b""
    try:
        for step in (lambda: sk.sendall(data), lambda: sk.shutdown(socket.SHUT_WR)):
            try:
                step()
            except OSError:
                break
        while len(got) < limit:
            part = sk.recv(65536)
            if not part:
                break
            got += part
    except OSError:
        pass
    finally:
        sk.close()
    return got


def run(c, infertune, scratch):
    repo = os.path.join(scratch, "repo")
    canary = os.path.join(scratch, "canary")
    write_model(repo, "add_sub", add_sub_pbtxt())
    write_model(repo, "dotdot_file", add_sub_pbtxt("dotdot_file").replace(
        'backend: "add_sub"', 'backend: "add_sub"\ndefault_model_filename: "%s"' % CLIMB))
    # What a followed '..' would reach: a valid model and a model file.
    write_model(canary, "evil", add_sub_pbtxt("evil"))
    with open(os.path.join(canary, "evil", "1", "model.pt"), "wb") as f:
        f.write(b"not a model")
    watched = [os.path.join(canary, "evil", "config.pbtxt"),
               os.path.join(canary, "evil", "1", "model.pt")]
    atime_works = all(reads_show(p) for p in watched)
    before = snapshot(canary)
    scratch_before = sorted(os.listdir(scratch))
    print(f"    reads show in atime here: {atime_works}")

    with Server(infertune, scratch, [repo], ["--model-control-mode", "explicit",
                                             "--load-model", "add_sub"]) as s:
        def still_serves(what):
            st, _, data = infer(s, "add_sub", *GOOD)
            c.check(st == 200, f"after {what} the server keeps serving", (st, data[:200]))

        # -- bad names in every route
        for what, name in BAD_NAMES:
            bad = []
            for method, route in ROUTES:
                path = route.format(name)
                st, _, data = s.request(method, path, body=b"{}" if method == "POST" else None)
                if not (400 <= st < 500 and error_of(data)):
                    bad.append((method, path[:80], st, data[:120]))
            c.check(not bad, f"a model name with {what}: 4xx with a JSON error in all "
                    f"{len(ROUTES)} routes", bad)
            st, _, data = s.request("GET", ROUTES[1][1].format(name))
            print(f"    e.g. GET .../ready: {st} {error_of(data)!r:.120}")
            still_serves(f"names with {what}")

        # -- load overrides and parameters that name files
        loads = [
            ("a config whose default_model_filename climbs out ('../')", "add_sub",
             config_json("add_sub", default_model_filename=CLIMB), 400, "default_model_filename"),
            ("a pytorch config whose default_model_filename climbs out", "add_sub",
             config_json("add_sub", platform="pytorch_libtorch", backend="pytorch",
                         default_model_filename=CLIMB), 400, "default_model_filename"),
            ("a pytorch config whose default_model_filename is absolute", "add_sub",
             config_json("add_sub", platform="pytorch_libtorch", backend="pytorch",
                         default_model_filename="/etc/passwd"), 400, "default_model_filename"),
            ("a config named '../canary/evil'", "add_sub",
             config_json("../canary/evil"), 400, "match"),
            ("a config whose backend is a path", "add_sub",
             config_json("add_sub", backend="../../canary/evil"), 400, "backend"),
            ("a 'model_repository' parameter pointing at the canary", "evil",
             {"parameters": {"model_repository": canary}}, 400, "evil"),
            ("a 'file:' override climbing out", "add_sub",
             {"parameters": {"file:" + CLIMB: "bm90IGEgbW9kZWw="}},
             501, "not supported"),
            ("a config.pbtxt in the repository whose default_model_filename climbs out",
             "dotdot_file", None, 400, "default_model_filename"),
        ]
        for what, model, body, want, word in loads:
            st, e = s.post_json(f"/v2/repository/models/{model}/load", body)
            msg = (e or {}).get("error", "")
            c.check(st == want and word in msg, f"load with {what}: {want} with a clear message",
                    (st, e))
            print(f"    message: {msg}")
            still_serves(what)
        st, idx = s.post_json("/v2/repository/index")
        c.check(st == 200 and not any(x["name"] == "evil" for x in idx),
                "the canary's model never appears in the index", idx)
        st, cfg = s.get_json("/v2/models/add_sub/config")
        c.equal(cfg.get("default_model_filename"), "", "add_sub's config is the one from its repository")
        st, _, data = s.request("GET", "/v2/repository/canary/index")
        c.check(st in (404, 405, 501) and error_of(data), "a repository named in the path is refused",
                (st, data))

        # -- size caps: headers (MHD's per-connection memory, 64 KiB), URL, body
        reply = raw(s.http_port, b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Big: "
                    + b"a" * 70000 + b"\r\n\r\n")
        c.check(reply.startswith(b"HTTP/1.1 431") and b"too big" in reply,
                "a 70 KB header is 431 Request Header Fields Too Large with a message", reply[:200])
        reply = raw(s.http_port, b"GET /v2/models/" + b"m" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        c.check(reply[:12] in (b"HTTP/1.1 414", b"HTTP/1.1 431") and b"too big" in reply,
                "a 70 KB request line is refused with 414/431 and a message", reply[:200])
        reply = raw(s.http_port, b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n"
                    + b"".join(b"X-H%d: v\r\n" % i for i in range(10000)) + b"\r\n")
        c.check(reply.startswith(b"HTTP/1.1 431"), "10000 header lines are 431", reply[:200])
        reply = raw(s.http_port, b"POST /v2/models/add_sub/infer HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: 67108865\r\n\r\n")
        c.check(reply.startswith(b"HTTP/1.1 400") and b"67108864" in reply,
                "a body one byte above the default cap (64 MiB) is 400 naming it, unsent", reply[:300])
        reply = raw(s.http_port, b"POST /v2/repository/models/add_sub/load HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: 99999999999\r\n\r\n")
        c.check(reply.startswith(b"HTTP/1.1 400") and b"maximum input size" in reply,
                "the cap holds for load bodies too", reply[:300])
        still_serves("oversized headers and bodies")
        c.equal(s.stop(), 0, "server exits 0 on SIGTERM")

    # -- nothing outside the repository touched
    after = snapshot(canary)
    c.equal(after, before, "the canary folder is unchanged (names, sizes, mtimes"
            + (", atimes: nothing read" if atime_works else "; this file system hides reads") + ")")
    c.equal(sorted(os.listdir(scratch)), sorted(scratch_before + ["server"]),
            "nothing created next to the repository but the test's own server folder")

    # -- the default bind address is loopback
    with Server(infertune, scratch, [repo], ["--model-control-mode", "explicit"],
                name="default_bind") as s:
        with open("/proc/net/tcp") as f:
            rows = [line.split() for line in f.readlines()[1:]]
        listening = [r[1] for r in rows if r[3] == "0A" and int(r[1].split(":")[1], 16) == s.http_port]
        c.equal(listening, [f"0100007F:{s.http_port:04X}"],
                "without --http-address the API listens on 127.0.0.1 only")
        c.check(f"Started HTTPService at 127.0.0.1:{s.http_port}" in s.stderr(),
                "... and says so in its log")
        c.equal(s.stop(), 0, "server exits 0 on SIGTERM")


if __name__ == "__main__":
    main(run)
