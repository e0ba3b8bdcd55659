"""Measure one command: a captured run to check its output, hyperfine timings, peak RSS.

The output check is what keeps a broken command from looking fast: the lines
showing the workload (and, for -p listings, the owners' names) must match what
bench/workload.py created.
"""

import json
import os
import re
import statistics
import shlex
import subprocess
import time

# A line belongs to the workload if it shows one of its addresses: 127.0.1.x
# (servers), 127.0.2.x (clients) or ::1 (its IPv6 sockets). Counting only these
# keeps the check exact while other software opens and closes sockets.
WORKLOAD_RE = re.compile(r"127\.0\.[12]\.\d|(?<![0-9a-fA-F:])::1\]?[:.]")
OWNER = "pwb-sock"  # process names of the workload's socket holders


def probe(c):
    """One run with stdout captured: workload lines (or first integer), owner lines, time."""
    t0 = time.perf_counter()
    r = subprocess.run(c["argv"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       timeout=900)
    secs = time.perf_counter() - t0
    out = r.stdout.decode(errors="replace")
    lines = out.splitlines()
    if c["count"] == "int":
        m = re.search(r"\d+", out)
        value = int(m.group()) if m else None
    else:
        value = sum(1 for ln in lines if WORKLOAD_RE.search(ln))
    owners = sum(1 for ln in lines if OWNER in ln)
    return dict(lines=len(lines), value=value, owners=owners, seconds=secs, rc=r.returncode)


def verdict(c, base, now, expected):
    """'ok', '~ok' (within noise from other software) or a reason it is wrong."""
    if now["rc"] != 0:
        return "FAILED: exit code %d" % now["rc"]
    if c["expect"] is None:
        return "ok" if now["lines"] > 0 else "FAILED: no output"
    exp = 0 if c["expect"] == "zero" else expected[c["expect"]]
    seen = None if now["value"] is None else now["value"] - (base["value"] or 0)
    # other software may open or close a few fds / loopback sockets meanwhile
    slack = max(50, exp // 100) if c["expect"] == "fds" else exp // 200
    problems = []
    if seen is None or abs(seen - exp) > slack:
        problems.append("workload lines %s, expected %d" % (seen, exp))
    if c["owners"] and abs(now["owners"] - base["owners"] - exp) > slack:
        problems.append("owner names %d, expected %d" % (now["owners"] - base["owners"], exp))
    if problems:
        return "MISMATCH: " + "; ".join(problems)
    return "ok" if seen == exp else "~ok"


def hyperfine(group, runs, warmup, json_path):
    argv = ["hyperfine", "-N", "-i", "--style", "none", "--warmup", str(warmup),
            "--runs", str(runs), "--export-json", str(json_path)]
    for c in group:
        argv += ["-n", c["name"], shlex.join(c["argv"])]
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        return {}, "hyperfine failed: " + r.stderr.strip()[-300:]
    out = {}
    for res in json.loads(json_path.read_text())["results"]:
        t = res["times"]
        out[res["command"]] = dict(runs=len(t), median=statistics.median(t), min=min(t),
                                   max=max(t), mean=res["mean"], stddev=res.get("stddev"),
                                   user=res["user"], sys=res["system"], times=t)
    return out, None


def peak_rss_kb(argv, runs):
    """Max of GNU time's "Maximum resident set size (kbytes)" over `runs` runs."""
    best = None
    for _ in range(runs):
        r = subprocess.run(["/usr/bin/time", "-v"] + argv, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
        if m:
            best = max(best or 0, int(m.group(1)))
    return best


def workload_tcp_lines():
    r = subprocess.run(["ss", "-Htan"], capture_output=True, text=True)
    return sum(1 for ln in r.stdout.splitlines() if WORKLOAD_RE.search(ln))


def fds_of(pids):
    n = 0
    for pid in pids:
        try:
            n += len(os.listdir("/proc/%d/fd" % pid))
        except OSError:
            pass  # gone: the count check will show it
    return n
