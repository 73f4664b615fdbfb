"""What an operator points at hush, tested with the tools that consume it.

- The access log: one `access` line per request at info, with the documented fields (RFC 3339
  time, request id, client, member, auth method, method, path without the query, status, body
  bytes, duration in microseconds), in text and in JSON; never a password, token, cookie, query
  string or message body.
- Security events at warn, one line each with the client's address and the name tried: failed
  login, throttled (with the delay), refused client certificate, CSRF/origin refusal, hashing
  queue full. packaging/fail2ban's filter, run by Debian's fail2ban-regex over the lines the
  server wrote, finds exactly the guessers' lines and the guesser's address, in both formats.
- GET and HEAD /healthz: 200 "ok" without login while the store answers, 503 when it cannot;
  nothing else in the body.
- Prometheus metrics on [metrics] listen, off by default: the scrape passes Debian's
  `promtool check metrics`, and the series move with what the test did.
"""

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import unittest

import support
from support import basic

REPO = support.REPO
FILTER = os.path.join(REPO, "packaging", "fail2ban", "filter.d", "hush.conf")

ACCESS_FIELDS = ["request_id", "client", "member", "auth", "method", "path", "status", "bytes",
                 "duration_us"]
TEXT_LINE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z) (debug|info|warn|error) "
                          r"(\S+)(.*)$")
FIELD_RE = re.compile(r' ([a-z_]+)=("(?:[^"\\]|\\.)*"|\S*)')


def text_events(log):
    """[(time, level, event, {field: value})] of every line of a text-format log."""
    out = []
    for line in log.splitlines():
        m = TEXT_LINE_RE.match(line)
        if not m:
            continue
        fields = {k: (v[1:-1] if v.startswith('"') else v) for k, v in FIELD_RE.findall(m.group(4))}
        out.append((m.group(1), m.group(2), m.group(3), fields))
    return out


def fail2ban(log_path):
    """Runs fail2ban-regex with hush's filter over LOG_PATH: (matched lines, {host: hits})."""
    r = support.run(["fail2ban-regex", "--print-all-matched", log_path, FILTER], timeout=60)
    if r.rc != 0:
        raise AssertionError("fail2ban-regex failed: %r" % r)
    m = re.search(r"^Lines: \d+ lines, \d+ ignored, (\d+) matched", r.out, re.M)
    if not m:
        raise AssertionError("no summary in fail2ban-regex's output: %s" % r.out)
    hosts = {}
    # --print-all-matched lists each matched line; the host is the client= (or "client":) value.
    for line in r.out.splitlines():
        h = re.search(r'client(?:=|":")([0-9a-f.:]+)', line)
        if h and ("warn" in line):
            hosts[h.group(1)] = hosts.get(h.group(1), 0) + 1
    return int(m.group(1)), hosts


