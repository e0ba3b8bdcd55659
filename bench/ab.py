#!/usr/bin/env python3
"""Two or more commands timed with their runs alternated (A B B A A B ...), for changes too
small for hyperfine's back-to-back runs on a shared, noisy machine: the load drifts between
two batches, less between two neighbouring runs.

    python3 bench/ab.py RUNS "CMD A ..." "CMD B ..." [...]

Prints each command's median wall time and median CPU time (user + system of the child,
from getrusage), in ms. Output goes to /dev/null; the commands are split on spaces.
"""

import resource
import statistics
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    runs = int(sys.argv[1])
    cmds = [c.split() for c in sys.argv[2:]]
    wall = [[] for _ in cmds]
    cpu = [[] for _ in cmds]
    for r in range(runs):
        order = range(len(cmds)) if r % 2 == 0 else reversed(range(len(cmds)))
        for i in order:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(cmds[i], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wall[i].append((time.perf_counter() - start) * 1000)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            cpu[i].append(used * 1000)
    for i, c in enumerate(sys.argv[2:]):
        print("%8.1f ms wall  %8.1f ms cpu  %s"
              % (statistics.median(wall[i]), statistics.median(cpu[i]), c))


if __name__ == "__main__":
    main()
