"""Paths, methods and request smuggling, over raw TLS sockets trusting the club CA.

Every request carries alice's valid credentials unless said otherwise: a wrong answer to an
authenticated member is where a secret would leak.
- Traversal and odd paths (dot segments, encoded dots and slashes, backslashes, NUL bytes,
  double slashes, the club's own file names) get 400 or 404, never the message, never file
  contents.
- OPTIONS / is 204 with Allow and grants no CORS access; HEAD / is answered as GET / would be,
  with no body (a body after a HEAD response desynchronises
  keep-alive clients and proxies); TRACE,
  CONNECT and unknown methods get 405 (or 400) and never echo the request.
- Smuggling: conflicting Content-Length, Content-Length with chunked, unknown or non-final
  transfer codings, obs-fold, bare LF, whitespace before the colon get 400 and the connection
  closed; a request hidden in a body is never answered: one request, one response.
- Parser differentials (RFC 9110/9112): two Host headers or none on HTTP/1.1, two Authorization
  headers, two Content-Length headers or a list even of equal values get 400 and the connection
  closed; HTTP/1.0 without Host is still served. A JSON body that names a key twice is 400:
  {"role":"reader","role":"admin"} creates nobody, the same body without the repeat creates a
  reader.
Control: the plain server (catch-all route, TRACE echo, GET body never read) fails the same
probes: it returns the secret for traversal paths, echoes TRACE and answers a smuggled request.

Run: /usr/bin/python3 tests/security/test_paths_methods.py   (HUSH_BIN=/path/to/hush optional)
"""

import concurrent.futures
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import secsupport as sec  # noqa: E402
from secsupport import basic  # noqa: E402

MARKER = "probe-marker-5b1e0d"
# Bytes that would show a file was served.
FILE_CONTENTS = (b"root:x:0:", b"PRIVATE KEY", b"max_header_bytes", b"SQLite format")

TRAVERSAL = [
    b"/../", b"/..", b"/..%2f", b"/%2e%2e/", b"/%2e%2e%2f", b"/.%2e/",
    b"/%2e%2e/%2e%2e/etc/passwd", b"/../../../../etc/passwd", b"//etc/passwd", b"/etc/passwd",
    b"/./", b"/%2e/", b"/.", b"/api/v1/messages/../../", b"/api/v1/messages/..%2f..%2f",
    b"/api/v1/messages/../../etc/passwd", b"/api/v1/messages/%31", b"/api/v1/messages/1/",
    b"/api/v1/messages/1/..", b"/api/v1/messages/./1", b"/api/v1//messages",
    b"/..\\..\\etc\\passwd", b"/%5c..%5c..%5cetc%5cpasswd", b"/%00", b"/\x00",
    b"/api/v1/messages/1%00", b"/api/v1/messages/1\x00", b"/../hush.toml",
    b"/%2e%2e/master.key", b"/hush.db", b"/ca.key", b"/server.key", b"/..;/",
    b"/%252e%252e/etc/passwd", b"/api/v1/messages/0x1", b"/api/v1/messages/-1",
]