def fail2ban_journal(lines):
    """The hosts Debian's fail2ban finds in LINES read as the journal gives them to it (backend =
    systemd: "HOSTNAME hush[PID]: " and the line, the time apart), with hush's filter."""
    code = r"""
import configparser, json, sys
sys.path.insert(0, "/usr/lib/python3/dist-packages")
from fail2ban.server.filter import Filter
from fail2ban.client.filterreader import FilterReader
reader = FilterReader("hush", "hush", {}, basedir=sys.argv[1])
assert reader.read(), "cannot read the filter"
reader.getOptions({})
f = Filter(None)
for opt in reader.convert():
    if opt[0] == "multi-set" and opt[2] == "addfailregex":
        for regex in opt[3]:
            f.addFailRegex(regex)
    elif opt[0] == "set" and opt[2] == "addfailregex":
        f.addFailRegex(opt[3])
hosts = []
for line in sys.stdin.read().splitlines():
    logline = "testhost hush[4242]: " + line
    for found in f.processLine((logline[:0], "2026-11-30 12:00:00 ", logline), 1764504000.0):
        hosts.append(str(found[1]))
print(json.dumps(hosts))
"""
    base = os.path.join(REPO, "packaging", "fail2ban")
    r = subprocess.run(["/usr/bin/python3", "-c", code, base], input="\n".join(lines),
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("fail2ban's filter failed: %s" % r.stderr)
    return json.loads(r.stdout)


def make_fast(club):
    # Cheap Argon2id (OWASP's floor for 2 passes is 19 MiB), so that guessing takes little time.
    club.set_config("passwords", "argon2_memory_kib", "19456")


class AccessLogAndSecurityEvents(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        support.require_binary()
        cls.ws = support.Workspace()
        cls.club = support.Club(cls.ws)
        make_fast(cls.club)
        cls.club.set_config("throttle", "address_free_failures", "4")
        cls.club.set_config("sessions", "max_per_member", "20")
        cls.password = cls.club.add_member("alice", "poster", password="alice's long password")
        cls.secret = "the owl flies at midnight %d" % os.getpid()
        cls.club.post(cls.secret, author="alice")
        r = cls.club.hush("token", "create", "alice-script", "--member", "alice")
        assert r.rc == 0, r
        cls.token = r.out.strip().splitlines()[-1]
        cls.server = cls.club.serve()
        cls.http = support.session(cls.club.ca_pem)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.ws.cleanup()

    def get(self, path, **kw):
        return self.http.get(self.server.url.rstrip("/") + path, timeout=support.HTTP_TIMEOUT, **kw)

    def events(self):
        return text_events(self.server.log())

    def wait_for(self, predicate, what):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            found = [e for e in self.events() if predicate(e)]
            if found:
                return found
            time.sleep(0.05)
        self.fail("no %s in the log:\n%s" % (what, self.server.log()))

    def test_one_access_line_per_request_with_every_field_and_no_secret(self):
        query_secret = "qs-%d-should-not-appear" % os.getpid()
        before = len([e for e in self.events() if e[2] == "access"])
        r1 = self.get("/?token=" + query_secret, headers={"Authorization": basic("alice", self.password)})
        self.assertEqual(r1.status_code, 200)
        self.assertEqual(r1.text, self.secret)
        r2 = self.get("/api/v1/messages", headers={"Authorization": "Bearer " + self.token})
        self.assertEqual(r2.status_code, 200)
        login = self.http.post(self.server.url + "api/v1/session",
                               json={"name": "alice", "password": self.password},
                               timeout=support.HTTP_TIMEOUT)
        self.assertEqual(login.status_code, 200)
        cookie = login.headers["Set-Cookie"].split(";")[0]
        r3 = self.get("/", headers={"Cookie": cookie})
        self.assertEqual(r3.status_code, 200)
        r4 = self.get("/healthz")
        self.assertEqual(r4.status_code, 200)

        accesses = self.wait_for(lambda e: e[2] == "access" and e[3].get("path") == "/healthz"
                                 and e[3].get("status") == "200", "access line for /healthz")
        accesses = [e for e in self.events() if e[2] == "access"][before:]
        self.assertEqual(len(accesses), 5, accesses)
        for stamp, level, _event, fields in accesses:
            self.assertEqual(level, "info")
            self.assertEqual(list(fields), ACCESS_FIELDS, fields)
            self.assertRegex(fields["request_id"], r"^[0-9a-f]{16}$")
            self.assertEqual(fields["client"], "127.0.0.1")
            self.assertRegex(fields["duration_us"], r"^\d+$")
            self.assertTrue(stamp.endswith("Z"))
        self.assertEqual(len({f["request_id"] for _, _, _, f in accesses}), 5)
        by_auth = {(f["method"], f["path"], f["auth"], f["member"], f["status"])
                   for _, _, _, f in accesses}
        self.assertIn(("GET", "/", "password", "alice", "200"), by_auth)
        self.assertIn(("GET", "/api/v1/messages", "token", "alice", "200"), by_auth)
        self.assertIn(("POST", "/api/v1/session", "password", "alice", "200"), by_auth)
        self.assertIn(("GET", "/", "session", "alice", "200"), by_auth)
        self.assertIn(("GET", "/healthz", "-", "-", "200"), by_auth)
        read = [f for _, _, _, f in accesses if f["auth"] == "password" and f["path"] == "/"][0]
        self.assertEqual(int(read["bytes"]), len(self.secret.encode()))

        log = self.server.log()
        for secret in (self.password, self.token, cookie.split("=", 1)[1], query_secret,
                       self.secret, basic("alice", self.password).split()[1]):
            self.assertNotIn(secret, log)

    def test_security_events_are_warn_lines_with_address_and_name(self):
        # A wrong password for a member names the member.
        self.get("/", headers={"Authorization": basic("alice", "wrong password")})
        failed = self.wait_for(lambda e: e[2] == "auth-failed" and e[3].get("member") == "alice",
                               "auth-failed line")
        self.assertEqual(failed[0][1], "warn")
        self.assertEqual(failed[0][3]["client"], "127.0.0.1")
        self.assertEqual(failed[0][3]["method"], "password")
        # A name that is no member's is never written: it may be a password or a token typed into
        # the name field (curl -u "$TOKEN:"). Then guessing past the address's free failures.
        for i in range(6):
            self.get("/", headers={"Authorization": basic("Guess%dIsMaybeAPassword" % i, "x")})
        unknown = self.wait_for(lambda e: e[2] == "auth-failed" and e[3].get("member") == "-",
                                "auth-failed line for an unknown name")
        self.assertEqual(unknown[0][3]["client"], "127.0.0.1")
        throttled = self.wait_for(lambda e: e[2] == "throttled", "throttled line")
        self.assertEqual(throttled[0][1], "warn")
        self.assertEqual(throttled[0][3]["client"], "127.0.0.1")
        self.assertRegex(throttled[0][3]["delay_s"], r"^[1-9]\d*$")
        self.get("/", headers={"Authorization": basic(self.token, "")})
        self.get("/", headers={"Authorization": basic("x client=10.9.9.9", "wrong")})
        self.wait_for(lambda e: e[2] == "access" and e[3].get("status") == "429", "a 429")
        log = self.server.log()
        self.assertNotIn("IsMaybeAPassword", log)
        self.assertNotIn(self.token, log)
        self.assertNotIn("10.9.9.9", log)
        # A token that is no token.
        self.get("/", headers={"Authorization": "Bearer " + "A" * 43})
        self.wait_for(lambda e: e[2] in ("auth-failed", "throttled") and e[3].get("method") == "token",
                      "token failure")
        # A state change that claims another origin.
        r = self.http.post(self.server.url + "api/v1/messages", json={"body": "x"},
                           headers={"Origin": "https://evil.example",
                                    "Authorization": basic("alice", self.password)},
                           timeout=support.HTTP_TIMEOUT)
        self.assertEqual(r.status_code, 403)
        cross = self.wait_for(lambda e: e[2] == "cross-origin", "cross-origin line")
        self.assertEqual(cross[0][1], "warn")
        self.assertEqual(cross[0][3]["client"], "127.0.0.1")

    def test_fail2ban_filter_matches_the_guessers_lines_and_only_them(self):
        for i in range(3):
            self.get("/", headers={"Authorization": basic("f2b%d" % i, "wrong password")})
        self.wait_for(lambda e: e[2] in ("auth-failed", "throttled"), "a guess")
        time.sleep(1.5)  # the access lines are flushed within a second
        events = self.events()
        expected = len([e for e in events if e[2] in ("auth-failed", "throttled", "cert-refused")])
        self.assertGreaterEqual(expected, 3)
        self.server.log_bytes()  # flushed
        matched, hosts = fail2ban(self.server.log_path)
        self.assertEqual(matched, expected, self.server.log())
        self.assertEqual(set(hosts), {"127.0.0.1"})
        # The control: access lines, which hold client= too, are not bans.
        self.assertGreaterEqual(len([e for e in events if e[2] == "access"]), 1)
        # The same lines as the journal hands them to fail2ban (the jail's backend = systemd).
        hosts = fail2ban_journal(self.server.log().splitlines())
        self.assertEqual(len(hosts), expected)
        self.assertEqual(set(hosts), {"127.0.0.1"})

    def test_startup_line_has_a_timestamp(self):
        self.wait_for(lambda e: e[2] == "serving", "serving line")
        serving = [e for e in self.events() if e[2] == "serving"]
        self.assertEqual(len(serving), 1, self.server.log())
        self.assertEqual(serving[0][3]["url"], self.server.url)
        self.assertEqual(serving[0][3]["metrics"], "-")  # off by default


class JsonLogAndHashingQueue(unittest.TestCase):
    """[log] format = "json", and a hashing queue of one that overflows."""

    @classmethod
    def setUpClass(cls):
        support.require_binary()
        cls.ws = support.Workspace()
        cls.club = support.Club(cls.ws)
        # Slow hashes on one thread with room for one waiting: a burst of logins overflows it.
        cls.club.set_config("passwords", "argon2_threads", "1")
        cls.club.set_config("passwords", "argon2_queue", "1")
        cls.club.set_config("passwords", "cache_seconds", "0")
        cls.club.set_config("log", "format", '"json"')
        cls.password = cls.club.add_member("bob", "reader", password="bob's long password")
        cls.server = cls.club.serve()
        cls.http = support.session(cls.club.ca_pem)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.ws.cleanup()

    def lines(self):
        return [json.loads(line) for line in self.server.log().splitlines() if line.strip()]

    def test_every_line_is_a_json_object_with_stable_names(self):
        self.http.get(self.server.url + "?q=secretquery", headers={"Authorization": basic("bob", self.password)},
                      timeout=support.HTTP_TIMEOUT)
        self.http.get(self.server.url, headers={"Authorization": basic("bob", "wrong one")},
                      timeout=support.HTTP_TIMEOUT)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                l.get("event") == "auth-failed" for l in self.lines()):
            time.sleep(0.05)
        lines = self.lines()  # raises if any line is not JSON
        for line in lines:
            self.assertEqual(list(line)[:3], ["time", "level", "event"], line)
            self.assertRegex(line["time"], r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
        access = [l for l in lines if l["event"] == "access"]
        self.assertEqual(list(access[0])[3:], ACCESS_FIELDS)
        self.assertIsInstance(access[0]["status"], int)
        self.assertIsInstance(access[0]["duration_us"], int)
        self.assertEqual(access[0]["path"], "/")
        self.assertNotIn("secretquery", self.server.log())
        failed = [l for l in lines if l["event"] == "auth-failed" and l["member"] == "bob"]
        self.assertEqual(failed[0]["level"], "warn")
        self.assertEqual((failed[0]["client"], failed[0]["member"]), ("127.0.0.1", "bob"))
        self.assertTrue(any(l["event"] == "serving" for l in lines))
        # fail2ban's filter reads the JSON lines too.
        matched, hosts = fail2ban(self.server.log_path)
        self.assertEqual(matched, len([l for l in lines if l["event"] in
                                       ("auth-failed", "throttled", "cert-refused")]))
        self.assertEqual(set(hosts), {"127.0.0.1"})

    def test_a_full_hashing_queue_is_a_warn_line(self):
        results = []

        def login(i):
            r = self.http.get(self.server.url, timeout=support.HTTP_TIMEOUT,
                              headers={"Authorization": basic("burst%d" % i, "wrong password")})
            results.append(r.status_code)

        threads = [threading.Thread(target=login, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        self.assertIn(503, results, results)
        full = [l for l in self.lines() if l["event"] == "hashing-queue-full"]
        self.assertTrue(full, self.server.log())
        self.assertEqual((full[0]["level"], full[0]["client"]), ("warn", "127.0.0.1"))


class RefusedCertificate(unittest.TestCase):
    def test_a_foreign_client_certificate_is_a_cert_refused_line(self):
        support.require_binary()
        ws = support.Workspace()
        self.addCleanup(ws.cleanup)
        club = support.Club(ws)
        club.set_config("server", "client_certs", '"optional"')
        server = club.serve()
        self.addCleanup(server.stop)
        # A certificate from a CA the club never heard of, naming a member.
        key, cert = ws.sub("mallory.key"), ws.sub("mallory.pem")
        r = support.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                         "-days", "1", "-subj", "/CN=admin"])
        self.assertEqual(r.rc, 0, r)
        r = support.curl(["--cacert", club.ca_pem, "--cert", cert, "--key", key, server.url])
        self.assertNotEqual(r.rc, 0)  # the handshake fails
        deadline = time.monotonic() + 5
        refused = []
        while time.monotonic() < deadline and not refused:
            refused = [e for e in text_events(server.log()) if e[2] == "cert-refused"]
            time.sleep(0.05)
        self.assertTrue(refused, server.log())
        self.assertEqual(refused[0][1], "warn")
        self.assertEqual(refused[0][3]["client"], "127.0.0.1")
        self.assertEqual(refused[0][3]["subject"], "admin")
        self.assertTrue(refused[0][3]["reason"])
        matched, hosts = fail2ban(server.log_path)
        self.assertEqual((matched, set(hosts)), (1, {"127.0.0.1"}))


class Health(unittest.TestCase):
    def test_healthz_answers_without_login_and_503_when_the_store_cannot(self):
        support.require_binary()
        ws = support.Workspace()
        self.addCleanup(ws.cleanup)
        club = support.Club(ws)
        server = club.serve()
        self.addCleanup(server.stop)
        http = support.session(club.ca_pem)
        r = http.get(server.url + "healthz", timeout=support.HTTP_TIMEOUT)
        self.assertEqual((r.status_code, r.text), (200, "ok\n"))
        self.assertEqual(r.headers["Cache-Control"], "no-store")
        h = http.head(server.url + "healthz", timeout=support.HTTP_TIMEOUT)
        self.assertEqual((h.status_code, h.text, h.headers["Content-Length"]), (200, "", "3"))
        p = http.post(server.url + "healthz", timeout=support.HTTP_TIMEOUT)
        self.assertEqual(p.status_code, 405)
        self.assertEqual(p.headers["Allow"], "GET, HEAD")
        # HEAD wherever GET: the CRL and the page too.
        self.assertEqual(http.head(server.url + "ca.crl", timeout=support.HTTP_TIMEOUT).status_code,
                         200)
        # The store stops answering: its file is cut to nothing under the running server.
        with open(club.path("hush.db"), "r+b") as f:
            f.truncate(0)
        r = http.get(server.url + "healthz", timeout=support.HTTP_TIMEOUT)
        self.assertEqual((r.status_code, r.text), (503, "unavailable\n"), server.log())


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        support.require_binary()
        cls.ws = support.Workspace()
        cls.club = support.Club(cls.ws)
        make_fast(cls.club)
        cls.club.set_config("metrics", "listen", '"127.0.0.1:0"')
        cls.password = cls.club.add_member("carol", "reader", password="carol's long password")
        cls.club.post("metrics are counted, never named")
        cls.server = cls.club.serve()
        # The startup line in the log names the metrics listener's address (port 0 was asked);
        # info lines are flushed within a second.
        deadline = time.monotonic() + 5
        serving = []
        while not serving and time.monotonic() < deadline:
            serving = [e for e in text_events(cls.server.log()) if e[2] == "serving"]
            time.sleep(0.05)
        assert serving, cls.server.log()
        cls.metrics_url = serving[0][3]["metrics"]
        assert re.match(r"^http://127\.0\.0\.1:\d+/metrics$", cls.metrics_url), cls.metrics_url
        cls.http = support.session(cls.club.ca_pem)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.ws.cleanup()

    def scrape(self):
        r = support.curl(["--fail", self.metrics_url])
        self.assertEqual(r.rc, 0, r)
        return r.out

    @staticmethod
    def value(text, series):
        for line in text.splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
        return None

    def test_scrape_passes_promtool_and_counts_what_happened(self):
        before = self.scrape()
        http = support.session(self.club.ca_pem)  # a connection of its own: one handshake
        ok = http.get(self.server.url, headers={"Authorization": basic("carol", self.password)},
                           timeout=support.HTTP_TIMEOUT)
        self.assertEqual(ok.status_code, 200)
        bad = http.get(self.server.url, headers={"Authorization": basic("carol", "nope")},
                            timeout=support.HTTP_TIMEOUT)
        self.assertEqual(bad.status_code, 401)
        # A plain-HTTP request to the TLS port: a failed handshake.
        with socket.create_connection((self.server.host, self.server.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                s.recv(100)
            except OSError:
                pass
        # One keep-alive connection held open while scraping.
        held = socket.create_connection((self.server.host, self.server.port), timeout=5)
        ctx = ssl.create_default_context(cafile=self.club.ca_pem)
        tls = ctx.wrap_socket(held, server_hostname="localhost")
        self.addCleanup(tls.close)
        time.sleep(0.2)
        after = self.scrape()

        r = subprocess.run(["promtool", "check", "metrics"], input=after.encode(),
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, (r.stdout, r.stderr, after))

        def delta(series):
            return (self.value(after, series) or 0) - (self.value(before, series) or 0)

        self.assertEqual(delta('hush_http_requests_total{route="/",status="200"}'), 1)
        self.assertEqual(delta('hush_http_requests_total{route="/",status="401"}'), 1)
        self.assertEqual(delta('hush_auth_failures_total{method="password"}'), 1)
        self.assertGreaterEqual(delta("hush_tls_handshakes_total"), 2)
        self.assertGreaterEqual(delta("hush_tls_handshake_failures_total"), 1)
        self.assertGreaterEqual(self.value(after, "hush_open_connections"), 1)
        self.assertEqual(delta('hush_http_request_duration_seconds_count{route="/"}'), 2)
        self.assertGreaterEqual(delta("hush_audit_batch_records_count"), 1)
        self.assertGreaterEqual(delta("hush_hashing_wait_seconds_count"), 1)
        for series in ("hush_hashing_queue_depth", "hush_store_errors_total",
                       "hush_throttled_requests_total{method=\"password\"}",
                       'hush_audit_commit_seconds_bucket{le="+Inf"}'):
            self.assertIsNotNone(self.value(after, series), series)
        # The certificate's expiry is the server certificate's notAfter.
        r = support.run(["openssl", "x509", "-in", self.club.path("server.pem"), "-noout",
                         "-enddate", "-dateopt", "iso_8601"])
        self.assertEqual(r.rc, 0, r)
        iso = r.out.strip().split("=", 1)[1]
        expected = time.mktime(time.strptime(iso, "%Y-%m-%d %H:%M:%SZ")) - time.timezone
        got = self.value(after, 'hush_certificate_expiry_timestamp_seconds{certificate="server"}')
        self.assertEqual(got, expected)
        self.assertGreater(
            self.value(after, 'hush_certificate_expiry_timestamp_seconds{certificate="ca"}'), got)
        # Counted, never named: no member, path or address in the scrape.
        for word in ("carol", "127.0.0.1", "metrics are counted"):
            self.assertNotIn(word, after)

    def test_only_get_metrics_on_the_metrics_listener_and_nothing_on_the_https_port(self):
        base = self.metrics_url.rsplit("/", 1)[0]
        r = support.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", base + "/"])
        self.assertEqual(r.out, "404")
        r = support.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                          self.metrics_url])
        self.assertEqual(r.out, "405")
        r = self.http.get(self.server.url + "metrics", timeout=support.HTTP_TIMEOUT)
        self.assertEqual(r.status_code, 404)


if __name__ == "__main__":
    support.main()
