"""Several hush instances on one PostgreSQL database, behind a real HAProxy (issue 15).

A cluster made here (tests/support/pg_cluster: initdb as an unprivileged user, a Unix socket in a
temporary directory), a club made on it with `hush init --store`, and a second instance made the
way docs/scaling.md says: a copy of the club directory. Checked:
- reads through HAProxy (round robin, TCP mode: TLS end to end, health checks on /healthz) reach
  both instances and give the same secret; a message posted through one is read through the
  other; a browser session made on one works on the other; the audit trail holds both's reads;
- revocation is immediate across instances and the CLI: a member removed through one instance's
  API, and a token revoked with the CLI, are refused by the other on the very next request,
  although it had just served them from memory;
- PostgreSQL stopped under a running instance: 503 with Retry-After (and /healthz 503), no crash;
  started again, the same instance serves again without a restart;
- a certificate revoked with the CLI in one instance's directory is in the other instance's
  served ca.crl within seconds (the change feed makes it write its own);
- guesses spread over two instances are throttled as if there were one (the counts live in
  PostgreSQL): a guess on an instance that has seen only two failures is refused with 429;
- one instance SIGKILLed during a burst of posts through HAProxy: HAProxy moves on, and every
  post that was acknowledged (201) is readable through the survivor.

Run: /usr/bin/python3 tests/integration/test_postgres.py   (HUSH_BIN=/path/to/hush optional)
"""

import concurrent.futures
import os
import re
import signal
import sys
import time

from cryptography import x509

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from pg_support import HAProxy, PostgresCase, wait_for  # noqa: E402
from support import Club, Server  # noqa: E402

SECRET = "one secret, two instances"


def crl_serials(der):
    """The serials (lowercase hex, no leading zeros) a DER CRL lists."""
    crl = x509.load_der_x509_crl(der)
    return {format(revoked.serial_number, "x") for revoked in crl}


def club_dbname(club):
    """The database name in the club's store.url (the connection string new_database made)."""
    with open(club.config_path) as f:
        text = f.read()
    return text.split("dbname=", 1)[1].split('"', 1)[0].split()[0]


