#!/usr/bin/env python3
"""Open loop (--request-rate-range) against simulated devices:

- Poisson arrivals below capacity: the achieved rate is within 5% of the
  target, latency is the service time, and the client sends on time;
- constant arrivals above capacity (125/s into a 100/s device): throughput is
  the device's capacity and the latency, measured from the *scheduled* send
  time, grows with the queue as the fluid model says: a request completing
  at time t after the load started waited t * (1 - mu / lambda); the level
  cannot stabilise, and the run says so and exits 1."""

import re

from profile_common import SchedulingProbe, Server, main, profile, sim_model

FAST_US = 2000          # 8 slots: capacity 4000/s
SLOW_US = 10000         # 1 slot: capacity 100/s
PASS_RE = re.compile(r"Pass \[(\d+)\] throughput: ([0-9.e+]+) infer/sec\. Avg latency: (\d+) usec")


def run(c, infertune, scratch):
    repo = f"{scratch}/repo"
    sim_model(repo, "fast", FAST_US, slots=8, instances=8)
    sim_model(repo, "slow", SLOW_US, slots=1, instances=1)
    with Server(infertune, scratch, repo) as s:
        # --- Poisson below capacity -------------------------------------
        # The client must send on time: under 1% of requests more than 1 ms
        # late, or, on a machine too busy to wake any thread on time (the
        # probe), no more than twice the share of late wake-ups it saw.
        rate = 800
        for attempt in (1, 2, 3, 4, 5):
            with SchedulingProbe() as probe:
                r = profile(infertune, scratch, ["-m", "fast", "-u", s.url, "-p", "3000",
                                                 "--request-rate-range", str(rate),
                                                 "--request-distribution", "poisson",
                                                 "--seed", "3"])
            allowed_pct = max(1.0, 2 * probe.late_pct)
            late = re.search(r"Delayed requests: (\d+) \(([0-9.]+)%\)", r.out)
            # A host that cannot wake threads on time also delays the
            # server's answers: such an attempt is measured again.
            ok = r.code == 0 and r.rows and late and float(late.group(2)) < allowed_pct and \
                abs(float(r.rows[0]["Inferences/Second"]) - rate) <= 0.05 * rate and \
                abs(float(r.rows[0]["p50 latency"]) - FAST_US) <= 0.25 * FAST_US
            if ok:
                break
            print(f"# attempt {attempt} missed", flush=True)
        c.check(r.code == 0, "Poisson at 800/s into a 4000/s device is stable", r)
        if r.rows:
            row = r.rows[0]
            c.check(row["Request Rate"] == "800", "the CSV's first column is the request rate",
                    row)
            c.near(float(row["Inferences/Second"]), rate, 0.05, "achieved rate")
            c.near(float(row["p50 latency"]), FAST_US, 0.25,
                   "median latency is the service time (no queueing at 20% load)")
        m = re.search(r"Delayed requests: (\d+) \(([0-9.]+)%\)", r.out)
        c.check(m is not None and float(m.group(2)) < allowed_pct,
                f"the client sent on time (under {allowed_pct:.1f}% of requests more than 1 ms late;"
                f" a sleeping thread woke late {probe.late_pct:.1f}% of the time)",
                m.group(0) if m else r.out[-1500:])
        c.check("Using poisson distribution on request generation (seed 3)" in r.out,
                "settings name the distribution and the seed")

        # --- constant 125/s above a 100/s capacity -------------------------
        lam, mu = 125.0, 1e6 / SLOW_US
        r = profile(infertune, scratch, ["-m", "slow", "-u", s.url, "-p", "1000", "-r", "4",
                                         "--request-rate-range", str(int(lam)), "-v"])
        c.check(r.code == 1, "overload cannot stabilise and the exit status says so", r)
        c.check("Failed to obtain stable measurement within 4 measurement windows for request rate 125/s"
                in r.err, "the message names the level", r.err)
        passes = [(int(k), float(x), int(lat)) for k, x, lat in PASS_RE.findall(r.out)]
        c.check(len(passes) == 4, "four windows reported with their numbers", r.out)
        if len(passes) == 4:
            for k, x, lat in passes:
                c.near(x, mu, 0.10, f"window {k}: throughput is the device's capacity")
            # The device's real capacity (a loaded machine adds a little to
            # each execution) sets the growth: (1 - mu/lambda) s per s, 0.2
            # at the nominal 100/s.
            mu_obs = sum(x for _, x, _ in passes) / len(passes)
            growth = 1 - mu_obs / lam
            slope = (passes[3][2] - passes[0][2]) / 1e6 / 3.0
            c.near(slope, growth, 0.15, f"latency grows {growth:.3f} s per second of overload")
            for k, x, lat in passes:
                # Windows start a little after the load (statistics read): allow 25%.
                want = (k - 0.5) * growth * 1e6 + SLOW_US
                c.near(lat, want, 0.25, f"window {k}: latency includes the queueing")
        c.check(not r.rows, "an unstable level is not a CSV row (as in perf_analyzer)",
                r.csv_text)


if __name__ == "__main__":
    main(run)
