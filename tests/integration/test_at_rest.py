"""Data at rest: removal wipes every byte, a wrong master.key is named, metadata is authenticated.

- A removed message (CLI `message rm` beside a running server, and `DELETE /api/v1/messages/N`)
  leaves no 16-byte window of its sealed body in any file of the club directory, WAL included,
  while the server keeps its connections open. Control: a message not removed is found by the
  same scan.
- `hush serve` refuses to start, and `hush doctor` fails, naming master.key, when master.key is
  another club's; the same for a club made before key checks existed. Control: the right key
  serves.
- A message row whose author, time or format was changed in the database (python sqlite3, as
  anyone who can write the file could) is refused on read, over the API and in the CLI, and the
  server logs it. Control: an untouched row reads.

Run: /usr/bin/python3 tests/integration/test_at_rest.py   (HUSH_BIN=/path/to/hush optional)
"""

import os
import sqlite3
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import (  # noqa: E402
    HTTP_TIMEOUT, Club, Workspace, basic, files_with_window, one_hush_line, sealed_body,
    session, try_serve)


def edit_row(club, sql, params=()):
    db = sqlite3.connect(club.path("hush.db"), timeout=10)
    try:
        changed = db.execute(sql, params).rowcount
        db.commit()
    finally:
        db.close()
    if changed != 1:
        raise AssertionError("%s changed %d rows" % (sql, changed))


class ServedClub(unittest.TestCase):
    """A club served for the whole class; POSTER posts (admin unless a subclass adds one)."""

    poster = None

    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace(prefix="hush-rest-")
        cls.club = Club(cls.ws)
        if cls.poster:
            cls.club.add_member(cls.poster[0], "poster", cls.poster[1])
        cls.server = cls.club.serve()
        cls.http = session(cls.club.ca_pem)
        cls.admin = {"Authorization": basic("admin", cls.club.admin_password)}
        cls.as_poster = ({"Authorization": basic(*cls.poster)} if cls.poster else cls.admin)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.ws.cleanup()

    def post(self, text):
        r = self.http.post(self.server.url + "api/v1/messages", json={"body": text},
                           headers=self.as_poster, timeout=HTTP_TIMEOUT)
        self.assertEqual(r.status_code, 201, r.text)
        return r.json()["id"]


class RemovalWipesTest(ServedClub):
    def assertWiped(self, blob, what):
        self.assertEqual(files_with_window(self.club.dir, blob), [],
                         "%s: bytes of its sealed body remain" % what)

    def test_removed_bodies_leave_no_byte_while_the_server_runs(self):
        # Short bodies and one that spills into overflow pages.
        kept = self.post("kept, as a control for the scan")
        by_cli = self.post("removed by the CLI " + "c" * 40)
        by_api = self.post("removed over the API " + "a" * 40)
        big = self.post("a long one " + "b" * 9000)
        # Reads too, so that the log holds audit pages written after the bodies.
        for mid in (by_cli, by_api, big):
            r = self.http.get(self.server.url + "api/v1/messages/%d" % mid, headers=self.admin,
                              timeout=HTTP_TIMEOUT)
            self.assertEqual(r.status_code, 200, r.text)
        blobs = {mid: sealed_body(self.club, mid) for mid in (kept, by_cli, by_api, big)}
        for mid, blob in blobs.items():
            self.assertNotEqual(files_with_window(self.club.dir, blob), [],
                                "the scan must find message %d before removal" % mid)

        r = self.club.hush("message", "rm", str(by_cli))
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(self.server.running())
        self.assertWiped(blobs[by_cli], "message rm beside a running server")

        for mid in (by_api, big):
            r = self.http.delete(self.server.url + "api/v1/messages/%d" % mid, headers=self.admin,
                                 timeout=HTTP_TIMEOUT)
            self.assertEqual(r.status_code, 204, r.text)
            self.assertWiped(blobs[mid], "DELETE /api/v1/messages/%d" % mid)

        # Control: the message still there is found by the same scan, and still reads.
        self.assertNotEqual(files_with_window(self.club.dir, blobs[kept]), [])
        r = self.http.get(self.server.url + "api/v1/messages/%d" % kept, headers=self.admin,
                          timeout=HTTP_TIMEOUT)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertTrue(self.server.running())


class MasterKeyCheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace(prefix="hush-rest-")
        cls.club = Club(cls.ws)
        cls.club.post("a message under the right key")
        with open(cls.club.path("master.key"), "rb") as f:
            cls.right_key = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def tearDown(self):
        self.put_key(self.right_key)

    def put_key(self, key):
        path = self.club.path("master.key")
        with open(path, "wb") as f:
            f.write(key)
        os.chmod(path, 0o600)

    def assertRefusedNamingTheKey(self):
        started, r = try_serve(self.club)
        self.assertFalse(started, "hush serve started with another club's master.key: %r" % r)
        line = one_hush_line(self, r)
        self.assertIn("master.key", line)
        self.assertIn("does not match this club", line)
        d = self.club.hush("doctor")
        self.assertNotEqual(d.rc, 0, d)
        failures = [l for l in d.out.splitlines() if l.startswith("FAIL:")]
        self.assertTrue(any("master.key" in l and "does not match this club" in l for l in failures),
                        d)

    def assertServes(self):
        started, r = try_serve(self.club)
        self.assertTrue(started, "hush serve did not start with the right key: %r" % r)
        self.assertEqual(r.rc, 0, r)
        d = self.club.hush("doctor")
        self.assertEqual(d.rc, 0, d)
        self.assertIn("matches this club", d.out)

    def test_init_records_the_key_check(self):
        fresh = Club(self.ws, name="fresh")
        db = sqlite3.connect(fresh.path("hush.db"), timeout=10)
        try:
            rows = db.execute("SELECT length(value) FROM club_meta WHERE name = 'key_check'").fetchall()
        finally:
            db.close()
        self.assertEqual(rows, [(32,)])

    def test_another_clubs_key_is_refused_in_one_line(self):
        self.put_key(os.urandom(32))
        self.assertRefusedNamingTheKey()
        self.put_key(self.right_key)
        self.assertServes()

    def test_a_club_from_before_key_checks_is_checked_through_its_data_key(self):
        # As a club made by an older hush: no key check recorded yet.
        edit_row(self.club, "DELETE FROM club_meta WHERE name = 'key_check'")
        self.put_key(os.urandom(32))
        self.assertRefusedNamingTheKey()
        self.put_key(self.right_key)
        self.assertServes()
        # The right key's first open recorded the check for next time.
        db = sqlite3.connect(self.club.path("hush.db"), timeout=10)
        try:
            rows = db.execute("SELECT length(value) FROM club_meta WHERE name = 'key_check'").fetchall()
        finally:
            db.close()
        self.assertEqual(rows, [(32,)])


class MetadataBoundTest(ServedClub):
    poster = ("alice", "alice's long password")

    def get(self, mid):
        return self.http.get(self.server.url + "api/v1/messages/%d" % mid, headers=self.admin,
                             timeout=HTTP_TIMEOUT)

    def test_changed_metadata_makes_the_read_fail(self):
        cases = [
            ("author", "UPDATE messages SET author = 'mallory' WHERE id = ?"),
            ("created_at", "UPDATE messages SET created_at = created_at - 86400 WHERE id = ?"),
            ("format", "UPDATE messages SET format = 'fernet' WHERE id = ?"),
        ]
        control = self.post("untouched control")
        for what, sql in cases:
            with self.subTest(column=what):
                secret = "the %s of this one will be changed" % what
                mid = self.post(secret)
                self.assertEqual(self.get(mid).status_code, 200)
                edit_row(self.club, sql, (mid,))
                r = self.get(mid)
                self.assertEqual(r.status_code, 500, r.text)
                self.assertEqual(r.json()["error"], "internal")
                self.assertNotIn(secret, r.text)
                self.assertIn("message %d: its sealed body does not open" % mid, self.server.log())
                cli = self.club.hush("message", "show", str(mid))
                self.assertNotEqual(cli.rc, 0, cli)
                self.assertIn("cannot be decrypted", one_hush_line(self, cli))
                self.assertNotIn(secret, cli.out)
        r = self.get(control)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["body"], "untouched control")
        self.assertEqual(r.json()["author"], "alice")


if __name__ == "__main__":
    support.main()
