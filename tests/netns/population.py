#!/usr/bin/env python3
"""Socket population builder for tests/netns_diff.rs.

Runs inside a network namespace the test created (`ip netns exec NS python3 population.py`),
opens a known set of sockets on that namespace's loopback and in a temp dir, forks where a
socket must be shared, prints one JSON summary line and then `ready`, and holds everything
open until stdin closes or it is killed. After `ready` nothing sends a byte: the population
is quiescent, so queue lengths read by two tools one after the other are the same.

Every TCP state but CLOSE is produced without dropping packets (this kernel has no act_gact or prio
qdisc and `nft` is not installed), from ordinary kernel behaviour:
  SYN-SENT   a listener with backlog 0 whose one accept slot is taken drops new SYNs
             (tcp_conn_request: sk_acceptq_is_full -> drop); the client keeps retrying.
  SYN-RECV   TCP_DEFER_ACCEPT: the server ignores the bare final ACK and keeps the request
             socket in SYN-RECV until data arrives (tcp(7), tcp_check_req).
  LAST-ACK, FIN-WAIT-1, CLOSING
             the peer's receive window is zero, so our FIN sits behind unsent data and is
             never sent (tcp_snd_wnd_test); the state changes on close/shutdown anyway.
"""

import argparse
import ctypes
import errno
import json
import os
import resource
import select
import signal
import socket
import sys
import time

LO4 = "127.0.0.1"
LO6 = "::1"
MAPPED = "::ffff:127.0.0.1"
NOBODY_COMM = "pw nobody (x)"

# Everything we open stays referenced here so nothing is garbage-collected (closed).
KEEP = []
# Child pids that hold fork-shared sockets, and the pipe that makes them exit with us.
CHILDREN = []


def keep(*socks):
    KEEP.extend(socks)
    return socks[0] if len(socks) == 1 else socks


def tcp_listener(family, addr, backlog=16, v6only=None):
    s = socket.socket(family, socket.SOCK_STREAM)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
    s.bind((addr, 0))
    s.listen(backlog)
    return keep(s)


def port(s):
    return s.getsockname()[1]


def connect_pair(listener, family=None, addr=None):
    """An accepted connection to `listener`: (client, server)."""
    family = family or listener.family
    addr = addr or listener.getsockname()[0]
    c = socket.socket(family, socket.SOCK_STREAM)
    c.connect((addr, port(listener)))
    srv, _ = listener.accept()
    return keep(c, srv)


def fill_until_blocked(sender):
    """Write until the peer's receive window and our send buffer are full."""
    sender.setblocking(False)
    chunk = b"x" * 65536
    while True:
        try:
            sender.send(chunk)
        except BlockingIOError:
            break
    # Let the kernel finish pushing what the window still takes, then try once more: the
    # queues must be final before `ready`.
    time.sleep(0.05)
    while True:
        try:
            if sender.send(chunk) == 0:
                break
        except BlockingIOError:
            break
    sender.setblocking(True)


def small_buffers(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)


def zero_window_pair(listener):
    """(client, server) where both have tiny buffers, set before the handshake."""
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    small_buffers(c)
    c.connect((LO4, port(listener)))
    srv, _ = listener.accept()
    return keep(c, srv)


def close_all_but(fds):
    """In a forked child: close every inherited descriptor but `fds` and stdio."""
    wanted = set(fds) | {0, 1, 2}
    for fd in [int(n) for n in os.listdir("/proc/self/fd")]:
        if fd not in wanted:
            try:
                os.close(fd)
            except OSError:
                pass


