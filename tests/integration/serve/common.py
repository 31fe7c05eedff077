"""Shared helpers for the `infertune serve` integration tests.

Standard library only. Each test script calls `main(run)` with a function
that receives a Checker; servers are started on ephemeral ports (--http-port 0
--metrics-port 0 --port-file) on repositories the tests write themselves, and
are always killed in a `finally`.
"""

import http.client
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time

HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 30.0


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import Checker  # noqa: E402,F401


def main(run):
    """Runs run(checker, infertune, scratch) and exits with the verdict."""
    harness.main(run, "")


# ---- repositories ---------------------------------------------------------

def tensor_pbtxt(name, dtype, dims, optional=False):
    d = ", ".join(str(x) for x in dims)
    opt = "\n    optional: true" if optional else ""
    return f'  {{\n    name: "{name}"\n    data_type: {dtype}\n    dims: [ {d} ]{opt}\n  }}'


def model_pbtxt(name, backend, inputs, outputs, max_batch_size=0,
                instances=1, dynamic_batching=None, parameters=None,
                extra=""):
    """Config text; inputs/outputs are lists of (name, TYPE_X, dims)."""
    lines = [f'name: "{name}"', f'backend: "{backend}"',
             f"max_batch_size: {max_batch_size}"]
    lines.append("input [\n" + ",\n".join(tensor_pbtxt(*t) for t in inputs) + "\n]")
    lines.append("output [\n" + ",\n".join(tensor_pbtxt(*t) for t in outputs) + "\n]")
    lines.append(f"instance_group [ {{ kind: KIND_CPU, count: {instances} }} ]")
    if dynamic_batching is not None:
        lines.append("dynamic_batching {" + dynamic_batching + "}")
    for k, v in (parameters or {}).items():
        lines.append(f'parameters {{ key: "{k}" value: {{ string_value: "{v}" }} }}')
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def write_model(repo, name, config_text, versions=(1,)):
    d = os.path.join(repo, name)
    os.makedirs(d, exist_ok=True)
    for v in versions:
        os.makedirs(os.path.join(d, str(v)), exist_ok=True)
    if config_text is not None:
        with open(os.path.join(d, "config.pbtxt"), "w") as f:
            f.write(config_text)
    return d


ADD_SUB_IO = ([("INPUT0", "TYPE_INT32", [16]), ("INPUT1", "TYPE_INT32", [16])],
              [("OUTPUT0", "TYPE_INT32", [16]), ("OUTPUT1", "TYPE_INT32", [16])])


def add_sub_pbtxt(name="add_sub", dtype="TYPE_INT32", max_batch_size=0):
    ins = [("INPUT0", dtype, [16]), ("INPUT1", dtype, [16])]
    outs = [("OUTPUT0", dtype, [16]), ("OUTPUT1", dtype, [16])]
    return model_pbtxt(name, "add_sub", ins, outs, max_batch_size=max_batch_size)


def sim_pbtxt(name, base_us, per_item_us=0, slots=1, instances=1,
              max_batch_size=8, dynamic_batching=None, dims=(4,)):
    params = {"sim_base_us": base_us, "sim_per_item_us": per_item_us,
              "sim_device_slots": slots}
    return model_pbtxt(name, "sim", [("INPUT0", "TYPE_FP32", list(dims))],
                       [("OUTPUT0", "TYPE_FP32", list(dims))],
                       max_batch_size=max_batch_size, instances=instances,
                       dynamic_batching=dynamic_batching, parameters=params)


# ---- the server -----------------------------------------------------------

