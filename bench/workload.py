#!/usr/bin/env python3
"""Build a loopback-only socket population for the portwatch benchmark, then wait.

Spread over --procs forked "socket" processes (names pwbench-sock-N):
  * TCP listeners, IPv4 on 127.0.3.1..127.0.3.A and IPv6 on [::1];
  * established TCP connections, both ends held by the same process: the
    client (IPv4 from 127.0.4.1..127.0.4.A, IPv6 from [::1]) and the accepted end;
  * bound UDP sockets (same addresses and ports as the listeners);
  * unix sockets: 10% abstract listeners, the rest socketpair() ends.
Plus --idle-procs processes (pwbench-idle-N) holding --idle-fds non-socket fds each
(pipes, /dev/null, this file), the "busy host" that a /proc/*/fd owner scan walks.

Listener and UDP ports start at --port-base and must stay below the ephemeral
range (/proc/sys/net/ipv4/ip_local_port_range): the script refuses otherwise.
Every TCP socket gets SO_LINGER {1, 0}, so stopping the workload resets the
connections instead of leaving TIME-WAIT sockets that would skew the next run
(socket(7), SO_LINGER). RLIMIT_NOFILE is raised as far as the population needs.

Protocol: prints "summary {json}" then "ready" on stdout, then sleeps until
SIGTERM/SIGINT, when it kills its children (by pid) and exits. --pidfile gets
"PID STARTTIME ROLE" lines (parent first) so that a harness can stop it by pid
and tell a reused pid from ours (STARTTIME is field 22 of /proc/PID/stat).

  bench/workload.py --preset small --pidfile /tmp/w.pids   # wait for "ready"
  bench/workload.py --stop --pidfile /tmp/w.pids
"""

import argparse
import ctypes
import json
import os
import random
import resource
import signal
import socket
import struct
import sys
import time

from pidfile import proc_starttime, stop_pidfile

# Sockets = listen + 2 * estab + udp + unix; fds = sockets + idle_procs * idle_fds.
PRESETS = {
    # ~1k sockets / ~2k fds
    "small": dict(listen4=80, listen6=20, estab4=300, estab6=50, udp4=80, udp6=20,
                  unix=100, procs=10, idle_procs=20, idle_fds=50),
    # same sockets among ~100k idle fds: isolates the /proc/*/fd scan cost
    "fdheavy": dict(listen4=80, listen6=20, estab4=300, estab6=50, udp4=80, udp6=20,
                    unix=100, procs=10, idle_procs=100, idle_fds=1000),
    # ~20k sockets / ~40k fds
    "medium": dict(listen4=1200, listen6=300, estab4=6000, estab6=1000, udp4=1600,
                   udp6=400, unix=2500, procs=40, idle_procs=50, idle_fds=400),
    # ~100k sockets / ~200k fds in 100 socket + 170 idle processes
    "large": dict(listen4=4000, listen6=1000, estab4=30000, estab6=5000, udp4=8000,
                  udp6=2000, unix=15000, procs=100, idle_procs=170, idle_fds=600),
}
PARAMS = list(PRESETS["small"])
# Addresses no other loopback user is likely to pick (127.0.0.1 and 127.0.1.1,
# Debian's hostname address, are common).
SERVER_NET, CLIENT_NET = "127.0.3.", "127.0.4."
# Every tool that names owners shows one of these: comm "pwbench-sock-N" (ss, lsof,
# which cuts it to 9 characters) or argv[0] (netstat).
OWNER, OWNER_ARGV0 = "pwbench-s", "pwbench-sock"
LINGER0 = struct.pack("ii", 1, 0)
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)  # ip(7)
PR_SET_PDEATHSIG, PR_SET_NAME = 1, 15  # prctl(2)


def prctl(option, arg):
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, arg, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # only cosmetics (name) and a safety net (death signal)


def share(total, n, i):
    """Worker i's slice of `total` items split over n workers: range."""
    base, rem = divmod(total, n)
    start = i * base + min(i, rem)
    return range(start, start + base + (1 if i < rem else 0))