def fork_holder(*socks):
    """Fork a child that holds `socks` (inherited) and exits when we go away."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        # Hold only the shared sockets.
        close_all_but({s.fileno() for s in socks} | {r})
        try:
            os.read(r, 1)  # EOF when the parent exits or is killed
        finally:
            os._exit(0)
    os.close(r)
    KEEP.append(w)
    CHILDREN.append(pid)
    return pid


def fork_as_nobody():
    """A child running as uid/gid 65534 with its own listener and unix socket, so the
    sockets' uid is not 0 (ss prints uid:N only when it is not 0)."""
    r, w = os.pipe()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        os.close(ready_r)
        close_all_but({r, ready_w})
        try:
            # A command name with spaces and parentheses, as ss quotes it in users:(("...")).
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(15, ctypes.c_char_p(NOBODY_COMM.encode()), 0, 0, 0)  # PR_SET_NAME
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LO4, 0))
            s.listen(5)
            u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            u.bind("\0pwtest-%d-nobody" % os.getpid())
            os.write(ready_w, str(port(s)).encode())
            os.close(ready_w)
            os.read(r, 1)  # EOF when the parent exits or is killed
        finally:
            os._exit(0)
    os.close(r)
    os.close(ready_w)
    got = os.read(ready_r, 16)
    os.close(ready_r)
    if not got:
        raise SystemExit("the uid-65534 child failed")
    KEEP.append(w)
    CHILDREN.append(pid)
    return pid, int(got)