class Server:
    """A running `infertune serve` on ephemeral ports. Use as a context manager."""

    def __init__(self, infertune, scratch, repos, args=(), name="server",
                 expect_start=True):
        self.infertune = infertune
        self.dir = os.path.join(scratch, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port_file = os.path.join(self.dir, "ports")
        self.log_path = os.path.join(self.dir, "stderr.log")
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        cmd = [infertune, "serve", "--http-port", "0", "--metrics-port", "0",
               "--port-file", self.port_file]
        for r in repos:
            cmd += ["--model-repository", r]
        cmd += list(args)
        self.cmd = cmd
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=self.log)
        self.http_port = None
        self.metrics_port = None
        if expect_start:
            self.wait_ready()

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n"
                                   + self.stderr())
            if os.path.exists(self.port_file):
                ports = dict(line.split("=", 1) for line in
                             open(self.port_file).read().split())
                self.http_port = int(ports["http"])
                self.metrics_port = int(ports["metrics"]) if "metrics" in ports else None
                return
            time.sleep(0.02)
        raise RuntimeError("server did not write its port file in time:\n" + self.stderr())

    def stderr(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_exit(self, timeout=START_TIMEOUT_S):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=START_TIMEOUT_S):
        """SIGTERM, then wait; returns the exit code (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.wait_exit(timeout)
        if code is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.log.closed:
            self.log.close()
        return False

    # -- HTTP ---------------------------------------------------------------

    def conn(self, metrics=False):
        port = self.metrics_port if metrics else self.http_port
        return http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)

    def request(self, method, path, body=None, headers=None, conn=None,
                metrics=False):
        """Returns (status, headers dict lower-cased, body bytes)."""
        own = conn is None
        c = conn or self.conn(metrics)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            if own:
                c.close()

    def get_json(self, path, conn=None):
        status, hdrs, body = self.request("GET", path, conn=conn)
        return status, (json.loads(body) if body else None)

    def post_json(self, path, obj=None, conn=None):
        body = json.dumps(obj).encode() if obj is not None else b""
        status, hdrs, data = self.request("POST", path, body=body,
                                          headers={"Content-Type": "application/json"},
                                          conn=conn)
        return status, (json.loads(data) if data else None)

    def metrics_text(self):
        status, hdrs, body = self.request("GET", "/metrics", metrics=True)
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        return body.decode()


# ---- the binary tensor extension (protocol.md §2) ----------------------------

STRUCT_CODE = {
    "BOOL": "?", "UINT8": "B", "UINT16": "H", "UINT32": "I", "UINT64": "Q",
    "INT8": "b", "INT16": "h", "INT32": "i", "INT64": "q",
    "FP16": "e", "FP32": "f", "FP64": "d",
}


def pack(dtype, values):
    """Little-endian row-major bytes of a flat list."""
    if dtype == "BYTES":
        out = b""
        for v in values:
            b = v if isinstance(v, bytes) else v.encode()
            out += struct.pack("<I", len(b)) + b
        return out
    if dtype == "BF16":
        # The upper two bytes of the little-endian fp32, as the Python client does.
        return b"".join(struct.pack("<f", v)[2:4] for v in values)
    return struct.pack("<" + STRUCT_CODE[dtype] * len(values), *values)


def unpack(dtype, data):
    if dtype == "BYTES":
        out, i = [], 0
        while i < len(data):
            (n,) = struct.unpack_from("<I", data, i)
            out.append(data[i + 4:i + 4 + n])
            i += 4 + n
        return out
    if dtype == "BF16":
        return [struct.unpack("<f", b"\0\0" + data[i:i + 2])[0]
                for i in range(0, len(data), 2)]
    size = struct.calcsize(STRUCT_CODE[dtype])
    return list(struct.unpack("<" + STRUCT_CODE[dtype] * (len(data) // size), data))


def binary_request(inputs, outputs=None, request_id=None, parameters=None):
    """inputs: list of (name, dtype, shape, values, binary). Returns (body, headers)."""
    header = {"inputs": []}
    if request_id is not None:
        header["id"] = request_id
    if parameters:
        header["parameters"] = parameters
    blobs = b""
    for name, dtype, shape, values, binary in inputs:
        entry = {"name": name, "shape": list(shape), "datatype": dtype}
        if binary:
            blob = pack(dtype, values)
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs += blob
        else:
            entry["data"] = [v.decode() if isinstance(v, bytes) else v for v in values]
        header["inputs"].append(entry)
    if outputs is not None:
        header["outputs"] = [{"name": n, "parameters": {"binary_data": b}}
                             for n, b in outputs]
    js = json.dumps(header).encode()
    headers = {"Inference-Header-Content-Length": str(len(js)),
               "Content-Type": "application/octet-stream" if blobs else "application/json"}
    return js + blobs, headers


def parse_infer_response(headers, body):
    """Returns (json header, {output name: values}) decoding binary outputs."""
    hlen = headers.get("inference-header-content-length")
    if hlen is None:
        js, rest = json.loads(body), b""
    else:
        n = int(hlen)
        js, rest = json.loads(body[:n]), body[n:]
    values, pos = {}, 0
    for out in js.get("outputs", []):
        params = out.get("parameters")
        if params is not None and "binary_data_size" in params:
            size = params["binary_data_size"]
            values[out["name"]] = unpack(out["datatype"], rest[pos:pos + size])
            pos += size
        else:
            data = out.get("data")
            if out["datatype"] == "BYTES":
                data = [d.encode() for d in data]
            values[out["name"]] = data
    if pos != len(rest):
        raise ValueError(f"{len(rest) - pos} unexpected bytes after the binary outputs")
    return js, values


def infer(server, model, body, headers, conn=None, version=None):
    path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/infer"
    status, hdrs, data = server.request("POST", path, body=body, headers=headers,
                                        conn=conn)
    return status, hdrs, data


# ---- Prometheus text format (exposition format 0.0.4) ---------------------

METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE_RE = re.compile(r"^(" + METRIC_NAME + r")(\{(.*)\})? (\S+)( -?\d+)?$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse_prometheus(text):
    """Strict parser: returns {name: {"type", "help", "samples": [(labels, value)]}}.

    Raises ValueError on anything a Prometheus scraper would reject, and on
    exponent notation (perf_analyzer's regex needs plain decimals).
    """
    families, current = {}, None
    if text and not text.endswith("\n"):
        raise ValueError("the page does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not re.fullmatch(METRIC_NAME, parts[2]):
                raise ValueError(f"line {n}: bad comment {line!r}")
            fam = families.setdefault(parts[2], {"samples": []})
            key = "help" if parts[1] == "HELP" else "type"
            if key in fam:
                raise ValueError(f"line {n}: second {parts[1]} for {parts[2]}")
            if key == "type" and parts[3] not in ("counter", "gauge", "histogram",
                                                   "summary", "untyped"):
                raise ValueError(f"line {n}: bad type {parts[3]}")
            fam[key] = parts[3]
            current = parts[2]
            continue
        if line.startswith("#") or not line:
            raise ValueError(f"line {n}: unexpected {line!r}")
        m = SAMPLE_RE.match(line)
        if not m:
            raise ValueError(f"line {n}: not a sample: {line!r}")
        name, labels_text, value = m.group(1), m.group(3), m.group(4)
        if name != current:
            raise ValueError(f"line {n}: sample of {name} outside its family ({current})")
        if not re.fullmatch(r"-?\d+(\.\d+)?|NaN|[+-]Inf", value):
            raise ValueError(f"line {n}: value {value!r} is not a plain decimal")
        labels = {}
        if labels_text:
            pos = 0
            while pos < len(labels_text):
                lm = LABEL_RE.match(labels_text, pos)
                if not lm:
                    raise ValueError(f"line {n}: bad labels {labels_text!r}")
                labels[lm.group(1)] = lm.group(2).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                pos = lm.end()
            if list(labels) != sorted(labels):
                raise ValueError(f"line {n}: labels not in sorted key order")
        families[name]["samples"].append((labels, float(value)))
    for name, fam in families.items():
        if "help" not in fam or "type" not in fam:
            raise ValueError(f"family {name} lacks HELP or TYPE")
    return families


def metric_value(families, name, **labels):
    for lab, value in families.get(name, {}).get("samples", []):
        if all(lab.get(k) == v for k, v in labels.items()):
            return value
    return None
