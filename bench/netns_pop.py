#!/usr/bin/env python3
"""One network namespace's socket population for bench/netns.py.

Run inside a namespace (`ip netns exec NS python3 bench/netns_pop.py`): opens TCP listeners on
127.0.0.1 from --port-base up, connections to them (both ends held here), and bound UDP
sockets, names itself `pwbench-ns` (comm), prints `ready`, and holds everything until stdin
closes or it is signalled. Every TCP socket has SO_LINGER {1, 0}, so exiting resets the
connections instead of leaving TIME-WAIT sockets behind.
"""

import argparse
import signal
import socket
import struct
import sys

LINGER_RESET = struct.pack("ii", 1, 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sockets", type=int, default=100, help="sockets in all (%(default)s)")
    ap.add_argument("--port-base", type=int, default=25000)
    args = ap.parse_args()
    with open("/proc/self/comm", "w") as f:
        f.write("pwbench-ns")
    # A tenth listeners, a tenth UDP, the rest connections (two sockets each).
    listeners = max(1, args.sockets // 10)
    udp = max(0, args.sockets // 10)
    conns = max(0, (args.sockets - listeners - udp) // 2)
    keep = []
    ls = []
    for i in range(listeners):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        s.bind(("127.0.0.1", args.port_base + i))
        s.listen(conns + 1)
        ls.append(s)
    for i in range(conns):
        srv = ls[i % listeners]
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        c.connect(srv.getsockname())
        a, _ = srv.accept()
        a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        keep += [c, a]
    for i in range(udp):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", args.port_base + listeners + i))
        keep.append(u)
    keep += ls
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready %d" % len(keep), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
