"""Timing does not tell which member names exist.

200 requests with an unknown name and 200 with a known name and a wrong password, interleaved
(the order inside each pair is shuffled with a fixed seed), one keep-alive connection: the two
medians differ by less than 5% (in a second sample, when the first is over: see the test). The
throttle is raised out of the way (every request must reach the password check). Control: a plain server that refuses unknown names at once but hashes
(PBKDF2) for known ones shows the difference to the same measurement.

Run: /usr/bin/python3 tests/security/test_timing.py   (HUSH_BIN=/path/to/hush optional)
"""

import os
import random
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import secsupport as sec  # noqa: E402

PAIRS = 200
MAX_RELATIVE_DIFFERENCE = 0.05
WARMUP = 10

NO_THROTTLE = {
    ("throttle", "member_free_failures"): "100000",
    ("throttle", "address_free_failures"): "100000",
}


def measure(sess, url, known, unknown, pairs=PAIRS, seed=1234):
    """Interleaved timings. Returns (unknown-name seconds, wrong-password seconds, statuses)."""
    rng = random.Random(seed)
    t_unknown, t_wrong, statuses = [], [], set()
    for i in range(WARMUP):
        sec.timed_get(sess, url, unknown if i % 2 else known, "warm-up-%d" % i)
    for i in range(pairs):
        kinds = ["unknown", "wrong"]
        rng.shuffle(kinds)
        for kind in kinds:
            name = unknown if kind == "unknown" else known
            status, seconds, _r = sec.timed_get(sess, url, name, "not-the-password-%d" % i)
            statuses.add(status)
            (t_unknown if kind == "unknown" else t_wrong).append(seconds)
    return t_unknown, t_wrong, statuses


def relative_difference(t_unknown, t_wrong):
    a, b = sec.median(t_unknown), sec.median(t_wrong)
    return abs(a - b) / min(a, b)


def describe(t_unknown, t_wrong):
    return "median unknown name %.2f ms, wrong password %.2f ms, difference %.1f%%" % (
        sec.median(t_unknown) * 1e3, sec.median(t_wrong) * 1e3,
        100 * relative_difference(t_unknown, t_wrong))


class TimingTest(unittest.TestCase):

    def test_unknown_name_and_wrong_password_take_the_same_time(self):
        ws = sec.Workspace(prefix="hush-sec-")
        self.addCleanup(ws.cleanup)
        club = sec.make_club(ws, NO_THROTTLE)
        server = sec.start_hush(club)
        self.addCleanup(server.stop)
        s = sec.http_session(club.ca_pem)
        self.addCleanup(s.close)
        t_unknown, t_wrong, statuses = measure(s, server.url, "alice", "alicf")
        summary = describe(t_unknown, t_wrong)
        sys.stderr.write("\n  hush: %s\n" % summary)
        self.assertEqual(statuses, {401}, summary)
        # A second sample (another order) when the first is over the bound: CI's machine is
        # shared, and a neighbour busy for part of the 400 requests (a browser test's processes
        # winding down, once) can tilt one sample. A real difference shows in both; the control
        # below shows ~700% in one.
        if relative_difference(t_unknown, t_wrong) >= MAX_RELATIVE_DIFFERENCE:
            t_unknown, t_wrong, statuses = measure(s, server.url, "alice", "alicf", seed=4321)
            summary += "; again: " + describe(t_unknown, t_wrong)
            sys.stderr.write("  hush, again: %s\n" % describe(t_unknown, t_wrong))
            self.assertEqual(statuses, {401}, summary)
        self.assertLess(relative_difference(t_unknown, t_wrong), MAX_RELATIVE_DIFFERENCE, summary)

    def test_control_plain_server_leaks_names(self):
        with sec.PlainServer("--member", "alice:right", "--hash-iterations", "50000") as plain:
            s = sec.http_session()
            self.addCleanup(s.close)
            t_unknown, t_wrong, statuses = measure(s, plain.url, "alice", "alicf")
        summary = describe(t_unknown, t_wrong)
        sys.stderr.write("\n  control: %s\n" % summary)
        self.assertEqual(statuses, {401}, summary)
        self.assertGreaterEqual(relative_difference(t_unknown, t_wrong), MAX_RELATIVE_DIFFERENCE,
                                "the control was not flagged: " + summary)


if __name__ == "__main__":
    sec.main()
