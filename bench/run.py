#!/usr/bin/env python3
"""portwatch benchmark: time portwatch and ss (netstat, lsof, a C floor) on one socket population.

For every scale (a bench/workload.py preset):
  1. run each command once on the idle host (baseline line counts),
  2. start the workload and wait for "ready"; count its fds in /proc,
  3. per command group (e.g. `portwatch -antp` + `ss -antp`):
       a. one captured run per command: its output must show the workload
          (lines with a workload address, and owner names for -p listings),
          so that a broken command cannot look fast;
       b. hyperfine over the whole group (same runs, warm caches), in two
          halves, the second in reverse order;
       c. /usr/bin/time -v runs for peak RSS,
  4. stop the workload by the pids it recorded (start times checked) and wait
     until its sockets are gone.
Writes bench/results/<UTC stamp>/{results.json,report.md,hf-*.json}.

  sudo python3 bench/run.py --scales small,fdheavy
  sudo python3 bench/run.py --scales large --portwatch /path/to/portwatch
  python3 bench/run.py --report-from bench/results/latest/results.json
"""

import argparse
import datetime as dt
import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(HERE))
import measure  # noqa: E402  (bench/measure.py)
import pidfile  # noqa: E402  (bench/pidfile.py)
import report  # noqa: E402  (bench/report.py)
import workload  # noqa: E402  (bench/workload.py: presets and layout)


