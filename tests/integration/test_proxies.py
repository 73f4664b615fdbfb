"""hush behind a real HAProxy (Debian's /usr/sbin/haproxy), in both of its modes:

- HTTP: HAProxy terminates TLS with its own certificate (signed by the club CA with `hush ca
  sign`), adds X-Forwarded-For (`option forwardfor`) and forwards over verified TLS to hush;
- TCP passthrough: HAProxy sends a PROXY protocol v2 header (`send-proxy-v2`) and then the
  client's own TLS bytes, so the client speaks TLS with hush itself.

HAProxy connects to hush from 127.0.0.9 (`source` on its server line), the one address in
[server] trusted_proxies. Clients bind distinct loopback source addresses: 127.0.0.2 guesses
passwords for names no member has (so only the per-address throttle counts them), 127.0.0.3 is
a member with the right password, 127.0.0.4 and up are clients that forge X-Forwarded-For.

What it proves, in each mode: a guesser's failures throttle the guesser and not a member behind
the same proxy; hush's log lines and the audit name the real client; HAProxy's health check
(GET /healthz, through the PROXY header's LOCAL command in TCP mode) reaches hush and marks it
up; an X-Forwarded-For forged by the client, directly or through HAProxy, names nobody. And the
controls: with trusted_proxies empty, every client behind the proxy is 127.0.0.9 and the
member IS throttled by the guesser, so the tests above can fail; and a PROXY header from a peer
that is not trusted is never honoured.

Run: /usr/bin/python3 tests/integration/test_proxies.py   (HUSH_BIN, HAPROXY_BIN optional)
Fails (does not skip) when haproxy is missing: the issue's contract names a real HAProxy.
"""

import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import requests  # noqa: E402

import support  # noqa: E402
from support import Club, Workspace, basic  # noqa: E402

HAPROXY_BIN = os.environ.get("HAPROXY_BIN") or shutil.which("haproxy") or "/usr/sbin/haproxy"

T = support.HTTP_TIMEOUT
PROXY_ADDR = "127.0.0.9"  # HAProxy's source address towards hush
GUESSER = "127.0.0.2"
MEMBER = "127.0.0.3"
FORGER = "127.0.0.4"  # a guesser that forges X-Forwarded-For
FORGER_MEMBER = "127.0.0.5"  # a member that forges X-Forwarded-For
SPOOFED = "198.51.100.7"  # TEST-NET-2: the address the forgers claim

FREE_FAILURES = 3  # [throttle] address_free_failures in the test clubs
MAX_GUESSES = FREE_FAILURES + 4  # bound on the guesser's loop
READY_TIMEOUT = 10  # until HAProxy listens and its health check has passed

# HAProxy's own log line for a passing check (option log-health-checks).
CHECK_PASSED_RE = re.compile(r"Health check for server be/hush succeeded.*\bUP\b")
CHECK_FAILED_RE = re.compile(r"Health check for server be/hush failed|Server be/hush is DOWN")
# key=value (or key="quoted value") fields of one hush log line.
FIELD_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')

_live_proxies = []


def _stop_leftover_proxies():
    for proxy in list(_live_proxies):
        proxy.stop()


# Registered after support's own atexit hook, so it runs first: HAProxy stops before hush.
support.atexit.register(_stop_leftover_proxies)


def require_haproxy():
    if not (os.path.isfile(HAPROXY_BIN) and os.access(HAPROXY_BIN, os.X_OK)):
        raise AssertionError("haproxy not found at %s: install Debian's haproxy (or set "
                             "HAPROXY_BIN); these tests need a real HAProxy" % HAPROXY_BIN)


