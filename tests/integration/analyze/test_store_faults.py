#!/usr/bin/env python3
"""results.db under faults (issue #14): what the user sees, what is kept.

- The file reaches its size limit mid-analysis (ulimit -f, as a full disk
  does): the analysis stops with a message that says so and how to resume,
  exits non-zero, the file stays sound with every measurement committed
  before; run again on the same folder, it resumes from there and finishes.
- The file is damaged before a resume or a report (overwritten in the
  middle, or truncated): analyze and report refuse it with a message that
  names the file and says what to do, and leave it byte for byte as it was.
- The export folder is read-only: at the start, analyze refuses it, naming
  it, and creates nothing; made read-only in the middle of an analysis, the
  analysis stops with the path it could not write, keeps every measurement,
  says the CSVs were not written (never that they were), report refuses
  the folder without touching results.db, and once it is writable again
  the same command resumes, reuses every measurement and writes the CSVs.
  Root ignores file modes, so as root these analyses run as nobody.
"""

import hashlib
import os
import resource
import shutil
import sqlite3
import subprocess
import time

from analyze_common import analyze, main, query, sim_config, wait_for, write_repo

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


def unprivileged():
    """The command prefix and uid that make file modes apply: nobody's under root."""
    if os.geteuid() != 0:
        return [], None
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], 65534


def set_writable(folder, writable):
    for d, _, files in os.walk(folder):
        for path in [d] + [os.path.join(d, f) for f in files]:
            mode = os.stat(path).st_mode
            os.chmod(path, mode | 0o200 if writable else mode & ~0o222)


def count_ro(db):
    """Measurements in db, read without creating or changing anything."""
    if not os.path.exists(db):
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return con.execute("SELECT count(*) FROM measurements").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def read_only_folder(c, infertune, base, scratch):
    prefix, uid = unprivileged()
    cmd = prefix + [infertune, "analyze"] + base

    start = os.path.join(scratch, "ro-start")
    os.mkdir(start)
    if uid is not None:
        os.chown(start, uid, -1)
    os.chmod(start, 0o555)
    p = subprocess.run(cmd + ["--export-path", start], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    c.check(p.returncode != 0 and "cannot write in the export folder" in p.stderr and
            start in p.stderr and "--export-path" in p.stderr,
            "read-only at the start: analyze refuses the folder, naming it", p.stderr[-600:])
    c.equal(os.listdir(start), [], "read-only at the start: nothing is created")

    export = os.path.join(scratch, "ro-mid")
    os.mkdir(export)
    if uid is not None:
        os.chown(export, uid, -1)
    db = os.path.join(export, "results.db")
    proc = subprocess.Popen(cmd + ["--export-path", export], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    try:
        c.check(wait_for(lambda: count_ro(db) >= 2, 120), "read-only mid-run: measuring")
        set_writable(export, False)
        out = proc.communicate(timeout=240)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    kept = count_ro(db)
    c.check(proc.returncode != 0 and "Analysis stopped by an error" in out and
            "Permission denied" in out and export in out,
            "read-only mid-run: the analysis stops, naming what it could not write", out[-1500:])
    c.check("were not written" in out and "CSVs in" not in out and
            "resumes and writes them" in out,
            "read-only mid-run: the summary says the CSVs were not written and how to get them",
            out[-800:])
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        sound = con.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        con.close()
    c.equal(sound, "ok", "read-only mid-run: results.db is sound")
    c.check(kept >= 2, "read-only mid-run: every measurement taken is kept", kept)

    before = digest(db)
    r = subprocess.run(prefix + [infertune, "report", "--export-path", export],
                       capture_output=True, text=True, timeout=120)
    c.check(r.returncode != 0 and export in r.stderr and "Permission denied" in r.stderr,
            "read-only: report says what it cannot write", r.stderr[-600:])
    c.equal(digest(db), before, "read-only: report leaves results.db as it was")

    set_writable(export, True)
    p = subprocess.run(cmd + ["--export-path", export], capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL)
    c.equal(p.returncode, 0, "writable again: the same command finishes")
    c.check(f"{kept} reused from results.db" in p.stdout,
            "writable again: every kept measurement is reused", p.stdout[-800:])
    c.check(os.path.exists(os.path.join(export, "results", "measurements.csv")),
            "writable again: the CSVs are written")


def run(c, infertune, scratch):
    repo = write_repo(os.path.join(scratch, "repo"),
                      {"simf": sim_config("simf", base_us=4000, per_item_us=500, slots=2,
                                          max_batch_size=4)})
    base = ["--model-repository", repo, "--profile-models", "simf"] + FLAGS
    good = disk_full(c, infertune, base, scratch)
    damaged(c, infertune, base, good, scratch)
    read_only_folder(c, infertune, base, scratch)
    c.check(query(good, "SELECT count(*) FROM measurements")[0][0] > 0,
            "the resumed export is intact after the damaged copies")


if __name__ == "__main__":
    main(run)