def build_basic(tmpdir, summary, raw):
    tcp = {}
    # Listeners of every family.
    l4 = tcp_listener(socket.AF_INET, LO4, backlog=7)
    l6 = tcp_listener(socket.AF_INET6, LO6, backlog=9, v6only=True)
    ldual = tcp_listener(socket.AF_INET6, "::", backlog=11, v6only=False)
    lmapped = tcp_listener(socket.AF_INET6, MAPPED, backlog=13, v6only=False)
    # Wildcards: 0.0.0.0 and a v6only [::] (which ss spells [::], not *).
    l4any = tcp_listener(socket.AF_INET, "0.0.0.0", backlog=6)
    l6any = tcp_listener(socket.AF_INET6, "::", backlog=10, v6only=True)
    tcp.update(l4=port(l4), l6=port(l6), ldual=port(ldual), lmapped=port(lmapped),
               l4any=port(l4any), l6any=port(l6any))

    # ESTAB in every family; the dual-stack listener accepts an IPv4 client, so its server
    # side has v4-mapped addresses.
    connect_pair(l4)
    connect_pair(l6)
    connect_pair(ldual, socket.AF_INET, LO4)
    connect_pair(ldual, socket.AF_INET6, LO6)
    connect_pair(lmapped, socket.AF_INET, LO4)

    # An unaccepted connection: the listener's Recv-Q is 1 and the queued child has no file
    # (inode 0, no owner).
    pending = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    pending.connect((LO4, port(l4)))
    keep(pending)

    # CLOSE-WAIT and FIN-WAIT-2, both still open by us.
    c, _srv = connect_pair(l4)
    c.shutdown(socket.SHUT_WR)
    # Orphaned FIN-WAIT-2 (tcp_fin_timeout keeps it 60 s) and its CLOSE-WAIT peer.
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.connect((LO4, port(l4)))
    keep(l4.accept()[0])
    c.close()
    # TIME-WAIT: the active closer closes first, then the peer; no SO_LINGER.
    for lst, fam, addr in ((l4, socket.AF_INET, LO4), (l6, socket.AF_INET6, LO6)):
        c = socket.socket(fam, socket.SOCK_STREAM)
        c.connect((addr, port(lst)))
        srv, _ = lst.accept()
        c.close()
        time.sleep(0.02)
        srv.close()

    # Zero-window states. lz is a listener whose accepted sockets have tiny buffers.
    lz = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    small_buffers(lz)
    lz.bind((LO4, 0))
    lz.listen(8)
    keep(lz)
    tcp["lz"] = port(lz)
    # LAST-ACK: the server fills the client's window; the client shuts down (FIN-WAIT-2 with
    # a full Recv-Q); the server closes (LAST-ACK, orphaned, FIN stuck behind the data). An
    # orphan's zero-window probes back off for tens of seconds before it is dropped
    # (tcp_orphan_retries), far longer than a test reads.
    c, srv = zero_window_pair(lz)
    fill_until_blocked(srv)
    c.shutdown(socket.SHUT_WR)
    time.sleep(0.02)
    KEEP.remove(srv)
    srv.close()
    # FIN-WAIT-1 and CLOSING: the client fills the server's window and shuts down (FIN-WAIT-1,
    # FIN unsent); the server shuts down too, its FIN arrives: the client is CLOSING and the
    # server FIN-WAIT-2.
    c, srv = zero_window_pair(lz)
    fill_until_blocked(c)
    c.shutdown(socket.SHUT_WR)
    srv.shutdown(socket.SHUT_WR)
    # Plain FIN-WAIT-1 (the peer never answers with its own FIN).
    c, srv = zero_window_pair(lz)
    fill_until_blocked(c)
    c.shutdown(socket.SHUT_WR)

    # SYN-SENT: backlog 0 holds exactly one established connection; the next SYN is dropped.
    lfull = tcp_listener(socket.AF_INET, LO4, backlog=0)
    tcp["lfull"] = port(lfull)
    first = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    first.connect((LO4, port(lfull)))
    keep(first)
    synsent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    synsent.setblocking(False)
    err = synsent.connect_ex((LO4, port(lfull)))
    assert err == errno.EINPROGRESS, err
    keep(synsent)

    # SYN-RECV: TCP_DEFER_ACCEPT keeps the server's request socket until data (never) comes
    # or the defer period ends (then the next ACK completes it): 600 s outlives any test.
    ldefer = tcp_listener(socket.AF_INET, LO4, backlog=4)
    ldefer.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 600)
    tcp["ldefer"] = port(ldefer)
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.connect((LO4, port(ldefer)))
    keep(c)

    # A fixed, well-known port (the namespace is ours alone): not autobound, unlike the rest.
    lfixed = keep(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    lfixed.bind((LO4, 80))
    lfixed.listen(1)
    tcp["lfixed"] = 80

    # Bound to a device: ss prints it as 127.0.0.1%lo:PORT.
    ldev = keep(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    ldev.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    ldev.bind((LO4, 0))
    ldev.listen(2)
    tcp["ldev"] = port(ldev)

    # A listener shared with a forked child (pre-fork server): two owners.
    lshared = tcp_listener(socket.AF_INET, LO4, backlog=3)
    tcp["lshared"] = port(lshared)

    # UDP: bound in every family, connected, with unread datagrams, shared by fork.
    udp = {}
    u4 = keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    u4.bind((LO4, 0))
    u6 = keep(socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
    u6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    u6.bind((LO6, 0))
    udual = keep(socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
    udual.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    udual.bind(("::", 0))
    umapped = keep(socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
    umapped.bind((MAPPED, 0))
    u4any = keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    u4any.bind(("0.0.0.0", 0))
    u6any = keep(socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
    u6any.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    u6any.bind(("::", 0))
    udp.update(u4=port(u4), u6=port(u6), udual=port(udual), umapped=port(umapped),
               u4any=port(u4any), u6any=port(u6any))
    uc4 = keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    uc4.connect((LO4, port(u4)))
    uc6 = keep(socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
    uc6.connect((LO6, port(u6)))
    for _ in range(3):
        uc4.send(b"queued")
        uc6.send(b"queued, v6")
    ushared = keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    ushared.bind((LO4, 0))
    udp["ushared"] = port(ushared)

    # Unix: named (with spaces), abstract, unnamed pairs, every type, a pending connection.
    unix = {}
    sub = os.path.join(tmpdir, "dir with space")
    os.mkdir(sub)
    named = os.path.join(sub, "stream sock")
    ls = keep(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    ls.bind(named)
    ls.listen(6)
    a = keep(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    a.connect(named)
    keep(ls.accept()[0])
    a.send(b"unread bytes")
    pend = keep(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    pend.connect(named)  # never accepted: the listener's Recv-Q is 1
    unix["named_stream"] = named

    abstract = "\0pwtest-%d-abstract" % os.getpid()
    la = keep(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    la.bind(abstract)
    la.listen(2)
    b = keep(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    b.connect(abstract)
    keep(la.accept()[0])
    unix["abstract"] = "@" + abstract[1:]

    seq_path = os.path.join(sub, "seq")
    lq = keep(socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET))
    lq.bind(seq_path)
    lq.listen(4)
    q = keep(socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET))
    q.connect(seq_path)
    keep(lq.accept()[0])

    dg_path = os.path.join(sub, "dgram sock")
    d = keep(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
    d.bind(dg_path)
    dc = keep(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
    dc.connect(dg_path)
    for _ in range(2):
        dc.send(b"unread datagram")

    # Odd names: an embedded NUL (ss prints it as '@'), non-ASCII, a tab, bytes that are not
    # UTF-8, a bidi override in a path. The summary gives each as hex, abstract ones with the
    # leading NUL spelled '@' as both tools do.
    odd = []
    me = os.getpid()
    for name in (b"\0pwtest-%d-emb\0nul" % me, b"\0pwtest-%d-uni\xc3\xbccode" % me,
                 b"\0pwtest-%d-tab\there" % me, b"\0pwtest-%d-non-utf8-\xff\xfe" % me,
                 os.fsencode(sub) + b"/bidi-\xe2\x80\xae-x"):
        o = keep(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
        o.bind(name)
        odd.append((b"@" + name[1:] if name[:1] == b"\0" else name).hex())
    unix["odd_hex"] = odd

    for t in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET):
        keep(*socket.socketpair(socket.AF_UNIX, t))
    unbound = keep(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
    del unbound

    if raw:
        # Raw sockets: ICMP, ICMPv6 (unbound, so ss prints "*"), and one bound to 127.0.0.1.
        keep(socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
        keep(socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6))
        r = keep(socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP))
        r.bind((LO4, 0))

    summary["tcp"] = tcp
    summary["udp"] = udp
    summary["unix"] = unix
    summary["shared_child"] = fork_holder(lshared, ushared)
    summary["nobody_child"], tcp["lnobody"] = fork_as_nobody()
    summary["nobody_comm"] = NOBODY_COMM


def build_scale(tmpdir, summary, tcp_conns, unix_pairs, udp_socks):
    need = 2 * tcp_conns + 2 * unix_pairs + udp_socks + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise SystemExit("RLIMIT_NOFILE hard limit %d < %d needed" % (hard, need))
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    l4 = tcp_listener(socket.AF_INET, LO4, backlog=256)
    l6 = tcp_listener(socket.AF_INET6, LO6, backlog=256, v6only=True)
    for i in range(tcp_conns):
        connect_pair(l6 if i % 4 == 0 else l4)
    for i in range(unix_pairs):
        keep(*socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM if i % 2 else socket.SOCK_DGRAM))
    # UDP: half bound and unconnected, half connected to the first; IPv4 and IPv6 alternate.
    first = None
    for i in range(udp_socks):
        fam, addr = (socket.AF_INET6, LO6) if i % 2 else (socket.AF_INET, LO4)
        u = keep(socket.socket(fam, socket.SOCK_DGRAM))
        if fam == socket.AF_INET6:
            u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        u.bind((addr, 0))
        if i % 4 >= 2:
            u.connect((addr, port(first[i % 2])))
        elif first is None or len(first) < 2:
            first = (first or ()) + (u,)
    summary["tcp"] = {"l4": port(l4), "l6": port(l6)}
    summary["sockets"] = len(KEEP)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["basic", "scale"])
    ap.add_argument("--dir", required=True, help="temp dir for named unix sockets")
    ap.add_argument("--tcp-conns", type=int, default=2000)
    ap.add_argument("--unix-pairs", type=int, default=500)
    ap.add_argument("--udp", type=int, default=0, help="UDP sockets (scale)")
    ap.add_argument("--raw", action="store_true", help="add raw sockets (basic)")
    args = ap.parse_args()

    # A setup step that blocks (an accept or connect that never completes) must not hang
    # the test: SIGALRM ends us, the test sees no "ready" and fails with our stderr.
    signal.alarm(30)
    summary = {"pid": os.getpid()}
    if args.scenario == "basic":
        build_basic(args.dir, summary, args.raw)
    else:
        build_scale(args.dir, summary, args.tcp_conns, args.unix_pairs, args.udp)
    # Let loopback finish the last handshakes and FINs before anyone reads the tables.
    time.sleep(0.2)
    signal.alarm(0)
    summary["children"] = CHILDREN
    sys.stdout.write(json.dumps(summary) + "\nready\n")
    sys.stdout.flush()
    # Hold everything until the test closes our stdin (or kills the process group).
    while True:
        r, _, _ = select.select([sys.stdin], [], [])
        if r and not os.read(sys.stdin.fileno(), 4096):
            break


if __name__ == "__main__":
    main()