def v4_addr(cfg, i):
    """Address of IPv4 listener/UDP socket i: spread over A addresses so ports stay low."""
    return (SERVER_NET + str(i % cfg["addrs"] + 1), cfg["port_base"] + i // cfg["addrs"])


def v6_addr(cfg, i):
    return ("::1", cfg["port_base"] + i)


def probe_port(cfg):
    """A listener port for the one-port benchmark: the last IPv6 listener's."""
    return cfg["port_base"] + max(cfg["listen6"] - 1, 0)


def listeners_on(cfg, port):
    """How many workload TCP listeners use `port` (from the same layout the children bind)."""
    n4 = sum(1 for i in range(cfg["listen4"]) if v4_addr(cfg, i)[1] == port)
    return n4 + (1 if 0 <= port - cfg["port_base"] < cfg["listen6"] else 0)


def top_port(cfg):
    a = cfg["addrs"]
    temp6 = cfg["listen6"] + cfg["procs"] if cfg["estab6"] else 0  # see build_sockets
    return cfg["port_base"] + max((cfg["listen4"] + a - 1) // a, (cfg["udp4"] + a - 1) // a,
                                  cfg["listen6"], cfg["udp6"], temp6)


# ------------------------------------------------------------------ children

def tcp(family):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    return s


def build_sockets(idx, cfg, conns=None):
    """The process's sockets; its connections to its own listeners also go to `conns` as
    [client, accepted, listener, family, index] (what --churn replaces)."""
    n, keep = cfg["procs"], []
    listeners = {socket.AF_INET: [], socket.AF_INET6: []}
    for fam, key, addr in ((socket.AF_INET, "listen4", v4_addr),
                           (socket.AF_INET6, "listen6", v6_addr)):
        for i in share(cfg[key], n, idx):
            s = tcp(fam)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(addr(cfg, i))  # EADDRINUSE aborts: counts must stay exact
            s.listen(512)
            listeners[fam].append(s)
    keep += listeners[socket.AF_INET] + listeners[socket.AF_INET6]

    for fam, key in ((socket.AF_INET, "estab4"), (socket.AF_INET6, "estab6")):
        todo = share(cfg[key], n, idx)
        lst, temp = listeners[fam], None
        if todo and not lst:  # no listener of this family here: a temporary one
            temp = tcp(fam)
            # an IPv6 one on a port of our range: [::1] lines are told apart by port
            temp.bind((SERVER_NET + "1", 0) if fam == socket.AF_INET
                      else ("::1", cfg["port_base"] + cfg["listen6"] + idx))
            temp.listen(512)
            lst = [temp]
        for j, gi in enumerate(todo):
            server = lst[j % len(lst)]
            c, accepted = connect(fam, server, gi, cfg)
            keep += [c, accepted]
            if conns is not None and temp is None:
                conns.append([c, accepted, server, fam, gi])
        if temp is not None:
            temp.close()

    for fam, key, addr in ((socket.AF_INET, "udp4", v4_addr), (socket.AF_INET6, "udp6", v6_addr)):
        for i in share(cfg[key], n, idx):
            s = socket.socket(fam, socket.SOCK_DGRAM)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind(addr(cfg, i))
            keep.append(s)

    mine = len(share(cfg["unix"], n, idx))
    n_listen = mine // 10 + (mine - mine // 10) % 2  # the rest must be even (pairs)
    for i in range(n_listen):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind("\0portwatch-bench/%d/%d/%d" % (cfg["parent"], idx, i))
        s.listen(16)
        keep.append(s)
    for _ in range((mine - n_listen) // 2):
        keep += socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return keep


def connect(fam, server, gi, cfg):
    """A connection to `server` from client address gi, both ends in this process."""
    c = tcp(fam)
    if fam == socket.AF_INET:
        # pick the source port at connect() time, per 4-tuple: no exhaustion
        c.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        c.bind((CLIENT_NET + str(gi % cfg["addrs"] + 1), 0))
    c.connect(server.getsockname()[:2])
    accepted, _ = server.accept()
    accepted.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
    return c, accepted


def churn(conns, cfg):
    """Replace cfg["churn"] of `conns` per second, in steps of 0.1 s, until killed: close both
    ends (reset: SO_LINGER 0, no TIME-WAIT), connect again to the same listener. New fds take
    the lowest free numbers, as a server's do."""
    per_step, owed, step = cfg["churn"] * len(conns) * 0.1, 0.0, 0.1
    pick = random.Random(os.getpid())
    due = time.monotonic()
    while True:
        due += step
        owed += per_step
        while owed >= 1:
            owed -= 1
            k = pick.randrange(len(conns))
            c, accepted, server, fam, gi = conns[k]
            c.close()
            accepted.close()
            c, accepted = connect(fam, server, gi, cfg)
            conns[k] = [c, accepted, server, fam, gi]
        time.sleep(max(0.0, due - time.monotonic()))


def build_idle(cfg):
    keep, path = [], os.path.abspath(__file__)
    while len(keep) < cfg["idle_fds"]:
        k = len(keep) % 3
        if k == 0 and cfg["idle_fds"] - len(keep) >= 2:
            keep += os.pipe()
        else:
            keep.append(os.open("/dev/null" if k == 1 else path, os.O_RDONLY))
    return keep


def child(role, idx, cfg, report_fd):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != cfg["parent"]:  # parent died before prctl took effect
        os._exit(1)
    prctl(PR_SET_NAME, ctypes.c_char_p(("pwbench-%s-%d" % (role, idx)).encode()[:15]))
    conns = []
    try:
        keep = build_sockets(idx, cfg, conns) if role == "sock" else build_idle(cfg)
        msg = "%d ok %d\n" % (os.getpid(), len(keep))
    except Exception as e:  # report any failure to the parent, then die
        keep, msg = None, "%d err %s\n" % (os.getpid(), repr(e).replace("\n", " ")[:300])
    os.write(report_fd, msg.encode())
    os.close(report_fd)  # so the parent sees EOF if a sibling dies without reporting
    if keep is None:
        os._exit(1)
    if cfg["churn"] > 0 and conns:
        churn(conns, cfg)
    while True:
        signal.pause()


# ------------------------------------------------------------------ parent

def check_config(cfg):
    if not 1 <= cfg["addrs"] <= 254 or cfg["procs"] < 1 or min(cfg[k] for k in PARAMS) < 0:
        sys.exit("workload: need 1 <= --addrs <= 254, --procs >= 1, counts >= 0")
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph_low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        eph_low = 32768  # the kernel default
    if top_port(cfg) >= eph_low:
        sys.exit("workload: ports %d..%d reach the ephemeral range (%d..): raise --addrs "
                 "or lower --port-base" % (cfg["port_base"], top_port(cfg), eph_low))


def raise_nofile(cfg):
    n = cfg["procs"]
    per_sock = max(len(share(cfg["listen4"], n, i)) + len(share(cfg["listen6"], n, i))
                   + 2 * (len(share(cfg["estab4"], n, i)) + len(share(cfg["estab6"], n, i)))
                   + len(share(cfg["udp4"], n, i)) + len(share(cfg["udp6"], n, i))
                   + len(share(cfg["unix"], n, i)) for i in range(n))
    need = max(per_sock, cfg["idle_fds"]) + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if need > soft:
        try:
            # raising the hard limit needs CAP_SYS_RESOURCE (setrlimit(2)); root has it
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(hard, need)))
        except (ValueError, OSError) as e:
            sys.exit("workload: cannot raise RLIMIT_NOFILE to %d (%s): run as root or "
                     "use fewer sockets per process (--procs)" % (need, e))
    try:  # the whole population must fit in the system-wide file table (proc(5))
        with open("/proc/sys/fs/file-nr") as f:
            in_use = int(f.read().split()[0])
        with open("/proc/sys/fs/file-max") as f:
            file_max = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        in_use, file_max = 0, None
    total = n * per_sock + cfg["idle_procs"] * cfg["idle_fds"]
    if file_max is not None and in_use + total + 10000 > file_max:
        sys.exit("workload: needs ~%d more open files but fs.file-max is %d (%d in use): "
                 "sysctl -w fs.file-max=%d" % (total, file_max, in_use, in_use + total + 10000))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def config(args):
    """The population parsed arguments describe (run.py calls this too)."""
    cfg = dict(PRESETS[args.preset])
    for k in PARAMS:
        if getattr(args, k) is not None:
            cfg[k] = getattr(args, k)
    cfg.update(addrs=args.addrs, port_base=args.port_base, churn=args.churn)
    return cfg


