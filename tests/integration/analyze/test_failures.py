#!/usr/bin/env python3
"""Failures are recorded and the search goes on.

A manual sweep (model_config_parameters in a YAML file) crosses the sim
backend's fault injection (docs/sim-backend.md): sim_device_slots "0" fails
the load, sim_crash_on_load "1" kills the server while loading, and
sim_abort_after "30" kills it during the measurement. Every failing variant
must be recorded with its reason, the embedded server restarted, the good
variants measured, and a resume must not retry the failed ones.
"""

import os

from analyze_common import analyze, main, query, sim_config, write_repo

YAML = """\
model_repository: {repo}
profile_models:
  simfail:
    model_config_parameters:
      parameters:
        sim_device_slots: ["1", "0"]
        sim_crash_on_load: ["0", "1"]
        sim_abort_after: ["0", "30"]
    parameters:
      concurrency: [1, 2]
perf_analyzer_flags:
  measurement-interval: 250
duration_seconds: 0
skip_summary_reports: true
"""


def run(c, infertune, scratch):
    repo = write_repo(os.path.join(scratch, "repo"),
                      {"simfail": sim_config("simfail", slots=1)})
    cfg = os.path.join(scratch, "fail.yaml")
    with open(cfg, "w") as f:
        f.write(YAML.format(repo=repo))
    export = os.path.join(scratch, "export")
    p = analyze(infertune, ["--config-file", cfg, "--export-path", export], check=0)
    c.equal(p.returncode, 0, "the analysis completes despite the failures")
    rows = query(export, "SELECT label, status, failure_reason FROM variants ORDER BY id")
    by_label = {label: (status, reason or "") for label, status, reason in rows}
    c.equal(len(rows), 9, "default + 8 manual combinations recorded")

    def variant(slots, crash, abort):
        return by_label.get(f"parameters.sim_device_slots={slots} "
                            f"parameters.sim_crash_on_load={crash} "
                            f"parameters.sim_abort_after={abort}", ("missing", ""))

    c.equal(by_label.get("default", ("missing",))[0], "measured", "the default is measured")
    c.equal(variant(1, 0, 0)[0], "measured", "the good combination is measured")
    st, why = variant(1, 0, 30)
    c.check(st == "server_crashed" and "while being measured" in why and "signal 6" in why,
            "a variant that kills the server mid-measurement: server_crashed", (st, why))
    for abort in (0, 30):
        st, why = variant(1, 1, abort)
        c.check(st == "server_crashed" and "while loading" in why,
                f"a variant that kills the server while loading (abort_after {abort})",
                (st, why))
    for crash in (0, 1):
        for abort in (0, 30):
            st, why = variant(0, crash, abort)
            c.check(st == "load_failed" and "sim_device_slots is '0'" in why,
                    f"a variant that fails to load ({crash}, {abort}): load_failed with the reason",
                    (st, why))
    events = query(export, "SELECT kind FROM events")
    c.equal(len(events), 7, "one event per failed variant")
    failed = query(export, """SELECT count(*) FROM measurements WHERE status = 'failed'
                              AND message LIKE '%killed by signal%'""")[0][0]
    c.equal(failed, 1, "the crashed measurement is stored as failed, with the reason")
    c.check("the search goes on" in p.stderr, "failures are reported as they happen")
    with open(os.path.join(export, "server.log")) as f:
        starts = f.read().count("infertune serve ready")
    c.check(starts >= 4, "the embedded server was restarted after each crash", starts)

    # Resume: the failed variants are not tried again.
    n = query(export, "SELECT count(*) FROM measurements")[0][0]
    p = analyze(infertune, ["--config-file", cfg, "--export-path", export], check=0)
    c.equal(p.returncode, 0, "the resumed analysis completes")
    c.equal(query(export, "SELECT count(*) FROM measurements")[0][0], n,
            "nothing is measured again")
    c.check("not tried again" in p.stderr, "failed variants are skipped on resume")


if __name__ == "__main__":
    main(run)
