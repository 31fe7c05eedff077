#!/usr/bin/env python3
"""`infertune report` on the results.db of a real `infertune analyze` run.

Two sim models are analyzed (a small brute search, concurrency 1,2,4, a
latency budget); then every PNG, SVG, PDF and HTML is checked: PNG header and
size, SVG parses and names every configuration, PDF page count, the HTML
tables hold the database's numbers, figures this machine does not measure
(GPU, and power unless RAPL is readable) give the note instead of a chart,
outputs are byte-stable, an interrupted run is reported, the machine is the
one analyze recorded in results.db, and bad flags exit 2.
"""

import html as htmllib
import os
import re
import shutil
import sqlite3
import struct
import xml.etree.ElementTree as ET

import report_common as rc

MODELS = ("simA", "simB")


def check_png(c, path, what):
    with open(path, "rb") as f:
        head = f.read(24)
    c.check(head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{what}: PNG header")
    w, h = struct.unpack(">II", head[16:24])
    c.equal((w, h), (1080, 630), f"{what}: PNG size")


def check_model(c, export, model):
    db = os.path.join(export, "results.db")
    out = os.path.join(export, "reports", model)
    charts = os.path.join(out, "charts")
    levels = rc.levels_by_config(db, model)
    measured = sorted(n for n, ls in levels.items() if any(l["status"] in ("ok", "over_threshold")
                                                              for l in ls))
    c.check(len(measured) >= 3, f"{model}: at least 3 configurations measured", measured)

    pngs = sorted(f[:-4] for f in os.listdir(charts) if f.endswith(".png"))
    svgs = sorted(f[:-4] for f in os.listdir(charts) if f.endswith(".svg"))
    c.equal(pngs, svgs, f"{model}: a PNG and an SVG for each chart")
    for want in ("throughput", "latency_p99", "latency_avg", "memory", "throughput_v_latency",
                 "memory_v_latency"):
        c.check(want in pngs, f"{model}: chart {want} drawn")
    c.equal(len([p for p in pngs if p.startswith("latency_breakdown_")]), 3,
            f"{model}: a latency breakdown for each of the 3 best configurations")
    for name in pngs:
        check_png(c, os.path.join(charts, name + ".png"), f"{model}/{name}")
        try:
            root = ET.parse(os.path.join(charts, name + ".svg")).getroot()
            ok = root.tag.endswith("svg")
        except ET.ParseError as e:
            ok, root = False, None
            print(e)
        c.check(ok, f"{model}/{name}.svg parses as SVG")
        if root is not None and name in ("throughput", "latency_p99", "memory"):
            desc = "".join(e.text or "" for e in root.iter() if e.tag.endswith("desc"))
            missing = [n for n in measured if n + ":" not in desc]
            c.equal(missing, [], f"{model}/{name}: the legend names every configuration")

    # Absent figures: a note, not an empty chart.
    with open(os.path.join(out, "report.html"), encoding="utf-8") as f:
        html = f.read()
    power = rc.query(db, "SELECT count(*) FROM measurements WHERE gpu_power_w IS NOT NULL "
                         "OR cpu_power_w IS NOT NULL")[0][0]
    if power == 0:
        c.check("power" not in pngs, f"{model}: no power chart (power not measured)")
        c.check('id="note-power"' in html and "Power is not drawn" in html,
                f"{model}: the report says why power is not drawn")
    else:
        c.check("power" in pngs, f"{model}: power chart (RAPL measured)")
    gpu = rc.query(db, "SELECT count(*) FROM measurements WHERE gpu_used_memory_mb IS NOT NULL")[0][0]
    if gpu == 0:
        c.check("Server process memory" in html, f"{model}: memory chart labelled as server memory")

    # The machine: the meta rows analyze wrote (this machine: the server was
    # embedded), not the report's fallback with its note.
    meta = dict(rc.query(db, "SELECT key, value FROM meta WHERE key LIKE 'machine_%'"))
    cpu, memory = meta.get("machine_cpu", ""), meta.get("machine_memory", "")
    c.check(cpu.endswith(f"{os.sysconf('SC_NPROCESSORS_ONLN')} cores"),
            f"{model}: results.db records the CPU and its cores", cpu)
    c.check(re.fullmatch(r"\d+\.\d GB", memory) is not None,
            f"{model}: results.db records the memory", memory)
    shown = htmllib.escape(cpu, quote=False).replace('"', "&quot;")
    c.check(f"<dd>{shown}</dd>" in html and f"<dd>{memory}</dd>" in html,
            f"{model}: the report shows the recorded machine")
    c.check("does not record the machine" not in html, f"{model}: no fallback note")

    # The HTML: self-contained, the sentence, the numbers of the database.
    c.check(not re.search(r'(src|href)="(https?:)?//', html), f"{model}: HTML fetches nothing")
    c.check(html.count("data:image/png;base64,") == len(pngs), f"{model}: every chart inlined")
    best = rc.query(db, """SELECT v.name FROM rankings r JOIN variants v ON v.id = r.variant_id
                           JOIN models m ON m.id = r.model_id WHERE m.name = ? AND r.rank = 1
                           ORDER BY r.run_id DESC LIMIT 1""", model)[0][0]
    n_meas = sum(1 for ls in levels.values() for l in ls if l["status"] in ("ok", "over_threshold"))
    # The summary leads with analyze's tier sentence (rankings.recommendation), then the counts.
    rec = rc.query(db, """SELECT r.recommendation FROM rankings r JOIN models m
                          ON m.id = r.model_id WHERE m.name = ? AND r.rank = 1
                          ORDER BY r.run_id DESC LIMIT 1""", model)[0][0]
    sentence = re.search(r'<p class="summary" id="sentence">(.*?)</p>', html)
    c.check(bool(sentence) and rec and best in rec and
            sentence.group(1).startswith(htmllib.escape(rec, quote=False)) and
            f"In {n_meas} measurements across {len(levels)} configurations, " in sentence.group(1),
            f"{model}: summary sentence leads with the recommendation of {best}",
            sentence.group(1) if sentence else html[:300])
    c.check(f"Recommended configuration: {best}" in html, f"{model}: recommendation")
    c.check(f"best/{model}/config.pbtxt" in html, f"{model}: where the config.pbtxt is")
    wrong = []
    for name, ls in levels.items():
        m = re.search(rf'<table class="detail" id="detail-{re.escape(name)}">(.*?)</table>', html, re.S)
        if not m:
            wrong.append(f"{name}: no table")
            continue
        rows = re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(1), re.S)[1:]
        if len(rows) != len(ls):
            wrong.append(f"{name}: {len(rows)} rows, {len(ls)} in results.db")
            continue
        for row, l in zip(rows, ls):
            raw = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            # The value, without its 95% interval (checked on its own below).
            cells = [re.sub(r'<br><span class="ci"[^>]*>.*?</span>', "", x) for x in raw]
            if l["throughput"] is not None and "\u00b1" not in raw[3]:
                wrong.append(f"{name} @ {l['load_value']:g}: no \u00b1 beside the throughput")
            want = [f"{l['batch_size']}", f"{l['load_value']:g}"]
            got = cells[:2]
            if l["throughput"] is not None:
                want.append(f"{l['throughput']:.1f}")
                want.append(f"{l['latency_p99_ms']:.2f}")
                want.append(f"{l['latency_avg_ms']:.2f}")
                got += cells[3:6]
            if got != want:
                wrong.append(f"{name} @ {l['load_value']:g}: {got} != {want}")
    c.equal(wrong, [], f"{model}: detail tables hold the numbers in results.db")

    # The PDF.
    with open(os.path.join(out, "report.pdf"), "rb") as f:
        c.check(f.read(5) == b"%PDF-", f"{model}: report.pdf starts with %PDF-")
    c.equal(rc.pdf_pages(os.path.join(out, "report.pdf")),
            rc.expected_pages(len(levels), len(pngs), [len(ls) for ls in levels.values()]),
            f"{model}: PDF page count")


