"""hush under systemd: sd_notify readiness, reload and stop, and the unit packaging/hush.service.

The notify protocol is tested with the real binary and a datagram socket of our own in the role
of systemd's (this machine's PID 1 need not be systemd): `hush serve` with NOTIFY_SOCKET set says
READY=1 only once it answers, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 at SIGTERM.
The unit is checked by systemd's own tools: `systemd-analyze verify` (on a copy whose ExecStart
names the binary under test, since /usr/bin/hush need not exist here, and without the man page
check; tests/package verifies the installed unit as it is) and `systemd-analyze security
--offline=true`, whose overall exposure must be OK or better (docs/deploy.md records the score),
with a control: the same unit stripped of its hardening is rated worse. A missing systemd-analyze
fails the test.

Run: /usr/bin/python3 tests/integration/test_systemd.py   (HUSH_BIN=/path/to/hush optional)
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import requests  # noqa: E402

import support  # noqa: E402
from support import Club, Workspace, clean_env  # noqa: E402

UNIT = os.path.join(support.REPO, "packaging", "hush.service")
NOTIFY_TIMEOUT = 15
EXPOSURE_RE = re.compile(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)")
# systemd-analyze security's levels, best first (src/analyze/analyze-security.c).
LEVELS = ["PERFECT", "SAFE", "OK", "MEDIUM", "EXPOSED", "UNSAFE"]


def systemd_analyze(*args):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        raise AssertionError("systemd-analyze is missing (Debian's systemd package)")
    return support.run([tool] + list(args), timeout=60)


class NotifySocket:
    """An AF_UNIX datagram socket in the role of systemd's notify socket."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)

    def receive(self, timeout=NOTIFY_TIMEOUT):
        """The next datagram's assignments as a list of lines; AssertionError on timeout."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            raise AssertionError("no notification within %d s" % timeout) from None
        return data.decode("utf-8").strip("\n").split("\n")

    def expect(self, state):
        lines = self.receive()
        if state not in lines:
            raise AssertionError("expected %s, got %r" % (state, lines))
        return lines

    def silent(self, seconds):
        self.sock.settimeout(seconds)
        try:
            return self.sock.recv(4096)
        except socket.timeout:
            return None

    def close(self):
        self.sock.close()


class NotifyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)
        cls.password = cls.club.add_member("alice")
        cls.club.post("ready when you are")

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def start(self, notify_path):
        log = open(self.ws.sub("serve-%d.log" % time.monotonic_ns()), "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen(
            [support.HUSH_BIN, "serve", "--dir", self.club.dir, "--listen", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
            env=clean_env({"NOTIFY_SOCKET": notify_path}))

        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=support.STOP_TIMEOUT)
            proc.stdout.close()
        self.addCleanup(stop)
        return proc, log.name

    def read_url(self, proc):
        line = support.read_line(proc.stdout, support.START_TIMEOUT).decode().rstrip("\n")
        m = support.SERVING_RE.match(line)
        self.assertIsNotNone(m, "no serving line: %r" % line)
        return m.group(1)

    def get_newest(self, url):
        return requests.get(url, auth=("alice", self.password), verify=self.club.ca_pem,
                            timeout=support.HTTP_TIMEOUT)

    def test_ready_reloading_stopping(self):
        notify = NotifySocket(self.ws.sub("notify.sock"))
        self.addCleanup(notify.close)
        proc, log = self.start(notify.path)
        # The first word hush says is READY=1, and by then it answers: a member reads at once.
        first = notify.receive()
        self.assertEqual(first, ["READY=1"])
        url = self.read_url(proc)
        r = self.get_newest(url)
        self.assertEqual((r.status_code, r.text), (200, "ready when you are"))

        proc.send_signal(signal.SIGHUP)
        self.assertEqual(notify.receive(), ["RELOADING=1"])
        self.assertEqual(notify.receive(), ["READY=1"])
        self.assertEqual(self.get_newest(url).status_code, 200)

        proc.send_signal(signal.SIGTERM)
        self.assertEqual(notify.receive(), ["STOPPING=1"])
        self.assertEqual(proc.wait(timeout=support.STOP_TIMEOUT), 0)
        self.assertIsNone(notify.silent(0.2), "nothing after STOPPING=1")
        with open(log, encoding="utf-8", errors="replace") as f:
            text = f.read()
        support.check_sanitizers(text, "hush serve")
        self.assertNotIn("service manager", text)

    def test_ready_comes_after_listening_not_before(self):
        # A server that cannot listen (the port is taken) never says READY=1: systemd sees the
        # start fail instead.
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        self.addCleanup(taken.close)
        notify = NotifySocket(self.ws.sub("refused.sock"))
        self.addCleanup(notify.close)
        proc = subprocess.run(
            [support.HUSH_BIN, "serve", "--dir", self.club.dir, "--listen",
             "127.0.0.1:%d" % taken.getsockname()[1]],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=support.START_TIMEOUT,
            env=clean_env({"NOTIFY_SOCKET": notify.path}))
        support.check_sanitizers(proc.stderr.decode("utf-8", "replace"), "hush serve")
        self.assertEqual(proc.returncode, 1, proc)
        self.assertIsNone(notify.silent(0.2), "READY=1 from a server that does not listen")

    def test_an_unreachable_manager_does_not_stop_the_server(self):
        proc, log = self.start(self.ws.sub("nobody-listens.sock"))
        url = self.read_url(proc)
        self.assertEqual(self.get_newest(url).status_code, 200)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=support.STOP_TIMEOUT), 0)
        with open(log, encoding="utf-8", errors="replace") as f:
            self.assertIn("could not tell the service manager READY=1", f.read())


def unit_text():
    with open(UNIT, encoding="utf-8") as f:
        return f.read()


def settings(text):
    """The unit's KEY=VALUE lines (comments left out), as a list of pairs in order."""
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            pairs.append((key, value))
    return pairs


