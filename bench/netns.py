#!/usr/bin/env python3
"""portwatch -N all next to the ss loop over the same network namespaces (issue #11).

  1. optionally start a host population (a bench/workload.py preset, stopped by pid);
  2. create --namespaces namespaces (`ip netns add pwbench-ns-PID-I`, lo up), each with
     bench/netns_pop.py holding --sockets sockets (TCP listeners and connections, UDP);
  3. check one captured run of each command (its lines showing the namespaces' sockets,
     and the owner names, must be what was created: a broken command cannot look fast);
  4. time with hyperfine, side by side:
       nsall:  `portwatch -tuanp -N all`
               against `sh -c 'for ns in ...; do ip netns exec $ns ss -tuanp; done'`
       host:   `portwatch -tuanp` (host only), and --baseline's when given;
  5. stop every population by pid and delete the namespaces.
Writes bench/results/<UTC stamp>-netns/{results.json,report.md}; the target is
median(portwatch -N all) <= 0.3 x median(ss loop).

  sudo python3 bench/netns.py                          # 50 x 100, small host population
  sudo python3 bench/netns.py --host-preset large      # the issue's scale (slow: ss -p per ns)
  sudo python3 bench/netns.py --baseline /path/to/main/portwatch
"""

import argparse
import datetime as dt
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))
import measure  # noqa: E402  (hyperfine in two halves)
import run as harness  # noqa: E402  (Workload, find_portwatch, ensure_tools, log)

TARGET = 0.3
OWNER = "pwbench-ns"


