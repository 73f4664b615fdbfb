"""Nothing acknowledged is lost: `hush serve` and `hush message post` killed with SIGKILL mid-write.

Posters write through the HTTP API from several threads while the server is killed at a
random-ish moment, round after round on the same club; meanwhile `hush message post -` runs beside
it and is killed at various points of its life. A 201 from the server, or exit status 0 with an id
from the CLI, is an acknowledgement: afterwards every acknowledged message must be there under its
id with its exact text, no id may have been handed out twice, and SQLite's integrity_check must say
ok, both right after a crash and at the end. On PostgreSQL (HUSH_TEST_STORE=postgresql, ctest's
postgres.integration.test_durability) the same, with amcheck's checks of the club's database in
place of integrity_check and psql in place of sqlite3.

Bounded: a few rounds of 1-3 s each, every wait has a timeout, and only processes started here are
signalled (by PID, through their Popen objects). The random choices come from a seed printed on
failure; set HUSH_DURABILITY_SEED to replay one.

Run: /usr/bin/python3 tests/integration/test_durability.py   (HUSH_BIN=/path/to/hush optional)
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import Club, Workspace, basic  # noqa: E402

ROUNDS = 3  # server kills
POSTER_THREADS = 4
KILL_AFTER = (1.0, 3.0)  # seconds of posting before the SIGKILL
REQUEST_TIMEOUT = 5  # one POST or GET; a killed server resets at once
JOIN_TIMEOUT = 15  # per thread, after the kill
CLI_KILLS_ALONE = 24  # `hush message post` runs killed with no server
POSTER_PASSWORD = "durable poster password"


def seed():
    value = os.environ.get("HUSH_DURABILITY_SEED")
    return int(value) if value else random.SystemRandom().randrange(1 << 30)


class Acks:
    """Acknowledged messages, from any thread: id -> (text, author, how)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_id = {}
        self.duplicates = []

    def add(self, message_id, text, author, how):
        with self.lock:
            if message_id in self.by_id:
                self.duplicates.append((message_id, self.by_id[message_id], (text, author, how)))
            self.by_id[message_id] = (text, author, how)

    def count(self, how=None):
        with self.lock:
            return sum(1 for v in self.by_id.values() if how is None or v[2] == how)


def message_text(tag):
    # Unique, with a newline and non-ASCII so that any re-encoding on the way would show.
    return "durability %s %s\nsecond line \u00fc\u00f1\u00ef \u2713" % (tag, uuid.uuid4().hex)


class DurabilityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.seed = seed()
        cls.rng = random.Random(cls.seed)
        cls.ws = Workspace(prefix="hush-durability-")
        cls.addClassCleanup(cls.ws.cleanup)
        cls.club = Club(cls.ws)
        # The cheapest Argon2id, so that each restart's first login costs little.
        cls.club.set_config("passwords", "argon2_iterations", "5")
        cls.club.set_config("passwords", "argon2_memory_kib", "7168")
        # Four threads post as fast as they can as one member: that is the load under test, not
        # a flood for the member rate limit to stop.
        cls.club.set_config("limits", "member_requests_per_second", "0")
        cls.club.add_member("poster", role="poster", password=POSTER_PASSWORD)
        cls.acks = Acks()
        cls.cli_outcomes = {}  # "killed", "exit 0", "exit 1", ...
        cls.cli_lock = threading.Lock()

    def seed_note(self):
        return " (HUSH_DURABILITY_SEED=%d)" % self.seed

    # ---- writers --------------------------------------------------------------------------

    def http_poster(self, server, tag, stop, stats):
        http = support.session(self.club.ca_pem)
        auth = basic("poster", POSTER_PASSWORD)
        url = server.url + "api/v1/messages"
        n = 0
        try:
            while not stop.is_set():
                n += 1
                text = message_text("%s-n%d" % (tag, n))
                try:
                    r = http.post(url, data=json.dumps({"body": text}).encode("utf-8"),
                                  headers={"Content-Type": "application/json",
                                           "Authorization": auth},
                                  timeout=REQUEST_TIMEOUT)
                except Exception:  # noqa: BLE001 (reset, refused, timeout: not acknowledged)
                    stats["errors"] += 1
                    if not server.running():
                        return
                    time.sleep(0.02)
                    continue
                if r.status_code == 201:
                    body = r.json()
                    self.acks.add(int(body["id"]), text, "poster", "http")
                    stats["acked"] += 1
                else:
                    stats["other"] += 1
                    stats.setdefault("statuses", set()).add(r.status_code)
        finally:
            http.close()

    def cli_post_killed(self, delay, close_stdin=True):
        """Runs `hush message post -`, SIGKILLs it after DELAY seconds unless it is done."""
        text = message_text("cli")
        proc = subprocess.Popen(
            [support.HUSH_BIN, "message", "post", "-", "--dir", self.club.dir],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=support.clean_env())
        try:
            try:
                proc.stdin.write(text.encode("utf-8"))
                if close_stdin:
                    proc.stdin.close()
                    proc.stdin = None  # communicate() would flush it
                else:
                    proc.stdin.flush()
            except BrokenPipeError:
                pass
            if delay > 0:
                try:
                    proc.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    pass
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            out, err = proc.communicate(timeout=support.CMD_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            for f in (proc.stdin, proc.stdout, proc.stderr):
                if f and not f.closed:
                    f.close()
        rc = proc.returncode
        support.check_sanitizers(err.decode("utf-8", "replace"), "hush message post -")
        outcome = "killed" if rc == -signal.SIGKILL else "exit %d" % rc
        with self.cli_lock:
            self.cli_outcomes[outcome] = self.cli_outcomes.get(outcome, 0) + 1
        if rc == 0:
            self.assertRegex(out.decode(), r"^[1-9][0-9]*\n$", "post printed no id" + self.seed_note())
            self.acks.add(int(out), text, "admin", "cli")
        elif rc != -signal.SIGKILL:
            # Not committed, and it must say why in one line (e.g. the database was busy).
            lines = err.decode("utf-8", "replace").splitlines()
            self.assertTrue(len(lines) == 1 and lines[0].startswith("hush: "),
                            "post failed without one hush line: rc %r, %r%s"
                            % (rc, err, self.seed_note()))
        return rc

    def cli_killer(self, stop, rng):
        while not stop.is_set():
            self.cli_post_killed(rng.uniform(0.0, 0.08))

    # ---- checks ---------------------------------------------------------------------------

    def integrity_check(self, when):
        if support.on_postgres():
            self.pg_integrity_check(when)
            return
        # Read-only: the check must not be what repairs the file. WAL recovery still reads the
        # -wal a killed writer left behind, as the next hush would.
        r = support.run(["sqlite3", "-readonly", self.club.path("hush.db"),
                         "PRAGMA integrity_check;"])
        self.assertEqual((r.rc, r.out.strip()), (0, "ok"),
                         "integrity_check %s: %r%s" % (when, r, self.seed_note()))

    def pg_integrity_check(self, when):
        """integrity_check's PostgreSQL equivalent: amcheck (PostgreSQL's contrib) over the club's
        database, every table's tuples (verify_heapam) and every B-tree index, each of whose rows
        must be in it (bt_index_check with heapallindexed). Its functions live in a schema of
        their own, apart from hush's tables."""
        self.club.sql("CREATE SCHEMA IF NOT EXISTS amcheck; "
                      "CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA amcheck")
        heap = self.club.sql(
            "SELECT c.relname || ': ' || v.msg FROM pg_class c, "
            "LATERAL amcheck.verify_heapam(c.oid) v "
            "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'")
        indexes = self.club.sql(
            "SELECT count(*) FROM (SELECT amcheck.bt_index_check(c.oid, true) FROM pg_class c "
            "JOIN pg_am am ON am.oid = c.relam "
            "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'i' "
            "AND am.amname = 'btree') checked")
        self.assertEqual(heap, "", "verify_heapam %s%s" % (when, self.seed_note()))
        self.assertGreater(int(indexes), 0, "no index checked %s" % when)

    def message_rows(self):
        if support.on_postgres():
            return int(self.club.sql("SELECT count(*) FROM messages"))
        r = support.run(["sqlite3", "-readonly", self.club.path("hush.db"),
                         "SELECT count(*) FROM messages;"])
        self.assertEqual(r.rc, 0, r)
        return int(r.out.strip())

    def verify_all(self):
        """Every acknowledged message, through the API, under its id, with its text."""
        self.assertEqual(self.acks.duplicates, [], "an id was acknowledged twice" + self.seed_note())
        server = self.club.serve()
        http = support.session(self.club.ca_pem)
        try:
            auth = basic("poster", POSTER_PASSWORD)
            missing = []
            for message_id, (text, author, how) in sorted(self.acks.by_id.items()):
                r = http.get(server.url + "api/v1/messages/%d" % message_id,
                             headers={"Authorization": auth}, timeout=support.HTTP_TIMEOUT)
                if r.status_code != 200:
                    missing.append((message_id, how, r.status_code))
                    continue
                body = r.json()
                if body.get("body") != text or body.get("author") != author:
                    missing.append((message_id, how, "got %r by %r" % (body.get("body"),
                                                                       body.get("author"))))
            self.assertEqual(missing, [], "acknowledged messages lost or changed" + self.seed_note())
        finally:
            http.close()
            self.assertEqual(server.stop(), 0, "hush serve did not stop cleanly: %s" % server.log())
        self.integrity_check("after a clean stop")
        # Nothing here deletes, so there are at least as many rows as acknowledgements; the rest
        # were committed by a writer killed before it could say so, which is allowed.
        rows = self.message_rows()
        self.assertGreaterEqual(rows, self.acks.count())
        sys.stderr.write("\n  %d acknowledged messages verified (http %d, cli %d), %d rows; "
                         "cli runs %r; seed %d\n"
                         % (self.acks.count(), self.acks.count("http"), self.acks.count("cli"),
                            rows, self.cli_outcomes, self.seed))

    # ---- tests ----------------------------------------------------------------------------

    def test_1_server_killed_while_posting(self):
        """HTTP posters and killed CLI posts together; the server SIGKILLed each round."""
        before = self.acks.count()
        for rnd in range(ROUNDS):
            server = self.club.serve()
            stop = threading.Event()
            stats = [{"acked": 0, "errors": 0, "other": 0} for _ in range(POSTER_THREADS)]
            threads = [threading.Thread(target=self.http_poster,
                                        args=(server, "r%d-t%d" % (rnd, i), stop, stats[i]),
                                        daemon=True)
                       for i in range(POSTER_THREADS)]
            cli_rng = random.Random(self.rng.random())
            threads.append(threading.Thread(target=self.cli_killer, args=(stop, cli_rng),
                                            daemon=True))
            for t in threads:
                t.start()
            time.sleep(self.rng.uniform(*KILL_AFTER))
            server.stop(signal.SIGKILL, timeout=10)
            # Posters see the reset and stop; a last few requests fail, as they must.
            time.sleep(0.2)
            stop.set()
            for t in threads:
                t.join(JOIN_TIMEOUT)
                self.assertFalse(t.is_alive(), "a writer did not finish" + self.seed_note())
            acked = sum(s["acked"] for s in stats)
            statuses = set().union(*(s.get("statuses", set()) for s in stats))
            self.assertGreater(acked, 0, "round %d: no post was acknowledged: %r, log %s"
                               % (rnd, stats, server.log()))
            self.assertEqual(statuses - {503}, set(),
                             "round %d: unexpected statuses %r" % (rnd, statuses))
            self.integrity_check("right after SIGKILL of the server, round %d" % rnd)
        self.assertGreater(self.acks.count("http"), 0)
        self.assertGreater(self.acks.count(), before)
        self.verify_all()

    def test_2_cli_killed_mid_post(self):
        """`hush message post -` SIGKILLed before, during and after its write."""
        # How long one post takes here, so that the kills spread over its whole life.
        started = time.monotonic()
        self.assertEqual(self.cli_post_killed(support.CMD_TIMEOUT), 0, "a plain post failed")
        took = time.monotonic() - started
        # Killed while it still waits for stdin: it cannot have posted anything.
        self.assertEqual(self.cli_post_killed(0.05, close_stdin=False), -signal.SIGKILL)
        outcomes = []
        for i in range(CLI_KILLS_ALONE):
            delay = took * 1.5 * i / CLI_KILLS_ALONE
            outcomes.append(self.cli_post_killed(delay))
            if outcomes[-1] == -signal.SIGKILL:
                self.integrity_check("right after SIGKILL of the CLI (%.3fs)" % delay)
        self.assertIn(-signal.SIGKILL, outcomes, "no post was killed: %r" % outcomes)
        for message_id, (text, _author, how) in sorted(self.acks.by_id.items()):
            if how != "cli":
                continue
            r = self.club.hush("message", "show", str(message_id))
            self.assertEqual((r.rc, r.out), (0, text + "\n"),
                             "message %d acknowledged by the CLI%s" % (message_id, self.seed_note()))
        self.verify_all()


if __name__ == "__main__":
    support.main()
