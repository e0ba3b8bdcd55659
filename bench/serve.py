#!/usr/bin/env python3
"""What one scrape of `portwatch serve` costs, next to the listing it is built on and ss.

On one bench/workload.py population (default: the large preset):
  1. start two servers, `portwatch serve -lntp --min-interval 0` (every scrape collects)
     and `portwatch serve -lntp --min-interval 1h` (every scrape after the first is
     served from the cache), each on a loopback port of the kernel's choosing;
  2. check each command once: the scrape must carry one listener series per workload
     listener named pwbench-sock-N, the listing one owner line per workload listener;
  3. time, in rounds whose order rotates, `portwatch -lntp --json` and `ss -lntp` (a
     process each: wall from spawn to exit, CPU from wait4) and an uncached scrape
     (wall from connect to the last byte; CPU from the server's /proc/PID/stat);
  4. time 200 cached scrapes;
  5. stop both servers and the workload by pid.
The targets of issue #16: an uncached scrape at most 1.1x `portwatch -lntp --json` and
under 0.35x `ss -lntp` (median wall), a cached scrape under 5 ms.
Writes bench/results/serve-<UTC stamp>/{results.json,report.md}.

  sudo python3 bench/serve.py                        # large, ~3 min
  (in a private network namespace, so other populations on the host do not interfere)
  sudo python3 bench/serve.py --preset small --rounds 10
"""

import argparse
import datetime as dt
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(HERE))
import run  # noqa: E402  (bench/run.py: the build and the workload)

TICK = os.sysconf("SC_CLK_TCK")


def log(*a):
    print("[%s]" % time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


class Server:
    """`portwatch serve ARGS` on 127.0.0.1:0; stopped with SIGTERM (then SIGKILL) by pid."""

    def __init__(self, pw, args):
        self.proc = subprocess.Popen([pw, "serve", "--listen", "127.0.0.1:0"] + args,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
                # Keep reading what it says later, so a full pipe never blocks it.
                threading.Thread(target=self.proc.stderr.read, daemon=True).start()
                return
        raise RuntimeError("serve %s exited: %s" % (args, self.proc.wait()))

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime

    def peak_rss_mib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            kib = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
        return kib / 1024

    def scrape(self):
        """(wall seconds, body) of one GET /metrics on a fresh connection."""
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            chunks = []
            while True:
                b = s.recv(1 << 20)
                if not b:
                    break
                chunks.append(b)
        wall = time.perf_counter() - t0
        raw = b"".join(chunks)
        head, _, body = raw.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("scrape: %r" % head[:100])
        return wall, body.decode()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def enter_private_netns(name):
    """Create network namespace NAME (lo up) and move this process into it, so the workload,
    the servers, the listing and ss all see only this run's sockets (other populations on
    the host stay in theirs). Processes are still the host's: owner scans read them all."""
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "setns " + name)
    finally:
        os.close(fd)


def run_process(argv):
    """(wall seconds, CPU seconds, stdout) of one run. (Its ru_maxrss would be this Python's:
    the child is forked from it before exec.)"""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d" % (argv, p.returncode))
    return wall, ru.ru_utime + ru.ru_stime, out.decode(errors="replace")


def check(listeners, body, listing):
    """Each command shows every workload listener with its owner."""
    series = len(re.findall(r'^portwatch_listener_info\{[^\n]*process="pwbench-sock-\d+"',
                            body, re.M))
    owned = sum(1 for s in json.loads(listing)["sockets"]
                if any(o["comm"].startswith("pwbench-sock") for o in s["owners"] or []))
    problems = []
    if series != listeners:
        problems.append("scrape: %d workload listener series, want %d" % (series, listeners))
    if owned != listeners:
        problems.append("listing: %d workload listeners with owners, want %d" % (owned, listeners))
    return problems


def stats(xs):
    xs = sorted(xs)
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1], "n": len(xs),
            "p99": xs[min(len(xs) - 1, int(len(xs) * 0.99))]}