def log(*a):
    print("[%s]" % time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def cmd(name, argv, expect, owners=False, count="lines"):
    """A command to time. expect: key of the workload's expected counts that the
    command's workload lines (count="lines") or first printed integer (count="int")
    must grow by; None = only check that it exits 0 with some output."""
    return dict(name=name, argv=argv, expect=expect, owners=owners, count=count)


def command_groups(pw, floor, port, scale, pw_args=()):
    """Groups timed in one hyperfine call each. In the pair groups portwatch comes first.
    pw_args go before each portwatch command's own (e.g. --owners proc)."""
    groups = []
    if pw:
        # Listing flags (--portwatch-args) go to listings only: explain and --version take none.
        bare, pw = [pw], [pw, *pw_args]
        groups += [
            ("antp", [cmd("portwatch -antp", [*pw, "-antp"], "tcp", True),
                      cmd("ss -antp", ["ss", "-antp"], "tcp", True)]),
            ("lntp", [cmd("portwatch -lntp", [*pw, "-lntp"], "tcp_listen", True),
                      cmd("ss -lntp", ["ss", "-lntp"], "tcp_listen", True)]),
            ("port", [cmd("portwatch -lntp sport = :P", [*pw, "-lntp", "sport", "=", ":%d" % port],
                          "probe_port_listeners", True),
                      cmd("ss -lntp sport = :P", ["ss", "-lntp", "sport", "=", ":%d" % port],
                          "probe_port_listeners", True)]),
            ("ant", [cmd("portwatch -ant", [*pw, "-ant"], "tcp"),
                     cmd("ss -ant", ["ss", "-ant"], "tcp")]),
            # Issue #13: TCP internals of every connection, and the summary.
            ("tin", [cmd("portwatch -tin", [*pw, "-tin"], "tcp_conn"),
                     cmd("ss -tin", ["ss", "-tin"], "tcp_conn")]),
            ("summary", [cmd("portwatch -s", [*pw, "-s"], None),
                         cmd("ss -s", ["ss", "-s"], None)]),
        ]
        if scale == "small":  # start-up cost: tiny outputs, registry loaded
            groups.append(("startup", [
                cmd("portwatch -lnt sport = :1", [*pw, "-lnt", "sport", "=", ":1"], "zero"),
                cmd("ss -lnt sport = :1", ["ss", "-lnt", "sport", "=", ":1"], "zero"),
                cmd("portwatch explain 1", [*bare, "explain", "1"], None),
                cmd("portwatch --version", [*bare, "--version"], None)]))
    else:
        groups += [("ss", [cmd("ss -antp", ["ss", "-antp"], "tcp", True),
                           cmd("ss -lntp", ["ss", "-lntp"], "tcp_listen", True),
                           cmd("ss -lntp sport = :P", ["ss", "-lntp", "sport", "=", ":%d" % port],
                               "probe_port_listeners", True),
                           cmd("ss -ant", ["ss", "-ant"], "tcp")])]
    if shutil.which("netstat"):
        groups.append(("netstat", [cmd("netstat -antp", ["netstat", "-antp"], "tcp", True)]))
    if shutil.which("lsof"):
        groups.append(("lsof", [cmd("lsof -nP -iTCP", ["lsof", "-nP", "-iTCP"], "tcp", True)]))
    if floor:
        groups.append(("floor", [cmd("fdfloor (1 thread)", [floor], "fds", count="int"),
                                 cmd("fdfloor -j 2", [floor, "-j", "2"], "fds", count="int")]))
    return groups


# ------------------------------------------------------------------ tools

def ensure_tools(allow_install):
    missing = [pkg for tool, pkg in (("hyperfine", "hyperfine"), ("/usr/bin/time", "time"))
               if not shutil.which(tool)]
    if missing and allow_install and os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing %s with apt-get" % " ".join(missing))
        subprocess.run("apt-get install -y -qq %s || (apt-get update -qq && apt-get install "
                       "-y -qq %s)" % ((" ".join(missing),) * 2), shell=True,
                       stdout=subprocess.DEVNULL)
    for tool in ("hyperfine", "/usr/bin/time", "ss"):
        if not shutil.which(tool):
            sys.exit("%s is missing (apt-get install hyperfine time iproute2)" % tool)


def build_floor(outdir):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        log("no C compiler: the fdfloor rows are skipped")
        return None
    exe = outdir / "fdfloor"
    r = subprocess.run([cc, "-O2", "-pthread", "-o", str(exe), str(HERE / "fdfloor.c")])
    return str(exe) if r.returncode == 0 else None


def find_portwatch(args):
    """The portwatch binary: --portwatch, else the release build (rebuilt when stale)."""
    if args.no_portwatch:
        return None
    if args.portwatch:
        exe = shutil.which(args.portwatch) or args.portwatch
        return str(Path(exe).resolve())
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    exe = (target if target.is_absolute() else REPO / target) / "release" / "portwatch"
    sources = [REPO / "Cargo.toml", REPO / "Cargo.lock"] + list((REPO / "src").rglob("*"))
    newest = max((p.stat().st_mtime for p in sources if p.is_file()), default=0)
    if not args.no_build and (not exe.exists() or exe.stat().st_mtime < newest):
        if not shutil.which("cargo"):
            sys.exit("%s is missing or stale and cargo is not on PATH: run `cargo build "
                     "--release` as your user, then rerun with sudo" % exe)
        log("cargo build --release")
        if subprocess.run(["cargo", "build", "--release"], cwd=REPO).returncode != 0:
            sys.exit("cargo build --release failed")
    if not exe.exists():
        sys.exit("%s not found (build it, or pass --portwatch PATH / --no-portwatch)" % exe)
    return str(exe)


# ------------------------------------------------------------------ workload

class Workload:
    """bench/workload.py as a child process, stopped by the pids it recorded."""

    def __init__(self, preset, outdir, extra):
        self.pidfile = outdir / ("workload-%s.pids" % preset)
        self.argv = [sys.executable, str(HERE / "workload.py"), "--preset", preset,
                     "--pidfile", str(self.pidfile), "--die-with-parent"] + extra
        self.proc = None

    def start(self, timeout=900):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        fd, buf, summary = self.proc.stdout.fileno(), b"", None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 1.0)[0]:
                data = os.read(fd, 65536)
                if not data:
                    self.proc.wait()
                    raise RuntimeError("workload exited: " +
                                       self.proc.stderr.read().decode().strip()[-500:])
                buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.startswith(b"summary "):
                    summary = json.loads(line[8:])
                elif line == b"ready":
                    return summary
        raise RuntimeError("workload not ready after %d s" % timeout)

    def pids(self):
        try:
            return [pid for pid, _, _ in pidfile.read_pidfile(str(self.pidfile))]
        except OSError:
            return []

    def stop(self):
        left = pidfile.stop_pidfile(str(self.pidfile)) if self.pidfile.exists() else []
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # our own direct child
                self.proc.wait()
            self.proc = None
        return left