def exchange_all(target, requests, timeout):
    """Target.exchange for every request, a few at a time (hush lingers ~2 s before it closes a
    connection after a 400, so one after the other would take minutes)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda data: target.exchange(data, timeout=timeout), requests))


class Prober:
    """Raw probes against TARGET with CREDS (user, password)."""

    def __init__(self, target, creds, secret):
        self.target = target
        self.creds = creds
        self.secret = secret.encode()

    def auth(self):
        return b"Authorization: " + basic(*self.creds).encode() + b"\r\n"

    def request(self, method, path, extra=b"", close=True):
        return (method + b" " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + self.auth() + extra
                + (b"Connection: close\r\n" if close else b"") + b"\r\n")

    def leaks(self, raw):
        found = []
        if self.secret in raw:
            found.append("the message")
        found += [c.decode() for c in FILE_CONTENTS if c in raw]
        return found

    # -- paths -----------------------------------------------------------------------------------

    def path_findings(self):
        findings = []
        results = exchange_all(self.target, [self.request(b"GET", p) for p in TRAVERSAL], 4)
        for path, (raw, _closed) in zip(TRAVERSAL, results):
            responses = sec.split_responses(raw)
            statuses = [r[0] for r in responses]
            problem = []
            if statuses[:1] not in ([400], [404]):
                problem.append("status %r" % statuses)
            problem += self.leaks(raw)
            if problem:
                findings.append("GET %r: %s" % (path, ", ".join(problem)))
        return findings

    # -- methods ---------------------------------------------------------------------------------

    def method_findings(self):
        findings = []
        marker = b"X-Probe: " + MARKER.encode() + b"\r\n"
        auth_value = basic(*self.creds).encode()
        cases = ((b"TRACE", b"/"), (b"TRACE", b"/api/v1/messages"),
                 (b"CONNECT", b"127.0.0.1:22"), (b"CONNECT", b"/"), (b"BREW", b"/"),
                 (b"PROPFIND", b"/"), (b"get", b"/"), (b"PATCH", b"/api/v1/messages/1"),
                 (b"PUT", b"/"))
        results = exchange_all(self.target, [self.request(m, p, marker) for m, p in cases], 4)
        for (method, path), (raw, _closed) in zip(cases, results):
            responses = sec.split_responses(raw)
            statuses = [r[0] for r in responses]
            problem = []
            if statuses[:1] not in ([405], [400]):
                problem.append("status %r" % statuses)
            if MARKER.encode() in raw or auth_value in raw:
                problem.append("echoes the request")
            problem += self.leaks(raw)
            if problem:
                findings.append("%s %s: %s" % (method.decode(), path.decode(), ", ".join(problem)))
        return findings

    def options(self):
        cors = b"Origin: https://evil.example\r\nAccess-Control-Request-Method: GET\r\n"
        raw, _ = self.target.exchange(self.request(b"OPTIONS", b"/", cors), timeout=4)
        return sec.split_responses(raw), raw

    def head_then_get(self):
        """HEAD / and, pipelined on the same connection, GET /nothing: [(status, headers, body)]
        as a client would frame them (no body after a HEAD response)."""
        data = (self.request(b"HEAD", b"/", close=False) + self.request(b"GET", b"/nothing"))
        raw, _ = self.target.exchange(data, timeout=4)
        return sec.split_responses(raw, head_request=True), raw

    # -- smuggling -------------------------------------------------------------------------------

    def smuggled(self):
        """A complete authenticated request to hide somewhere."""
        return self.request(b"GET", b"/", close=False)

    def malformed_cases(self):
        inner = self.smuggled()
        n = len(inner)
        get = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + self.auth()
        chunked_inner = b"%x\r\n%s\r\n0\r\n\r\n" % (n, inner)
        return {
            "conflicting Content-Length": get + b"Content-Length: 0\r\nContent-Length: %d\r\n\r\n"
            % n + inner,
            "Content-Length list": get + b"Content-Length: %d, 0\r\n\r\n" % n + inner,
            "Content-Length with sign": get + b"Content-Length: +%d\r\n\r\n" % n + inner,
            "Content-Length and chunked": get + b"Content-Length: 4\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + chunked_inner,
            "chunked and Content-Length": get + b"Transfer-Encoding: chunked\r\n"
            b"Content-Length: 4\r\n\r\n" + chunked_inner,
            "Transfer-Encoding xchunked": get + b"Transfer-Encoding: xchunked\r\n\r\n"
            + chunked_inner,
            "Transfer-Encoding chunked, identity": get + b"Transfer-Encoding: chunked, identity"
            b"\r\n\r\n" + chunked_inner,
            "Transfer-Encoding twice": get + b"Transfer-Encoding: chunked\r\n"
            b"Transfer-Encoding: identity\r\n\r\n" + chunked_inner,
            "space before colon": get + b"Transfer-Encoding : chunked\r\n\r\n" + chunked_inner,
            "obs-fold": get + b"X-Note: a\r\n folded\r\n\r\n" + inner,
            "obs-fold Transfer-Encoding": get + b"X-Note: a\r\n Transfer-Encoding: chunked\r\n\r\n"
            + chunked_inner,
            "bare LF": get.replace(b"\r\n", b"\n") + b"\n" + inner,
            "bare LF header": get + b"X-Note: a\nX-Other: b\r\n\r\n" + inner,
            "bare CR": get + b"X-Note: a\rX-Other: b\r\n\r\n" + inner,
            "chunk size overflow": get + b"Transfer-Encoding: chunked\r\n\r\n"
            b"ffffffffffffffffff1\r\n" + inner,
        }

    def differential_cases(self):
        """Heads a proxy in front could read otherwise than hush (which Host, which credentials,
        which length), each followed by a request that must never be answered."""
        inner = self.smuggled()
        n = len(inner)
        auth = self.auth()
        start = b"GET / HTTP/1.1\r\n"
        get = start + b"Host: 127.0.0.1\r\n" + auth
        return {
            "Host twice": start + b"Host: 127.0.0.1\r\nHost: evil.example\r\n" + auth
            + b"\r\n" + inner,
            "Host twice, equal": get + b"Host: 127.0.0.1\r\n\r\n" + inner,
            "no Host on HTTP/1.1": start + auth + b"\r\n" + inner,
            "Authorization twice, equal": get + auth + b"\r\n" + inner,
            "Authorization twice, different": get + b"Authorization: " + basic("mallory", "x")
            .encode() + b"\r\n\r\n" + inner,
            "Content-Length twice, equal": get + b"Content-Length: %d\r\nContent-Length: %d\r\n"
            b"\r\n" % (n, n) + inner,
            "Content-Length list of equal values": get + b"Content-Length: %d, %d\r\n\r\n" % (n, n)
            + inner,
        }

    def http10_without_host(self):
        """HTTP/1.0 needs no Host: [statuses], raw."""
        raw, _ = self.target.exchange(b"GET / HTTP/1.0\r\n" + self.auth() + b"\r\n", timeout=4)
        return [r[0] for r in sec.split_responses(raw)], raw

    def add_member(self, body):
        """POST /api/v1/members with BODY (bytes) as the prober's member: [statuses], raw."""
        data = (b"POST /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\n" + self.auth()
                + b"Content-Type: application/json\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n" % len(body) + body)
        raw, _ = self.target.exchange(data, timeout=4)
        return [r[0] for r in sec.split_responses(raw)], raw

    def smuggling_findings(self, cases=None):
        findings = []
        cases = cases if cases is not None else self.malformed_cases()
        results = exchange_all(self.target, list(cases.values()), 4)
        for name, (raw, closed) in zip(cases, results):
            responses = sec.split_responses(raw)
            statuses = [r[0] for r in responses]
            problem = []
            if statuses != [400]:
                problem.append("responses %r" % statuses)
            if not closed:
                problem.append("connection left open")
            problem += self.leaks(raw)
            if problem:
                findings.append("%s: %s" % (name, ", ".join(problem)))
        return findings

    def body_smuggling(self):
        """An unauthenticated GET whose body is an authenticated request, on a keep-alive
        connection: [(status...)] and raw bytes."""
        inner = self.smuggled()
        outer = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(inner)
                 + inner)
        raw, _closed = self.target.exchange(outer, timeout=3)
        return sec.split_responses(raw), raw


class PathsMethodsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.ws = sec.Workspace(prefix="hush-sec-")
        cls.addClassCleanup(cls.ws.cleanup)
        cls.club = sec.make_club(cls.ws)
        cls.server = sec.start_hush(cls.club)
        cls.addClassCleanup(cls.server.stop)
        target = sec.Target("127.0.0.1", cls.server.port, cls.club.ca_pem)
        cls.hush = Prober(target, ("alice", cls.club.passwords["alice"]), sec.SECRET_TEXT)
        cls.plain = sec.PlainServer("--secret", sec.SECRET_TEXT, "--member", "alice:pw",
                                    "--keep-alive")
        cls.addClassCleanup(cls.plain.stop)
        cls.control = Prober(sec.Target("127.0.0.1", cls.plain.port), ("alice", "pw"),
                             sec.SECRET_TEXT)

    def test_the_member_reads_normally(self):
        # The probes use credentials that work: a plain GET / gives the message.
        raw, _ = self.hush.target.exchange(self.hush.request(b"GET", b"/"), timeout=5)
        self.assertEqual([r[0] for r in sec.split_responses(raw)], [200], raw[:300])
        self.assertIn(sec.SECRET_TEXT.encode(), raw)

    def test_traversal_paths(self):
        self.assertEqual(self.hush.path_findings(), [])

    def test_control_traversal_paths(self):
        findings = self.control.path_findings()
        self.assertTrue(any("the message" in f for f in findings), findings)

    def test_options(self):
        responses, raw = self.hush.options()
        self.assertEqual([r[0] for r in responses], [204], raw[:400])
        _status, headers, body = responses[0]
        self.assertIn("allow", headers, raw[:400])
        self.assertIn("GET", [m.strip() for m in headers["allow"].split(",")])
        self.assertEqual(body, b"")
        self.assertFalse([h for h in headers if h.startswith("access-control-")], headers)
        self.assertEqual(self.hush.leaks(raw), [])

    def test_head_is_answered_as_get_without_body(self):
        responses, raw = self.hush.head_then_get()
        # A member's HEAD / is GET /'s answer without its body: the message's length, not the
        # message; the pipelined GET after it is framed right.
        self.assertEqual([r[0] for r in responses], [200, 404],
                         "HEAD response framing (a body after HEAD?): %r" % raw[:600])
        self.assertEqual(responses[0][1].get("content-length"), str(len(self.hush.secret)))
        self.assertEqual(responses[0][2], b"")
        self.assertEqual(self.hush.leaks(raw), [])

    def test_trace_connect_and_unknown_methods(self):
        self.assertEqual(self.hush.method_findings(), [])

    def test_control_trace_echoes(self):
        findings = self.control.method_findings()
        self.assertTrue(any("echoes the request" in f for f in findings), findings)

    def test_malformed_framing_is_400_and_closed(self):
        self.assertEqual(self.hush.smuggling_findings(), [])

    def test_parser_differentials_are_400_and_closed(self):
        self.assertEqual(self.hush.smuggling_findings(self.hush.differential_cases()), [])
        # The Host rule is HTTP/1.1's: an HTTP/1.0 request without one is still served.
        statuses, raw = self.hush.http10_without_host()
        self.assertEqual(statuses, [200], raw[:300])

    def test_control_parser_differentials_are_answered(self):
        findings = self.control.smuggling_findings(self.control.differential_cases())
        self.assertTrue(any("the message" in f for f in findings), findings)

    def test_json_key_given_twice_creates_nobody(self):
        admin = Prober(self.hush.target, ("admin", self.club.admin_password), sec.SECRET_TEXT)
        for body in (b'{"name":"mallory","role":"reader","role":"admin"}',
                     b'{"name":"mallory","role":"admin","r\\u006fle":"reader"}',
                     b'{"name":"eve","name":"mallory","role":"reader"}'):
            statuses, raw = admin.add_member(body)
            self.assertEqual(statuses, [400], raw[:400])
        listed = self.club.hush("member", "list")
        self.assertEqual(listed.rc, 0, listed)
        names = [line.split("\t")[0] for line in listed.out.splitlines()]
        self.assertNotIn("mallory", names)
        self.assertNotIn("eve", names)
        # Control: the same request without the repeat creates a reader, so the refusal above
        # is the repeat's doing, not the credentials' or the route's.
        statuses, raw = admin.add_member(b'{"name":"carol","role":"reader"}')
        self.assertEqual(statuses, [201], raw[:400])
        listed = self.club.hush("member", "list")
        self.assertIn(["carol", "reader"],
                      [line.split("\t")[:2] for line in listed.out.splitlines()])

    def test_request_in_a_body_is_not_answered(self):
        responses, raw = self.hush.body_smuggling()
        self.assertEqual([r[0] for r in responses], [401], raw[:600])
        self.assertEqual(self.hush.leaks(raw), [])

    def test_control_request_in_a_body_is_answered(self):
        responses, raw = self.control.body_smuggling()
        self.assertGreater(len(responses), 1, raw[:600])
        self.assertIn("the message", self.control.leaks(raw))
        self.assertNotEqual(self.control.smuggling_findings(), [])


if __name__ == "__main__":
    sec.main()