class PostgresInstancesTest(PostgresCase):

    def make_club(self, name):
        club = Club(self.ws, name, store=self.pg.new_database())
        self.assertFalse(os.path.exists(club.path("hush.db")), "the data lives in PostgreSQL")
        return club

    def two_instances(self, club, name):
        """A second instance of CLUB (a copy of its directory, named NAME), both serving, and
        HAProxy in front of the two once its health checks pass; all stopped at cleanup."""
        other = club.another_instance(name)
        a = Server(club).start()
        self.addCleanup(a.stop)
        b = Server(other).start()
        self.addCleanup(b.stop)
        proxy = HAProxy(self.ws, [a.port, b.port], club.ca_pem).start()
        self.addCleanup(proxy.stop)
        wait_for(lambda: self.get(proxy.port, "/healthz", club=club).status_code == 200, 10,
                 "HAProxy's first health checks")
        return other, a, b, proxy

    def get(self, port, path, name=None, password=None, headers=None, club=None):
        """One request on a connection of its own (so that HAProxy's round robin moves on)."""
        http = support.session(club.ca_pem)
        http.headers["Connection"] = "close"
        auth = (name, password) if name is not None else None
        return http.get("https://localhost:%d%s" % (port, path), auth=auth, headers=headers or {},
                        timeout=support.HTTP_TIMEOUT)

    def test_two_instances_behind_haproxy_share_everything(self):
        one = self.make_club("one")
        alice = one.add_member("alice", password="alice's long passphrase")
        pat = one.add_member("pat", role="poster", password="pat's long passphrase")
        one.post(SECRET)
        two, a, b, proxy = self.two_instances(one, "two")

        # Round robin over both: four reads, two on each, the same secret.
        for _ in range(4):
            r = self.get(proxy.port, "/", "alice", alice, club=one)
            self.assertEqual((r.status_code, r.text), (200, SECRET))
        for server in (a, b):
            wait_for(lambda: "member=alice" in server.log(), 5, "a read on each instance")

        # Posted through one, read through the other.
        r = support.session(one.ca_pem).post(
            "https://localhost:%d/api/v1/messages" % a.port, auth=("pat", pat),
            json={"body": "posted on one"}, timeout=support.HTTP_TIMEOUT)
        self.assertEqual(r.status_code, 201, r.text)
        r = self.get(b.port, "/", "alice", alice, club=one)
        self.assertEqual((r.status_code, r.text), (200, "posted on one"))

        # A browser session made on one instance works on the other.
        login = support.session(one.ca_pem).post(
            "https://localhost:%d/api/v1/session" % a.port,
            json={"name": "alice", "password": alice}, timeout=support.HTTP_TIMEOUT)
        self.assertEqual(login.status_code, 200, login.text)
        cookie = login.headers["Set-Cookie"].split(";")[0]
        r = self.get(b.port, "/api/v1/session", headers={"Cookie": cookie}, club=one)
        self.assertEqual((r.status_code, r.json()["name"]), (200, "alice"), r.text)

        # A token revoked with the CLI is refused by a server on the very next request.
        made = two.hush("token", "create", "script", "--member", "alice")
        self.assertEqual(made.rc, 0, made)
        token = made.out.strip().splitlines()[-1].split()[-1]
        bearer = {"Authorization": "Bearer " + token}
        r = self.get(a.port, "/", headers=bearer, club=one)
        self.assertEqual(r.status_code, 200, r.text)
        r = self.get(a.port, "/", headers=bearer, club=one)  # now from memory
        self.assertEqual(r.status_code, 200, r.text)
        revoked = one.hush("token", "revoke", "script")
        self.assertEqual(revoked.rc, 0, revoked)
        r = self.get(a.port, "/", headers=bearer, club=one)
        self.assertEqual(r.status_code, 401, "a revoked token, on the very next request")

        # A member removed through one instance is refused by the other at once, though it had
        # just served her (from memory, the second time).
        for _ in range(2):
            r = self.get(b.port, "/", "alice", alice, club=one)
            self.assertEqual(r.status_code, 200)
        r = support.session(one.ca_pem).delete(
            "https://localhost:%d/api/v1/members/alice" % a.port,
            auth=("admin", one.admin_password), timeout=support.HTTP_TIMEOUT)
        self.assertEqual(r.status_code, 204, r.text)
        r = self.get(b.port, "/", "alice", alice, club=one)
        self.assertEqual(r.status_code, 401, "removed on one, refused by two on the next request")
        r = self.get(b.port, "/api/v1/session", headers={"Cookie": cookie}, club=one)
        self.assertEqual(r.status_code, 401, "her session ended with her, on every instance")

        # One audit trail: the reads served by both instances.
        audit = two.hush("audit")
        self.assertEqual(audit.rc, 0, audit)
        self.assertGreaterEqual(audit.out.count("alice"), 7, audit.out)
        for server in (a, b):
            for secret in (alice, pat, SECRET, token):
                self.assertNotIn(secret, server.log())

    def test_guesses_spread_over_instances_are_throttled_as_one(self):
        club = self.make_club("guessing")
        alice = club.add_member("alice", password="alice's long passphrase")
        club.post(SECRET)
        other = club.another_instance("guessing-two")
        a = Server(club).start()
        self.addCleanup(a.stop)
        b = Server(other).start()
        self.addCleanup(b.stop)
        r = self.get(a.port, "/", "alice", alice, club=club)
        self.assertEqual((r.status_code, r.text), (200, SECRET))

        # The default throttle: three failures free per member and address, then 2 s doubling.
        # Four wrong guesses, two on each instance: neither has seen more than its free ones.
        for port in (a.port, b.port, a.port, b.port):
            r = self.get(port, "/", "alice", "a wrong guess", club=club)
            self.assertEqual(r.status_code, 401, r.text)
        # A fifth guess on `a`, which has seen two (on its own it would count this one free and
        # answer 401): throttled, by the count the instances share.
        r = self.get(a.port, "/", "alice", "another wrong guess", club=club)
        self.assertEqual(r.status_code, 429, r.text)
        retry_after = int(r.headers["Retry-After"])
        self.assertGreaterEqual(retry_after, 1)
        # Even the right password, on `b`, which never served alice: not checked, not served.
        r = self.get(b.port, "/", "alice", alice, club=club)
        self.assertEqual(r.status_code, 429, r.text)
        self.assertNotIn(SECRET, r.text)
        self.assertIn("throttled", b.log())
        # A member's token typed into the name field, which fails like any unknown name: the
        # database never holds what was tried, nor the address, only keyed hashes.
        made = club.hush("token", "create", "laptop", "--member", "alice")
        self.assertEqual(made.rc, 0, made)
        token = made.out.strip().splitlines()[-1]
        r = self.get(a.port, "/", token, "", club=club)
        self.assertEqual(r.status_code, 401, r.text)
        dbname = club_dbname(club)
        keys = self.pg.psql("SELECT key FROM guesses", dbname=dbname).split()
        self.assertGreaterEqual(len(keys), 3, keys)
        for key in keys:
            self.assertRegex(key, "^[0-9a-f]{64}$")
        dump = self.pg.psql("SELECT string_agg(guesses::text, ' ') FROM guesses", dbname=dbname)
        for plain in (token, "alice", "127.0.0.1"):
            self.assertNotIn(plain, dump)
        # The delay runs out for both.
        time.sleep(retry_after + 0.2)
        r = self.get(b.port, "/", "alice", alice, club=club)
        self.assertEqual((r.status_code, r.text), (200, SECRET))

    def test_a_burst_of_guesses_over_instances_gets_only_the_free_ones_hashed(self):
        club = self.make_club("guess-burst")
        club.add_member("bob", password="bob's long passphrase")
        # Four hashes at a time on each instance: eight guesses in flight at once.
        club.set_config("passwords", "argon2_threads", "4")
        other = club.another_instance("guess-burst-two")
        a = Server(club).start()
        self.addCleanup(a.stop)
        b = Server(other).start()
        self.addCleanup(b.stop)
        # 16 wrong guesses at once, half on each instance: every attempt is counted in the
        # database before its hash, so three free ones and the one that starts the block are
        # hashed (401) and the rest refused (429), however they interleave.
        ports = [a.port, b.port] * 8
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(ports)) as pool:
            statuses = list(pool.map(
                lambda i: self.get(ports[i], "/", "bob", "guess %d" % i, club=club).status_code,
                range(len(ports))))
        self.assertEqual(sorted(set(statuses)), [401, 429], statuses)
        self.assertEqual(statuses.count(401), 4, statuses)

    def test_a_revocation_on_one_host_reaches_the_other_instances_crl(self):
        club = self.make_club("crl")
        club.add_member("bob", password="bob's long passphrase")
        other = club.another_instance("crl-two")
        b = Server(other).start()
        self.addCleanup(b.stop)
        certs = os.path.join(self.ws.path, "crl-certs")
        os.makedirs(certs)
        made = club.hush("member", "cert", "bob", "--out-dir", certs)
        self.assertEqual(made.rc, 0, made)
        serial = re.search(r"serial ([0-9a-f]+)", made.out).group(1)
        self.assertNotIn(serial, crl_serials(self.get(b.port, "/ca.crl", club=club).content))
        # Revoked with the CLI in the first directory (another host): it rewrites that
        # directory's ca.crl; the instance serving the second learns it from the change feed.
        revoked = club.hush("member", "cert", "--revoke", serial)
        self.assertEqual(revoked.rc, 0, revoked)
        wait_for(lambda: serial in crl_serials(self.get(b.port, "/ca.crl", club=club).content),
                 10, "the other instance's ca.crl listing the revoked serial")
        with open(other.path("ca.crl"), "rb") as f:
            self.assertIn(serial, crl_serials(f.read()))

    def test_init_never_mixes_two_clubs_in_one_database(self):
        url = self.pg.new_database()
        first = Club(self.ws, "first", store=url)
        self.assertIn('url = "%s"' % url, first.read_config())
        r = support.hush("init", "--dir", self.ws.sub("second"), "--store", url)
        self.assertNotEqual(r.rc, 0)
        self.assertIn("already holds a club", r.err)
        self.assertFalse(os.path.exists(self.ws.sub("second")), "nothing half-made left behind")
        r = support.hush("init", "--dir", self.ws.sub("third"), "--store", "mysql://x")
        self.assertEqual(r.rc, 2, r)
        # The first club is untouched: its admin still logs in.
        self.assertEqual(first.hush("member", "list").rc, 0)

    def test_postgres_down_gives_503_and_service_resumes_by_itself(self):
        club = self.make_club("outage")
        alice = club.add_member("alice", password="alice's long passphrase")
        club.post(SECRET)
        server = Server(club).start()
        self.addCleanup(server.stop)
        r = self.get(server.port, "/", "alice", alice, club=club)
        self.assertEqual((r.status_code, r.text), (200, SECRET))

        self.pg.halt()
        resumed = False
        try:
            for path in ("/", "/api/v1/messages"):
                r = self.get(server.port, path, "alice", alice, club=club)
                self.assertEqual(r.status_code, 503, "%s: %s" % (path, r.text))
                self.assertEqual(r.headers.get("Retry-After"), "1")
                self.assertEqual(r.json()["error"], "unavailable")
                self.assertNotIn(SECRET, r.text)
            r = self.get(server.port, "/healthz", club=club)
            self.assertEqual(r.status_code, 503)
            self.assertTrue(server.running(), "no crash: " + server.log())
            self.pg.resume()
            resumed = True
        finally:
            if not resumed:
                self.pg.resume()
        wait_for(lambda: self.get(server.port, "/", "alice", alice, club=club).status_code == 200,
                 15, "service again, without a restart of hush")
        r = self.get(server.port, "/", "alice", alice, club=club)
        self.assertEqual((r.status_code, r.text), (200, SECRET))
        self.assertTrue(server.running())

    def test_an_instance_killed_during_a_write_burst_loses_no_acknowledged_message(self):
        one = self.make_club("burst")
        pat = one.add_member("pat", role="poster", password="pat's long passphrase")
        two, a, b, proxy = self.two_instances(one, "burst-two")

        acknowledged = []
        failed = 0
        deadline = time.monotonic() + 30
        for i in range(120):
            if time.monotonic() > deadline:
                break
            if i == 40:
                a.proc.send_signal(signal.SIGKILL)
            http = support.session(one.ca_pem)
            http.headers["Connection"] = "close"
            try:
                r = http.post("https://localhost:%d/api/v1/messages" % proxy.port,
                              auth=("pat", pat), json={"body": "burst %d" % i}, timeout=5)
            except Exception:  # a connection the kill cut: not acknowledged
                failed += 1
                continue
            if r.status_code == 201:
                acknowledged.append((r.json()["id"], "burst %d" % i))
            else:
                failed += 1
        after_kill = [m for m in acknowledged if int(m[1].split()[1]) > 40]
        self.assertGreaterEqual(len(after_kill), 10, "HAProxy moved on to the survivor")
        self.assertLessEqual(failed, 10, "only what was in flight at the kill is lost")
        a.proc.wait(timeout=10)
        for message_id, body in acknowledged:
            r = support.session(one.ca_pem).get(
                "https://localhost:%d/api/v1/messages/%d" % (b.port, message_id),
                auth=("pat", pat), timeout=support.HTTP_TIMEOUT)
            self.assertEqual((r.status_code, r.json().get("body")), (200, body), message_id)


if __name__ == "__main__":
    support.main()
