"""hush's offline PKI: member client certificates and PKCS#12, revocation and the CRL, CSR
signing under policy, server certificate renewal, doctor. Real peers check the results: openssl
(req, verify, crl, pkcs12, x509) and Python cryptography.

Run: /usr/bin/python3 tests/integration/test_pki.py   (HUSH_BIN=/path/to/hush optional)
"""

import datetime
import ipaddress
import os
import re
import sqlite3
import stat
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cryptography import x509  # noqa: E402  (Debian's python3-cryptography)
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.serialization import pkcs12  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID  # noqa: E402

import support  # noqa: E402
from support import Club, Workspace, one_hush_line, run  # noqa: E402

CERT_RE = re.compile(r'^Certificate for "(\S+)", serial ([0-9a-f]+), expires \S+: (.+)$')
P12_PASSWORD_RE = re.compile(r"^PKCS#12 password shown once: (\S+)$")
GENERATED_PW_RE = re.compile(r"^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def canonical(serial_text):
    """openssl's serial forms (upper case, even length, ':' separated) as hush records them."""
    return serial_text.replace(":", "").lower().lstrip("0")


def openssl(*args, input=None):
    return run(["openssl"] + [str(a) for a in args], input=input)


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def cert_serial(path):
    return "%x" % load_cert(path).serial_number


class PkiCase(unittest.TestCase):
    """A club with a member, in its own workspace, for each test class."""

    # The club's hosts, which its CA's name constraints permit (and nothing else).
    hosts = ("club.example",)

    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws, hosts=cls.hosts)

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def out(self, name):
        return self.ws.sub(name)

    def verify(self, cert_path, *extra):
        return openssl("verify", "-CAfile", self.club.ca_pem, *extra, cert_path)

    def crl_pem(self):
        path = self.out("crl-%d.pem" % os.getpid())
        r = openssl("crl", "-inform", "DER", "-in", self.club.path("ca.crl"), "-out", path)
        self.assertEqual(r.rc, 0, r)
        return path

    def crl_serials(self):
        r = openssl("crl", "-inform", "DER", "-in", self.club.path("ca.crl"), "-noout", "-text")
        self.assertEqual(r.rc, 0, r)
        return {canonical(s) for s in re.findall(r"Serial Number: ([0-9A-F:]+)", r.out)}


