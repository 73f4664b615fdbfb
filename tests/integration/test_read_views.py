"""Reads served from memory stay exact: what another process changes counts on the next request.

`hush serve` answers GET / for a token or a cached Basic login from an in-memory view on its I/O
threads, and checks the view when the read's audit record commits (docs/architecture.md, "Reads
from memory"). These tests change the club with the CLI, a separate process, between two requests
on one keep-alive connection, and see the second request decided by the change: a revoked token,
a removed member, a changed password refused; a new message shown; a removed message never shown
again. The metrics prove the first requests were served from memory (else the tests would prove
nothing about the fast path), and the audit trail holds exactly the reads that were answered.
Then a server killed with SIGKILL right after a burst of reads from memory: every read a client
got an answer for is in the audit trail after the restart.

Run: /usr/bin/python3 tests/integration/test_read_views.py   (HUSH_BIN=/path/to/hush optional)
"""

import http.client
import json
import os
import re
import signal
import ssl
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import basic  # noqa: E402

FIELD_RE = re.compile(r' ([a-z_]+)=("(?:[^"\\]|\\.)*"|\S*)')
WARM_UP = 20  # requests before a change: the view is loaded and serving


def metrics_url(server):
    """The metrics listener's URL from the startup line (info lines are flushed within 1 s)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in server.log().splitlines():
            if " serving " in line:
                fields = dict(FIELD_RE.findall(line))
                return fields["metrics"].strip('"')
        time.sleep(0.05)
    raise AssertionError("no serving line: %s" % server.log())


def memory_reads(url):
    r = support.curl(["--fail", url])
    if r.rc != 0:
        raise AssertionError("scrape failed: %r" % r)
    counts = {"sent": 0, "stale": 0}
    for outcome in counts:
        m = re.search(r'^hush_memory_reads_total\{outcome="%s"\} (\d+)$' % outcome, r.out, re.M)
        if not m:
            raise AssertionError("no hush_memory_reads_total{outcome=%s} in %s" % (outcome, r.out))
        counts[outcome] = int(m.group(1))
    return counts


class KeepAlive:
    """One TLS keep-alive connection (http.client), so that two requests share it."""

    def __init__(self, server, ca_pem):
        context = ssl.create_default_context(cafile=ca_pem)
        self.conn = http.client.HTTPSConnection("localhost", server.port, context=context,
                                                timeout=10)
        self.sock = None

    def get(self, authorization):
        self.conn.request("GET", "/", headers={"Authorization": authorization})
        res = self.conn.getresponse()
        body = res.read().decode("utf-8", errors="replace")
        if self.sock is None:
            self.sock = self.conn.sock
        # The same connection throughout: a reconnect would prove nothing about keep-alive.
        assert self.conn.sock is self.sock, "the connection was not kept alive"
        return res.status, body

    def close(self):
        self.conn.close()


def audit_count(club):
    r = club.hush("audit", "--limit", "10000000", "--json")
    if r.rc != 0:
        raise AssertionError("hush audit failed: %r" % r)
    document = json.loads(r.out)
    records = document["audit"]
    return len(records)


class ReadsFromMemory(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        support.require_binary()
        cls.ws = support.Workspace()
        cls.club = support.Club(cls.ws)
        cls.club.set_config("passwords", "argon2_memory_kib", "19456")
        cls.club.set_config("metrics", "listen", '"127.0.0.1:0"')
        cls.club.post("the first secret")
        cls.server = cls.club.serve()
        cls.metrics = metrics_url(cls.server)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.ws.cleanup()

    def token_for(self, member, name):
        r = self.club.hush("token", "create", name, "--member", member)
        self.assertEqual(r.rc, 0, r)
        return "Bearer " + r.out.strip().splitlines()[-1]

    def warm_up(self, conn, authorization, expected_body):
        """WARM_UP reads on CONN, and proof that memory answered most of them."""
        before = memory_reads(self.metrics)
        for _ in range(WARM_UP):
            status, body = conn.get(authorization)
            self.assertEqual(status, 200, body)
            self.assertEqual(body, expected_body)
        after = memory_reads(self.metrics)
        # The first read after a change may go to the store (it loads the view again); the rest
        # must have come from memory, or this test is not testing the fast path.
        self.assertGreaterEqual(after["sent"] - before["sent"], WARM_UP - 2, (before, after))

    def test_a_token_revoked_by_the_cli_is_refused_on_the_next_request(self):
        self.club.add_member("tara", password="tara's long password")
        bearer = self.token_for("tara", "tara-laptop")
        conn = KeepAlive(self.server, self.club.ca_pem)
        self.addCleanup(conn.close)
        self.warm_up(conn, bearer, self.newest())
        self.assertEqual(self.club.hush("token", "revoke", "tara-laptop").rc, 0)
        status, _ = conn.get(bearer)
        self.assertEqual(status, 401)

    def test_a_member_removed_by_the_cli_is_refused_on_the_next_request(self):
        password = "rita's long password"
        self.club.add_member("rita", password=password)
        bearer = self.token_for("rita", "rita-laptop")
        conn = KeepAlive(self.server, self.club.ca_pem)
        self.addCleanup(conn.close)
        # Basic is verified once (Argon2id), then served from the cache and the view.
        self.warm_up(conn, basic("rita", password), self.newest())
        self.warm_up(conn, bearer, self.newest())
        self.assertEqual(self.club.hush("member", "remove", "rita").rc, 0)
        self.assertEqual(conn.get(basic("rita", password))[0], 401)
        self.assertEqual(conn.get(bearer)[0], 401)

    def test_a_password_changed_by_the_cli_counts_on_the_next_request(self):
        old, new = "paula's old long password", "paula's new long password"
        self.club.add_member("paula", password=old)
        conn = KeepAlive(self.server, self.club.ca_pem)
        self.addCleanup(conn.close)
        self.warm_up(conn, basic("paula", old), self.newest())
        r = self.club.hush("member", "passwd", "paula", "--password-stdin", input=new + "\n")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(conn.get(basic("paula", old))[0], 401)
        status, body = conn.get(basic("paula", new))
        self.assertEqual((status, body), (200, self.newest()))

    def test_messages_posted_and_removed_by_the_cli_count_on_the_next_request(self):
        self.club.add_member("mona", password="mona's long password")
        bearer = self.token_for("mona", "mona-laptop")
        conn = KeepAlive(self.server, self.club.ca_pem)
        self.addCleanup(conn.close)
        self.warm_up(conn, bearer, self.newest())
        fresh = "a fresh secret %d" % time.monotonic_ns()
        message_id = self.club.post(fresh)
        self.assertEqual(conn.get(bearer), (200, fresh))
        self.warm_up(conn, bearer, fresh)
        self.assertEqual(self.club.hush("message", "rm", str(message_id)).rc, 0)
        status, body = conn.get(bearer)
        self.assertEqual(status, 200)
        self.assertNotEqual(body, fresh)
        self.assertEqual(body, self.newest())

    def test_every_answered_read_is_audited_once_and_no_other(self):
        self.club.add_member("otto", password="otto's long password")
        bearer = self.token_for("otto", "otto-laptop")
        conn = KeepAlive(self.server, self.club.ca_pem)
        self.addCleanup(conn.close)
        self.warm_up(conn, bearer, self.newest())
        before = audit_count(self.club)
        answered = 0
        for i in range(30):
            if i % 10 == 5:
                # A change between reads: some reads from memory go stale and are served again
                # from the store; each must still be audited exactly once.
                self.club.add_member("otto-friend-%d" % i, password="a friend's long password")
            status, _ = conn.get(bearer)
            self.assertEqual(status, 200)
            answered += 1
        self.assertEqual(audit_count(self.club) - before, answered)

    def newest(self):
        r = self.club.hush("message", "list", "--limit", "1", "--json")
        self.assertEqual(r.rc, 0, r)
        document = json.loads(r.out)
        items = document["messages"]
        r = self.club.hush("message", "show", str(items[0]["id"]))
        self.assertEqual(r.rc, 0, r)
        return r.out.rstrip("\n")


class AuditSurvivesSigkill(unittest.TestCase):
    def test_every_read_answered_from_memory_is_in_the_trail_after_sigkill(self):
        support.require_binary()
        ws = support.Workspace()
        self.addCleanup(ws.cleanup)
        club = support.Club(ws)
        club.set_config("metrics", "listen", '"127.0.0.1:0"')
        club.post("read, then killed")
        club.add_member("kim", password="kim's long password")
        r = club.hush("token", "create", "kim-laptop", "--member", "kim")
        self.assertEqual(r.rc, 0, r)
        bearer = "Bearer " + r.out.strip().splitlines()[-1]
        server = club.serve()
        metrics = metrics_url(server)
        conn = KeepAlive(server, club.ca_pem)
        answered = 0
        for _ in range(200):
            status, body = conn.get(bearer)
            self.assertEqual((status, body), (200, "read, then killed"))
            answered += 1
        self.assertGreaterEqual(memory_reads(metrics)["sent"], 150)
        server.proc.send_signal(signal.SIGKILL)
        server.wait()
        conn.close()
        self.assertEqual(audit_count(club), answered)


if __name__ == "__main__":
    support.main()
