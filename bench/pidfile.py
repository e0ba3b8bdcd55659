"""The pidfile bench/workload.py writes, and stopping a workload by the pids in it.

Each line is "PID STARTTIME ROLE". STARTTIME (field 22 of /proc/PID/stat, see
proc(5)) tells our process from an unrelated one that got the same pid after
ours exited, so only processes this harness started are ever signalled.
"""

import os
import signal
import time


def proc_starttime(pid):
    """Field 22 of /proc/PID/stat (after the ')' that ends the comm), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
        return int(data[data.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def read_pidfile(path):
    """[(pid, starttime or None, role)] from a --pidfile."""
    out = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0].isdigit():
                out.append((int(parts[0]), int(parts[1]) if parts[1].isdigit() else None,
                            parts[2]))
    return out


def is_ours(pid, starttime):
    """PID is still the process we recorded (not a reused pid) and not a zombie."""
    if starttime is None:
        return False  # unknown start time: never signal it
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
        zombie = data[data.rindex(")") + 2] == "Z"
    except (OSError, ValueError, IndexError):
        return False
    return not zombie and proc_starttime(pid) == starttime


def signal_if_ours(pid, starttime, sig):
    if is_ours(pid, starttime):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass  # exited between the check and the kill


def stop_pidfile(path, timeout=30.0):
    """SIGTERM the recorded parent, then SIGKILL any recorded pid still ours.
    Returns the pids still alive afterwards."""
    try:
        entries = read_pidfile(path)
    except OSError:
        return []
    for pid, st, role in entries:
        if role == "parent":
            signal_if_ours(pid, st, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(is_ours(p, s) for p, s, _ in entries):
        time.sleep(0.1)
    for pid, st, _ in entries:
        signal_if_ours(pid, st, signal.SIGKILL)
    time.sleep(0.2)
    try:
        os.unlink(path)
    except OSError:
        pass
    return [p for p, s, _ in entries if is_ours(p, s)]
