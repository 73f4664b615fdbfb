"""The club CA is name-constrained (issue 14, private hosts): a certificate for another name,
forged with the club's own CA key, is refused by openssl verify, curl and Python requests, while
the club's real certificate passes. Each refusal has a control: the same forged names signed by an
unconstrained CA (what `hush init` made before) are accepted by the same client, so a refusal
for any other reason cannot pass. Also: members' certificates with a dotted name still open the
door, `hush cert renew --host/--drop-host` within and outside the constraint, `[pki] crl_url`,
and /ca.pem served without login.

Run: /usr/bin/python3 tests/integration/test_name_constraints.py   (HUSH_BIN=/path/to/hush optional)
"""

import datetime
import ipaddress
import os
import re
import select
import socket
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import Club, Workspace, curl, run  # noqa: E402

import requests  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

T = support.HTTP_TIMEOUT
CLUB_HOST = "club.test"
FORGED_DNS = "evil.example"
FORGED_IP = "127.0.0.2"


def load_ca(cert_path, key_path):
    with open(cert_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    with open(key_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    return cert, key


def make_unconstrained_ca(ws):
    """The control: a CA like the ones hush made before this change (no nameConstraints)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Club CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    path = ws.sub("control-ca.pem")
    with open(path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key, path


def forge_server_cert(ws, prefix, issuer, issuer_key, host):
    """A serverAuth certificate for HOST signed by ISSUER: what a thief of ca.key would make."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    try:
        san = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        san = x509.DNSName(host)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(issuer.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([san]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))
    pem, key_path = ws.sub(prefix + ".pem"), ws.sub(prefix + ".key")
    with open(pem, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return pem, key_path


class ForgedServer:
    """`openssl s_server -www` with a forged certificate on ADDRESS, port 0."""

    def __init__(self, pem, key, address):
        self.proc = subprocess.Popen(
            ["openssl", "s_server", "-accept", "%s:0" % address, "-cert", pem, "-key", key,
             "-www"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=support.clean_env())
        # Everything it prints is kept: "Using default temp DH parameters" and the ACCEPT line
        # often arrive in one read (as support.OpenSSLServer reads it).
        deadline = time.monotonic() + support.START_TIMEOUT
        fd, seen, m = self.proc.stdout.fileno(), b"", None
        while m is None and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(fd, 4096) if ready else b""
            if not chunk:
                break
            seen += chunk
            m = re.search(rb"(?m)^ACCEPT .*:(\d+)\s*$", seen)
        if m is None:
            self.stop()
            raise AssertionError("openssl s_server did not start: %r" % seen)
        self.port = int(m.group(1))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


_real_getaddrinfo = socket.getaddrinfo


def resolving(names):
    """Python's resolver with NAMES mapped to 127.0.0.1 (curl's --resolve, for requests)."""
    def getaddrinfo(host, *args, **kwargs):
        return _real_getaddrinfo("127.0.0.1" if host in names else host, *args, **kwargs)
    return getaddrinfo


class NameConstraintsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws, hosts=(CLUB_HOST,))
        ca, ca_key = load_ca(cls.club.ca_pem, cls.club.path("ca.key"))
        control, control_key, cls.control_pem = make_unconstrained_ca(cls.ws)
        cls.servers = {}
        cls.certs = {}
        for issuer_name, issuer, key in (("club", ca, ca_key), ("control", control, control_key)):
            for host, address in ((FORGED_DNS, "127.0.0.1"), (FORGED_IP, FORGED_IP)):
                pem, key_path = forge_server_cert(cls.ws, "%s-%s" % (issuer_name, host), issuer,
                                                  key, host)
                cls.certs[(issuer_name, host)] = pem
                cls.servers[(issuer_name, host)] = ForgedServer(pem, key_path, address)
        cls.club.set_config("server", "client_certs", '"optional"')
        cls.server = cls.club.serve()
        socket.getaddrinfo = resolving({FORGED_DNS, CLUB_HOST})

    @classmethod
    def tearDownClass(cls):
        socket.getaddrinfo = _real_getaddrinfo
        for s in cls.servers.values():
            s.stop()
        cls.server.stop()
        cls.ws.cleanup()

    def trust(self, issuer):
        return self.club.ca_pem if issuer == "club" else self.control_pem

    def url(self, issuer, host):
        port = self.servers[(issuer, host)].port
        return "https://%s:%d/" % (host, port)

    # The CA itself

    def test_ca_is_constrained_to_the_club_hosts(self):
        r = run(["openssl", "x509", "-in", self.club.ca_pem, "-noout", "-ext", "nameConstraints"])
        self.assertEqual(r.rc, 0, r)
        self.assertIn("critical", r.out)
        permitted = re.findall(r"^\s+(DNS|IP):(\S+)$", r.out, re.M)
        self.assertEqual(sorted(permitted), sorted([
            ("DNS", "localhost"), ("DNS", CLUB_HOST), ("IP", "127.0.0.1/255.255.255.255"),
            ("IP", "0:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF")]))
        self.assertNotIn("Excluded", r.out)

    def test_doctor_says_so(self):
        r = self.club.hush("doctor")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("ca.pem may vouch only for localhost,127.0.0.1/32,::1/128,%s" % CLUB_HOST,
                      r.out)
        self.assertNotIn("no name constraints", r.out)

    # openssl verify

    def test_openssl_verify_refuses_forged_and_passes_real(self):
        real = run(["openssl", "verify", "-CAfile", self.club.ca_pem, self.club.path("server.pem")])
        self.assertEqual(real.rc, 0, real)
        for host in (FORGED_DNS, FORGED_IP):
            with self.subTest(host=host):
                forged = run(["openssl", "verify", "-CAfile", self.club.ca_pem,
                              self.certs[("club", host)]])
                self.assertNotEqual(forged.rc, 0, forged)
                self.assertIn("permitted subtree violation", forged.out + forged.err)
                control = run(["openssl", "verify", "-CAfile", self.control_pem,
                               self.certs[("control", host)]])
                self.assertEqual(control.rc, 0, control)

    # curl

    def curl_get(self, issuer, host, cacert):
        port = self.servers[(issuer, host)].port
        return curl(["--cacert", cacert, "--resolve", "%s:%d:127.0.0.1" % (FORGED_DNS, port),
                     "-o", "/dev/null", "-w", "%{http_code}", self.url(issuer, host)])

    def test_curl_refuses_forged_and_passes_real(self):
        real = curl(["--cacert", self.club.ca_pem, "--resolve",
                     "%s:%d:127.0.0.1" % (CLUB_HOST, self.server.port),
                     "https://%s:%d/healthz" % (CLUB_HOST, self.server.port)])
        self.assertEqual(real.rc, 0, real)
        for host in (FORGED_DNS, FORGED_IP):
            with self.subTest(host=host):
                forged = self.curl_get("club", host, self.club.ca_pem)
                self.assertEqual(forged.rc, 60, forged)  # peer certificate cannot be verified
                self.assertIn("permitted subtree violation", forged.err)
                control = self.curl_get("control", host, self.control_pem)
                self.assertEqual((control.rc, control.out), (0, "200"), control)

    # Python requests

    def test_requests_refuses_forged_and_passes_real(self):
        s = support.session(self.club.ca_pem)
        real = s.get("https://%s:%d/healthz" % (CLUB_HOST, self.server.port), timeout=T)
        self.assertEqual(real.status_code, 200)
        for host in (FORGED_DNS, FORGED_IP):
            with self.subTest(host=host):
                with self.assertRaisesRegex(requests.exceptions.SSLError,
                                            "permitted subtree violation"):
                    s.get(self.url("club", host), timeout=T)
                control = support.session(self.control_pem).get(self.url("control", host),
                                                                timeout=T)
                self.assertEqual(control.status_code, 200)

    # Members' certificates under the constraint

    def test_member_with_a_dotted_name_logs_in_with_a_certificate(self):
        # OpenSSL reads a leaf's dotted CN without a DNS SAN as a host name and checks it against
        # the constraint: openssl verify refuses ann.lee's certificate (the control), and the
        # server, which names members rather than hosts by CN, must not.
        self.club.add_member("ann.lee")
        out = self.ws.sub("ann-certs")
        os.makedirs(out)
        r = self.club.hush("member", "cert", "ann.lee", "--out-dir", out)
        self.assertEqual(r.rc, 0, r)
        pem, key = os.path.join(out, "ann.lee.pem"), os.path.join(out, "ann.lee.key")
        control = run(["openssl", "verify", "-CAfile", self.club.ca_pem, "-purpose", "sslclient",
                       pem])
        self.assertIn("permitted subtree violation", control.out + control.err)
        self.club.post("for members with certificates")
        got = curl(["--cacert", self.club.ca_pem, "--cert", pem, "--key", key,
                    "-H", "Accept: text/plain", self.server.url])
        self.assertEqual((got.rc, got.out.strip()), (0, "for members with certificates"), got)

    # /ca.pem

    def test_ca_pem_is_served_without_login(self):
        s = support.session(self.club.ca_pem)
        r = s.get(self.server.url.rstrip("/") + "/ca.pem", timeout=T)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.headers["Content-Type"], "application/x-x509-ca-cert")
        with open(self.club.ca_pem, "rb") as f:
            self.assertEqual(r.content, f.read())
        self.assertEqual(s.post(self.server.url.rstrip("/") + "/ca.pem", timeout=T).status_code,
                         405)


class RenewTest(unittest.TestCase):
    """`hush cert renew --host/--drop-host` and `[pki] crl_url`, each on a club of its own."""

    def setUp(self):
        self.ws = Workspace()
        self.club = Club(self.ws, hosts=(CLUB_HOST,))

    def tearDown(self):
        self.ws.cleanup()

    def san(self):
        r = run(["openssl", "x509", "-in", self.club.path("server.pem"), "-noout", "-ext",
                 "subjectAltName,crlDistributionPoints"])
        self.assertEqual(r.rc, 0, r)
        return r.out

    def test_a_host_within_the_constraint_is_added_and_one_dropped(self):
        r = self.club.hush("cert", "renew", "--host", "www." + CLUB_HOST, "--drop-host", "::1")
        self.assertEqual(r.rc, 0, r)
        out = self.san()
        self.assertIn("DNS:www.%s" % CLUB_HOST, out)
        self.assertNotIn("IP Address:0:0:0:0:0:0:0:1", out)
        verify = run(["openssl", "verify", "-CAfile", self.club.ca_pem,
                      self.club.path("server.pem")])
        self.assertEqual(verify.rc, 0, verify)

    def test_a_host_outside_the_constraint_is_refused_with_the_way_to_widen(self):
        before = self.san()
        for host in (FORGED_DNS, FORGED_IP, "::2"):
            with self.subTest(host=host):
                r = self.club.hush("cert", "renew", "--host", host)
                self.assertEqual(r.rc, 1, r)
                self.assertEqual(len(r.err.strip().splitlines()), 1, r)
                self.assertIn('"%s" is outside the names the club CA may vouch for' % host, r.err)
                self.assertIn('docs/operations.md, "Moving to a new CA"', r.err)
        self.assertEqual(self.san(), before)
        # The control: the same renewal within the constraint goes through.
        self.assertEqual(self.club.hush("cert", "renew").rc, 0)

    def test_a_csr_outside_the_constraint_is_not_signed(self):
        for host, ok in ((FORGED_DNS, False), ("api." + CLUB_HOST, True)):
            with self.subTest(host=host):
                csr = self.ws.sub(host + ".csr")
                r = run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.ws.sub(host + ".key"),
                         "-out", csr, "-subj", "/CN=" + host])
                self.assertEqual(r.rc, 0, r)
                r = self.club.hush("ca", "sign", csr)
                if ok:  # the control: a name below the club's is within the constraint
                    self.assertEqual(r.rc, 0, r)
                else:
                    self.assertEqual((r.rc, r.out), (1, ""), r)
                    self.assertIn('"%s" is outside the names the club CA may vouch for' % host,
                                  r.err)

    def test_dropping_a_host_it_does_not_name_is_a_usage_error(self):
        r = self.club.hush("cert", "renew", "--drop-host", "nowhere." + CLUB_HOST)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("does not name it", r.err)

    def test_crl_url_comes_from_the_config(self):
        self.assertIn("URI:https://%s:5684/ca.crl" % CLUB_HOST, self.san())  # derived at init
        self.club.set_config("pki", "crl_url", '"https://%s/hush/ca.crl"' % CLUB_HOST)
        self.assertEqual(self.club.hush("cert", "renew").rc, 0)
        self.assertIn("URI:https://%s/hush/ca.crl" % CLUB_HOST, self.san())
        self.club.add_member("bo")
        out = self.ws.sub("bo-certs")
        os.makedirs(out)
        self.assertEqual(self.club.hush("member", "cert", "bo", "--out-dir", out).rc, 0)
        r = run(["openssl", "x509", "-in", os.path.join(out, "bo.pem"), "-noout", "-ext",
                 "crlDistributionPoints"])
        self.assertIn("URI:https://%s/hush/ca.crl" % CLUB_HOST, r.out)

    def test_a_bad_crl_url_is_refused_with_file_and_line(self):
        for bad in ("ftp://x/ca.crl", "https://a/b,URI:https://evil/", "https://a b/", "https:///x"):
            with self.subTest(url=bad):
                self.club.set_config("pki", "crl_url", '"%s"' % bad)
                r = self.club.hush("cert", "renew")
                self.assertNotEqual(r.rc, 0, r)
                self.assertRegex(r.err, r"hush\.toml:\d+: pki\.crl_url must be")