def run(args):
    cfg = dict(config(args), parent=os.getpid())
    check_config(cfg)
    launcher = os.getppid()
    nofile = raise_nofile(cfg)
    children = []

    def stop(code):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass
        os._exit(code)

    signal.signal(signal.SIGTERM, lambda *_: stop(0))
    signal.signal(signal.SIGINT, lambda *_: stop(0))
    if args.die_with_parent:  # the harness died: clean up rather than linger
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != launcher:
            stop(1)

    t0 = time.monotonic()
    rfd, wfd = os.pipe()
    sys.stdout.flush()
    for role, count in (("sock", cfg["procs"]), ("idle", cfg["idle_procs"])):
        for i in range(count):
            pid = os.fork()
            if pid == 0:
                os.close(rfd)
                child(role, i, cfg, wfd)
            children.append(pid)
    os.close(wfd)
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as f:
            for pid, role in [(os.getpid(), "parent")] + [(p, "child") for p in children]:
                f.write("%d %s %s\n" % (pid, proc_starttime(pid), role))
        os.rename(args.pidfile + ".tmp", args.pidfile)

    # each child writes one short line (< PIPE_BUF, so atomic) when done
    lines = []
    with os.fdopen(rfd, "rb") as r:
        for raw in r:
            lines.append(raw.decode(errors="replace").split(" ", 2))
            if len(lines) == len(children):
                break
    errors = [" ".join(x) for x in lines if len(x) < 2 or x[1] != "ok"]
    if errors or len(lines) < len(children):
        print("workload: error: %s" % ("; ".join(errors[:3]) or "children exited early"),
              file=sys.stderr, flush=True)
        stop(1)

    tcp_listen = cfg["listen4"] + cfg["listen6"]
    tcp_all = tcp_listen + 2 * (cfg["estab4"] + cfg["estab6"])
    udp = cfg["udp4"] + cfg["udp6"]
    port = probe_port(cfg)
    summary = {
        "params": {k: cfg[k] for k in PARAMS + ["addrs", "port_base", "churn"]},
        "expected": {
            "tcp": tcp_all, "tcp_listen": tcp_listen, "tcp_conn": tcp_all - tcp_listen,
            "udp": udp, "unix": cfg["unix"],
            "sockets": tcp_all + udp + cfg["unix"],
            "idle_fds": cfg["idle_procs"] * cfg["idle_fds"],
            "processes": 1 + len(children),
            "probe_port": port, "probe_port_listeners": listeners_on(cfg, port),
        },
        "rlimit_nofile": list(nofile),
        "build_seconds": round(time.monotonic() - t0, 2),
        "parent_pid": os.getpid(),
    }
    print("summary " + json.dumps(summary, separators=(",", ":")), flush=True)
    print("ready", flush=True)
    while True:
        signal.pause()


