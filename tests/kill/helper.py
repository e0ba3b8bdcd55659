# Processes for tests/kill: a listener (that may ignore SIGTERM, fork, or rename itself), a
# client connected to a port, and a supervisor that starts the listener again whenever it
# exits. Each prints "READY <port> <pid>..." once its sockets are open, then holds them until
# its stdin closes. Every process started here is in the process group of the first one, so
# the test stops them all by that pid.
import os
import signal
import socket
import sys


def ready(*fields):
    sys.stdout.write("READY " + " ".join(str(f) for f in fields) + "\n")
    sys.stdout.flush()


def hold():
    try:
        sys.stdin.buffer.read()
    finally:
        os._exit(0)


def listener(port, udp):
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    if not udp:
        s.listen(16)
    return s


def main():
    args = sys.argv[1:]
    mode = args.pop(0)
    flags, opts = set(), {}
    while args:
        a = args.pop(0)
        if a in ("--ignore-term", "--fork", "--udp"):
            flags.add(a)
        else:
            opts[a] = args.pop(0)
    if "--comm" in opts:
        with open("/proc/self/comm", "wb") as f:
            f.write(bytes.fromhex(opts["--comm"]))
    if "--ignore-term" in flags:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    port = int(opts.get("--port", "0"))
    if mode == "listen":
        s = listener(port, "--udp" in flags)
        port = s.getsockname()[1]
        if "--fork" in flags:
            child = os.fork()
            if child == 0:
                hold()
            ready(port, os.getpid(), child)
        else:
            ready(port, os.getpid())
        hold()
    elif mode == "connect":
        c = socket.create_connection(("127.0.0.1", port))
        ready(c.getsockname()[1], os.getpid())
        hold()
    elif mode == "supervise":
        # As systemd's Restart=always: a new listener as soon as the last one exits.
        while True:
            child = os.fork()
            if child == 0:
                s = listener(port, False)
                ready(port, os.getpid())
                hold()
            os.waitpid(child, 0)
    else:
        sys.exit("unknown mode " + mode)


main()