def tree_bytes(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            with open(os.path.join(d, f), "rb") as fh:
                out[os.path.relpath(os.path.join(d, f), root)] = fh.read()
    return out


def run(c, infertune, scratch):
    models = {"simA": rc.sim_config("simA"),
              "simB": rc.sim_config("simB", base_us=5000, per_item_us=1000)}
    export = rc.run_analyze(infertune, scratch, models, [
        "--run-config-search-max-instance-count", "2",
        "--run-config-search-max-model-batch-size", "2",
        "-c", "1,2,4", "--latency-budget", "40"])
    p = rc.report(infertune, export)
    c.equal(p.returncode, 0, "infertune report exits 0")
    for m in MODELS:
        c.check(f"{m}: {export}/reports/{m}/report.html" in p.stdout, f"prints the path of {m}'s report")
    for m in MODELS:
        check_model(c, export, m)

    # Byte-stable: the same database gives the same bytes, with or without --models.
    first = tree_bytes(os.path.join(export, "reports"))
    c.equal(rc.report(infertune, export, "--models", "simB").returncode, 0, "--models simB")
    c.equal(rc.report(infertune, export).returncode, 0, "report again")
    second = tree_bytes(os.path.join(export, "reports"))
    c.equal(sorted(first), sorted(second), "same files the second time")
    c.equal([k for k in first if first[k] != second.get(k)], [], "same bytes the second time")
    # Without INFERTUNE_REPORT_TIME the date is results.db's, so still stable.
    c.equal(rc.report(infertune, export, time=None).returncode, 0, "report without a time")
    a = tree_bytes(os.path.join(export, "reports"))
    c.equal(rc.report(infertune, export, time=None).returncode, 0, "report without a time again")
    b = tree_bytes(os.path.join(export, "reports"))
    c.equal([k for k in a if a[k] != b.get(k)], [], "stable without an injected time")

    # An interrupted run: no ranking recorded; the report ranks and says so.
    cut = os.path.join(scratch, "interrupted")
    os.makedirs(cut)
    shutil.copy(os.path.join(export, "results.db"), os.path.join(cut, "results.db"))
    con = sqlite3.connect(os.path.join(cut, "results.db"))
    con.execute("DELETE FROM rankings")
    con.execute("DELETE FROM measurement_windows WHERE measurement_id IN "
                "(SELECT id FROM measurements WHERE load_value = 4)")
    con.execute("DELETE FROM measurement_gpus WHERE measurement_id IN "
                "(SELECT id FROM measurements WHERE load_value = 4)")
    con.execute("DELETE FROM measurements WHERE load_value = 4")
    con.execute("UPDATE runs SET status = 'interrupted', message = 'interrupted (Ctrl-C)'")
    con.commit()
    con.close()
    p = rc.report(infertune, cut, "--models", "simA")
    c.equal(p.returncode, 0, "report of an interrupted run exits 0")
    with open(os.path.join(cut, "reports", "simA", "report.html"), encoding="utf-8") as f:
        html = f.read()
    c.check("did not complete" in html and "interrupted (Ctrl-C)" in html,
            "interrupted run: the report says so")
    c.check("holds no ranking" in html and "Recommended configuration: simA_config_" in html,
            "interrupted run: ranked by the report")

    # Errors.
    p = rc.report(infertune, export, "--models", "nope")
    c.equal(p.returncode, 2, "--models with an unknown model exits 2")
    c.check("nope" in p.stderr, "and names it", p.stderr)
    p = rc.report(infertune, os.path.join(scratch, "nothing-here"))
    c.equal(p.returncode, 2, "no results.db exits 2")
    c.check("results.db" in p.stderr, "and says results.db", p.stderr)
    p = rc.report(infertune, export, "--bogus")
    c.equal(p.returncode, 2, "unknown flag exits 2")


if __name__ == "__main__":
    rc.main(run)
