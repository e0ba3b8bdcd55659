"""Turn bench/run.py's results.json into report.md and a console summary.

Kept apart from run.py so a report can be rebuilt (`run.py --report-from`)
and so the targets of the performance issue live in one table.
"""

# (scale, group, metric, limit, what): metric "wall" = median wall portwatch / ss,
# "floor" = median wall portwatch / (ss -ant + fdfloor -j 2), "rss" = peak RSS portwatch / ss.
TARGETS = [
    ("large", "antp", "wall", 0.25, "-antp, 100k sockets / 200k fds"),
    ("large", "antp", "floor", 1.3, "-antp vs the floor (ss -ant + 2-thread readlink scan)"),
    ("large", "lntp", "wall", 0.35, "-lntp, 100k sockets / 200k fds"),
    ("large", "port", "wall", 0.2, "-lntp sport = :P, 100k sockets / 200k fds"),
    ("large", "ant", "wall", 1.0, "-ant (no owners), 100k sockets / 200k fds"),
    ("small", "antp", "wall", 0.8, "-antp, 1k sockets / 2k fds"),
    ("fdheavy", "lntp", "wall", 0.45, "-lntp, 1k sockets among 100k idle fds"),
    ("large", "antp", "rss", 1.0, "peak RSS of -antp, 100k sockets"),
    ("large", "tin", "wall", 0.5, "-tin (tcp_info of every connection), 100k sockets"),
    ("large", "summary", "wall", 1.0, "-s, 100k sockets"),
]
PAIRS = ["antp", "lntp", "port", "ant", "tin", "summary", "startup"]


def ms(x):
    if x is None:
        return "-"
    x *= 1e3
    return "%.0f" % x if x >= 100 else ("%.1f" % x if x >= 10 else "%.2f" % x)


def mib(kb):
    return "%.1f" % (kb / 1024) if kb else "-"


def valid(c):
    return c is not None and c.get("check") in ("ok", "~ok") and "median" in c


def pair(scale, group):
    """(portwatch entry, reference entry) of a pair group, or (None, None)."""
    for g in scale.get("groups", []):
        if g["name"] == group and len(g["commands"]) >= 2:
            cmds = scale["commands"]
            return cmds.get(g["commands"][0]), cmds.get(g["commands"][1])
    return None, None


def floor_s(scale):
    """ss -ant + fdfloor -j 2 medians: the least work an -antp listing can do."""
    c = scale.get("commands", {})
    ant, scan = c.get("ss -ant"), c.get("fdfloor -j 2")
    return ant["median"] + scan["median"] if valid(ant) and valid(scan) else None


def metric(scale, group, kind):
    """(ratio or None, note)."""
    pw, ref = pair(scale, group)
    if pw is None:
        return None, "not measured"
    if not valid(pw):
        return None, "n/a: portwatch %s" % (pw.get("check", "").split(":")[0] or "no timing")
    if kind == "rss":
        return ((pw["peak_rss_kb"] / ref["peak_rss_kb"], "") if pw.get("peak_rss_kb")
                and ref.get("peak_rss_kb") else (None, "no RSS"))
    if kind == "floor":
        f = floor_s(scale)
        return (pw["median"] / f, "") if f else (None, "floor not measured")
    if not valid(ref):
        return None, "n/a: reference %s" % (ref.get("check", "").split(":")[0] or "no timing")
    return pw["median"] / ref["median"], ""


def target_rows(data):
    rows = []
    by_name = {s["scale"]: s for s in data["scales"]}
    for scale, group, kind, limit, what in TARGETS:
        s = by_name.get(scale)
        if s is None:
            rows.append((what, scale, None, limit, "not run"))
            continue
        r, note = metric(s, group, kind)
        verdict = note if r is None else ("PASS" if r <= limit else "FAIL")
        rows.append((what, scale, r, limit, verdict))
    return rows


def render(data):
    env = data["env"]
    L = ["# portwatch benchmark, %s\n" % env["date_utc"],
         "Machine: %s CPUs (%s), %s RAM, kernel %s, root: %s. %s; %s; lsof %s; %s." % (
             env["cpus"], env["cpu_model"], env["mem"], env["kernel"], env["root"], env["ss"],
             env["netstat"], env["lsof"], env["hyperfine"]),
         "portwatch: `%s` (%s; hot-function list: %s).\n" % (
             env["portwatch_path"], env["portwatch"],
             env.get("hot_functions", "-").split(" are in ")[0]),
         "Command: `%s`\n" % data["argv"],
         "Wall times are hyperfine medians (output to /dev/null, warm caches; the runs of a "
         "group are split over two hyperfine calls, the second in reverse order); min/max "
         "are over the same runs; user/sys are means; peak RSS is the max of "
         "`/usr/bin/time -v` runs. A command whose output does not show the workload (see "
         "*check*) gets no ratio.\n",
         "## Targets\n", "| target | scale | measured | limit | verdict |", "|---|---|---|---|---|"]
    for what, scale, r, limit, verdict in target_rows(data):
        L.append("| %s | %s | %s | <= %.2f | %s |" % (
            what, scale, "-" if r is None else "%.2f" % r, limit, verdict))
    L += ["\n## Populations\n",
          "| scale | TCP listen | TCP total | UDP | unix | sockets | workload fds | processes "
          "| probe port (listeners) | ready in |", "|---|---|---|---|---|---|---|---|---|---|"]
    for s in data["scales"]:
        e = s.get("expected")
        if not e:
            L.append("| %s | failed: %s |" % (s["scale"], s.get("error", "?")))
            continue
        L.append("| %s | %d | %d | %d | %d | %d | %d | %d | %d (%d) | %.1f s |" % (
            s["scale"], e["tcp_listen"], e["tcp"], e["udp"], e["unix"], e["sockets"], e["fds"],
            e["processes"], e["probe_port"], e["probe_port_listeners"], s["ready_s"]))
    for s in data["scales"]:
        L += render_scale(s)
    return "\n".join(L) + "\n"


