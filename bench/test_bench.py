"""Unit tests of the harness' own logic (no sockets, no timing).

  python3 -m unittest discover -s bench
"""

import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import measure  # noqa: E402
import report  # noqa: E402
import workload  # noqa: E402


def cfg_of(preset):
    return workload.config(workload.parse_args(["--preset", preset]))


class Layout(unittest.TestCase):
    def test_share_partitions_every_item_once(self):
        for total in (0, 1, 7, 100, 1001):
            for n in (1, 3, 10, 100):
                got = [i for w in range(n) for i in workload.share(total, n, w)]
                self.assertEqual(got, list(range(total)), (total, n))

    def test_ports_stay_below_the_default_ephemeral_range(self):
        for preset in workload.PRESETS:
            self.assertLess(workload.top_port(cfg_of(preset)), 32768, preset)

    def test_probe_port_has_one_listener_in_every_preset(self):
        for preset in workload.PRESETS:
            cfg = cfg_of(preset)
            port = workload.probe_port(cfg)
            bound = [workload.v4_addr(cfg, i) for i in range(cfg["listen4"])]
            bound += [workload.v6_addr(cfg, i) for i in range(cfg["listen6"])]
            self.assertEqual(sum(1 for _, p in bound if p == port), 1, preset)
            self.assertEqual(workload.listeners_on(cfg, port), 1, preset)


class Matcher(unittest.TestCase):
    def setUp(self):
        self.match = measure.workload_matcher(cfg_of("small"))

    def test_lines_of_every_tool_showing_the_workload(self):
        for line in [
            'LISTEN 0 512 127.0.3.5:24001 0.0.0.0:* users:(("pwbench-sock-3",pid=9,fd=4))',
            "ESTAB 0 0 127.0.4.2:40112 127.0.3.2:24000",
            "LISTEN 0 512 [::1]:24019 [::]:*",
            "ESTAB 0 0 [::1]:41026 [::1]:24019",
            "tcp6 0 0 ::1:41026 ::1:24019 ESTABLISHED 19063/pwbench-sock",
            "pwbench-s 9 root 4u IPv6 123 0t0 TCP [::1]:41026->[::1]:24019 (ESTABLISHED)",
            "LISTEN ::1 24019 pwbench-sock-3",
        ]:
            self.assertTrue(self.match(line), line)

    def test_other_loopback_sockets_are_not_the_workload(self):
        for line in [
            "LISTEN 0 128 127.0.0.1:5432 0.0.0.0:*",
            "LISTEN 0 128 127.0.1.1:53 0.0.0.0:*",
            "LISTEN 0 128 [::1]:631 [::]:*",
            "ESTAB 0 0 [::1]:45000 [::1]:8080",
            "LISTEN 0 128 127.0.30.1:24000 0.0.0.0:*",
            "tcp6 0 0 fe80::1:24000 :::* LISTEN",
        ]:
            self.assertFalse(self.match(line), line)


class Verdict(unittest.TestCase):
    expected = {"tcp": 800, "fds": 2000}
    base = dict(lines=2, value=2, owners=0, rc=0, host_fds=None)

    def now(self, **kw):
        return dict(dict(lines=802, value=802, owners=800, rc=0, host_fds=None), **kw)

    def test_exact_counts_pass(self):
        c = dict(expect="tcp", owners=True, count="lines")
        self.assertEqual(measure.verdict(c, self.base, self.now(), self.expected), "ok")

    def test_missing_lines_owners_or_exit_code_fail(self):
        c = dict(expect="tcp", owners=True, count="lines")
        self.assertTrue(measure.verdict(c, self.base, self.now(value=2), self.expected)
                        .startswith("MISMATCH"))
        self.assertTrue(measure.verdict(c, self.base, self.now(owners=0), self.expected)
                        .startswith("MISMATCH"))
        self.assertTrue(measure.verdict(c, self.base, self.now(rc=1), self.expected)
                        .startswith("FAILED"))

    def test_fd_scan_must_match_the_host_count_around_it(self):
        c = dict(expect="fds", owners=False, count="int")
        ok = self.now(value=10000, host_fds=(9990, 10010))
        bad = self.now(value=500, host_fds=(9990, 10010))
        self.assertEqual(measure.verdict(c, self.base, ok, self.expected), "ok")
        self.assertTrue(measure.verdict(c, self.base, bad, self.expected).startswith("MISMATCH"))


class Report(unittest.TestCase):
    def scale(self, pw_check):
        cmds = {"portwatch -antp": dict(name="portwatch -antp", check=pw_check, median=0.1,
                                        min=0.1, peak_rss_kb=1000),
                "ss -antp": dict(name="ss -antp", check="ok", median=0.4, min=0.4,
                                 peak_rss_kb=2000)}
        return {"scale": "small", "commands": cmds,
                "groups": [dict(name="antp", commands=list(cmds))]}

    def test_ratio_only_for_checked_output(self):
        self.assertAlmostEqual(report.metric(self.scale("ok"), "antp", "wall")[0], 0.25)
        self.assertAlmostEqual(report.metric(self.scale("ok"), "antp", "rss")[0], 0.5)
        self.assertIsNone(report.metric(self.scale("MISMATCH: x"), "antp", "wall")[0])

    def test_targets_pass_and_fail(self):
        rows = {r[0]: r[4] for r in report.target_rows({"scales": [self.scale("ok")]})}
        self.assertEqual(rows["-antp, 1k sockets / 2k fds"], "PASS")  # 0.25 <= 0.8
        self.assertEqual(rows["-lntp, 1k sockets among 100k idle fds"], "not run")


if __name__ == "__main__":
    unittest.main()
