"""hush through a PostgreSQL failover: a primary dies, its synchronous standby is promoted (issue 15).

Two clusters made here (tests/support/pg_cluster, fsync on): a primary and a hot standby made
from it with pg_basebackup, streaming as a synchronous standby (synchronous_standby_names names
it, synchronous_commit = on: docs/scaling.md's "What each setting guarantees"). A club made with
`hush init --store` on a libpq URL naming both hosts with target_session_attrs=read-write, and one
`hush serve`. Posts go in concurrently (bounded in count and time); the primary is killed in the
middle of them (an immediate stop), and the standby promoted a little later. Checked:
- (a) while no primary exists, every request that needs the store is answered 503 with
  Retry-After, never 201, and no request ever takes longer than a bound;
- (b) once the standby is promoted, the same hush process serves reads and posts again by itself,
  within 30 s;
- (c) every post acknowledged with 201, before or after the failover, is on the promoted server:
  read through hush, and its row counted with psql on the promoted server;
- (d) the control: a second instance of the club whose URL names the old primary only never
  recovers (503 throughout), so what recovered the first is the multi-host URL and libpq's
  target_session_attrs, not a lucky reconnect.
And, on a cluster of its own whose synchronous standby never comes: a post waits at its commit,
and when that wait is cancelled (pg_cancel_backend, as an admin would end a stuck session)
PostgreSQL answers the COMMIT with success and a WARNING ("committed locally, but might not have
been replicated"): hush answers 503, never 201, for such a post.

Run: /usr/bin/python3 tests/integration/test_pg_failover.py   (HUSH_BIN=/path/to/hush optional)
"""

import os
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from pg_support import Postgres, wait_for  # noqa: E402
from support import Club, Server, Workspace  # noqa: E402

STANDBY_NAME = "hush_standby"  # the application_name pg_cluster's standby streams as
WORKERS = 4  # concurrent posters
POSTS_PER_WORKER = 150  # at most, each
BURST_SECONDS = 60  # the whole burst, at most
ACKED_BEFORE_CRASH = 40  # posts acknowledged before the primary dies
GAP_SECONDS = 2.0  # between the primary's death and the standby's promotion
RECOVERY_SECONDS = 30  # from the promotion to hush serving again
ACKED_AFTER_RECOVERY = 20  # posts acknowledged after the promotion before the burst ends
REQUEST_TIMEOUT = 15  # the client's bound on one request
SLOWEST_ANSWER = 12  # hush's bound on one answer (statement_timeout 10 s, and some slack)


class Poster(threading.Thread):
    """Posts messages until told to stop, its count is done or the burst's deadline passes;
    records (started, finished, status, id or None, Retry-After, error code, body) of each."""

    def __init__(self, number, club, port, name, password, stop, deadline):
        super().__init__(daemon=True)
        self.number = number
        self.http = support.session(club.ca_pem)
        self.url = "https://localhost:%d/api/v1/messages" % port
        self.auth = (name, password)
        self.stop = stop
        self.deadline = deadline
        self.results = []
        self.failures = []  # exceptions: a hang past the client's bound, a dropped connection

    def run(self):
        for i in range(POSTS_PER_WORKER):
            if self.stop.is_set() or time.monotonic() > self.deadline:
                return
            body = "failover %d.%d" % (self.number, i)
            started = time.monotonic()
            try:
                r = self.http.post(self.url, auth=self.auth, json={"body": body},
                                   timeout=REQUEST_TIMEOUT)
            except Exception as e:  # noqa: BLE001  (recorded, and failed on below)
                self.failures.append((body, repr(e)))
                continue
            finished = time.monotonic()
            message_id = r.json().get("id") if r.status_code == 201 else None
            error = r.json().get("error") if r.status_code != 201 else None
            self.results.append((started, finished, r.status_code, message_id,
                                 r.headers.get("Retry-After"), error, body))
            if r.status_code != 201:
                time.sleep(0.05)  # as a client told to retry would, a little


class FailoverTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.primary = Postgres(cls.ws, "pg-primary", fsync=True)
        cls.standby = Postgres(cls.ws, "pg-standby", fsync=True)
        try:
            cls.primary.start()
            cls.database_url = cls.primary.new_database()
            cls.database = cls.database_url.split("dbname=")[1]
            cls.standby.start_standby(cls.primary)
        except BaseException:
            cls.standby.stop()
            cls.primary.stop()
            cls.ws.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.standby.stop()
        cls.primary.stop()
        cls.ws.cleanup()

    def replication(self):
        return self.primary.psql(
            "SELECT state || ' ' || sync_state FROM pg_stat_replication "
            "WHERE application_name = '%s'" % STANDBY_NAME)

    def get(self, club, server, path, name=None, password=None):
        auth = (name, password) if name is not None else None
        return support.session(club.ca_pem).get(
            "https://localhost:%d%s" % (server.port, path), auth=auth, timeout=REQUEST_TIMEOUT)

    def assert_unavailable(self, r, what):
        self.assertEqual(r.status_code, 503, "%s: %s" % (what, r.text))
        self.assertEqual(r.headers.get("Retry-After"), "1", what)
        self.assertEqual(r.json()["error"], "unavailable", what)

    def test_a_promoted_synchronous_standby_has_every_acknowledged_message(self):
        # The standby streams, synchronously: a commit waits for its WAL on the standby.
        wait_for(lambda: self.replication() == "streaming async", 30, "the standby streaming")
        self.primary.psql("ALTER SYSTEM SET synchronous_standby_names = '%s'" % STANDBY_NAME)
        self.primary.psql("SELECT pg_reload_conf()")
        wait_for(lambda: self.replication() == "streaming sync", 30, "a synchronous standby")
        self.assertEqual(self.primary.psql("SHOW synchronous_commit"), "on")
        self.assertEqual(self.primary.psql("SHOW fsync"), "on")
        self.assertEqual(self.standby.psql("SELECT pg_is_in_recovery()"), "t")

        # Both hosts in one libpq URL; libpq takes the first that accepts writes.
        url = ("host=%s,%s user=hush_test dbname=%s target_session_attrs=read-write "
               "connect_timeout=3" % (self.primary.socket_dir, self.standby.socket_dir,
                                      self.database))
        club = Club(self.ws, "club", store=url)
        self.assertIn('url = "%s"' % url, club.read_config())
        pat = club.add_member("pat", role="poster", password="pat's long passphrase")
        alice = club.add_member("alice", password="alice's long passphrase")
        club.post("before the failover")
        # The control: an instance of the same club whose URL names the old primary only.
        control = club.another_instance("control")
        control.set_config("store", "url", '"%s"' % self.database_url)
        server = Server(club).start()
        self.addCleanup(server.stop)
        control_server = Server(control).start()
        self.addCleanup(control_server.stop)
        for s in (server, control_server):
            r = self.get(club, s, "/", "alice", alice)
            self.assertEqual((r.status_code, r.text), (200, "before the failover"))

        stop = threading.Event()
        deadline = time.monotonic() + BURST_SECONDS
        posters = [Poster(n, club, server.port, "pat", pat, stop, deadline)
                   for n in range(WORKERS)]
        for p in posters:
            p.start()
        promoted_at = None
        try:
            def acknowledged():
                return [r for p in posters for r in list(p.results) if r[2] == 201]
            wait_for(lambda: len(acknowledged()) >= ACKED_BEFORE_CRASH, 30,
                     "posts acknowledged before the crash")
            self.primary.crash()
            crashed_at = time.monotonic()  # pg_ctl waited: no primary from here on

            # (a) No primary: every request that needs the store gets 503, at once.
            time.sleep(GAP_SECONDS / 2)
            for path in ("/", "/api/v1/messages"):
                self.assert_unavailable(self.get(club, server, path, "alice", alice), path)
            self.assertEqual(self.get(club, server, "/healthz").status_code, 503)
            time.sleep(GAP_SECONDS / 2)
            self.assertEqual(self.standby.psql("SELECT pg_is_in_recovery()"), "t",
                             "the standby was still read-only during the gap")
            gap_ended = time.monotonic()
            self.standby.promote()
            promoted_at = time.monotonic()

            # (b) The same process serves again, by itself.
            def acknowledged_since_promotion():
                return [r for r in acknowledged() if r[0] >= promoted_at]
            wait_for(lambda: acknowledged_since_promotion(), RECOVERY_SECONDS,
                     "a post acknowledged after the promotion")
            recovered_after = min(r[1] for r in acknowledged_since_promotion()) - promoted_at
            wait_for(lambda: len(acknowledged_since_promotion()) >= ACKED_AFTER_RECOVERY,
                     RECOVERY_SECONDS, "posts acknowledged after the promotion")
        finally:
            stop.set()
            for p in posters:
                p.join(timeout=REQUEST_TIMEOUT + 5)
        self.assertFalse(any(p.is_alive() for p in posters), "a poster hung")
        self.assertTrue(server.running(), "no crash, no restart: " + server.log())
        self.assertLessEqual(recovered_after, RECOVERY_SECONDS)

        results = [r for p in posters for r in p.results]
        failures = [f for p in posters for f in p.failures]
        self.assertEqual(failures, [], "every request answered within its bound")
        for started, finished, status, message_id, retry_after, error, body in results:
            self.assertLessEqual(finished - started, SLOWEST_ANSWER, body)
            if status != 201:
                self.assertEqual((status, retry_after, error), (503, "1", "unavailable"), body)
            if crashed_at <= started and finished <= gap_ended:
                self.assertEqual(status, 503, "%s: acknowledged with no primary" % body)
        in_gap = [r for r in results if crashed_at <= r[0] and r[1] <= gap_ended]
        self.assertGreaterEqual(len(in_gap), 4, "posts were refused during the gap")

        # (b) Reads too, from the new primary: an audited read is a write.
        r = self.get(club, server, "/", "alice", alice)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.get(club, server, "/healthz").status_code, 200)

        # (c) Every acknowledged post is on the promoted server: through hush, and in its table.
        acked = {r[3]: r[6] for r in results if r[2] == 201}
        self.assertGreaterEqual(len(acked), ACKED_BEFORE_CRASH + ACKED_AFTER_RECOVERY)
        for message_id, body in sorted(acked.items()):
            r = support.session(club.ca_pem).get(
                "https://localhost:%d/api/v1/messages/%d" % (server.port, message_id),
                auth=("pat", pat), timeout=REQUEST_TIMEOUT)
            self.assertEqual((r.status_code, r.json().get("body")), (200, body), message_id)
        self.assertEqual(self.standby.psql("SELECT pg_is_in_recovery()"), "f")
        stored = set(int(i) for i in self.standby.psql(
            "SELECT id FROM messages", dbname=self.database).split())
        self.assertEqual(set(acked) - stored, set(), "acknowledged, and not on the new primary")
        # hush's connections are on the new primary now.
        self.assertGreaterEqual(int(self.standby.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hush'")), 1)

        # (d) The control, named the old primary only: still unavailable, however long it tries.
        for _ in range(5):
            self.assert_unavailable(self.get(club, control_server, "/", "alice", alice),
                                    "the control instance")
            time.sleep(0.5)
        self.assertTrue(control_server.running())
        for s in (server, control_server):
            self.assertNotIn(pat, s.log())
        print("\nfailover: %d acknowledged (%d in the gap refused), served again %.2f s after "
              "the promotion" % (len(acked), len(in_gap), recovered_after), file=sys.stderr)


    def test_a_commit_not_known_to_be_replicated_is_not_acknowledged(self):
        pg = Postgres(self.ws, "pg-alone").start()
        self.addCleanup(pg.stop)
        club = Club(self.ws, "alone", store=pg.new_database())
        club.add_member("pat", role="poster", password="pat's long passphrase")
        # A token, not a password: a password check writes too (the throttle's count, shared in
        # the database), and its commit would be the one left waiting for the standby.
        made = club.hush("token", "create", "poster", "--member", "pat")
        self.assertEqual(made.rc, 0, made)
        bearer = {"Authorization": "Bearer " + made.out.strip().splitlines()[-1]}
        server = Server(club).start()
        self.addCleanup(server.stop)

        def no_synchronous_standby():
            pg.psql("ALTER SYSTEM RESET synchronous_standby_names")
            pg.psql("SELECT pg_reload_conf()")
        self.addCleanup(no_synchronous_standby)
        pg.psql("ALTER SYSTEM SET synchronous_standby_names = 'never_there'")
        pg.psql("SELECT pg_reload_conf()")

        answers = []

        def post():
            try:
                answers.append(support.session(club.ca_pem).post(
                    "https://localhost:%d/api/v1/messages" % server.port, headers=bearer,
                    json={"body": "committed on the primary only"}, timeout=REQUEST_TIMEOUT))
            except Exception as e:  # noqa: BLE001  (failed on below)
                answers.append(e)
        poster = threading.Thread(target=post, daemon=True)
        poster.start()
        waiting = "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
        wait_for(lambda: pg.psql(waiting), 10, "the post's commit waiting for the standby")
        # Every commit that waits is cancelled (the post may commit more than once), until the
        # post is answered.
        deadline = time.monotonic() + REQUEST_TIMEOUT
        while poster.is_alive() and time.monotonic() < deadline:
            pg.psql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                    "WHERE wait_event = 'SyncRep'")
            poster.join(timeout=0.2)
        poster.join(timeout=REQUEST_TIMEOUT + 5)
        self.assertFalse(poster.is_alive())
        self.assertEqual(len(answers), 1)
        r = answers[0]
        self.assertNotIsInstance(r, Exception)
        self.assert_unavailable(r, "a commit PostgreSQL says may not be replicated")
        # It did commit, on the primary only: hence "try again", never "stored".
        self.assertEqual(pg.psql("SELECT count(*) FROM messages", dbname="club_1"), "1")


if __name__ == "__main__":
    support.main()
