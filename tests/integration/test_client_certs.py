"""Mutual TLS with the club's own CA, against real peers: curl (PEM and PKCS#12), Python requests
with cert=, and openssl s_client over TLS 1.2 and 1.3 without a certificate, with one from another
CA, a revoked one and an expired one. Also: revocation and renewal picked up by a running server
without a restart, and without dropping an open connection.

Run: /usr/bin/python3 tests/integration/test_client_certs.py   (HUSH_BIN=/path/to/hush optional)
"""

import datetime
import os
import re
import signal
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import Club, Workspace, basic, curl, run  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

T = support.HTTP_TIMEOUT
CERT_RE = re.compile(r'^Certificate for "(\S+)", serial ([0-9a-f]+), expires \S+: (.+)$', re.M)
P12_PASSWORD_RE = re.compile(r"^PKCS#12 password shown once: (\S+)$", re.M)
SECRET = "The owl flies at noon."
# The server notices a changed file within a second; allow for a slow (sanitizer) build.
RELOAD_WAIT = 6.0


def issue(club, name, out_dir, *args):
    os.makedirs(out_dir, exist_ok=True)
    r = club.hush("member", "cert", name, "--out-dir", out_dir, *args)
    if r.rc != 0:
        raise AssertionError("member cert failed: %r" % r)
    serial = CERT_RE.search(r.out).group(2)
    password = P12_PASSWORD_RE.search(r.out).group(1)
    base = os.path.join(out_dir, name)
    return {"serial": serial, "pem": base + ".pem", "key": base + ".key", "p12": base + ".p12",
            "p12_password": password}