def ms(x):
    return "%.1f" % (x * 1000) if x >= 0.01 else "%.2f" % (x * 1000)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="large", help="bench/workload.py preset (%(default)s)")
    ap.add_argument("--rounds", type=int, default=15, help="timed runs per command")
    ap.add_argument("--cached", type=int, default=200, help="cached scrapes timed")
    ap.add_argument("--portwatch", metavar="PATH")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--no-netns", action="store_true",
                    help="run in this network namespace instead of a private one")
    args = ap.parse_args()
    args.no_portwatch = False
    pw = run.find_portwatch(args)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    outdir = Path(args.out) if args.out else HERE / "results" / ("serve-" + stamp)
    outdir.mkdir(parents=True, exist_ok=True)

    netns = None
    if not args.no_netns:
        netns = "pwserve-bench-%d" % os.getpid()
        enter_private_netns(netns)
    wl = run.Workload(args.preset, outdir, [])
    servers = []
    data = {"argv": "bench/serve.py " + " ".join(sys.argv[1:]), "preset": args.preset,
            "portwatch": pw, "netns": netns, "load_before": os.getloadavg()}
    try:
        log("workload %s" % args.preset)
        summary = wl.start()
        listeners = summary["expected"]["tcp_listen"]
        uncached = Server(pw, ["-lntp", "--min-interval", "0"])
        servers.append(uncached)
        cached = Server(pw, ["-lntp", "--min-interval", "1h"])
        servers.append(cached)
        cli = [pw, "-lntp", "--json"]
        ss = ["ss", "-lntp"]
        _, body = uncached.scrape()
        listing = run_process(cli)[2]
        problems = check(listeners, body, listing)
        if problems:
            raise RuntimeError("; ".join(problems))

        walls = {"scrape": [], "cli": [], "ss": []}
        cpus = {"scrape": [], "cli": [], "ss": []}
        order = ["scrape", "cli", "ss"]
        for r in range(args.rounds):
            for name in order[r % 3:] + order[:r % 3]:
                if name == "scrape":
                    c0 = uncached.cpu_seconds()
                    wall, _ = uncached.scrape()
                    cpu = uncached.cpu_seconds() - c0
                else:
                    wall, cpu, _ = run_process(cli if name == "cli" else ss)
                walls[name].append(wall)
                cpus[name].append(cpu)
            log("round %d/%d: scrape %s ms, listing %s ms, ss %s ms" % (
                r + 1, args.rounds, ms(walls["scrape"][-1]), ms(walls["cli"][-1]),
                ms(walls["ss"][-1])))
        cached.scrape()  # the one collection
        hits = [cached.scrape()[0] for _ in range(args.cached)]
        data.update({
            "listeners": listeners,
            "wall": {k: stats(v) for k, v in walls.items()},
            "cpu_mean": {k: sum(v) / len(v) for k, v in cpus.items()},
            "cached": stats(hits),
            "peak_rss_mib": {"serve (uncached)": uncached.peak_rss_mib(),
                             "serve (cached)": cached.peak_rss_mib()},
            "load_after": os.getloadavg(),
        })
    finally:
        for s in servers:
            s.stop()
        left = wl.stop()
        if left:
            log("workload pids still alive: %s" % left)
        if netns:
            subprocess.run(["ip", "netns", "del", netns])
    w = data["wall"]
    ratio_cli = w["scrape"]["median"] / w["cli"]["median"]
    ratio_ss = w["scrape"]["median"] / w["ss"]["median"]
    targets = [
        ("scrape <= 1.1x `portwatch -lntp --json`", "%.2fx" % ratio_cli, ratio_cli <= 1.1),
        ("scrape < 0.35x `ss -lntp`", "%.2fx" % ratio_ss, ratio_ss < 0.35),
        ("cached scrape < 5 ms (median)", ms(data["cached"]["median"]) + " ms",
         data["cached"]["median"] < 0.005),
    ]
    data["targets"] = [{"target": t, "value": v, "pass": p} for t, v, p in targets]
    (outdir / "results.json").write_text(json.dumps(data, indent=1))
    lines = ["# serve: scrape cost (%s preset, %d workload listeners)" % (
        args.preset, data["listeners"]), "",
        "`%s`, %s, load average %.1f before, %.1f after." % (
            data["argv"], "in a private network namespace" if netns else "in the host's "
            "network namespace", data["load_before"][0], data["load_after"][0]), "",
        "| command | median ms | min ms | max ms | mean CPU ms | server peak RSS MiB |",
        "|---|---|---|---|---|---|"]
    names = {"scrape": "scrape of `serve -lntp --min-interval 0`",
             "cli": "`portwatch -lntp --json`", "ss": "`ss -lntp`"}
    for k, label in names.items():
        s = w[k]
        peak = "%.1f" % data["peak_rss_mib"]["serve (uncached)"] if k == "scrape" else ""
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            label, ms(s["median"]), ms(s["min"]), ms(s["max"]), ms(data["cpu_mean"][k]), peak))
    c = data["cached"]
    lines += ["| cached scrape (`--min-interval 1h`) | %s | %s | %s (p99 %s) | | %.1f |" % (
        ms(c["median"]), ms(c["min"]), ms(c["max"]), ms(c["p99"]),
        data["peak_rss_mib"]["serve (cached)"]), "",
        "| target | value | |", "|---|---|---|"]
    lines += ["| %s | %s | %s |" % (t, v, "PASS" if p else "FAIL") for t, v, p in targets]
    (outdir / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    log("wrote %s" % (outdir / "report.md"))


if __name__ == "__main__":
    main()
