"""Shared helpers for the `infertune report` integration tests.

Standard library only. The fixture is a real `infertune analyze` run on `sim`
models (tests/integration/analyze/analyze_common.py has the helpers), so the
report is tested against the results.db that analyze really writes.
"""

import math
import os
import re
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analyze"))
from analyze_common import Checker, main, sim_config, write_repo  # noqa: E402,F401

# The rows per PDF page (src/report/internal.h).
PDF_TABLE_ROWS = 40
PDF_DETAIL_ROWS = 30
REPORT_TIME = "2030-01-02T03:04:05Z"


def run_analyze(infertune, scratch, models, extra):
    """Analyzes sim models {name: config text} into scratch/export; returns the export path."""
    repo = write_repo(os.path.join(scratch, "repo"), models)
    export = os.path.join(scratch, "export")
    args = [infertune, "analyze", "-m", repo, "--profile-models", ",".join(models),
            "-e", export, "--perf-analyzer-flag", "measurement-interval=250",
            "--duration-seconds", "0.3", "-q"] + extra
    p = subprocess.run(args, capture_output=True, text=True, timeout=600,
                       stdin=subprocess.DEVNULL, env=dict(os.environ, INFERTUNE_REPORT_TIME=REPORT_TIME))
    if p.returncode != 0:
        print(p.stdout[-3000:])
        print(p.stderr[-3000:])
        raise RuntimeError(f"infertune analyze exited {p.returncode}")
    return export


def report(infertune, export, *args, time=REPORT_TIME):
    env = dict(os.environ)
    if time is None:
        env.pop("INFERTUNE_REPORT_TIME", None)
    else:
        env["INFERTUNE_REPORT_TIME"] = time
    return subprocess.run([infertune, "report", "-e", export] + list(args), capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, env=env)


def query(db, sql, *args):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def levels_by_config(db, model):
    """{variant name: [row dict]} of the latest run's measurement settings."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        rows = con.execute("""
            SELECT v.name AS variant, m.* FROM measurements m
            JOIN variants v ON v.id = m.variant_id JOIN models md ON md.id = v.model_id
            WHERE md.name = ? AND m.profile_key =
                  (SELECT profile_key FROM runs ORDER BY id DESC LIMIT 1)
            ORDER BY m.batch_size, m.load_kind, m.load_value, m.id""", (model,)).fetchall()
        names = [r[0] for r in con.execute(
            "SELECT v.name FROM variants v JOIN models m ON m.id = v.model_id WHERE m.name = ?",
            (model,))]
    finally:
        con.close()
    out = {n: [] for n in names}
    for r in rows:
        out[r["variant"]].append(dict(r))
    return out


def pdf_pages(path):
    """Page count of a PDF: pdfinfo when installed, else cairo's /Type /Page objects."""
    try:
        p = subprocess.run(["pdfinfo", path], capture_output=True, text=True, timeout=60)
        m = re.search(r"^Pages:\s+(\d+)", p.stdout, re.M)
        if p.returncode == 0 and m:
            return int(m.group(1))
    except FileNotFoundError:
        pass
    with open(path, "rb") as f:
        return len(re.findall(rb"/Type\s*/Page[^s]", f.read()))


def expected_pages(n_configs, n_charts, level_counts):
    pages = 1 + max(1, math.ceil(n_configs / PDF_TABLE_ROWS)) + math.ceil(n_charts / 2)
    for n in level_counts:
        pages += max(1, math.ceil(n / PDF_DETAIL_ROWS))
    return pages
