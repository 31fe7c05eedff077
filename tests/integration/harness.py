"""The frame every Python integration test runs in (standard library only).

A test script calls its suite's `main(run)`, which calls `harness.main(run,
prefix)`: `run(checker, infertune, scratch)` gets a Checker that prints one
line per check, a fresh scratch folder, and the verdict line `N passed, M
failed` with a non-zero exit on any failure (a crash counts as one).
"""

import os
import shutil
import sys
import traceback


class Checker:
    """Counts checks and prints one line per check."""

    def __init__(self, name=""):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print(f"ok - {what}", flush=True)
        else:
            self.failed += 1
            extra = f": {detail}" if detail != "" else ""
            print(f"FAIL - {what}{extra}", flush=True)
        return bool(cond)

    def equal(self, got, want, what):
        return self.check(got == want, what, f"got {got!r}, want {want!r}")

    def near(self, got, want, rel, what):
        """|got - want| <= rel * want."""
        ok = got is not None and abs(got - want) <= rel * want
        return self.check(ok, f"{what}: {got:.4g} within {rel:.0%} of {want:.4g}"
                          if got is not None else what, f"got {got}, want {want}")


def main(run, prefix=""):
    """Runs run(checker, infertune, scratch) and exits with the verdict."""
    if len(sys.argv) != 3:
        print(f"usage: {sys.argv[0]} INFERTUNE SCRATCH_DIR", file=sys.stderr)
        sys.exit(2)
    infertune, scratch = os.path.abspath(sys.argv[1]), sys.argv[2]
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    scratch = os.path.join(os.path.abspath(scratch), prefix + name)
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    c = Checker(name)
    try:
        run(c, infertune, scratch)
    except Exception:  # a crash is a failed check, with its trace
        traceback.print_exc()
        c.check(False, "test ran to completion")
    print(f"{c.passed} passed, {c.failed} failed", flush=True)
    sys.exit(1 if c.failed else 0)