def run_scale(scale, pw, floor, args, outdir):
    log("=== scale %s ===" % scale)
    extra = shlex.split(args.workload_args)
    cfg = workload.config(workload.parse_args(["--preset", scale] + extra))
    match = measure.workload_matcher(cfg)
    res = {"scale": scale, "params": cfg, "commands": {}, "groups": []}
    only = set(args.only.split(",")) if args.only else None
    groups = [(g, cs) for g, cs in command_groups(pw, floor, workload.probe_port(cfg), scale,
                                                  shlex.split(args.portwatch_args))
              if only is None or g in only]
    base = {c["name"]: measure.probe(c, match) for _, cs in groups for c in cs}
    res["tcp_lines_idle"] = measure.workload_tcp_lines(match)
    res["loadavg_before"] = Path("/proc/loadavg").read_text().split()[:3]
    wl = Workload(scale, outdir, extra)
    t0 = time.monotonic()
    try:
        summary = wl.start()
        res["ready_s"] = round(time.monotonic() - t0, 1)
        res["summary"] = summary
        expected = dict(summary["expected"])
        expected["fds"] = measure.fds_of(wl.pids())
        res["expected"] = expected
        if expected["fds"] < expected["sockets"] + expected["idle_fds"]:
            raise RuntimeError("the workload holds %d fds, fewer than its %d sockets + %d "
                               "idle fds" % (expected["fds"], expected["sockets"],
                                             expected["idle_fds"]))
        log("ready in %.1f s: %d sockets, %d fds in %d processes" % (
            res["ready_s"], expected["sockets"], expected["fds"], expected["processes"]))
        for gname, cs in groups:
            probes = {c["name"]: measure.probe(c, match) for c in cs}
            for c in cs:
                p = probes[c["name"]]
                v = measure.verdict(c, base[c["name"]], p, expected)
                res["commands"][c["name"]] = dict(
                    name=c["name"], argv=c["argv"], group=gname, expect=c["expect"], check=v,
                    count=c["count"],
                    lines=p["lines"], idle_lines=base[c["name"]]["lines"], value=p["value"],
                    idle_value=base[c["name"]]["value"], owners=p["owners"],
                    host_fds=p["host_fds"], probe_s=p["seconds"])
                log("%-28s %s (%.3f s)" % (c["name"], v, p["seconds"]))
            slowest = max(p["seconds"] for p in probes.values())
            runs = max(args.min_runs, min(args.max_runs, int(args.budget / max(slowest, 1e-3))))
            # no warm-up for slow commands: the captured run just warmed the caches
            timing, err, hf_argvs = measure.hyperfine(
                cs, runs, 1 if slowest < 1 else 0, outdir / ("hf-%s-%s" % (scale, gname)))
            res["groups"].append(dict(name=gname, runs=runs, error=err,
                                      commands=[c["name"] for c in cs],
                                      hyperfine=[shlex.join(a) for a in hf_argvs]))
            for c in cs:
                entry = res["commands"][c["name"]]
                entry.update(timing.get(c["name"], {}))
                entry["peak_rss_kb"] = measure.peak_rss_kb(
                    c["argv"], args.rss_runs if slowest < 2 else 1)
                if "median" in entry:
                    log("%-28s median %8.2f ms  min %8.2f  max %8.2f  rss %s KiB" % (
                        c["name"], entry["median"] * 1e3, entry["min"] * 1e3,
                        entry["max"] * 1e3, entry["peak_rss_kb"]))
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        res["error"] = str(e)
        log("scale %s failed: %s" % (scale, e))
    finally:
        left = wl.stop()
        t1 = time.monotonic()
        # SO_LINGER 0 resets the connections, so this is normally immediate
        while (time.monotonic() - t1 < 60
               and measure.workload_tcp_lines(match) > res["tcp_lines_idle"] + 5):
            time.sleep(0.5)
        res["left_alive"] = left
        res["tcp_lines_after"] = measure.workload_tcp_lines(match)
        res["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
        log("workload stopped; still alive: %s; workload TCP lines %d (idle %d)" % (
            left or "none", res["tcp_lines_after"], res["tcp_lines_idle"]))
    return res


def sh(cmdline):
    """First line a shell command prints (stdout, else stderr), for the report's header."""
    r = subprocess.run(cmdline, shell=True, capture_output=True, text=True)
    lines = (r.stdout.strip() or r.stderr.strip()).splitlines()
    return lines[0] if lines else "-"


def env_info(pw):
    return {
        "date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "kernel": os.uname().release, "cpus": os.cpu_count(),
        "cpu_model": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"),
        "mem": sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo"),
        "ss": sh("ss -V"), "netstat": sh("netstat --version 2>&1"),
        "lsof": sh("lsof -v 2>&1 | grep -m1 revision").replace("revision:", "").strip(),
        "hyperfine": sh("hyperfine --version"),
        "portwatch": sh(shlex.quote(pw) + " --version") if pw else "not run",
        # A stale list of hot functions (build.rs) costs memory: say how much of it held.
        "hot_functions": sh("%s %s --check %s" % (
            shlex.quote(sys.executable), shlex.quote(str(REPO / "scripts/hot-functions.py")),
            shlex.quote(pw))) if pw else "-",
        "portwatch_path": pw, "root": os.geteuid() == 0,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="small,fdheavy,large",
                    help="comma-separated presets of bench/workload.py (%(default)s; also medium)")
    ap.add_argument("--portwatch", metavar="PATH", help="binary to time (default: the "
                    "release build in $CARGO_TARGET_DIR or target/, rebuilt when stale)")
    ap.add_argument("--no-build", action="store_true", help="never run cargo build")
    ap.add_argument("--portwatch-args", default="", metavar="ARGS",
                    help="extra arguments before each portwatch command's own "
                    "(e.g. '--owners proc')")
    ap.add_argument("--no-portwatch", action="store_true",
                    help="time only ss, netstat, lsof and the floor")
    ap.add_argument("--only", help="comma-separated groups: antp,lntp,port,ant,tin,summary,"
                    "startup,netstat,lsof,floor (ss with --no-portwatch)")
    ap.add_argument("--budget", type=float, default=10.0,
                    help="seconds of hyperfine runs per command (%(default)s)")
    ap.add_argument("--min-runs", type=int, default=5)
    ap.add_argument("--max-runs", type=int, default=40)
    ap.add_argument("--rss-runs", type=int, default=3, help="/usr/bin/time -v runs (1 if slow)")
    ap.add_argument("--workload-args", default="", help="extra workload.py arguments")
    ap.add_argument("--out", help="results folder (default bench/results/<UTC stamp>)")
    ap.add_argument("--no-install", action="store_true",
                    help="do not apt-get install hyperfine / time when missing")
    ap.add_argument("--report-from", metavar="JSON", help="only rewrite report.md from it")
    args = ap.parse_args()
    if args.report_from:
        src = Path(args.report_from)
        (src.parent / "report.md").write_text(report.render(json.loads(src.read_text())))
        return
    scales = [s for s in args.scales.split(",") if s]
    bad = [s for s in scales if s not in workload.PRESETS]
    if bad:
        sys.exit("unknown scale(s) %s (presets: %s)" % (bad, ", ".join(workload.PRESETS)))
    if os.geteuid() != 0:
        log("not root: other users' /proc/PID/fd are unreadable, so the -p listings of "
            "every tool see less of the host")
    ensure_tools(not args.no_install)
    pw = find_portwatch(args)

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    outdir = Path(args.out) if args.out else HERE / "results" / stamp
    outdir.mkdir(parents=True, exist_ok=True)
    if not args.out:
        latest = HERE / "results" / "latest"
        if latest.is_symlink():
            latest.unlink()
        latest.symlink_to(stamp)
    floor = build_floor(outdir)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)  # unwinds into the workload stop
    signal.signal(signal.SIGTERM, on_signal)

    data = {"env": env_info(pw), "argv": "bench/run.py " + shlex.join(sys.argv[1:]),
            "scales": []}
    interrupted = False
    try:
        for s in scales:
            data["scales"].append(run_scale(s, pw, floor, args, outdir))
            (outdir / "results.json").write_text(json.dumps(data, indent=1))
    except KeyboardInterrupt:  # the workload was stopped on the way out of run_scale
        interrupted = True
        data["interrupted"] = True
        log("interrupted: the report has the scales finished so far")
    finally:
        (outdir / "results.json").write_text(json.dumps(data, indent=1))
        (outdir / "report.md").write_text(report.render(data))
        log("wrote %s" % (outdir / "report.md"))
    print(report.summary_text(data))
    sys.exit(130 if interrupted else 0)


if __name__ == "__main__":
    main()
