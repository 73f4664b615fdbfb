"""A read-only or full disk: reads go on, writes are refused in one clear line (CLI) or 507 (API).

Each club lives on a tmpfs of its own, mounted for the test (root needed: a missing privilege
fails the test, never skips it) and always unmounted in a finally.

- Read-only: after `mount -o remount,ro`, `message list`, `audit` and `doctor` work; `message
  post` fails with one line saying the club directory is read-only; `hush serve` starts, lists
  with 200, answers a post with 507 and a read with 507 (its audit cannot be written).
- Full disk: with the tmpfs filled to the last page while the server runs, `message post` says
  the disk is full in one line; the server answers a post with 507 ("insufficient_storage"),
  lists with 200, and refuses a read with 507 rather than serve it unaudited. Freeing space
  makes posting work again without a restart (control).

Run: /usr/bin/python3 tests/integration/test_disk_faults.py   (as root; HUSH_BIN optional)
"""

import errno
import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import HTTP_TIMEOUT, Club, Workspace, basic, one_hush_line, session  # noqa: E402

TMPFS_SIZE = "4m"  # a club takes about 100 KiB; small, so filling it is quick
FILL_CHUNK = 64 * 1024


def run_checked(args):
    r = support.run(args)
    if r.rc != 0:
        raise AssertionError("%s failed: %r" % (" ".join(args), r))
    return r


class Mount:
    """A tmpfs mounted on a fresh directory under WORKSPACE; unmount() is safe to call twice."""

    def __init__(self, workspace, name="mnt"):
        self.path = workspace.sub(name)
        os.mkdir(self.path, 0o700)
        run_checked(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % TMPFS_SIZE, "tmpfs",
                     self.path])
        self.mounted = True

    def read_only(self):
        run_checked(["mount", "-o", "remount,ro", self.path])

    def unmount(self):
        if not self.mounted:
            return
        r = support.run(["umount", self.path])
        if r.rc != 0:
            # Something still has a file open (a failed test's server): detach it anyway.
            support.run(["umount", "-l", self.path])
        self.mounted = False


def fill(path):
    """Writes PATH until the file system has no page left: big chunks, then page-sized, then bytes."""
    with open(path, "wb", buffering=0) as f:
        for chunk in (FILL_CHUNK, 4096, 1):
            while True:
                try:
                    f.write(b"\0" * chunk)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break


class DiskFaultTest(unittest.TestCase):
    def setUp(self):
        self.ws = Workspace(prefix="hush-disk-")
        self.addCleanup(self.ws.cleanup)
        self.mount = Mount(self.ws)
        self.addCleanup(self.mount.unmount)
        self.servers = []
        self.club = Club(self.ws, name="mnt/club")
        self.body = "written before the disk went bad"
        self.first = self.club.post(self.body)
        shown = self.club.hush("message", "show", str(self.first))
        self.assertEqual(shown.rc, 0, shown)

    def tearDown(self):
        for server in self.servers:
            server.stop()

    def serve(self):
        server = self.club.serve()
        self.servers.append(server)
        http = session(self.club.ca_pem)
        self.addCleanup(http.close)
        auth = {"Authorization": basic("admin", self.club.admin_password)}
        return server, http, auth

    def api(self, server, http, auth, method, path, **kwargs):
        return http.request(method, server.url + path, headers=auth, timeout=HTTP_TIMEOUT, **kwargs)

    def assertRefusedWith507(self, r, code, secret=None):
        self.assertEqual(r.status_code, 507, r.text)
        self.assertEqual(r.headers.get("Content-Type"), "application/json")
        self.assertEqual(r.json()["error"], code)
        if secret is not None:
            self.assertNotIn(secret, r.text)

    def test_read_only_club_directory(self):
        # Served once while writable: the server left its serve.lock, which it must be able to
        # lock again on the read-only mount.
        server, _http, _auth = self.serve()
        server.stop()
        self.assertTrue(os.path.exists(self.club.path("serve.lock")))
        self.mount.read_only()
        listed = self.club.hush("message", "list")
        self.assertEqual(listed.rc, 0, listed)
        self.assertIn("\tadmin", listed.out)
        audit = support.table_rows(self.club.hush("audit"), support.AUDIT_HEADER)
        self.assertIn(str(self.first), [row[2] for row in audit])
        doctor = self.club.hush("doctor")
        self.assertEqual(doctor.rc, 0, doctor)
        self.assertNotIn("FAIL", doctor.out)

        post = self.club.hush("message", "post", "-", input="cannot be written")
        self.assertIn("the club directory is read-only", one_hush_line(self, post))

        server, http, auth = self.serve()
        r = self.api(server, http, auth, "GET", "api/v1/messages")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual([m["id"] for m in r.json()["messages"]], [self.first])
        r = self.api(server, http, auth, "POST", "api/v1/messages", json={"body": "no"})
        self.assertRefusedWith507(r, "read_only_storage")
        r = self.api(server, http, auth, "GET", "api/v1/messages/%d" % self.first)
        self.assertRefusedWith507(r, "read_only_storage", secret=self.body)
        server.stop()
        self.assertEqual(server.returncode, 0, server.log())

    def test_full_disk(self):
        server, http, auth = self.serve()
        filler = os.path.join(self.mount.path, "filler")
        fill(filler)

        post = self.club.hush("message", "post", "-", input="no room for this")
        self.assertIn("the disk is full", one_hush_line(self, post))

        r = self.api(server, http, auth, "POST", "api/v1/messages", json={"body": "no room"})
        self.assertRefusedWith507(r, "insufficient_storage")
        r = self.api(server, http, auth, "GET", "api/v1/messages")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual([m["id"] for m in r.json()["messages"]], [self.first])
        # Reading needs its audit record written first: no room, no read.
        r = self.api(server, http, auth, "GET", "api/v1/messages/%d" % self.first)
        self.assertRefusedWith507(r, "insufficient_storage", secret=self.body)
        self.assertIn("the disk is full", server.log())

        # Control: with room again, the same server writes and reads.
        os.unlink(filler)
        r = self.api(server, http, auth, "POST", "api/v1/messages", json={"body": "room again"})
        self.assertEqual(r.status_code, 201, r.text)
        r = self.api(server, http, auth, "GET", "api/v1/messages/%d" % self.first)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["body"], self.body)
        server.stop()
        self.assertEqual(server.returncode, 0, server.log())


if __name__ == "__main__":
    support.main()
