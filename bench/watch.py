#!/usr/bin/env python3
"""The watch benchmark (issue #12): what one `portwatch watch -tanp` read costs next to a
full `portwatch -antp` listing while a share of the connections is replaced every second,
and whether watch's memory stays flat over a long run.

    sudo python3 bench/watch.py                              # large, 1%/s, RSS for 10 min
    sudo python3 bench/watch.py --scale medium --rss-minutes 0

It builds the population with bench/workload.py (--churn), times --listings runs of
`portwatch -antp` before and after --reads timed reads of `portwatch watch -tanp --timings`
(wall and CPU per read, as watch itself measures them; the first read, a full one, is left
out), then samples VmRSS of a watch left running --rss-minutes. Prints a table and writes
bench/results/<stamp>-watch/results.json; the population is stopped by pid at the end.
"""

import argparse
import datetime as dt
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run  # noqa: E402  (bench/run.py: the workload runner and the portwatch binary)

TIMING = re.compile(r"read (\d+): wall ([\d.]+) ms, cpu ([\d.]+) ms, "
                    r"opened (\d+) closed (\d+) changed (\d+).*\((\w+)\)$", re.M)


def log(*a):
    print("[watch-bench]", *a, file=sys.stderr, flush=True)


def timed(argv):
    """Wall and CPU (user + system) seconds of one run, output discarded."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("%s failed" % " ".join(argv))
    return wall, ru.ru_utime + ru.ru_stime


def listings(pw, n, args=("-antp",)):
    runs = [timed([pw, *args]) for _ in range(n)]
    return [w for w, _ in runs], [c for _, c in runs]


def watch_reads(pw, reads, interval, how="auto"):
    """Per-read (wall ms, cpu ms, opened, closed, changed) of a watch with `--reads how`,
    the first read left out, and how each read was made (fed, glimpsed, full)."""
    argv = [pw, "watch", "-tanp", "--json", "--timings", "--interval", interval,
            "--reads", how, "--count", str(reads + 1)]
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError("watch failed: " + p.stderr[-500:])
    found = [m for m in TIMING.finditer(p.stderr) if int(m.group(1)) > 1]
    rows = [tuple(float(x) for x in m.groups()[1:6]) for m in found]
    modes = sorted({m.group(7) for m in found})
    if len(rows) != reads:
        raise RuntimeError("expected %d timed reads, got %d: %s" % (reads, len(rows),
                                                                   p.stderr[-500:]))
    return rows, modes


def rss_run(pw, minutes, interval):
    """(seconds, VmRSS KiB) samples every second of a watch left running `minutes`. A
    sample lands anywhere in a read (its rows come and go), so trends are judged on each
    minute's maximum, not on single samples."""
    argv = [pw, "watch", "-tanp", "--json", "--interval", interval,
            "--duration", "%dm" % minutes]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples, t0 = [], time.monotonic()
    try:
        while p.poll() is None:
            time.sleep(1)
            try:
                with open("/proc/%d/status" % p.pid) as f:
                    kb = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            except (OSError, StopIteration):
                break
            samples.append((round(time.monotonic() - t0), kb))
    finally:
        if p.poll() is None:
            p.kill()  # our own child
        p.wait()
    return samples


