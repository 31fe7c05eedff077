#!/usr/bin/env python3
"""results.db under faults (issue #14): what the user sees, what is kept.

- The file reaches its size limit mid-analysis (ulimit -f, as a full disk
  does): the analysis stops with a message that says so and how to resume,
  exits non-zero, the file stays sound with every measurement committed
  before; run again on the same folder, it resumes from there and finishes.
- The file is damaged before a resume or a report (overwritten in the
  middle, or truncated): analyze and report refuse it with a message that
  names the file and says what to do, and leave it byte for byte as it was.
"""

import hashlib
import os
import resource
import shutil
import sqlite3
import subprocess

from analyze_common import analyze, main, query, sim_config, write_repo

FLAGS = ["--perf-analyzer-flag", "measurement-interval=200", "--duration-seconds", "0",
         "--skip-summary-reports", "--run-config-search-max-instance-count", "2",
         "--run-config-search-max-model-batch-size", "4", "-c", "1,2"]


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def size_limit(kib):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (kib * 1024, kib * 1024))
    return apply


def disk_full(c, infertune, base, scratch):
    export = os.path.join(scratch, "full")
    # A new results.db is about 120 KiB; its WAL grows past 300 KiB within a
    # few measurements.
    p = subprocess.run([infertune, "analyze"] + base + ["--export-path", export],
                       capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL, preexec_fn=size_limit(300))
    out = p.stdout + p.stderr
    c.check(p.returncode != 0, "size limit: analyze exits non-zero", p.returncode)
    c.check("Analysis stopped by an error" in out and "size limit" in out and
            "run again with the same export path to resume" in out,
            "size limit: the message says what happened and how to resume", out[-1200:])
    db = os.path.join(export, "results.db")
    con = sqlite3.connect(db)
    try:
        sound = con.execute("PRAGMA quick_check").fetchone()[0]
        kept = con.execute("SELECT count(*) FROM measurements").fetchone()[0]
    finally:
        con.close()
    c.equal(sound, "ok", "size limit: results.db is sound")
    c.check(kept >= 1, "size limit: the measurements committed before are kept", kept)
    p = analyze(infertune, base + ["--export-path", export], check=0)
    c.equal(p.returncode, 0, "size limit lifted: the resumed analysis finishes")
    c.check(f"{kept} reused from results.db" in p.stdout,
            "size limit lifted: every kept measurement is reused", p.stdout[-800:])
    return export


def damaged(c, infertune, base, good, scratch):
    for what, spoil in (("overwritten", lambda f, n: (f.seek(n // 2),
                                                      f.write(b"\xde\xad" * 2048))),
                        ("truncated", lambda f, n: f.truncate(n // 2))):
        export = os.path.join(scratch, what)
        shutil.copytree(good, export)
        db = os.path.join(export, "results.db")
        with open(db, "r+b") as f:
            spoil(f, os.path.getsize(db))
        before = digest(db)
        p = analyze(infertune, base + ["--export-path", export], check=1)
        c.check(p.returncode != 0 and db in p.stderr and "damaged" in p.stderr and
                "move it aside" in p.stderr,
                f"{what}: analyze refuses the file, naming it and what to do", p.stderr[-600:])
        c.check("measured " not in p.stdout, f"{what}: nothing is measured", p.stdout[-400:])
        r = subprocess.run([infertune, "report", "--export-path", export],
                           capture_output=True, text=True, timeout=120)
        c.check(r.returncode != 0 and "damaged" in r.stderr,
                f"{what}: report refuses it too", r.stderr[-600:])
        c.equal(digest(db), before, f"{what}: the file is left byte for byte as it was")


def run(c, infertune, scratch):
    repo = write_repo(os.path.join(scratch, "repo"),
                      {"simf": sim_config("simf", base_us=4000, per_item_us=500, slots=2,
                                          max_batch_size=4)})
    base = ["--model-repository", repo, "--profile-models", "simf"] + FLAGS
    good = disk_full(c, infertune, base, scratch)
    damaged(c, infertune, base, good, scratch)
    c.check(query(good, "SELECT count(*) FROM measurements")[0][0] > 0,
            "the resumed export is intact after the damaged copies")


if __name__ == "__main__":
    main(run)