class SignTest(PkiCase):
    # Every name the CSRs below ask for, so that the CA may vouch for them.
    hosts = ("club.example", "web.example", "192.0.2.7", "py.example", "2001:db8::1",
             "rsa.example")
    def openssl_csr(self, name, *args, newkey=("-newkey", "ec", "-pkeyopt",
                                                "ec_paramgen_curve:P-256")):
        csr = self.out(name + ".csr")
        r = openssl("req", "-new", *newkey, "-nodes", "-keyout", self.out(name + ".key"),
                    "-out", csr, *args)
        self.assertEqual(r.rc, 0, r)
        return csr

    def sign(self, csr, *args):
        return self.club.hush("ca", "sign", csr, *args)

    def test_openssl_csr_is_signed_and_verifies_taking_only_names(self):
        csr = self.openssl_csr("web", "-subj", "/CN=web.example/O=Not Copied",
                               "-addext", "subjectAltName=DNS:web.example,IP:192.0.2.7",
                               "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                               "-addext", "extendedKeyUsage=codeSigning,clientAuth")
        cert = self.out("web.pem")
        r = self.sign(csr, "--out", cert, "--days", "90")
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.out, r"^Signed .*web\.pem: serial [0-9a-f]+, hosts "
                                r"web\.example,192\.0\.2\.7, expires ")
        v = self.verify(cert, "-purpose", "sslserver")
        self.assertEqual(v.rc, 0, v)
        self.assertIn("OK", v.out)
        text = openssl("x509", "-in", cert, "-noout", "-text").out
        self.assertIn("CA:FALSE", text)
        self.assertIn("TLS Web Server Authentication", text)
        self.assertIn("DNS:web.example, IP Address:192.0.2.7", text)
        self.assertIn("URI:https://club.example:5684/ca.crl", text)
        for asked in ("Code Signing", "TLS Web Client Authentication", "Certificate Sign",
                      "CRL Sign", "Not Copied"):
            self.assertNotIn(asked, text)
        # The key is the CSR's.
        cert_key = openssl("x509", "-in", cert, "-noout", "-pubkey").out
        csr_key = openssl("req", "-in", csr, "-noout", "-pubkey").out
        self.assertEqual(cert_key, csr_key)

    def test_python_cryptography_csr_is_signed_and_verifies(self):
        key = ec.generate_private_key(ec.SECP384R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "py.example")]))
               .add_extension(x509.SubjectAlternativeName([
                   x509.DNSName("py.example"), x509.DNSName("www.py.example"),
                   x509.IPAddress(ipaddress.ip_address("2001:db8::1"))]), critical=False)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .sign(key, hashes.SHA256()))
        path = self.out("py.csr")
        with open(path, "wb") as f:
            f.write(csr.public_bytes(serialization.Encoding.PEM))
        r = self.sign(path)  # to stdout
        self.assertEqual(r.rc, 0, r)
        cert = x509.load_pem_x509_certificate(r.out_bytes)
        cert_path = self.out("py.pem")
        with open(cert_path, "wb") as f:
            f.write(r.out_bytes)
        v = self.verify(cert_path)
        self.assertEqual(v.rc, 0, v)
        self.assertFalse(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
        self.assertEqual(list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value),
                         [ExtendedKeyUsageOID.SERVER_AUTH])
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.assertEqual(san.get_values_for_type(x509.DNSName), ["py.example", "www.py.example"])
        self.assertEqual(san.get_values_for_type(x509.IPAddress),
                         [ipaddress.ip_address("2001:db8::1")])
        self.assertEqual({e.oid for e in cert.extensions}, {
            ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE,
            ExtensionOID.EXTENDED_KEY_USAGE, ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
            ExtensionOID.SUBJECT_KEY_IDENTIFIER, ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
            ExtensionOID.CRL_DISTRIBUTION_POINTS})
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        self.assertTrue(ku.digital_signature)
        self.assertFalse(ku.key_cert_sign)
        self.assertFalse(ku.key_encipherment)  # an EC key cannot encipher
        validity = cert.not_valid_after - cert.not_valid_before
        self.assertLessEqual(validity, datetime.timedelta(days=397))

    def test_ca_true_csr_is_refused_and_nothing_written(self):
        csr = self.openssl_csr("sub", "-subj", "/CN=sub.example",
                               "-addext", "basicConstraints=critical,CA:TRUE",
                               "-addext", "subjectAltName=DNS:sub.example")
        out = self.out("sub.pem")
        line = one_hush_line(self, self.sign(csr, "--out", out))
        self.assertIn("leaf certificates only", line)
        self.assertFalse(os.path.exists(out))
        r = self.sign(csr)
        one_hush_line(self, r)
        self.assertEqual(r.out, "")

    def test_rsa_1024_is_refused(self):
        csr = self.openssl_csr("small", "-subj", "/CN=small.example",
                               newkey=("-newkey", "rsa:1024"))
        out = self.out("small.pem")
        line = one_hush_line(self, self.sign(csr, "--out", out))
        self.assertIn("1024 bits", line)
        self.assertFalse(os.path.exists(out))

    def test_rsa_2048_is_signed_with_key_encipherment(self):
        csr = self.openssl_csr("rsa", "-subj", "/CN=rsa.example", newkey=("-newkey", "rsa:2048"))
        out = self.out("rsa.pem")
        r = self.sign(csr, "--out", out)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.verify(out).rc, 0)
        text = openssl("x509", "-in", out, "-noout", "-text").out
        self.assertIn("Digital Signature, Key Encipherment", text)
        self.assertIn("DNS:rsa.example", text)  # the CN became the one name

    def test_over_long_validity_is_refused(self):
        csr = self.openssl_csr("long", "-subj", "/CN=long.example")
        out = self.out("long.pem")
        line = one_hush_line(self, self.sign(csr, "--days", "398", "--out", out))
        self.assertIn("397", line)
        self.assertFalse(os.path.exists(out))

    def test_csr_without_a_host_is_refused(self):
        csr = self.openssl_csr("person", "-subj", "/CN=Alice Smith")
        one_hush_line(self, self.sign(csr))

    def test_garbage_is_refused(self):
        path = self.out("garbage.csr")
        with open(path, "w") as f:
            f.write("not a CSR\n")
        one_hush_line(self, self.sign(path))