def write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def forge_client_cert(ws, name, issuer_cert_path, issuer_key_path, not_after, prefix):
    """A clientAuth certificate for NAME signed by the given CA, valid until NOT_AFTER."""
    with open(issuer_cert_path, "rb") as f:
        issuer = x509.load_pem_x509_certificate(f.read())
    with open(issuer_key_path, "rb") as f:
        issuer_key = serialization.load_pem_private_key(f.read(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(issuer.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(min(now - datetime.timedelta(days=30), not_after))
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(issuer_key, hashes.SHA256()))
    pem = ws.sub(prefix + ".pem")
    key_path = ws.sub(prefix + ".key")
    with open(pem, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    write_private(key_path, key.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    return pem, key_path


def s_client_get(server, ca_pem, extra):
    """openssl s_client sends one GET /; returns its whole output (stdout and stderr)."""
    request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    r = run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % server.port, "-CAfile", ca_pem,
             "-quiet"] + list(extra), input=request)
    return r.out + r.err


def served(output):
    return "HTTP/1.1 200" in output and SECRET in output


class MutualTlsCase(unittest.TestCase):
    mode = None

    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.addClassCleanup(cls.ws.cleanup)
        cls.club = Club(cls.ws)
        cls.club.add_member("alice")
        cls.club.add_member("bob")
        cls.club.post(SECRET)
        cls.certs = cls.ws.sub("certs")
        cls.alice = issue(cls.club, "alice", cls.certs)
        cls.club.set_config("server", "client_certs", '"%s"' % cls.mode)
        cls.server = cls.club.serve()
        cls.addClassCleanup(cls.server.stop)

    def get(self, cert=None, auth=None):
        s = support.session(self.club.ca_pem)
        self.addCleanup(s.close)
        headers = {"Authorization": basic(*auth)} if auth else {}
        return s.get(self.server.url, cert=cert, headers=headers, timeout=T)


class RequiredTest(MutualTlsCase):
    mode = "required"

    def test_curl_with_pem_and_with_pkcs12(self):
        r = curl(["--cacert", self.club.ca_pem, "--cert", self.alice["pem"], "--key",
                  self.alice["key"], self.server.url])
        self.assertEqual((r.rc, r.out), (0, SECRET), r)
        p12 = curl(["--cacert", self.club.ca_pem, "--cert-type", "P12", "--cert",
                    "%s:%s" % (self.alice["p12"], self.alice["p12_password"]), self.server.url])
        self.assertEqual((p12.rc, p12.out), (0, SECRET), p12)
        # No password asked: the certificate is the member's proof. And the read is audited.
        audit = self.club.hush("audit").out
        self.assertIn("alice", audit)

    def test_python_requests_with_cert(self):
        r = self.get(cert=(self.alice["pem"], self.alice["key"]))
        self.assertEqual((r.status_code, r.text), (200, SECRET))

    def test_no_certificate_fails_the_handshake_in_tls12_and_tls13(self):
        for version in ("-tls1_2", "-tls1_3"):
            out = s_client_get(self.server, self.club.ca_pem, [version])
            self.assertFalse(served(out), out)
            self.assertNotIn("HTTP/1.1", out)
            self.assertRegex(out.lower(), r"alert|handshake failure|certificate required")
            # Control: the same command with the member's certificate is served.
            ok = s_client_get(self.server, self.club.ca_pem,
                              [version, "-cert", self.alice["pem"], "-key", self.alice["key"]])
            self.assertTrue(served(ok), ok)
        # curl without one: no answer at all, not even a 401.
        r = curl(["--cacert", self.club.ca_pem, "-u", "alice:" + self.club.passwords["alice"],
                  "-w", "%{http_code}", self.server.url])
        self.assertNotEqual(r.rc, 0)
        self.assertNotIn(SECRET, r.out)

    def test_certificate_from_another_ca_fails(self):
        other = Club(self.ws, name="other-club")
        pem, key = forge_client_cert(self.ws, "alice", other.ca_pem, other.path("ca.key"),
                                     datetime.datetime.now(datetime.timezone.utc)
                                     + datetime.timedelta(days=30), "other-ca-alice")
        for version in ("-tls1_2", "-tls1_3"):
            out = s_client_get(self.server, self.club.ca_pem,
                               [version, "-cert", pem, "-key", key])
            self.assertFalse(served(out), out)
            # Every club's CA is called "Club CA": the name matches ours, the signature does not.
            self.assertRegex(out, r"alert (unknown ca|decrypt error)")

    def test_expired_certificate_fails(self):
        pem, key = forge_client_cert(self.ws, "alice", self.club.ca_pem, self.club.path("ca.key"),
                                     datetime.datetime.now(datetime.timezone.utc)
                                     - datetime.timedelta(days=1), "expired-alice")
        for version in ("-tls1_2", "-tls1_3"):
            out = s_client_get(self.server, self.club.ca_pem,
                               [version, "-cert", pem, "-key", key])
            self.assertFalse(served(out), out)
            self.assertIn("alert certificate expired", out)

    def test_a_club_signed_certificate_the_club_never_recorded_is_refused(self):
        # Signed with the CA key but not issued by `hush member cert`: the handshake passes, the
        # store does not know the serial, so the request is 401.
        pem, key = forge_client_cert(self.ws, "bob", self.club.ca_pem, self.club.path("ca.key"),
                                     datetime.datetime.now(datetime.timezone.utc)
                                     + datetime.timedelta(days=30), "unrecorded-bob")
        r = self.get(cert=(pem, key))
        self.assertEqual(r.status_code, 401)

    def test_revocation_applies_at_once_and_then_in_the_handshake(self):
        bob = issue(self.club, "bob", self.ws.sub("bob-certs"))
        self.assertEqual(self.get(cert=(bob["pem"], bob["key"])).status_code, 200)
        self.assertEqual(self.club.hush("member", "cert", "--revoke", bob["serial"]).rc, 0)
        # At once: the store says revoked, whatever the CRL the TLS context still holds.
        try:
            status = self.get(cert=(bob["pem"], bob["key"])).status_code
        except Exception:  # the reload may already have happened: the handshake fails
            status = None
        self.assertNotEqual(status, 200)
        # Within moments, without a restart: the new CRL fails the handshake itself.
        deadline = time.monotonic() + RELOAD_WAIT
        while True:
            out = s_client_get(self.server, self.club.ca_pem,
                               ["-tls1_3", "-cert", bob["pem"], "-key", bob["key"]])
            if "HTTP/1.1" not in out or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        self.assertNotIn("HTTP/1.1", out)
        self.assertIn("alert certificate revoked", out)
        out12 = s_client_get(self.server, self.club.ca_pem,
                             ["-tls1_2", "-cert", bob["pem"], "-key", bob["key"]])
        self.assertNotIn("HTTP/1.1", out12)
        self.assertIn("alert certificate revoked", out12)
        # Others are unaffected, and /ca.crl serves the new list.
        self.assertEqual(self.get(cert=(self.alice["pem"], self.alice["key"])).status_code, 200)
        with open(self.club.path("ca.crl"), "rb") as f:
            on_disk = f.read()
        crl = self.get_crl()
        self.assertEqual(crl, on_disk)

    def get_crl(self):
        s = support.session(self.club.ca_pem)
        self.addCleanup(s.close)
        return s.get(self.server.url + "ca.crl", cert=(self.alice["pem"], self.alice["key"]),
                     timeout=T).content


class OptionalTest(MutualTlsCase):
    mode = "optional"

    def test_certificate_or_password(self):
        self.assertEqual(self.get(cert=(self.alice["pem"], self.alice["key"])).text, SECRET)
        self.assertEqual(self.get(auth=("bob", self.club.passwords["bob"])).text, SECRET)
        self.assertEqual(self.get().status_code, 401)

    def test_removing_a_member_revokes_their_certificates(self):
        carol_pw = self.club.add_member("carol")
        carol = issue(self.club, "carol", self.ws.sub("carol-certs"))
        self.assertEqual(self.get(cert=(carol["pem"], carol["key"])).status_code, 200)
        self.assertEqual(self.club.hush("member", "remove", "carol").rc, 0)
        try:
            status = self.get(cert=(carol["pem"], carol["key"])).status_code
        except Exception:
            status = None  # the handshake already fails on the new CRL
        self.assertNotEqual(status, 200)
        self.assertEqual(self.get(auth=("carol", carol_pw)).status_code, 401)


class RenewalTest(unittest.TestCase):
    """hush cert renew while serving: new connections get the new certificate, an open one goes
    on, and SIGHUP reloads at once."""

    def test_renew_without_dropping_connections(self):
        ws = Workspace()
        self.addCleanup(ws.cleanup)
        club = Club(ws)
        club.add_member("alice")
        club.post(SECRET)
        server = club.serve()
        self.addCleanup(server.stop)

        def serial_served():
            r = run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % server.port,
                     "-CAfile", club.ca_pem], input="")
            m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", r.out, re.S)
            return x509.load_pem_x509_certificate(m.group(0).encode()).serial_number

        open_session = support.session(club.ca_pem)
        self.addCleanup(open_session.close)
        auth = ("alice", club.passwords["alice"])
        self.assertEqual(open_session.get(server.url, auth=auth, timeout=T).text, SECRET)
        before = serial_served()

        self.assertEqual(club.hush("cert", "renew").rc, 0)
        with open(club.path("server.pem"), "rb") as f:
            renewed = x509.load_pem_x509_certificate(f.read()).serial_number
        self.assertNotEqual(before, renewed)
        deadline = time.monotonic() + RELOAD_WAIT
        while serial_served() != renewed and time.monotonic() < deadline:
            time.sleep(0.3)
        self.assertEqual(serial_served(), renewed)
        # The connection opened before the renewal is still there and still served.
        self.assertEqual(open_session.get(server.url, auth=auth, timeout=T).text, SECRET)
        self.assertTrue(server.running())

        # SIGHUP: an explicit reload, logged; a broken key is refused and the old context kept.
        server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + RELOAD_WAIT
        while "reloaded" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertIn("reloaded", server.log())
        os.chmod(club.path("server.key"), 0o644)
        server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + RELOAD_WAIT
        while "reload refused" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertIn("reload refused", server.log())
        self.assertEqual(serial_served(), renewed)
        self.assertEqual(open_session.get(server.url, auth=auth, timeout=T).text, SECRET)