def slope(samples):
    """Least-squares KiB per minute."""
    if len(samples) < 2:
        return 0.0
    xs = [t / 60 for t, _ in samples]
    ys = [kb for _, kb in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="large", help="workload preset (%(default)s)")
    ap.add_argument("--churn", type=float, default=0.01,
                    help="share of the connections replaced per second (%(default)s)")
    ap.add_argument("--reads", type=int, default=30, help="timed watch reads (%(default)s)")
    ap.add_argument("--interval", default="1s", help="watch --interval (%(default)s)")
    ap.add_argument("--ways", default="auto,glimpse",
                    help="watch --reads values to time, comma-separated (%(default)s)")
    ap.add_argument("--listings", type=int, default=5,
                    help="-antp runs before and after the watch reads (%(default)s each)")
    ap.add_argument("--rss-minutes", type=int, default=10,
                    help="minutes of watch for the RSS samples; 0 skips (%(default)s)")
    ap.add_argument("--workload-args", default="", help="extra workload.py arguments")
    ap.add_argument("--portwatch", help="portwatch binary (default: the release build)")
    ap.add_argument("--no-build", action="store_true", help="never run cargo build")
    args = ap.parse_args()
    args.no_portwatch = False
    pw = run.find_portwatch(args)

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    outdir = HERE / "results" / (stamp + "-watch")
    outdir.mkdir(parents=True, exist_ok=True)
    extra = ["--churn", str(args.churn)] + shlex.split(args.workload_args)
    wl = run.Workload(args.scale, outdir, extra)
    res = {"scale": args.scale, "churn_per_s": args.churn, "portwatch": pw,
           "load_before": os.getloadavg()}
    try:
        log("building the %s population (churn %g/s)" % (args.scale, args.churn))
        res["population"] = wl.start()
        time.sleep(3)
        log("%d x portwatch -antp" % args.listings)
        w1, c1 = listings(pw, args.listings)
        ways = {}
        for how in args.ways.split(","):
            log("%d watch reads, --reads %s" % (args.reads, how))
            ways[how] = watch_reads(pw, args.reads, args.interval, how)
        log("%d x portwatch -antp" % args.listings)
        w2, c2 = listings(pw, args.listings)
        res["antp"] = {"wall_s": w1 + w2, "cpu_s": c1 + c2}
        # What a read cannot avoid (the dump and the rows, no owners), and the listing with
        # the /proc owner scan that watch's owner tracker replaces.
        log("%d x portwatch -ant, -antp --owners proc" % args.listings)
        w, c = listings(pw, args.listings, ["-ant"])
        res["ant"] = {"wall_s": w, "cpu_s": c}
        w, c = listings(pw, args.listings, ["-antp", "--owners", "proc"])
        res["antp_proc"] = {"wall_s": w, "cpu_s": c}
        res["watch_reads"] = {
            how: {"modes": modes,
                  "reads": [dict(zip(("wall_ms", "cpu_ms", "opened", "closed", "changed"), r))
                            for r in rows]}
            for how, (rows, modes) in ways.items()}
        if args.rss_minutes > 0:
            log("RSS of a %d-minute watch" % args.rss_minutes)
            res["rss_kib"] = rss_run(pw, args.rss_minutes, args.interval)
    finally:
        left = wl.stop()
        if left:
            log("still alive after stop: %s" % left)
    res["load_after"] = os.getloadavg()
    (outdir / "results.json").write_text(json.dumps(res, indent=1))

    med = statistics.median
    antp_wall, antp_cpu = med(res["antp"]["wall_s"]) * 1e3, med(res["antp"]["cpu_s"]) * 1e3
    print("| %s, %g%%/s churn | median ms | vs -antp |" % (args.scale, args.churn * 100))
    print("|---|---|---|")
    print("| `portwatch -antp` wall | %.0f | 1 |" % antp_wall)
    print("| `portwatch -antp` CPU | %.0f | 1 |" % antp_cpu)
    for key, name in (("ant", "`portwatch -ant` (no owners)"),
                      ("antp_proc", "`portwatch -antp --owners proc`")):
        if key in res:
            wall = med(res[key]["wall_s"]) * 1e3
            print("| %s wall | %.0f | %.2fx |" % (name, wall, wall / antp_wall))
    verdicts = []
    for how, (reads, modes) in ways.items():
        read_wall = med(r[0] for r in reads)
        read_cpu = med(r[1] for r in reads)
        name = "one `watch -tanp --reads %s` read (%s)" % (how, "/".join(modes))
        print("| %s, wall | %.0f | %.2fx |" % (name, read_wall, read_wall / antp_wall))
        print("| %s, CPU | %.0f | %.2fx |" % (name, read_cpu, read_cpu / antp_cpu))
        verdicts.append((how, read_wall / antp_wall))
    opened = statistics.fmean(r[2] for rows, _ in ways.values() for r in rows)
    print("\nopened per read (mean): %.0f; load average before %.1f, after %.1f"
          % (opened, res["load_before"][0], res["load_after"][0]))
    for how, ratio in verdicts:
        verdict = "PASS" if ratio <= 0.35 else "FAIL"
        print("target: a --reads %s read at most 0.35x of -antp (wall): %s" % (how, verdict))
    if res.get("rss_kib"):
        s = res["rss_kib"]
        per_min = {}
        for t, kb in s:
            per_min[t // 60] = max(per_min.get(t // 60, 0), kb)
        peaks = [per_min[m] for m in sorted(per_min)]
        print("RSS over %d min, each minute's peak (KiB): %s" % (args.rss_minutes,
                                                              ", ".join(map(str, peaks))))
        trend = slope([(m * 60, kb) for m, kb in enumerate(peaks)])
        print("first minute %d KiB, last minute %d KiB, slope of the peaks %+.0f KiB/min"
              % (peaks[0], peaks[-1], trend))
    print("results: %s" % (outdir / "results.json"))


if __name__ == "__main__":
    main()