class MemberCertTest(PkiCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.club.add_member("alice")
        cls.club.add_member("bob")
        cls.club.add_member("carol")

    issued = 0

    def issue(self, name, *args):
        """Issues NAME a certificate into a fresh directory: (out_dir, serial, p12 password)."""
        MemberCertTest.issued += 1
        out_dir = self.out("certs-%d" % MemberCertTest.issued)
        os.makedirs(out_dir)
        r = self.club.hush("member", "cert", name, "--out-dir", out_dir, *args)
        self.assertEqual(r.rc, 0, r)
        lines = r.out.splitlines()
        self.assertEqual(len(lines), 2, r)
        m = CERT_RE.match(lines[0])
        self.assertTrue(m, r)
        p = P12_PASSWORD_RE.match(lines[1])
        self.assertTrue(p, r)
        return out_dir, m.group(2), p.group(1)

    def test_files_modes_and_certificate(self):
        out_dir, serial, password = self.issue("alice", "--days", "30")
        self.assertRegex(password, GENERATED_PW_RE)
        key, pem, p12 = (os.path.join(out_dir, "alice" + ext) for ext in (".key", ".pem", ".p12"))
        self.assertEqual(mode(key), 0o600)
        self.assertEqual(mode(p12), 0o600)
        self.assertEqual(mode(pem) & 0o077, 0o044)
        self.assertEqual(cert_serial(pem), serial)
        cert = load_cert(pem)
        self.assertEqual(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value, "alice")
        self.assertEqual(list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value),
                         [ExtendedKeyUsageOID.CLIENT_AUTH])
        self.assertFalse(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
        self.assertIsInstance(cert.public_key(), ec.EllipticCurvePublicKey)
        self.assertEqual(cert.public_key().curve.name, "secp256r1")
        self.assertGreaterEqual(cert.serial_number.bit_length(), 64)
        v = self.verify(pem, "-purpose", "sslclient")
        self.assertEqual(v.rc, 0, v)
        # The key file is the certificate's key.
        self.assertEqual(openssl("pkey", "-in", key, "-pubout").out,
                         openssl("x509", "-in", pem, "-noout", "-pubkey").out)
        # Never over an existing file.
        r = self.club.hush("member", "cert", "alice", "--out-dir", out_dir)
        self.assertIn("already exists", one_hush_line(self, r))

    def test_pkcs12_is_pbes2_aes_and_loads_in_python(self):
        out_dir, serial, password = self.issue("carol")
        p12 = os.path.join(out_dir, "carol.p12")
        r = openssl("pkcs12", "-info", "-nodes", "-in", p12, "-passin", "pass:" + password)
        self.assertEqual(r.rc, 0, r)
        info = r.err + r.out
        self.assertIn("MAC: sha256", info)
        self.assertEqual(info.count("PBES2, PBKDF2, AES-256-CBC"), 2, info)
        for weak in ("RC2", "3DES", "DES-EDE", "pbeWithSHA1"):
            self.assertNotIn(weak, info)
        self.assertNotEqual(openssl("pkcs12", "-info", "-noout", "-in", p12,
                                    "-passin", "pass:wrong").rc, 0)
        with open(p12, "rb") as f:
            key, cert, extra = pkcs12.load_key_and_certificates(f.read(), password.encode())
        self.assertEqual("%x" % cert.serial_number, serial)
        self.assertEqual(key.public_key().public_numbers(), cert.public_key().public_numbers())
        self.assertEqual([c.subject for c in extra], [load_cert(self.club.ca_pem).subject])

    def test_revoke_lists_the_serial_and_verify_fails(self):
        bad_dir, bad, _ = self.issue("bob")
        good_dir, good, _ = self.issue("alice", "--days", "10")
        bad_pem = os.path.join(bad_dir, "bob.pem")
        good_pem = os.path.join(good_dir, "alice.pem")
        r = self.club.hush("member", "cert", "--revoke", bad.upper())
        self.assertEqual(r.rc, 0, r)
        self.assertIn(bad, self.crl_serials())
        self.assertNotIn(good, self.crl_serials())
        crl = self.crl_pem()
        v = self.verify(bad_pem, "-crl_check", "-CRLfile", crl)
        self.assertNotEqual(v.rc, 0, v)
        self.assertIn("revoked", v.out + v.err)
        v = self.verify(good_pem, "-crl_check", "-CRLfile", crl)
        self.assertEqual(v.rc, 0, v)
        # Unknown and malformed serials.
        self.assertIn("not found", one_hush_line(self, self.club.hush("member", "cert",
                                                                      "--revoke", "abcdef")))
        one_hush_line(self, self.club.hush("member", "cert", "--revoke", "xyz"))

    def test_member_remove_revokes_all_of_theirs(self):
        self.club.add_member("leaver")
        _, one, _ = self.issue("leaver")
        _, two, _ = self.issue("leaver")
        self.assertFalse({one, two} & self.crl_serials())
        r = self.club.hush("member", "remove", "leaver")
        self.assertEqual(r.rc, 0, r)
        self.assertTrue({one, two} <= self.crl_serials())
        # Gone: no new certificate for them.
        self.assertIn("not found", one_hush_line(
            self, self.club.hush("member", "cert", "leaver", "--out-dir", self.ws.path)))

    def test_refusals(self):
        one_hush_line(self, self.club.hush("member", "cert", "nobody", "--out-dir", self.ws.path))
        one_hush_line(self, self.club.hush("member", "cert", "alice", "--days", "826",
                                           "--out-dir", self.ws.path))
        one_hush_line(self, self.club.hush("member", "cert", "alice", "--out-dir",
                                           self.out("no-such-dir")))
        self.assertNotEqual(self.club.hush("member", "cert").rc, 0)

    def test_ca_crl_rewrites(self):
        r = self.club.hush("ca", "crl", "--days", "7")
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.out, r"^Wrote .*ca\.crl: \d+ revoked certificate\(s\), next update ")
        self.assertEqual(mode(self.club.path("ca.crl")), 0o644)
        r = openssl("crl", "-inform", "DER", "-in", self.club.path("ca.crl"), "-noout",
                    "-CAfile", self.club.ca_pem)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("verify OK", r.out + r.err)
        one_hush_line(self, self.club.hush("ca", "crl", "--days", "0"))