def free_port():
    """A port on 127.0.0.1 that was free a moment ago (HAProxy cannot be told to use port 0 and
    report it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_events(text, event):
    """The fields of every hush log line whose event is EVENT (text format)."""
    out = []
    for line in text.splitlines():
        if re.search(r"\s%s\s" % re.escape(event), line):
            fields = {k: v.strip('"') for k, v in FIELD_RE.findall(line)}
            fields["_line"] = line
            out.append(fields)
    return out


# ---- clients from a chosen loopback address ---------------------------------------------------


class SourceAddressAdapter(requests.adapters.HTTPAdapter):
    """Every connection of the session is made from SOURCE (port chosen by the kernel)."""

    def __init__(self, source, **kw):
        self.source = source
        super().__init__(**kw)

    def init_poolmanager(self, connections, maxsize, block=False, **kw):
        kw["source_address"] = (self.source, 0)
        super().init_poolmanager(connections, maxsize, block, **kw)


def client_from(source, ca_pem):
    s = support.session(ca_pem)
    s.mount("https://", SourceAddressAdapter(source))
    return s


def peer_certificate_der(port):
    """The DER certificate whoever listens on 127.0.0.1:PORT presents (not verified here)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=T) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.getpeercert(binary_form=True)


def pem_to_der(path):
    with open(path, encoding="ascii") as f:
        text = f.read()
    first = text[:text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    return ssl.PEM_cert_to_DER_cert(first)


# ---- HAProxy ----------------------------------------------------------------------------------


class HAProxy:
    """`haproxy -f CFG -db` in the foreground as our child; its stderr (and log) go to a file.
    Stopped by its PID only."""

    def __init__(self, workspace, config_text):
        self.cfg_path = tempfile.mkstemp(prefix="haproxy-", suffix=".cfg", dir=workspace.path)[1]
        with open(self.cfg_path, "w", encoding="utf-8") as f:
            f.write(config_text)
        fd, self.log_path = tempfile.mkstemp(prefix="haproxy-", suffix=".log", dir=workspace.path)
        self._log_file = os.fdopen(fd, "wb")
        self.proc = None

    def start(self):
        check = support.run([HAPROXY_BIN, "-c", "-q", "-f", self.cfg_path])
        if check.rc != 0:
            raise AssertionError("haproxy refuses its config: %r\n%s" % (check, self.config()))
        self.proc = subprocess.Popen([HAPROXY_BIN, "-f", self.cfg_path, "-db"],
                                     stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=subprocess.STDOUT, env=support.clean_env())
        _live_proxies.append(self)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_for_log(self, pattern, timeout=READY_TIMEOUT):
        """True once PATTERN (a compiled regex) shows in the log; False after TIMEOUT or if
        HAProxy exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pattern.search(self.log()):
                return True
            if not self.running():
                return bool(pattern.search(self.log()))
            time.sleep(0.05)
        return False

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # hard stop: close everything now
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if not self._log_file.closed:
            self._log_file.close()
        if self in _live_proxies:
            _live_proxies.remove(self)

    def log(self):
        if not self._log_file.closed:
            self._log_file.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")

    def config(self):
        with open(self.cfg_path, encoding="utf-8") as f:
            return f.read()


GLOBAL_AND_DEFAULTS = """\
global
    log stderr format raw local0 info
    maxconn 256
    nbthread 1

defaults
    log global
    option log-health-checks
    timeout connect 5s
    timeout client 20s
    timeout server 20s
    timeout check 5s
"""

# Health checks every 200 ms, one verdict enough either way; in TLS, verified against the club CA
# (the server line's `verify required ca-file`).
CHECKS = "check check-ssl check-sni localhost inter 200ms fall 1 rise 1"

# TLS terminated by HAProxy; hush is reached over TLS, verified against the club CA. `http-reuse
# always` sends different clients' requests over one idle connection to hush: the client is a
# property of each request (its X-Forwarded-For), never of the connection.
HTTP_MODE_CONFIG = GLOBAL_AND_DEFAULTS + """
frontend fe
    mode http
    option httplog
    bind 127.0.0.1:{front_port} ssl crt {proxy_pem}
    default_backend be

backend be
    mode http
    http-reuse always
    option forwardfor
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    server hush 127.0.0.1:{hush_port} source {proxy_addr} {tls} {checks}
""".replace("{tls}", "ssl verify required ca-file {ca_pem} sni str(localhost)").replace(
    "{checks}", CHECKS)

# Passthrough: the client's TLS goes to hush untouched, after a PROXY v2 header. The health check
# is TLS + GET /healthz too, and carries the header's LOCAL command (HAProxy sends a PROXY header
# with checks when the server line has send-proxy-v2). Without `ssl` on the server line, its
# `verify` and `ca-file` are the checks' alone.
TCP_MODE_CONFIG = GLOBAL_AND_DEFAULTS + """
frontend fe
    mode tcp
    option tcplog
    bind 127.0.0.1:{front_port}
    default_backend be

backend be
    mode tcp
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    server hush 127.0.0.1:{hush_port} source {proxy_addr} {send_proxy} {verify} {checks}
""".replace("{verify}", "verify required ca-file {ca_pem}").replace("{checks}", CHECKS)


# ---- the scenarios ----------------------------------------------------------------------------


class ProxyCase(unittest.TestCase):
    """One club per class; a fresh hush (so a fresh throttle) and a fresh HAProxy per test."""

    mode = None  # "http" or "tcp"
    trusted = '["%s/32"]' % PROXY_ADDR
    send_proxy = "send-proxy-v2"
    expect_check = CHECK_PASSED_RE

    @classmethod
    def setUpClass(cls):
        require_haproxy()
        cls.ws = Workspace(prefix="hush-proxies-")
        cls.addClassCleanup(cls.ws.cleanup)
        cls.club = Club(cls.ws)
        club = cls.club
        club.set_config("server", "trusted_proxies", cls.trusted)
        club.set_config("throttle", "address_free_failures", str(FREE_FAILURES))
        # Long enough that a blocked address stays blocked for the whole test.
        club.set_config("throttle", "base_delay_seconds", "60")
        # Cheap hashes (OWASP's floor, which hush enforces): every guess costs one Argon2id run.
        club.set_config("passwords", "argon2_iterations", "2")
        club.set_config("passwords", "argon2_memory_kib", str(19 * 1024))
        # No remembered verifications: every login below is checked for real.
        club.set_config("passwords", "cache_seconds", "0")
        cls.member_password = club.add_member("carol", "reader")
        cls.secret = "meet at the old mill " + secrets.token_hex(4)
        cls.message_id = club.post(cls.secret)
        if cls.mode == "http":
            cls.proxy_pem = cls.make_proxy_certificate()

    @classmethod
    def make_proxy_certificate(cls):
        """HAProxy's own server certificate, from the club CA (`hush ca sign`), for the same
        names as hush's (clients connect to 127.0.0.1), key and chain in one PEM."""
        key = cls.ws.sub("proxy.key")
        csr = cls.ws.sub("proxy.csr")
        r = support.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                         "-subj", "/CN=haproxy",
                         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        if r.rc != 0:
            raise AssertionError("openssl req failed: %r" % r)
        cert = cls.ws.sub("proxy.crt")
        r = cls.club.hush("ca", "sign", csr, "--out", cert)
        if r.rc != 0:
            raise AssertionError("hush ca sign failed: %r" % r)
        pem = cls.ws.sub("proxy.pem")
        with open(pem, "w", encoding="ascii") as out:
            for part in (cert, key):
                with open(part, encoding="ascii") as f:
                    out.write(f.read())
        os.chmod(pem, 0o600)
        return pem

    def setUp(self):
        self.server = self.club.serve()
        self.addCleanup(self.server.stop)
        self.front_port = free_port()
        values = {"front_port": self.front_port, "hush_port": self.server.port,
                  "proxy_addr": PROXY_ADDR, "ca_pem": self.club.ca_pem,
                  "send_proxy": self.send_proxy}
        if self.mode == "http":
            values["proxy_pem"] = self.proxy_pem
            text = HTTP_MODE_CONFIG.format(**values)
        else:
            text = TCP_MODE_CONFIG.format(**values)
        self.haproxy = HAProxy(self.ws, text).start()
        # Cleanups run last-in first-out: HAProxy stops before hush.
        self.addCleanup(self.haproxy.stop)
        self.assertTrue(self.haproxy.wait_for_log(self.expect_check),
                        "HAProxy's health check never gave the expected verdict:\n%s\nhush:\n%s"
                        % (self.haproxy.log(), self.server.log()))
        self.audited_before = len(self.audit_rows())  # the club's audit spans the class's tests
        self.proxied_url = "https://127.0.0.1:%d" % self.front_port
        self.direct_url = self.server.url.rstrip("/")

    # -- clients -------------------------------------------------------------------------------

    def get(self, source, url, user, password, headers=None):
        """GET / from SOURCE as USER; a fresh connection each time (no state carried over)."""
        h = {"Authorization": basic(user, password)}
        h.update(headers or {})
        with client_from(source, self.club.ca_pem) as s:
            return s.get(url + "/", headers=h, timeout=T)

    def guess_until_throttled(self, source, url, headers=None):
        """Failed logins from SOURCE, each for a fresh name no member has, until 429 (bounded).
        Returns the statuses seen."""
        statuses = []
        for _ in range(MAX_GUESSES):
            name = "nobody-" + secrets.token_hex(4)
            r = self.get(source, url, name, "wrong-" + secrets.token_hex(4), headers)
            statuses.append(r.status_code)
            if r.status_code == 429:
                break
        return statuses

    def member_reads(self, source, url, headers=None):
        return self.get(source, url, "carol", self.member_password, headers)

    # -- what hush recorded --------------------------------------------------------------------

    def hush_log(self):
        return self.server.log()

    def settled_log(self, requests_made):
        """hush's log once it holds an access line for each of the REQUESTS_MADE requests to
        paths other than /healthz (hush writes the line after the answer, so a client may have
        its answer a moment before the line is there). Bounded."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            text = self.hush_log()
            seen = [f for f in log_events(text, "access") if f.get("path") != "/healthz"]
            if len(seen) >= requests_made or time.monotonic() >= deadline:
                return text
            time.sleep(0.02)

    def clients_of(self, text, event, **match):
        """The client= values of the EVENT lines in hush's log TEXT whose other fields match."""
        return [f.get("client") for f in log_events(text, event)
                if all(f.get(k) == v for k, v in match.items())]

    def audit_rows(self):
        """(time, member, message id, client) of every audit record, as `hush audit` lists them."""
        r = self.club.hush("audit", "--limit", "10000")
        return [tuple(row) for row in support.table_rows(r, support.AUDIT_HEADER)]


class TrustedProxyTests:
    """The tests for a proxy in trusted_proxies, run in both modes (mixed into the classes)."""

    def test_health_check_reaches_hush_and_marks_it_up(self):
        # setUp waited for HAProxy's own verdict (its log: check passed, server UP); hush saw the
        # checks, from the proxy itself (no X-Forwarded-For; in TCP mode a PROXY header with the
        # LOCAL command, then TLS).
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and not self.clients_of(self.hush_log(), "access",
                                                                  path="/healthz"):
            time.sleep(0.05)
        checks = [f for f in log_events(self.hush_log(), "access") if f.get("path") == "/healthz"]
        self.assertTrue(checks, self.hush_log())
        for f in checks:
            self.assertEqual(f.get("client"), PROXY_ADDR, f["_line"])
            self.assertEqual(f.get("status"), "200", f["_line"])
            self.assertEqual(f.get("method"), "GET", f["_line"])
        self.assertRegex(self.haproxy.log(), r"Layer7 check passed.*code: 200")
        self.assertNotRegex(self.haproxy.log(), CHECK_FAILED_RE)
        # And the server is in use: a member's read goes through.
        r = self.member_reads(MEMBER, self.proxied_url)
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(r.text, self.secret)

    def test_tls_ends_where_the_mode_says(self):
        seen = peer_certificate_der(self.front_port)
        hush_cert = pem_to_der(self.club.path("server.pem"))
        if self.mode == "http":
            self.assertNotEqual(seen, hush_cert, "HTTP mode: HAProxy should present its own")
            self.assertEqual(seen, pem_to_der(self.proxy_pem))
        else:
            self.assertEqual(seen, hush_cert, "TCP mode: the client's TLS should reach hush")

    def test_guessing_from_one_client_does_not_throttle_another(self):
        statuses = self.guess_until_throttled(GUESSER, self.proxied_url)
        self.assertEqual(statuses, [401] * (FREE_FAILURES + 1) + [429], statuses)

        r = self.member_reads(MEMBER, self.proxied_url)
        self.assertEqual(r.status_code, 200, "the member was throttled by another client's "
                         "guesses: %r\n%s" % (r.content, self.hush_log()))
        self.assertEqual(r.text, self.secret)
        # The guesser is still blocked: it is its address, not the proxy's, that is throttled.
        again = self.get(GUESSER, self.proxied_url, "nobody-x", "wrong")
        self.assertEqual(again.status_code, 429)
        self.assertIn("Retry-After", again.headers)

        # hush's log names each client, never the proxy.
        log = self.settled_log(len(statuses) + 2)
        failed = self.clients_of(log, "auth-failed")
        self.assertEqual(failed, [GUESSER] * (FREE_FAILURES + 1), log)
        self.assertEqual(self.clients_of(log, "throttled"), [GUESSER] * 2, log)
        access = [f for f in log_events(log, "access") if f.get("path") == "/"]
        self.assertEqual([(f.get("client"), f.get("status")) for f in access],
                         [(GUESSER, "401")] * (FREE_FAILURES + 1) + [(GUESSER, "429")]
                         + [(MEMBER, "200"), (GUESSER, "429")], log)
        member_line = access[FREE_FAILURES + 2]
        self.assertEqual(member_line.get("member"), "carol", member_line["_line"])
        self.assertEqual(member_line.get("auth"), "password", member_line["_line"])

        # The audit of the member's read names the member's address.
        reads = self.audit_rows()[self.audited_before:]
        self.assertEqual(len(reads), 1, reads)
        self.assertEqual(reads[0][1], "carol")
        self.assertEqual(reads[0][2], str(self.message_id))
        self.assertEqual(reads[0][3], MEMBER, reads)

    def forger_and_member(self, url):
        """A guesser and then a member, both claiming X-Forwarded-For: SPOOFED, from their own
        addresses: each is throttled, logged and audited as itself."""
        forged = {"X-Forwarded-For": SPOOFED}
        statuses = self.guess_until_throttled(FORGER, url, forged)
        self.assertEqual(statuses, [401] * (FREE_FAILURES + 1) + [429], statuses)
        # Had hush believed the forged hop, this member (claiming the same address) would share
        # the forger's throttle.
        r = self.member_reads(FORGER_MEMBER, url, forged)
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(r.text, self.secret)
        log = self.settled_log(len(statuses) + 1)
        self.assertEqual(self.clients_of(log, "auth-failed"), [FORGER] * (FREE_FAILURES + 1), log)
        self.assertEqual(self.clients_of(log, "throttled"), [FORGER], log)
        self.assertEqual(self.clients_of(log, "access", member="carol", path="/"),
                         [FORGER_MEMBER], log)
        reads = self.audit_rows()[self.audited_before:]
        self.assertEqual([(row[1], row[3]) for row in reads], [("carol", FORGER_MEMBER)], reads)
        self.assertNotIn(SPOOFED, log)

    def test_forged_forwarded_for_through_haproxy_names_nobody(self):
        # HTTP mode: HAProxy appends the real address after the forged one, and hush takes the
        # rightmost hop that is not a trusted proxy. TCP mode: the PROXY header names the client,
        # which is not a trusted proxy, so its X-Forwarded-For is not even read.
        self.forger_and_member(self.proxied_url)

    def test_forged_forwarded_for_from_a_direct_client_names_nobody(self):
        # Straight to hush, not through HAProxy: the peer is not a trusted proxy, so its
        # X-Forwarded-For is ignored; it is logged and throttled as itself.
        self.forger_and_member(self.direct_url)


class HttpModeTest(TrustedProxyTests, ProxyCase):
    mode = "http"

    def test_a_refused_request_is_not_blamed_on_the_previous_client(self):
        # With `http-reuse always`, the guesser's request goes over the idle connection the
        # member's request left. A head too large for hush (but not for HAProxy) is refused
        # before hush can read its X-Forwarded-For: it must not be logged as the member's.
        r = self.member_reads(MEMBER, self.proxied_url)
        self.assertEqual(r.status_code, 200, r.content)
        big = {"X-Pad": "p" * (9 * 1024)}  # over hush's max_header_bytes (8 KiB)
        r = self.get(GUESSER, self.proxied_url, "nobody-x", "wrong", big)
        self.assertEqual(r.status_code, 431, r.content)
        log = self.settled_log(2)
        access = [f for f in log_events(log, "access") if f.get("path") != "/healthz"]
        self.assertEqual([f.get("status") for f in access], ["200", "431"], log)
        self.assertEqual(access[0].get("client"), MEMBER, log)
        # Either the guesser or, not knowing better, the proxy; never another client.
        self.assertIn(access[1].get("client"), (GUESSER, PROXY_ADDR), log)
        self.assertNotIn(MEMBER, [f.get("client") for f in log_events(log, "auth-failed")])


class TcpModeTest(TrustedProxyTests, ProxyCase):
    mode = "tcp"


# ---- controls: the same setups with trusted_proxies empty -------------------------------------


class ControlTests:
    """Mixed into the control classes: trusted_proxies empty."""

    trusted = "[]"

    def test_untrusted_proxy_member_is_throttled_by_the_guesser(self):
        statuses = self.guess_until_throttled(GUESSER, self.proxied_url)
        self.assertEqual(statuses, [401] * (FREE_FAILURES + 1) + [429], statuses)
        r = self.member_reads(MEMBER, self.proxied_url)
        self.assertEqual(r.status_code, 429, "control: without a trusted proxy the member and "
                         "the guesser are both the proxy, yet the member got through")
        # Everyone is the proxy (in HTTP mode HAProxy did send X-Forwarded-For; hush ignored it,
        # as it must from a peer it does not trust).
        log = self.settled_log(len(statuses) + 1)
        self.assertEqual(set(self.clients_of(log, "auth-failed")), {PROXY_ADDR}, log)
        self.assertEqual(set(self.clients_of(log, "throttled")), {PROXY_ADDR}, log)
        self.assertEqual(set(self.clients_of(log, "access")), {PROXY_ADDR}, log)
        self.assertNotIn("client=%s" % GUESSER, log)
        self.assertNotIn("client=%s" % MEMBER, log)


class HttpModeControlTest(ControlTests, ProxyCase):
    mode = "http"


class TcpModeControlTest(ControlTests, ProxyCase):
    mode = "tcp"
    send_proxy = ""  # hush does not trust the proxy, so the proxy sends it no header


class TcpModeUntrustedHeaderTest(ProxyCase):
    """send-proxy-v2 towards a hush that does not trust the proxy: the header is not honoured
    (it is read as a broken TLS handshake), so HAProxy's check fails and nobody gets through."""

    mode = "tcp"
    trusted = "[]"
    expect_check = CHECK_FAILED_RE

    def test_proxy_header_from_an_untrusted_peer_is_not_honoured(self):
        with self.assertRaises(requests.exceptions.RequestException):
            self.member_reads(MEMBER, self.proxied_url)
        log = self.hush_log()
        self.assertNotIn("client=%s" % MEMBER, log)
        self.assertFalse(log_events(log, "access"), log)


if __name__ == "__main__":
    support.main()