def name_argv0():
    """Re-exec python with argv[0] = OWNER_ARGV0: netstat -p names a process by the
    basename of argv[0] in /proc/PID/cmdline (net-tools netstat.c, prg_cache_load),
    not by its comm, and the harness checks that every -p listing names the owner."""
    try:
        with open("/proc/self/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0")[0]
    except OSError:
        return
    if argv0 != OWNER_ARGV0.encode() and sys.executable:
        os.execv(sys.executable, [OWNER_ARGV0, os.path.abspath(__file__)] + sys.argv[1:])


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="small")
    for k in PARAMS:
        ap.add_argument("--" + k.replace("_", "-"), dest=k, type=int, help="override the preset")
    ap.add_argument("--addrs", type=int, default=16,
                    help="server / client addresses in %s0/24 and %s0/24 (16)" % (
                        SERVER_NET, CLIENT_NET))
    ap.add_argument("--port-base", type=int, default=24000, help="first listener port (24000)")
    ap.add_argument("--churn", type=float, default=0.0, metavar="FRACTION",
                    help="replace this fraction of the connections per second (0.01: 1%%), "
                         "for the watch benchmark (0)")
    ap.add_argument("--pidfile", help="write 'PID STARTTIME ROLE' lines here")
    ap.add_argument("--die-with-parent", action="store_true",
                    help="clean up and exit when the launching process dies")
    ap.add_argument("--stop", action="store_true", help="stop the workload in --pidfile")
    return ap.parse_args(argv)


def main():
    args = parse_args()
    if args.stop:
        if not args.pidfile:
            sys.exit("--stop needs --pidfile")
        left = stop_pidfile(args.pidfile)
        sys.exit("still alive: %s" % left if left else 0)
    name_argv0()
    run(args)


if __name__ == "__main__":
    main()