class RenewAndDoctorTest(PkiCase):
    def test_renew_changes_serial_and_key_keeps_hosts(self):
        before_pem = load_cert(self.club.path("server.pem"))
        with open(self.club.path("server.key"), "rb") as f:
            before_key = f.read()
        r = self.club.hush("cert", "renew")
        self.assertEqual(r.rc, 0, r)
        after_pem = load_cert(self.club.path("server.pem"))
        with open(self.club.path("server.key"), "rb") as f:
            after_key = f.read()
        self.assertNotEqual(before_pem.serial_number, after_pem.serial_number)
        self.assertNotEqual(before_key, after_key)
        san = lambda c: c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.assertEqual(list(san(before_pem)), list(san(after_pem)))
        self.assertEqual(mode(self.club.path("server.key")), 0o600)
        self.assertEqual(self.verify(self.club.path("server.pem"), "-purpose", "sslserver").rc, 0)
        self.assertEqual([n for n in os.listdir(self.club.dir) if n.startswith(".")], [])
        # The renewed pair serves: openssl s_server with it, s_client verifying against the CA.
        with support.OpenSSLServer(self.club, ["-www"]) as server:
            _, info = support.s_client(server.port, self.club.ca_pem,
                                       ["-servername", "localhost", "-verify_hostname",
                                        "localhost"])
            self.assertTrue(support.handshake_ok(info), info)

    def test_doctor(self):
        r = self.club.hush("doctor")
        self.assertEqual(r.rc, 0, r)
        for line in r.out.splitlines():
            self.assertRegex(line, r"^(ok|warn|FAIL): ")
        self.assertNotIn("FAIL", r.out)
        self.assertNotIn("warn", r.out)

        r = self.club.hush("cert", "renew", "--days", "10")
        self.assertEqual(r.rc, 0, r)
        r = self.club.hush("doctor")
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.out, r"(?m)^warn: server certificate expires at \S+, in \d days$")

        os.chmod(self.club.path("server.key"), 0o644)
        try:
            r = self.club.hush("doctor")
            self.assertEqual(r.rc, 1, r)
            self.assertRegex(r.out, r"(?m)^FAIL: .*server\.key: permissions 0644")
            # Every check still ran.
            self.assertIn("ok: server.pem chains to ca.pem", r.out)
            one_hush_line(self, r)
        finally:
            os.chmod(self.club.path("server.key"), 0o600)
            self.assertEqual(self.club.hush("cert", "renew").rc, 0)


