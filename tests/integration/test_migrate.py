"""hush migrate: a SQLite club moved into PostgreSQL and back (issue 15).

A club made on SQLite (members, a token, messages, one of them removed, an audited read), then:
- `hush migrate --to URL` while its server runs is refused (the copy would miss what it writes);
- with the server stopped it copies and verifies, leaving the club on SQLite until hush.toml
  says otherwise; set to the database, the same directory serves the same members, token and
  messages from PostgreSQL, and a new message gets an id above every id the club ever used;
- a database that already holds a club, the club's own store, an existing file and a --to that
  is neither a database nor sqlite:PATH are refused;
- `hush migrate --to sqlite:PATH` brings it back: moved into place as hush.db, with [store] url
  emptied, the club serves from SQLite what it held in PostgreSQL.

Run: /usr/bin/python3 tests/integration/test_migrate.py   (HUSH_BIN=/path/to/hush optional)
"""

import os
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from pg_support import PostgresCase  # noqa: E402
from support import Club, Server  # noqa: E402


class MigrateTest(PostgresCase):

    def read(self, server, club, auth=None, token=None, path="/"):
        http = support.session(club.ca_pem)
        headers = {"Authorization": "Bearer " + token} if token else {}
        return http.get(server.url.rstrip("/") + path, auth=auth, headers=headers,
                        timeout=support.HTTP_TIMEOUT)

    def serve(self, club):
        server = Server(club).start()
        self.addCleanup(server.stop)
        return server

    def test_a_club_moves_to_postgresql_and_back(self):
        club = Club(self.ws, "moving")
        alice = club.add_member("alice", password="alice's long passphrase")
        made = club.hush("token", "create", "laptop", "--member", "alice")
        self.assertEqual(made.rc, 0, made)
        token = made.out.strip().splitlines()[-1]
        first = club.post("the first secret")
        second = club.post("the second secret")
        removed = club.post("a secret taken back")
        self.assertEqual(club.hush("message", "rm", str(removed)).rc, 0)

        server = self.serve(club)
        r = self.read(server, club, auth=("alice", alice))
        self.assertEqual((r.status_code, r.text), (200, "the second secret"))
        url = self.pg.new_database()
        refused = club.hush("migrate", "--to", url)
        self.assertNotEqual(refused.rc, 0, refused)
        self.assertIn("stop it", refused.err)
        server.stop()

        moved = club.hush("migrate", "--to", url)
        self.assertEqual(moved.rc, 0, moved)
        self.assertIn("2 messages", moved.out)
        self.assertIn("verified", moved.out)
        self.assertTrue(os.path.exists(club.path("hush.db")), "the source is left as it was")
        # Until hush.toml names the database, the club is still on SQLite.
        club.set_config("store", "url", '"%s"' % url)
        server = self.serve(club)
        r = self.read(server, club, auth=("alice", alice))
        self.assertEqual((r.status_code, r.text), (200, "the second secret"))
        r = self.read(server, club, token=token, path="/api/v1/messages")
        self.assertEqual(r.status_code, 200, r.text)
        ids = sorted(m["id"] for m in r.json()["messages"])
        self.assertEqual(ids, [first, second])
        dbname = url.split("dbname=")[1]
        self.assertGreaterEqual(int(self.pg.psql("SELECT count(*) FROM audit", dbname=dbname)), 1)
        newest = club.post("posted on PostgreSQL")
        self.assertGreater(newest, removed, "an id is never used twice")

        # Refusals: the club's own store, a database holding a club, an existing file, nonsense.
        for target, says in ((url, "already"),
                             (self.pg.new_database(), None),
                             ("sqlite:" + club.path("hush.db"), "exists"),
                             ("mysql://example", "postgresql://")):
            if says is None:
                other = Club(self.ws, "other", store=target)
                self.assertTrue(other.passwords)
                says = "already holds a club"
            server.stop()
            r = club.hush("migrate", "--to", target)
            self.assertNotEqual(r.rc, 0, r)
            self.assertIn(says, r.err, target)

        # And back to SQLite.
        back = os.path.join(self.ws.path, "back.db")
        r = club.hush("migrate", "--to", "sqlite:" + back)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("3 messages", r.out)
        self.assertEqual(os.stat(back).st_mode & 0o777, 0o600)
        for name in ("hush.db", "hush.db-wal", "hush.db-shm"):
            if os.path.exists(club.path(name)):
                os.remove(club.path(name))
        shutil.move(back, club.path("hush.db"))
        club.set_config("store", "url", '""')
        server = self.serve(club)
        r = self.read(server, club, token=token)
        self.assertEqual((r.status_code, r.text), (200, "posted on PostgreSQL"))
        self.assertGreater(club.post("posted on SQLite again"), newest)


if __name__ == "__main__":
    support.main()