class Namespaces:
    """The benchmark's namespaces and their populations, removed on exit (also on error)."""

    def __init__(self, count, sockets, port_base):
        self.names = ["pwbench-ns-%d-%d" % (os.getpid(), i) for i in range(count)]
        self.sockets, self.port_base = sockets, port_base
        self.procs = []

    def __enter__(self):
        for name in self.names:
            subprocess.run(["ip", "netns", "add", name], check=True)
            subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
            p = subprocess.Popen(
                ["ip", "netns", "exec", name, sys.executable, str(HERE / "netns_pop.py"),
                 "--sockets", str(self.sockets), "--port-base", str(self.port_base)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self.procs.append(p)
        for p in self.procs:
            line = p.stdout.readline().decode()
            if not line.startswith("ready"):
                raise RuntimeError("a namespace population did not start: %r" % line)
        return self

    def __exit__(self, *_):
        for p in self.procs:  # `ip netns exec` execs python: the pid is the population's
            try:
                p.stdin.close()
            except OSError:
                pass
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for name in self.names:
            subprocess.run(["ip", "netns", "del", name])

    def matcher(self):
        lo = self.port_base
        hi = lo + self.sockets // 10 * 2  # listeners and UDP ports
        port = re.compile(r"127\.0\.0\.1:(\d+)")

        def match(line):
            return any(lo <= int(p) < hi for p in port.findall(line))
        return match


def check(c, match, expected):
    """One captured run: the namespaces' lines and owner names must be what was made."""
    t0 = time.perf_counter()
    r = subprocess.run(c["argv"], capture_output=True, text=True, timeout=3600)
    secs = time.perf_counter() - t0
    lines = [ln for ln in r.stdout.splitlines() if match(ln)]
    owners = sum(1 for ln in lines if OWNER in ln)
    problems = []
    if r.returncode != 0:
        problems.append("exit code %d" % r.returncode)
    if len(lines) != expected:
        problems.append("namespace lines %d, expected %d" % (len(lines), expected))
    if owners != expected:
        problems.append("owner names %d, expected %d" % (owners, expected))
    return ("MISMATCH: " + "; ".join(problems)) if problems else "ok", secs


def group(name, cmds, match, expected, args, outdir):
    res = {"name": name, "commands": {}}
    slowest = 0.0
    for c in cmds:
        v, secs = check(c, match, expected) if c.get("checked") else ("not checked", 0.0)
        slowest = max(slowest, secs)
        res["commands"][c["name"]] = {"argv": c["argv"], "check": v}
        harness.log("%-34s %s (%.2f s)" % (c["name"], v, secs))
    runs = max(args.min_runs, min(args.max_runs, int(args.budget / max(slowest, 1e-3))))
    timing, err, argvs = measure.hyperfine(cmds, runs, 1 if slowest < 1 else 0,
                                           outdir / ("hf-netns-%s" % name))
    res.update(runs=runs, error=err, hyperfine=[shlex.join(a) for a in argvs])
    for c in cmds:
        t = timing.get(c["name"], {})
        res["commands"][c["name"]].update({k: t.get(k) for k in ("median", "min", "max",
                                                                 "user", "sys", "runs")})
        if t:
            harness.log("%-34s median %9.2f ms  min %9.2f  max %9.2f" % (
                c["name"], t["median"] * 1e3, t["min"] * 1e3, t["max"] * 1e3))
    return res


def ratio(g, a, b, key="median"):
    x, y = g["commands"][a].get(key), g["commands"][b].get(key)
    return None if not x or not y else x / y


def cpu(c):
    """Mean user + system seconds per run (children included): on a shared machine the
    wall time also measures the neighbours, the CPU time much less so."""
    if c.get("user") is None or c.get("sys") is None:
        return None
    return c["user"] + c["sys"]


def report(data):
    ms = lambda v: "-" if v is None else "%.1f" % (v * 1e3)  # noqa: E731
    L = ["# portwatch -N all: benchmark", "",
         "%s, kernel %s, %s CPUs; %s; portwatch %s" % (
             data["date_utc"], data["kernel"], data["cpus"], data["ss"], data["portwatch"]),
         "", "Scale: %d namespaces x %d sockets; host population: %s." % (
             data["namespaces"], data["sockets"], data["host_preset"]), "",
         "| command | check | runs | median ms | min ms | max ms | cpu ms (user+sys) |",
         "|---|---|---|---|---|---|---|"]
    for g in data["groups"]:
        for name, c in g["commands"].items():
            L.append("| `%s` | %s | %s | %s | %s | %s | %s |" % (
                name, c["check"], c.get("runs") or "-", ms(c.get("median")), ms(c.get("min")),
                ms(c.get("max")), ms(cpu(c))))
    L += ["", "| target | measured | limit | verdict |", "|---|---|---|---|"]
    r = data.get("ratio")
    L.append("| `-tuanp -N all` / ss loop (median wall) | %s | %.1fx | %s |" % (
        "-" if r is None else "%.3fx" % r, TARGET, data["verdict"]))
    rc = data.get("cpu_ratio")
    L.append("| the same, CPU time | %s | %.1fx | %s |" % (
        "-" if rc is None else "%.3fx" % rc, TARGET,
        "-" if rc is None else ("PASS" if rc <= TARGET else "FAIL")))
    if data.get("host_ratio") is not None:
        L.append("| `-tuanp` host only / baseline (median wall) | %.3fx | 1.0x (not slower) | %s |"
                 % (data["host_ratio"], "PASS" if data["host_ratio"] <= 1.05 else "FAIL"))
    if data.get("host_cpu_ratio") is not None:
        L.append("| the same, CPU time | %.3fx | 1.0x (not slower) | %s |" % (
            data["host_cpu_ratio"], "PASS" if data["host_cpu_ratio"] <= 1.05 else "FAIL"))
    L += ["", "Commands: see results.json (`hyperfine` lines included)."]
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--namespaces", type=int, default=50)
    ap.add_argument("--sockets", type=int, default=100, help="per namespace (%(default)s)")
    ap.add_argument("--port-base", type=int, default=25000)
    ap.add_argument("--host-preset", default="small",
                    help="bench/workload.py preset on the host, or none (%(default)s)")
    ap.add_argument("--host-args", default="",
                    help="extra workload.py arguments for the host population (--port-base ...)")
    ap.add_argument("--portwatch", metavar="PATH")
    ap.add_argument("--baseline", metavar="PATH", help="another portwatch for the host-only row")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--budget", type=float, default=20.0)
    ap.add_argument("--min-runs", type=int, default=5)
    ap.add_argument("--max-runs", type=int, default=30)
    ap.add_argument("--no-install", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: creating and entering namespaces needs it")
    harness.ensure_tools(not args.no_install)
    pw = harness.find_portwatch(argparse.Namespace(
        no_portwatch=False, portwatch=args.portwatch, no_build=args.no_build))
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    outdir = HERE / "results" / (stamp + "-netns")
    outdir.mkdir(parents=True, exist_ok=True)
    data = {"date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "kernel": os.uname().release, "cpus": os.cpu_count(), "ss": harness.sh("ss -V"),
            "portwatch": harness.sh(shlex.quote(pw) + " --version"),
            "namespaces": args.namespaces, "sockets": args.sockets,
            "host_preset": args.host_preset, "groups": []}
    host = None
    try:
        if args.host_preset != "none":
            host = harness.Workload(args.host_preset, outdir, shlex.split(args.host_args))
            summary = host.start()
            harness.log("host population ready: %d sockets" % summary["expected"]["sockets"])
        with Namespaces(args.namespaces, args.sockets, args.port_base) as ns:
            expected = args.namespaces * args.sockets
            match = ns.matcher()
            loop = "for ns in %s; do ip netns exec $ns ss -tuanp; done" % " ".join(ns.names)
            nsall = [
                dict(name="portwatch -tuanp -N all", argv=[pw, "-tuanp", "-N", "all"],
                     checked=True),
                dict(name="ss loop (ip netns exec NS ss -tuanp)", argv=["sh", "-c", loop],
                     checked=True),
            ]
            data["groups"].append(group("nsall", nsall, match, expected, args, outdir))
            hostonly = [dict(name="portwatch -tuanp", argv=[pw, "-tuanp"])]
            if args.baseline:
                hostonly.append(dict(name="baseline -tuanp", argv=[args.baseline, "-tuanp"]))
            data["groups"].append(group("host", hostonly, match, 0, args, outdir))
    finally:
        if host is not None:
            host.stop()
    g = data["groups"][0] if data["groups"] else None
    r = ratio(g, *list(g["commands"])) if g else None
    ok = g and all(c["check"] == "ok" for c in g["commands"].values())
    data["ratio"] = r
    if g:
        a, b = [cpu(c) for c in g["commands"].values()]
        data["cpu_ratio"] = a / b if a and b else None
    data["verdict"] = ("PASS" if r is not None and r <= TARGET else "FAIL") if ok else "INVALID"
    if len(data["groups"]) > 1 and args.baseline:
        data["host_ratio"] = ratio(data["groups"][1], "portwatch -tuanp", "baseline -tuanp")
        h = data["groups"][1]["commands"]
        a, b = cpu(h["portwatch -tuanp"]), cpu(h["baseline -tuanp"])
        data["host_cpu_ratio"] = a / b if a and b else None
    (outdir / "results.json").write_text(json.dumps(data, indent=1))
    (outdir / "report.md").write_text(report(data))
    print(report(data))


if __name__ == "__main__":
    main()