class OldClubTest(unittest.TestCase):
    """A club whose CA has no constraint (made before this change): doctor warns, nothing is
    replaced silently, and the documented move to a new CA works."""

    def test_doctor_warns_and_the_move_to_a_constrained_ca_works(self):
        ws = Workspace()
        try:
            club = Club(ws, hosts=(CLUB_HOST,))
            # Make it an old club: an unconstrained CA, and a server certificate from it.
            control, control_key, control_pem = make_unconstrained_ca(ws)
            with open(club.path("ca.key"), "wb") as f:
                f.write(control_key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
            with open(club.ca_pem, "wb") as f, open(control_pem, "rb") as g:
                f.write(g.read())
            self.assertEqual(club.hush("cert", "renew").rc, 0)
            self.assertEqual(club.hush("ca", "crl").rc, 0)
            r = club.hush("doctor")
            self.assertEqual(r.rc, 0, r)
            self.assertIn("the CA has no name constraints", r.out)
            # The unconstrained CA renews for any host: nothing stops it (the hole).
            self.assertEqual(club.hush("cert", "renew", "--host", FORGED_DNS).rc, 0)

            # The steps of docs/operations.md, "Moving to a new CA".
            new = Club(ws, name="new-ca", hosts=(CLUB_HOST,))
            for name, mode in (("ca.key", 0o600), ("ca.pem", 0o644)):
                with open(new.path(name), "rb") as f:
                    data = f.read()
                with open(club.path(name), "wb") as f:
                    f.write(data)
                os.chmod(club.path(name), mode)
            r = club.hush("cert", "renew", "--drop-host", FORGED_DNS)
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(club.hush("ca", "crl").rc, 0)
            r = club.hush("doctor")
            self.assertEqual(r.rc, 0, r)
            self.assertNotIn("no name constraints", r.out)
            verify = run(["openssl", "verify", "-CAfile", club.ca_pem, club.path("server.pem")])
            self.assertEqual(verify.rc, 0, verify)
        finally:
            ws.cleanup()


if __name__ == "__main__":
    support.main()
