"""The Debian package, installed for real: dpkg -i, hush --version, man -w, the installed unit
verified by systemd-analyze as it is, `hush init` into /var/lib/hush as the user hush, the server
run as hush (READY=1 on a notify socket of the test's own), a member reads a message with curl,
then dpkg -r and dpkg --purge leave the club's files as they were.

It takes the package scripts/package built (build/package/hush_*_amd64.deb, or $HUSH_DEB). It
changes the machine and puts it back: it refuses to run when hush is already installed or
/var/lib/hush already exists (someone's club), and at the end purges the package, removes the
/var/lib/hush it made and the user hush if it made it. A missing tool fails it. Root only.

Run: /usr/bin/python3 tests/package/test_package.py   (scripts/test runs it after scripts/package)
"""

import glob
import hashlib
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import support  # noqa: E402
from support import clean_env, run  # noqa: E402

STATE = "/var/lib/hush"
TOOLS = ("dpkg", "dpkg-deb", "dpkg-query", "man", "systemd-analyze", "curl", "runuser", "setpriv",
         "deluser")
FILES = ("/usr/bin/hush", "/lib/systemd/system/hush.service", "/usr/lib/sysusers.d/hush.conf",
         "/usr/share/man/man1/hush.1.gz", "/usr/share/man/man5/hush.toml.5.gz",
         "/usr/share/bash-completion/completions/hush", "/etc/fail2ban/filter.d/hush.conf",
         "/etc/fail2ban/jail.d/hush.conf", "/usr/share/doc/hush/copyright",
         "/usr/share/doc/hush/changelog.gz", "/usr/share/doc/hush/deploy.md.gz")
CONFFILES = ("/etc/fail2ban/filter.d/hush.conf", "/etc/fail2ban/jail.d/hush.conf")
MESSAGE = "The eagle lands at midnight."


def installed():
    r = run(["dpkg-query", "-W", "-f", "${Status}", "hush"])
    return r.rc == 0 and "installed" in r.out and "not-installed" not in r.out


def as_hush(*args, input=None):
    return run(["runuser", "-u", "hush", "--", "/usr/bin/hush"] + list(args), input=input)