def exposure(unit_path):
    r = systemd_analyze("security", "--offline=true", "--no-pager", unit_path)
    m = EXPOSURE_RE.search(r.out + r.err)
    if not m:
        raise AssertionError("no overall exposure level in %r" % r)
    return float(m.group(1)), m.group(2), r


class UnitTest(unittest.TestCase):
    def setUp(self):
        self.ws = Workspace()
        self.addCleanup(self.ws.cleanup)

    def copy_unit(self, text, name="hush.service"):
        # Named hush.service in a directory of its own: systemd takes the unit's name from it.
        d = self.ws.sub("unit-%d" % time.monotonic_ns())
        os.mkdir(d)
        path = os.path.join(d, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_the_contract_of_issue_14(self):
        s = dict(settings(unit_text()))
        self.assertEqual(s["Type"], "notify")
        self.assertEqual(s["User"], "hush")
        self.assertEqual(s["StateDirectory"], "hush")
        self.assertEqual(s["ExecStart"], "/usr/bin/hush serve --dir /var/lib/hush")
        self.assertIn("-HUP $MAINPID", s["ExecReload"])
        self.assertEqual(s["AmbientCapabilities"], "CAP_NET_BIND_SERVICE")
        self.assertEqual(s["CapabilityBoundingSet"], "CAP_NET_BIND_SERVICE")
        self.assertIn("LimitNOFILE", s)
        for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices",
                    "MemoryDenyWriteExecute"):
            self.assertEqual(s.get(key), "yes", key)
        self.assertEqual(s["ProtectSystem"], "strict")
        self.assertIn("@system-service", [v for k, v in settings(unit_text())
                                          if k == "SystemCallFilter"])
        # The systemd credential for the master key is documented, commented out.
        self.assertIn("#LoadCredential=master.key:", unit_text())

    def test_systemd_analyze_verify(self):
        path = self.copy_unit(unit_text().replace("ExecStart=/usr/bin/hush ",
                                                  "ExecStart=%s " % support.HUSH_BIN))
        r = systemd_analyze("verify", "--man=no", path)
        self.assertEqual((r.rc, r.out, r.err), (0, "", ""), r)

    def test_systemd_analyze_verify_can_fail(self):
        # The control: a misspelt key is only a warning to systemd, which this test must see.
        path = self.copy_unit(unit_text().replace("ExecStart=/usr/bin/hush ",
                                                  "ExecStart=%s " % support.HUSH_BIN)
                              .replace("Type=notify", "Tpye=notify"))
        r = systemd_analyze("verify", "--man=no", path)
        self.assertIn("Unknown key", r.err)

    def test_security_exposure_is_ok_or_better(self):
        score, level, r = exposure(UNIT)
        self.assertIn(level, LEVELS, r)
        self.assertLessEqual(LEVELS.index(level), LEVELS.index("OK"),
                             "exposure %s %s:\n%s" % (score, level, r.out))
        # docs/deploy.md states the score; a change to the unit that moves it updates the page.
        with open(os.path.join(support.REPO, "docs", "deploy.md"), encoding="utf-8") as f:
            self.assertIn("exposure level %.1f %s" % (score, level), f.read())

    def test_security_control_without_hardening_is_rated_worse(self):
        hardened = dict(settings(unit_text()))
        kept = ("Type", "ExecStart", "ExecReload", "User", "Group", "StateDirectory")
        bare = "[Unit]\nDescription=hush\n[Service]\n" + "".join(
            "%s=%s\n" % (k, hardened[k]) for k in kept)
        score, level, r = exposure(self.copy_unit(bare))
        self.assertGreater(LEVELS.index(level), LEVELS.index("OK"), r.out)


if __name__ == "__main__":
    support.require_binary()
    unittest.main(verbosity=2)
