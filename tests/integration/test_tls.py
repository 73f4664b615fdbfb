"""hush TLS: the certificates `hush init` makes, and what the server accepts and refuses.

Run: /usr/bin/python3 tests/integration/test_tls.py   (HUSH_BIN=/path/to/hush optional)
"""

import datetime
import os
import re
import socket
import ssl
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import Club, OpenSSLServer, Workspace, curl, handshake_ok, run, s_client  # noqa: E402

EXTRA_DNS = "club.example.test"
EXTRA_IP = "10.9.8.7"
MAX_VALIDITY = datetime.timedelta(days=397)
AEAD_TLS12 = re.compile(r"^ECDHE-ECDSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$")
LEGACY = ["-cipher", "DEFAULT@SECLEVEL=0"]


def x509_text(path):
    r = run(["openssl", "x509", "-in", path, "-text", "-noout"])
    if r.rc != 0:
        raise AssertionError("openssl x509 failed: %r" % r)
    return r.out


def extension(text, name):
    """(critical, value) of an X509v3 extension in `openssl x509 -text` output; value lines
    are those indented deeper than the extension's name."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("X509v3 %s:" % name):
            indent = len(line) - len(line.lstrip())
            values = []
            for nxt in lines[i + 1:]:
                if len(nxt) - len(nxt.lstrip()) <= indent:
                    break
                values.append(nxt.strip())
            return "critical" in line.split(":", 1)[1], " ".join(values)
    return None, None


def dates(path):
    r = run(["openssl", "x509", "-in", path, "-noout", "-startdate", "-enddate"])
    if r.rc != 0:
        raise AssertionError(r)
    out = dict(line.split("=", 1) for line in r.out.splitlines())
    fmt = "%b %d %H:%M:%S %Y %Z"
    parse = lambda s: datetime.datetime.strptime(" ".join(s.split()), fmt)  # noqa: E731
    return parse(out["notBefore"]), parse(out["notAfter"])


class CertificateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws, hosts=[EXTRA_DNS, EXTRA_IP])
        cls.ca_text = x509_text(cls.club.path("ca.pem"))
        cls.server_text = x509_text(cls.club.path("server.pem"))

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def test_ca_is_p256(self):
        self.assertIn("id-ecPublicKey", self.ca_text)
        self.assertRegex(self.ca_text, r"NIST CURVE: P-256|ASN1 OID: prime256v1")

    def test_ca_basic_constraints(self):
        critical, value = extension(self.ca_text, "Basic Constraints")
        self.assertTrue(critical, "basicConstraints must be critical")
        self.assertEqual(value.replace(" ", ""), "CA:TRUE,pathlen:0")

    def test_ca_key_usage(self):
        _critical, value = extension(self.ca_text, "Key Usage")
        self.assertIsNotNone(value)
        usages = {u.strip() for u in value.split(",")}
        self.assertEqual(usages, {"Certificate Sign", "CRL Sign"})

    def test_ca_is_self_signed(self):
        r = run(["openssl", "verify", "-CAfile", self.club.ca_pem, self.club.ca_pem])
        self.assertEqual(r.rc, 0, r)

    def test_server_key_is_p256(self):
        self.assertIn("id-ecPublicKey", self.server_text)
        self.assertRegex(self.server_text, r"NIST CURVE: P-256|ASN1 OID: prime256v1")

    def test_server_san(self):
        _critical, value = extension(self.server_text, "Subject Alternative Name")
        self.assertIsNotNone(value)
        names = {n.strip() for n in value.split(",")}
        for want in ("DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1",
                     "DNS:" + EXTRA_DNS, "IP Address:" + EXTRA_IP):
            self.assertIn(want, names)

    def test_server_eku_and_not_a_ca(self):
        _critical, value = extension(self.server_text, "Extended Key Usage")
        self.assertIsNotNone(value)
        self.assertIn("TLS Web Server Authentication", value)
        _critical, bc = extension(self.server_text, "Basic Constraints")
        self.assertNotIn("CA:TRUE", bc or "")

    def test_server_validity_at_most_397_days(self):
        not_before, not_after = dates(self.club.path("server.pem"))
        now = datetime.datetime.utcnow()
        self.assertLessEqual(not_before, now + datetime.timedelta(minutes=1))
        self.assertGreater(not_after, now + datetime.timedelta(days=300))
        self.assertLessEqual(not_after - not_before, MAX_VALIDITY,
                             "server certificate is valid from %s to %s" % (not_before, not_after))

    def test_server_chain_verifies_against_ca(self):
        r = run(["openssl", "verify", "-CAfile", self.club.ca_pem, "-purpose", "sslserver",
                 "-verify_hostname", EXTRA_DNS, self.club.path("server.pem")])
        self.assertEqual(r.rc, 0, r)
        self.assertIn(": OK", r.out)

    def test_server_chain_does_not_verify_against_another_ca(self):
        ws = Workspace()
        try:
            other = Club(ws)
            r = run(["openssl", "verify", "-CAfile", other.ca_pem, self.club.path("server.pem")])
            self.assertNotEqual(r.rc, 0, r)
        finally:
            ws.cleanup()

    def test_keys_match_certificates(self):
        for key, cert in (("server.key", "server.pem"), ("ca.key", "ca.pem")):
            with self.subTest(key=key):
                a = run(["openssl", "pkey", "-in", self.club.path(key), "-pubout"])
                b = run(["openssl", "x509", "-in", self.club.path(cert), "-pubkey", "-noout"])
                self.assertEqual(a.rc, 0, a)
                self.assertEqual(b.rc, 0, b)
                self.assertEqual(a.out, b.out)


class HandshakeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.addClassCleanup(cls.ws.cleanup)
        cls.club = Club(cls.ws, hosts=[EXTRA_DNS])
        cls.secret = "tls secret %s" % os.urandom(4).hex()
        cls.club.post(cls.secret)
        cls.server = cls.club.serve()
        cls.addClassCleanup(cls.server.stop)
        cls.port = cls.server.port

    def connect(self, *extra, ca=None):
        return s_client(self.port, ca or self.club.ca_pem, list(extra))

    def assertAccepted(self, r, info, protocol):
        self.assertTrue(handshake_ok(info), "handshake failed: %s\n%s" % (info, r.err))
        self.assertEqual(info["protocol"], protocol, r.out)
        self.assertTrue((info["verify"] or "").startswith("0 "), info)
        self.assertNotIn("verify error", r.out + r.err)
        self.assertEqual(r.rc, 0, r)

    def assertRefused(self, r, info):
        self.assertFalse(handshake_ok(info), "handshake succeeded: %s" % info)
        self.assertNotEqual(r.rc, 0, r)

    def test_tls12_accepted_with_aead_suite(self):
        r, info = self.connect("-tls1_2")
        self.assertAccepted(r, info, "TLSv1.2")
        self.assertRegex(info["cipher"], AEAD_TLS12)

    def test_tls13_accepted(self):
        r, info = self.connect("-tls1_3")
        self.assertAccepted(r, info, "TLSv1.3")
        self.assertRegex(info["cipher"], r"^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$")

    def test_names_in_the_certificate_verify(self):
        for extra in (["-verify_ip", "127.0.0.1"], ["-verify_hostname", "localhost"],
                      ["-verify_hostname", EXTRA_DNS]):
            with self.subTest(extra=extra):
                r, info = self.connect("-tls1_3", *extra)
                self.assertAccepted(r, info, "TLSv1.3")

    def test_verification_is_real(self):
        # Controls: a name not in the certificate, and another club's CA, must fail to verify.
        r, _info = self.connect("-tls1_3", "-verify_hostname", "not-in-the-cert.example.test")
        self.assertNotEqual(r.rc, 0, r)
        self.assertIn("verify error:num=62", r.out + r.err)  # hostname mismatch
        ws = Workspace()
        try:
            other = Club(ws)
            r, info = self.connect("-tls1_2", ca=other.ca_pem)
            self.assertNotEqual(r.rc, 0, r)
            self.assertFalse(handshake_ok(info), info)
            self.assertIn("verify error:num=20", r.out + r.err)  # unable to get local issuer
        finally:
            ws.cleanup()

    def test_tls10_and_tls11_refused(self):
        for flag in ("-tls1", "-tls1_1"):
            with self.subTest(flag=flag):
                r, info = self.connect(flag, *LEGACY)
                self.assertRefused(r, info)

    def test_control_client_really_offers_tls10_and_tls11(self):
        for flag, proto in (("-tls1", "TLSv1"), ("-tls1_1", "TLSv1.1")):
            with self.subTest(flag=flag):
                with OpenSSLServer(self.club, [flag] + LEGACY) as peer:
                    r, info = s_client(peer.port, self.club.ca_pem, [flag] + LEGACY)
                self.assertTrue(handshake_ok(info), "control failed: %s %r" % (info, r))
                self.assertEqual(info["protocol"], proto)

    def test_cbc_suites_refused_in_tls12(self):
        for suite in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
                      "ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384"):
            with self.subTest(suite=suite):
                r, info = self.connect("-tls1_2", "-cipher", suite)
                self.assertRefused(r, info)

    def test_control_client_really_offers_cbc(self):
        suite = "ECDHE-ECDSA-AES128-SHA"
        with OpenSSLServer(self.club, ["-tls1_2", "-cipher", suite]) as peer:
            r, info = s_client(peer.port, self.club.ca_pem, ["-tls1_2", "-cipher", suite])
        self.assertTrue(handshake_ok(info), "control failed: %s %r" % (info, r))
        self.assertEqual(info["cipher"], suite)

    def test_python_ssl_each_version(self):
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version=version.name):
                ctx = ssl.create_default_context(cafile=self.club.ca_pem)
                ctx.minimum_version = ctx.maximum_version = version
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw:
                    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                        self.assertEqual(tls.version(), version.name.replace("_", "."))
                        tls.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
                                     "Connection: close\r\n\r\n"
                                     % support.basic("admin", self.club.admin_password)).encode())
                        raw_resp = support.read_until_close(tls, 10)
                status, _headers, body = support.parse_raw_response(raw_resp)
                self.assertEqual(status, 200)
                self.assertEqual(body, self.secret.encode())

    def test_extra_host_name_with_curl(self):
        base = ["--cacert", self.club.ca_pem, "-u", "admin:" + self.club.admin_password]
        url = "https://%s:%d/" % (EXTRA_DNS, self.port)
        r = curl(base + ["--resolve", "%s:%d:127.0.0.1" % (EXTRA_DNS, self.port), url])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out, self.secret)
        # A name the certificate does not carry is refused by curl (exit 60: bad certificate).
        bad = "other.example.test"
        r = curl(base + ["--resolve", "%s:%d:127.0.0.1" % (bad, self.port),
                         "https://%s:%d/" % (bad, self.port)])
        self.assertEqual(r.rc, 60, r)
        self.assertNotIn(self.secret, r.out)

    def test_crl_is_published_and_named_in_the_certificate(self):
        # The certificate names the CRL at the first --host, on the default port ...
        text = x509_text(self.club.path("server.pem"))
        self.assertIn("URI:https://%s:5684/ca.crl" % EXTRA_DNS, text)
        # ... and the server publishes it, without credentials, signed by the club CA.
        crl = self.ws.sub("fetched.crl")
        r = curl(["--cacert", self.club.ca_pem, "-o", crl, "-w", "%{http_code} %{content_type}",
                  "https://127.0.0.1:%d/ca.crl" % self.port])
        self.assertEqual(r.out, "200 application/pkix-crl", r)
        r = run(["openssl", "crl", "-inform", "DER", "-in", crl, "-CAfile", self.club.ca_pem,
                 "-noout"])
        self.assertEqual(r.rc, 0, r)
        self.assertIn("verify OK", r.out + r.err)
        # Control: another club's CA does not verify it.
        other = Club(self.ws, name="other-club")
        r = run(["openssl", "crl", "-inform", "DER", "-in", crl, "-CAfile", other.ca_pem,
                 "-noout"])
        self.assertNotIn("verify OK", r.out + r.err)


REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def ticket_bytes(session_text):
    """The size of the ticket in `openssl sess_id -text` output; None when it carries none."""
    m = re.search(r"(?ms)^\s*TLS session ticket:\s*\n(.*?)^\s*Start Time", session_text)
    if not m:
        return None
    return sum(len(re.findall(r"\b[0-9a-f]{2}\b", line.split(" - ", 1)[1][:48]))
               for line in m.group(1).splitlines() if " - " in line)


class SessionResumptionTest(unittest.TestCase):
    """Resumption works in TLS 1.2 and 1.3 without stateless tickets: TLS 1.2 resumes by session
    id from the server's cache and gets no ticket (which would carry its master secret sealed
    under a long-lived key); TLS 1.3 gets a stateful ticket, a short id into that cache."""

    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.addClassCleanup(cls.ws.cleanup)
        cls.club = Club(cls.ws)
        cls.server = cls.club.serve()
        cls.addClassCleanup(cls.server.stop)

    def connect(self, port, protocol, session_arg, session_path):
        # -ign_eof with a request that closes: s_client reads the whole answer, so a TLS 1.3
        # NewSessionTicket (sent after the handshake) is in the session it saves.
        return run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile",
                    self.club.ca_pem, "-verify_return_error", protocol, "-ign_eof",
                    session_arg, session_path], input=REQUEST)

    def session_text(self, path):
        r = run(["openssl", "sess_id", "-in", path, "-noout", "-text"])
        self.assertEqual(r.rc, 0, r)
        return r.out

    def resume(self, protocol):
        """Connects, saves the session, connects again offering it: (session text, 2nd run)."""
        path = self.ws.sub("session%s.pem" % protocol)
        first = self.connect(self.server.port, protocol, "-sess_out", path)
        self.assertEqual(first.rc, 0, first)
        self.assertRegex(first.out, r"(?m)^New, TLSv1\.[23], ")
        text = self.session_text(path)
        second = self.connect(self.server.port, protocol, "-sess_in", path)
        self.assertEqual(second.rc, 0, second)
        self.assertIn("HTTP/1.1 ", second.out)  # the request was answered
        return text, second

    def test_tls12_resumes_by_session_id_and_gets_no_ticket(self):
        text, second = self.resume("-tls1_2")
        self.assertRegex(second.out, r"(?m)^Reused, TLSv1\.2, ")
        self.assertRegex(text, r"(?m)^\s*Session-ID: [0-9A-F]{32,}$")
        self.assertNotIn("TLS session ticket", text)
        self.assertIsNone(ticket_bytes(text))

    def test_tls13_resumes_with_a_stateful_ticket(self):
        text, second = self.resume("-tls1_3")
        self.assertRegex(second.out, r"(?m)^Reused, TLSv1\.3, ")
        size = ticket_bytes(text)
        self.assertIsNotNone(size, text)
        # A stateless ticket seals the whole session (about 200 bytes here); a stateful one is
        # the session's id in the server's cache (32 bytes).
        self.assertLessEqual(size, 64, text)
        hint = re.search(r"ticket lifetime hint: (\d+)", text)
        self.assertTrue(hint, text)
        self.assertLessEqual(int(hint.group(1)), 3600)

    def test_tls12_resumes_after_a_close_without_close_notify(self):
        # openssl s_time (what bench/ measures resumption with) closes each connection's socket
        # without a close_notify, as browsers often do; the session must stay in the cache.
        r = run(["openssl", "s_time", "-connect", "127.0.0.1:%d" % self.server.port, "-CAfile",
                 self.club.ca_pem, "-reuse", "-tls1_2", "-time", "1"])
        self.assertEqual(r.rc, 0, r)
        # s_time prints a mark per connection: "r" resumed, "*" a full handshake.
        marks = "".join(re.findall(r"(?m)^[r*]+$", r.out))
        reused, new = marks.count("r"), marks.count("*")
        self.assertGreater(reused + new, 10, r.out)
        self.assertGreaterEqual(reused, 0.9 * (reused + new), "reused %d, new %d" % (reused, new))

    def test_control_the_probe_sees_a_stateless_tls12_ticket(self):
        # openssl s_server with its defaults issues stateless tickets: the probe above must see
        # one there, so that its "no ticket" from hush means something.
        path = self.ws.sub("control.pem")
        with OpenSSLServer(self.club, ["-www"]) as server:
            r = self.connect(server.port, "-tls1_2", "-sess_out", path)
            self.assertEqual(r.rc, 0, r)
        text = self.session_text(path)
        self.assertIn("TLS session ticket:", text)
        self.assertGreater(ticket_bytes(text), 64, text)


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Ipv6Test(unittest.TestCase):
    def test_serves_on_ipv6_loopback(self):
        # A machine without ::1 fails this test rather than skip it: a skip would count as a pass.
        self.assertTrue(ipv6_loopback(), "no IPv6 loopback (::1) on this machine: cannot test IPv6")
        ws = Workspace()
        try:
            club = Club(ws)
            club.post("over six")
            with club.serve(listen="[::1]:0") as server:
                self.assertEqual(server.host, "[::1]")
                r = curl(["--cacert", club.ca_pem, "-u", "admin:" + club.admin_password,
                          server.url])
                self.assertEqual(r.rc, 0, r)
                self.assertEqual(r.out, "over six")
                r, info = s_client(server.port, club.ca_pem, ["-tls1_3", "-verify_ip", "::1"],
                                   host="[::1]")
                self.assertTrue(handshake_ok(info), r)
                self.assertTrue((info["verify"] or "").startswith("0 "), info)
                self.assertNotIn("verify error", r.out + r.err)
                self.assertEqual(server.stop(), 0)
            audit = club.hush("audit")
            self.assertEqual(audit.rc, 0, audit)
            self.assertEqual(audit.out.strip().split("\t")[-1], "::1", audit.out)
        finally:
            ws.cleanup()


if __name__ == "__main__":
    support.main()