def snapshot(directory):
    """{relative path: (mode, owner, sha256)} of every file under DIRECTORY."""
    files = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            st = os.lstat(path)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            files[os.path.relpath(path, directory)] = (stat.S_IMODE(st.st_mode), st.st_uid,
                                                       digest)
    return files


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("the package test installs a package: run it as root")
        missing = [tool for tool in TOOLS if shutil.which(tool) is None]
        if missing:
            raise AssertionError("missing tools: %s (scripts/install-deps)" % " ".join(missing))
        debs = [os.environ["HUSH_DEB"]] if os.environ.get("HUSH_DEB") else glob.glob(
            os.path.join(support.REPO, "build", "package", "hush_*_*.deb"))
        if len(debs) != 1 or not os.path.isfile(debs[0]):
            raise AssertionError("expected one package in build/package (run scripts/package), "
                                 "found %r" % debs)
        cls.deb = debs[0]
        cls.version = run(["dpkg-deb", "-f", cls.deb, "Version"]).out.strip()
        if installed():
            raise AssertionError("hush is already installed here; the test will not replace it")
        if os.path.lexists(STATE):
            raise AssertionError("%s already exists (a club?); the test will not touch it: move "
                                 "it away to run the package test" % STATE)
        cls.user_existed = run(["getent", "passwd", "hush"]).rc == 0
        cls.server = None
        cls.addClassCleanup(cls.put_back)
        # --path-include: a machine whose dpkg leaves man pages and docs out (Debian's slim
        # container images) still gets this package's.
        r = run(["dpkg", "--path-include=/usr/share/man/*", "--path-include=/usr/share/doc/hush/*",
                 "-i", cls.deb], timeout=120)
        if r.rc != 0:
            raise AssertionError("dpkg -i failed: %r" % r)

    @classmethod
    def put_back(cls):
        if cls.server is not None and cls.server.poll() is None:
            cls.server.kill()
            cls.server.wait(timeout=10)
        if installed() or run(["dpkg-query", "-W", "hush"]).rc == 0:
            run(["dpkg", "--purge", "hush"], timeout=120)
        shutil.rmtree(STATE, ignore_errors=True)
        if not cls.user_existed and run(["getent", "passwd", "hush"]).rc == 0:
            run(["deluser", "--system", "--quiet", "hush"])
            run(["delgroup", "--system", "--quiet", "hush"])

    def test_1_installed(self):
        r = run(["/usr/bin/hush", "--version"])
        self.assertEqual((r.rc, r.out), (0, "hush %s\n" % self.version), r)
        self.assertEqual(run(["man", "-w", "hush"]).out.strip(), "/usr/share/man/man1/hush.1.gz")
        self.assertEqual(run(["man", "-w", "5", "hush.toml"]).out.strip(),
                         "/usr/share/man/man5/hush.toml.5.gz")
        listed = run(["dpkg", "-L", "hush"]).out.splitlines()
        for path in FILES:
            self.assertIn(path, listed)
            self.assertTrue(os.path.isfile(path), path)
        conffiles = run(["dpkg-query", "-W", "-f", "${Conffiles}", "hush"]).out
        for path in CONFFILES:
            self.assertIn(path, conffiles)
        with open("/etc/fail2ban/jail.d/hush.conf", encoding="utf-8") as f:
            self.assertRegex(f.read(), r"(?m)^enabled *= false$")
        # The system user and its private, empty state directory, ready for `hush init`.
        user = pwd.getpwnam("hush")
        self.assertLess(user.pw_uid, 1000)
        self.assertEqual((user.pw_dir, user.pw_shell), (STATE, "/usr/sbin/nologin"))
        st = os.stat(STATE)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid), (0o700, user.pw_uid))
        self.assertEqual(os.listdir(STATE), [])

    def test_2_installed_unit_verifies(self):
        # As installed: ExecStart's /usr/bin/hush and the man pages of Documentation= exist.
        r = run(["systemd-analyze", "verify", "/lib/systemd/system/hush.service"], timeout=60)
        self.assertEqual((r.rc, r.out, r.err), (0, "", ""), r)

    def test_3_init_serve_read_as_hush(self):
        r = as_hush("init", "--dir", STATE)
        self.assertEqual(r.rc, 0, r)
        uid = pwd.getpwnam("hush").pw_uid
        for name in ("hush.toml", "hush.db", "master.key", "ca.key", "ca.pem"):
            self.assertEqual(os.stat(os.path.join(STATE, name)).st_uid, uid, name)
        password = "correct horse battery staple"
        r = as_hush("member", "add", "alice", "--dir", STATE, "--password-stdin",
                    input=password + "\n")
        self.assertEqual(r.rc, 0, r)
        r = as_hush("message", "post", "--dir", STATE, input=MESSAGE)
        self.assertEqual(r.rc, 0, r)

        # The server as hush, as the unit runs it, told where to say READY=1.
        notify_dir = tempfile.mkdtemp(prefix="hush-pkg-")
        self.addCleanup(shutil.rmtree, notify_dir, True)
        os.chmod(notify_dir, 0o755)
        notify_path = os.path.join(notify_dir, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(notify.close)
        notify.bind(notify_path)
        os.chmod(notify_path, 0o666)
        notify.settimeout(support.START_TIMEOUT)
        type(self).server = subprocess.Popen(
            ["setpriv", "--reuid", "hush", "--regid", "hush", "--init-groups", "/usr/bin/hush",
             "serve", "--dir", STATE, "--listen", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=clean_env({"NOTIFY_SOCKET": notify_path}))
        server = self.server
        self.assertEqual(notify.recv(4096), b"READY=1")
        line = support.read_line(server.stdout, support.START_TIMEOUT).decode().rstrip("\n")
        m = support.SERVING_RE.match(line)
        self.assertIsNotNone(m, line)
        r = run(["curl", "--silent", "--show-error", "--max-time", "15", "--cacert",
                 os.path.join(STATE, "ca.pem"), "-u", "alice:" + password, m.group(1)])
        self.assertEqual((r.rc, r.out), (0, MESSAGE), r)
        server.send_signal(signal.SIGTERM)
        self.assertEqual(notify.recv(4096), b"STOPPING=1")
        self.assertEqual(server.wait(timeout=support.STOP_TIMEOUT), 0)
        server.stdout.close()
        server.stderr.close()
        type(self).club = snapshot(STATE)
        self.assertIn("hush.db", self.club)

    def test_4_remove_and_purge_leave_the_club(self):
        before = getattr(type(self), "club", None)
        self.assertIsNotNone(before, "test_3 made no club")
        r = run(["dpkg", "-r", "hush"], timeout=120)
        self.assertEqual(r.rc, 0, r)
        self.assertFalse(os.path.exists("/usr/bin/hush"))
        self.assertFalse(os.path.exists("/lib/systemd/system/hush.service"))
        self.assertEqual(snapshot(STATE), before, "dpkg -r changed the club")
        for path in CONFFILES:
            self.assertTrue(os.path.exists(path), "dpkg -r keeps conffiles: " + path)
        r = run(["dpkg", "--purge", "hush"], timeout=120)
        self.assertEqual(r.rc, 0, r)
        for path in CONFFILES:
            self.assertFalse(os.path.exists(path), "dpkg --purge removes " + path)
        self.assertEqual(snapshot(STATE), before, "dpkg --purge changed the club")
        self.assertEqual(stat.S_IMODE(os.stat(STATE).st_mode), 0o700)
        self.assertEqual(run(["getent", "passwd", "hush"]).rc, 0, "the club's owner stays")


if __name__ == "__main__":
    unittest.main(verbosity=2)
