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

import workload

# "[::1]:24000", "::1:24000", "::1.24000" or "::1  24000" (port in its own column)
V6_RE = re.compile(r"(?<![0-9a-fA-F:])::1\]?(?:[:.]|\s+)(\d+)")


def workload_matcher(cfg):
    """line -> bool: does the line show a socket of the workload described by cfg?

    Its IPv4 sockets use addresses of their own; on [::1] one end always has a
    port of its range. Counting only these lines keeps the check exact while
    other software opens and closes sockets."""
    v4 = re.compile(r"%s\d|%s\d" % (re.escape(workload.SERVER_NET),
                                     re.escape(workload.CLIENT_NET)))
    lo, hi = cfg["port_base"], workload.top_port(cfg)

    def match(line):
        return bool(v4.search(line)) or any(lo <= int(p) <= hi for p in V6_RE.findall(line))
    return match


def host_fds():
    """Entries in every /proc/PID/fd: what an owner scan walks."""
    n = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                n += len(os.listdir("/proc/%s/fd" % pid))
            except OSError:
                pass  # exited, or not ours to read
    return n


def probe(c, match):
    """One run with stdout captured: workload lines (or first integer), owner lines, time.
    For fd scans, the host's fd count just before and after is kept to compare with."""
    fds_before = host_fds() if c["expect"] == "fds" else None
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
        value = sum(1 for ln in lines if match(ln))
    owners = sum(1 for ln in lines if workload.OWNER in ln)
    fds = (fds_before, host_fds()) if fds_before is not None else None
    return dict(lines=len(lines), value=value, owners=owners, seconds=secs, rc=r.returncode,
                host_fds=fds)


def verdict(c, base, now, expected):
    """'ok', '~ok' (within noise from other software) or a reason it is wrong."""
    if now["rc"] != 0:
        return "FAILED: exit code %d" % now["rc"]
    if c["expect"] is None:
        return "ok" if now["lines"] > 0 else "FAILED: no output"
    if c["expect"] == "fds":  # all of the host's fds, counted around the run
        lo, hi = min(now["host_fds"]), max(now["host_fds"])
        slack = max(50, hi // 100)
        if now["value"] is None or not lo - slack <= now["value"] <= hi + slack:
            return "MISMATCH: %s fd entries, host had %d..%d" % (now["value"], lo, hi)
        return "ok"
    exp = 0 if c["expect"] == "zero" else expected[c["expect"]]
    seen = None if now["value"] is None else now["value"] - (base["value"] or 0)
    slack = exp // 200  # other software's sockets on [::1] in our port range, say
    problems = []
    if seen is None or abs(seen - exp) > slack:
        problems.append("workload lines %s, expected %d" % (seen, exp))
    if c["owners"] and abs(now["owners"] - base["owners"] - exp) > slack:
        problems.append("owner names %d, expected %d" % (now["owners"] - base["owners"], exp))
    if problems:
        return "MISMATCH: " + "; ".join(problems)
    return "ok" if seen == exp else "~ok"


def hyperfine(group, runs, warmup, json_stem):
    """Time a group's commands with hyperfine; returns ({name: timing}, error, argvs).

    The runs are split over two hyperfine calls, the second with the commands in
    reverse order, so that a change in machine load during the group (a shared
    machine) weighs on both sides of a ratio alike."""
    out, argvs = {}, []
    for i, (cmds, n) in enumerate(((group, (runs + 1) // 2), (group[::-1], runs // 2))):
        if n == 0:
            continue
        path = json_stem.with_name("%s-%d.json" % (json_stem.name, i + 1))
        argv = ["hyperfine", "-N", "-i", "--style", "none", "--warmup", str(warmup),
                "--runs", str(n), "--export-json", str(path)]
        for c in cmds:
            argv += ["-n", c["name"], shlex.join(c["argv"])]
        argvs.append(argv)
        r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            return {}, "hyperfine failed: " + r.stderr.strip()[-300:], argvs
        for res in json.loads(path.read_text())["results"]:
            o = out.setdefault(res["command"], dict(times=[], user=0.0, sys=0.0))
            k = len(res["times"])
            o["times"] += res["times"]
            o["user"] += res["user"] * k  # hyperfine reports means: weigh by runs
            o["sys"] += res["system"] * k
    for o in out.values():
        t = o["times"]
        o.update(runs=len(t), median=statistics.median(t), min=min(t), max=max(t),
                 mean=statistics.mean(t), stddev=statistics.stdev(t) if len(t) > 1 else None,
                 user=o["user"] / len(t), sys=o["sys"] / len(t))
    return out, None, argvs


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


def workload_tcp_lines(match):
    r = subprocess.run(["ss", "-Htan"], capture_output=True, text=True)
    return sum(1 for ln in r.stdout.splitlines() if match(ln))


def fds_of(pids):
    n = 0
    for pid in pids:
        try:
            n += len(os.listdir("/proc/%d/fd" % pid))
        except OSError:
            pass  # gone: the count check will show it
    return n