def render_scale(s):
    L = ["\n## Scale `%s`\n" % s["scale"]]
    if s.get("error"):
        L.append("**Failed:** %s\n" % s["error"])
    rows = []
    for g in PAIRS:
        pw, ref = pair(s, g)
        if pw is None:
            continue
        r, note = metric(s, g, "wall")
        rr, _ = metric(s, g, "rss")
        rows.append("| `%s` vs `%s` | %s | %s | %s | %s | %s |" % (
            pw["name"], ref["name"], ms(pw.get("median")), ms(ref.get("median")),
            "%.2f" % r if r is not None else note, "%.2f" % rr if rr is not None else "-",
            "%.2f" % (pw["min"] / ref["min"]) if r is not None else "-"))
    f = floor_s(s)
    if f:
        rf, note = metric(s, "antp", "floor")
        rows.append("| `portwatch -antp` vs floor (ss -ant + fdfloor -j 2) | %s | %s | %s | - | - |"
                    % (ms((pair(s, "antp")[0] or {}).get("median")), ms(f),
                       "%.2f" % rf if rf is not None else note))
    c = s.get("commands", {})
    if "portwatch --version" in c:
        L.append("Start-up (median wall): `portwatch --version` %s ms (argument parsing only), "
                 "`portwatch -lnt sport = :1` %s ms (`ss -lnt sport = :1` %s ms), "
                 "`portwatch explain 1` %s ms.\n" % tuple(
                     ms(c.get(n, {}).get("median")) for n in (
                         "portwatch --version", "portwatch -lnt sport = :1",
                         "ss -lnt sport = :1", "portwatch explain 1")))
    if rows:
        L += ["| pair | portwatch ms | reference ms | median ratio | peak RSS ratio "
              "| min ratio |", "|---|---|---|---|---|---|"] + rows + [""]
    L += ["| command | check | runs | median ms | min ms | max ms | user ms | sys ms "
          "| peak RSS MiB | output lines (fd entries) idle -> running |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for name, c in s.get("commands", {}).items():
        L.append("| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s -> %s |" % (
            name, c["check"], c.get("runs", "-"),
            ms(c.get("median")), ms(c.get("min")), ms(c.get("max")), ms(c.get("user")),
            ms(c.get("sys")), mib(c.get("peak_rss_kb")),
            *((c["idle_value"], c["value"]) if c.get("count") == "int"
              else (c["idle_lines"], c["lines"]))))
    L.append("\nWorkload stopped by pid; still alive: %s; workload TCP lines after: %s (idle %s); "
             "loadavg before / after: %s / %s.\n" % (
                 s.get("left_alive") or "none", s.get("tcp_lines_after"),
                 s.get("tcp_lines_idle"), " ".join(s.get("loadavg_before", [])),
                 " ".join(s.get("loadavg_after", []))))
    L.append("Exact commands (hyperfine calls; peak RSS from `/usr/bin/time -v COMMAND`):\n")
    for g in s.get("groups", []):
        L += ["- `%s`" % a for a in g.get("hyperfine", [])]
        if g.get("error"):
            L.append("  - %s" % g["error"])
    return L


def summary_text(data):
    """A few lines for the terminal: per scale the medians, then the targets."""
    L = []
    for s in data["scales"]:
        L.append("%s:%s" % (s["scale"], " FAILED: " + s["error"] if s.get("error") else ""))
        for name, c in s.get("commands", {}).items():
            L.append("  %-28s %9s ms  (min %s, max %s)  rss %s MiB  %s" % (
                name, ms(c.get("median")), ms(c.get("min")), ms(c.get("max")),
                mib(c.get("peak_rss_kb")), c["check"]))
    L.append("targets:")
    for what, scale, r, limit, verdict in target_rows(data):
        L.append("  %-55s %-8s %5s <= %.2f  %s" % (
            what, scale, "-" if r is None else "%.2f" % r, limit, verdict))
    return "\n".join(L)
