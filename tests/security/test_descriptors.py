"""Running out of file descriptors does not make the server spin.

hush serve is started, then its open-file limit (RLIMIT_NOFILE) is lowered with prlimit to a
few more descriptors than it holds; silent TCP connections from loopback addresses use them up,
and more wait in the listen backlog. Over the next seconds:
- the server writes at most about a log line a second (failed accepts are rate-limited, with a
  count of the lines held back), and
- it burns little CPU (utime + stime from /proc/PID/stat): it pauses accepting instead of
  retrying at once;
- once the connections are closed, a member is served again.
Control: the log shows that accept really ran out of descriptors ("Too many open files"), so a
run that never exhausted them cannot pass.

Run: /usr/bin/python3 tests/security/test_descriptors.py   (HUSH_BIN=/path/to/hush optional)
"""

import os
import resource
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import secsupport as sec  # noqa: E402

SPARE_FDS = 24  # descriptors left to the server above what it holds at startup
CONNECTIONS = 80  # more than that: the rest wait in the backlog
SETTLE_S = 1.5
MEASURE_S = 4.0
MAX_LOG_LINES = 8  # about one a second, plus slack
MAX_CPU_S = 0.4  # of MEASURE_S: a busy loop takes all of it
RECOVER_S = 15


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 (utime, stime) of proc(5), counted from after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def log_lines(server):
    return server.log_bytes().count(b"\n")


class DescriptorExhaustionTest(unittest.TestCase):

    def test_no_busy_loop_when_descriptors_run_out(self):
        ws = sec.Workspace(prefix="hush-sec-")
        self.addCleanup(ws.cleanup)
        club = sec.make_club(ws, {("limits", "handshake_timeout_seconds"): "60"})
        server = sec.start_hush(club)
        self.addCleanup(server.stop)
        pid = server.proc.pid
        # Warm up: the member's credential is verified (and cached) while descriptors are plenty.
        status, _s, r = sec.member_get(club, server, "127.6.1.1", timeout=10)
        self.assertEqual(status, 200, r)

        limit = open_fds(pid) + SPARE_FDS
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        for i in range(CONNECTIONS):
            socks.append(sec.raw_connect("127.0.0.1", server.port, "127.6.0.%d" % (1 + i)))
        time.sleep(SETTLE_S)

        lines0, cpu0 = log_lines(server), cpu_seconds(pid)
        time.sleep(MEASURE_S)
        lines1, cpu1 = log_lines(server), cpu_seconds(pid)
        log = server.log()
        sys.stderr.write("\nout of descriptors for %.1f s: %d log lines, %.2f s of CPU\n"
                         % (MEASURE_S, lines1 - lines0, cpu1 - cpu0))

        # Control: the server did run out.
        self.assertIn("Too many open files", log, "descriptors were never exhausted: %s"
                      % log[-500:])
        self.assertLessEqual(lines1 - lines0, MAX_LOG_LINES,
                             "%d log lines in %.1f s: %s" % (lines1 - lines0, MEASURE_S,
                                                             log[-300:]))
        self.assertLess(cpu1 - cpu0, MAX_CPU_S,
                        "%.2f s of CPU in %.1f s while out of descriptors" % (cpu1 - cpu0,
                                                                              MEASURE_S))

        for s in socks:
            s.close()
        socks.clear()
        deadline = time.monotonic() + RECOVER_S
        status, r = None, None
        while time.monotonic() < deadline:
            status, _s, r = sec.member_get(club, server, "127.6.1.2", timeout=5)
            if status == 200:
                break
            time.sleep(0.3)
        self.assertEqual(status, 200, "not served again after the connections closed: %r" % r)


if __name__ == "__main__":
    sec.main()