class LapsedCrlTest(unittest.TestCase):
    """A CRL past its nextUpdate (a year with no revocation) must not lock members out: the
    store still has the final word on revocation."""

    def test_members_are_served_and_revocations_still_hold(self):
        ws = Workspace()
        self.addCleanup(ws.cleanup)
        club = Club(ws)
        club.add_member("alice")
        club.add_member("bob")
        club.post(SECRET)
        alice = issue(club, "alice", ws.sub("certs"))
        bob = issue(club, "bob", ws.sub("certs"))
        self.assertEqual(club.hush("member", "cert", "--revoke", bob["serial"]).rc, 0)
        with open(club.path("ca.pem"), "rb") as f:
            ca = x509.load_pem_x509_certificate(f.read())
        with open(club.path("ca.key"), "rb") as f:
            ca_key = serialization.load_pem_private_key(f.read(), password=None)
        now = datetime.datetime.now(datetime.timezone.utc)
        lapsed = (x509.CertificateRevocationListBuilder()
                  .issuer_name(ca.subject)
                  .last_update(now - datetime.timedelta(days=400))
                  .next_update(now - datetime.timedelta(days=3))
                  .sign(ca_key, hashes.SHA256()))
        with open(club.path("ca.crl"), "wb") as f:
            f.write(lapsed.public_bytes(serialization.Encoding.DER))
        club.set_config("server", "client_certs", '"required"')
        server = club.serve()
        self.addCleanup(server.stop)
        s = support.session(club.ca_pem)
        self.addCleanup(s.close)
        r = s.get(server.url, cert=(alice["pem"], alice["key"]), timeout=T)
        self.assertEqual((r.status_code, r.text), (200, SECRET))
        # bob is revoked in the store though the lapsed list does not name him. (A new session:
        # requests would reuse alice's connection, and her certificate, for another cert=.)
        bob_session = support.session(club.ca_pem)
        self.addCleanup(bob_session.close)
        r = bob_session.get(server.url, cert=(bob["pem"], bob["key"]), timeout=T)
        self.assertEqual(r.status_code, 401)


class StartupTest(unittest.TestCase):
    def test_bad_mode_and_missing_crl_refuse_to_start(self):
        ws = Workspace()
        self.addCleanup(ws.cleanup)
        club = Club(ws)
        r = club.hush("serve", "--listen", "127.0.0.1:0", "--client-certs", "sometimes")
        self.assertEqual(r.rc, 2, r)  # a usage error (docs/operations.md)
        self.assertIn("off, optional or required", r.err)
        # A list signed by another CA would fail every certificate: refused at startup too.
        other = Club(ws, name="other-club")
        with open(other.path("ca.crl"), "rb") as src, open(club.path("ca.crl"), "wb") as dst:
            dst.write(src.read())
        r = club.hush("serve", "--listen", "127.0.0.1:0", "--client-certs", "required")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("not signed by the club CA", r.err)
        # Without the CRL every certificate would fail: refuse to start rather than lock out.
        os.unlink(club.path("ca.crl"))
        r = club.hush("serve", "--listen", "127.0.0.1:0", "--client-certs", "required")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("ca.crl", r.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