SIGNED_RE = re.compile(r"^Signed \S+: serial ([0-9a-f]+), hosts ")


class ServerRevocationTest(PkiCase):
    """Every certificate the CA issues is recorded and can be revoked: the server's own (hush
    init, hush cert renew) and signed CSRs, not only members'; the CRL lists them all and its
    number only grows."""

    def crl_number(self):
        r = openssl("crl", "-inform", "DER", "-in", self.club.path("ca.crl"), "-noout",
                    "-crlnumber", "-lastupdate")
        self.assertEqual(r.rc, 0, r)
        number = re.search(r"crlNumber=(?:0x)?([0-9A-Fa-f]+)", r.out)
        last = re.search(r"lastUpdate=(.+)", r.out)
        self.assertTrue(number and last, r.out)
        return int(number.group(1), 16), last.group(1).strip()

    def snapshot(self, name):
        """A copy of server.pem as it is now, to check after it is replaced."""
        path = self.out(name)
        with open(self.club.path("server.pem"), "rb") as src, open(path, "wb") as dst:
            dst.write(src.read())
        return path

    def test_1_init_server_certificate_can_be_revoked_and_renew_replaces_it(self):
        serial = cert_serial(self.club.path("server.pem"))
        old = self.snapshot("init-server.pem")
        # The old command, now for any serial the CA recorded.
        r = self.club.hush("member", "cert", "--revoke", serial)
        self.assertEqual(r.rc, 0, r)
        self.assertIn(serial, self.crl_serials())
        v = self.verify(old, "-crl_check", "-CRLfile", self.crl_pem())
        self.assertNotEqual(v.rc, 0, v)
        self.assertIn("revoked", v.out + v.err)
        r = self.club.hush("ca", "list")
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.out, r"(?m)^%s\tserver\tlocalhost,127\.0\.0\.1,::1,club\.example\t"
                                r"\S+\trevoked \S+$" % serial)
        # doctor says so, and what to do.
        r = self.club.hush("doctor")
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.out, r"(?m)^FAIL: .*server\.pem: serial %s is revoked \(run hush cert "
                                r"renew\)$" % serial)
        r = self.club.hush("cert", "renew")
        self.assertEqual(r.rc, 0, r)
        v = self.verify(self.club.path("server.pem"), "-crl_check", "-CRLfile", self.crl_pem())
        self.assertEqual(v.rc, 0, v)
        self.assertEqual(self.club.hush("doctor").rc, 0)

    def test_2_renew_revokes_the_old_serial(self):
        old_serial = cert_serial(self.club.path("server.pem"))
        old = self.snapshot("before-renew.pem")
        self.assertNotIn(old_serial, self.crl_serials())
        r = self.club.hush("cert", "renew")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("the old serial %s is revoked" % old_serial, r.out)
        new_serial = cert_serial(self.club.path("server.pem"))
        serials = self.crl_serials()
        self.assertIn(old_serial, serials)
        self.assertNotIn(new_serial, serials)
        crl = self.crl_pem()
        v = self.verify(old, "-crl_check", "-CRLfile", crl)
        self.assertNotEqual(v.rc, 0, v)
        self.assertIn("revoked", v.out + v.err)
        v = self.verify(self.club.path("server.pem"), "-crl_check", "-CRLfile", crl)
        self.assertEqual(v.rc, 0, v)
        # The renewed certificate is recorded, and valid.
        r = self.club.hush("ca", "list")
        self.assertRegex(r.out, r"(?m)^%s\tserver\t\S+\t\S+\tvalid$" % new_serial)

    def test_2b_renew_revokes_a_server_certificate_an_older_club_never_recorded(self):
        # A club made before certificates were recorded: its server.pem has no row.
        old_serial = cert_serial(self.club.path("server.pem"))
        db = sqlite3.connect(self.club.path("hush.db"))
        try:
            with db:
                db.execute("DELETE FROM server_certs WHERE serial = ?", (old_serial,))
        finally:
            db.close()
        self.assertNotIn(old_serial, self.club.hush("ca", "list").out)
        r = self.club.hush("cert", "renew")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(old_serial, self.crl_serials())
        self.assertRegex(self.club.hush("ca", "list").out,
                         r"(?m)^%s\tserver\t\S+\t\S+\trevoked \S+$" % old_serial)

    def test_3_signed_csr_is_recorded_and_revocable(self):
        csr = self.out("web.csr")
        r = openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", self.out("web.key"), "-out", csr,
                    "-subj", "/CN=web.club.example",
                    "-addext", "subjectAltName=DNS:web.club.example")
        self.assertEqual(r.rc, 0, r)
        cert = self.out("web.pem")
        r = self.club.hush("ca", "sign", csr, "--out", cert)
        self.assertEqual(r.rc, 0, r)
        serial = SIGNED_RE.match(r.out).group(1)
        self.assertEqual(serial, cert_serial(cert))
        self.assertRegex(self.club.hush("ca", "list").out,
                         r"(?m)^%s\tcsr\tweb\.club\.example\t\S+\tvalid$" % serial)
        r = self.club.hush("ca", "revoke", serial.upper())
        self.assertEqual(r.rc, 0, r)
        self.assertIn(serial, self.crl_serials())
        v = self.verify(cert, "-crl_check", "-CRLfile", self.crl_pem())
        self.assertNotEqual(v.rc, 0, v)
        self.assertIn("revoked", v.out + v.err)
        self.assertIn("not found", one_hush_line(self, self.club.hush("ca", "revoke", "abcdef")))
        one_hush_line(self, self.club.hush("ca", "revoke", "xyz"))

    def test_4_crl_numbers_only_grow_within_one_second(self):
        # Two lists written in the same second (tried a few times, so that a second boundary in
        # between cannot make this pass or fail by luck) must still have increasing numbers.
        same_second = False
        for _ in range(5):
            self.assertEqual(self.club.hush("ca", "crl").rc, 0)
            first, first_at = self.crl_number()
            self.assertEqual(self.club.hush("ca", "crl").rc, 0)
            second, second_at = self.crl_number()
            self.assertGreater(second, first)
            if first_at == second_at:
                same_second = True
                break
        self.assertTrue(same_second, "no two lists in the same second in five tries")
        # A revocation's list comes after them too.
        self.club.add_member("numbered")
        out_dir = self.out("numbered")
        os.makedirs(out_dir)
        r = self.club.hush("member", "cert", "numbered", "--out-dir", out_dir)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.club.hush("member", "remove", "numbered").rc, 0)
        self.assertGreater(self.crl_number()[0], second)


class KeyFileTest(PkiCase):
    """A key file is read only as itself: one replaced by a symbolic link, even to a private
    copy, makes serve and doctor refuse, naming the file."""

    def test_a_key_replaced_by_a_symlink_is_refused(self):
        for name in ("server.key", "master.key", "ca.key"):
            with self.subTest(key=name):
                path = self.club.path(name)
                copy = self.out("copy-" + name)
                os.rename(path, copy)
                self.assertEqual(mode(copy), 0o600)
                os.symlink(copy, path)
                try:
                    r = self.club.hush("doctor")
                    self.assertEqual(r.rc, 1, r)
                    self.assertRegex(r.out, r"(?m)^FAIL: .*/%s: is a symbolic link" % re.escape(name))
                    started, r = support.try_serve(self.club)
                    self.assertFalse(started, r)
                    line = one_hush_line(self, r)
                    self.assertIn(name, line)
                    self.assertIn("symbolic link", line)
                finally:
                    os.unlink(path)
                    os.rename(copy, path)
                self.assertEqual(self.club.hush("doctor").rc, 0)


if __name__ == "__main__":
    support.main()
