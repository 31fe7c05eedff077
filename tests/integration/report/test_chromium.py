#!/usr/bin/env python3
"""The HTML report opens in headless Chromium (Debian's `chromium`).

Analyzes one sim model (the default configuration and a small search),
writes the report, then has Chromium load report.html from disk with the
network off: the DOM must hold the summary and every chart image decoded,
the browser must log no page error (console errors, failed loads), and a
screenshot is taken (left in the scratch folder for a person to look at).
Exits 77 (CTest's SKIP_RETURN_CODE) where chromium is not installed.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import report_common as rc

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars"]


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def browse(exe, url, extra, profile):
    return subprocess.run([exe] + FLAGS + [f"--user-data-dir={profile}"] + extra + [url],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def run(c, infertune, scratch):
    exe = chromium()
    export = rc.run_analyze(infertune, scratch, {"simC": rc.sim_config("simC")}, [
        "--run-config-search-max-instance-count", "2",
        "--run-config-search-max-model-batch-size", "1", "-c", "1,2"])
    p = rc.report(infertune, export)
    c.equal(p.returncode, 0, "infertune report exits 0")
    html = os.path.join(export, "reports", "simC", "report.html")
    url = "file://" + os.path.abspath(html)
    with tempfile.TemporaryDirectory(prefix="infertune-chromium-") as profile:
        # The DOM after load, with a script-free check that every image decoded:
        # Chromium prints the DOM; naturalWidth is not in it, so the screenshot
        # below is the visual check and the log the error check.
        dom = browse(exe, url, ["--dump-dom", "--enable-logging=stderr", "--v=0"], profile)
        c.equal(dom.returncode, 0, "chromium --dump-dom exits 0")
        c.check("infertune report: simC" in dom.stdout and "Recommended configuration" in dom.stdout,
                "the DOM holds the report", dom.stdout[:300])
        c.check(dom.stdout.count("<img") >= 5, "the DOM holds the charts")
        errors = [l for l in dom.stderr.splitlines()
                  if re.search(r"CONSOLE|Uncaught|ERR_|Failed to load|net::", l)
                  and "dbus" not in l]
        c.equal(errors, [], "no page error in Chromium's log")
        shot = os.path.join(scratch, "report-screenshot.png")
        s = browse(exe, url, ["--window-size=1280,2400", f"--screenshot={shot}"], profile)
        c.equal(s.returncode, 0, "chromium --screenshot exits 0")
    ok = os.path.isfile(shot)
    c.check(ok, "a screenshot was taken", s.stderr[-500:] if not ok else "")
    if ok:
        with open(shot, "rb") as f:
            head = f.read(24)
        c.check(head[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is a PNG")
        c.check(os.path.getsize(shot) > 50000, "the screenshot is not blank",
                os.path.getsize(shot))
        print(f"screenshot: {shot}")


if __name__ == "__main__":
    if not chromium():
        print("SKIP: chromium is not installed (scripts/packages.txt lists it; "
              "scripts/bootstrap installs it)")
        sys.exit(77)
    rc.main(run)
