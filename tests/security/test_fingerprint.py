"""Fingerprinting: nothing on the wire names the software or a version.

- `nmap -sV` names no product, no version, no extra info and no CPE for hush's port.
- No response header (except the contractual `WWW-Authenticate: Basic realm="hush"`), status
  line or error body (401, 404, 405, 400, 413, 431) contains "hush" or a version.
- The certificates (ca.pem, server.pem and the one actually served) contain no "hush" and no
  version in subject or issuer.
Controls: nmap identifies the plain server as Werkzeug 2.0 / Python 3.11; the same header check
flags its `Server` banner; the same certificate check flags a certificate named after hush.

Run: /usr/bin/python3 tests/security/test_fingerprint.py   (HUSH_BIN=/path/to/hush optional)
"""

import os
import re
import socket
import ssl
import sys
import unittest
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import secsupport as sec  # noqa: E402
from secsupport import BRAND_RE, VERSION_RE, basic  # noqa: E402

NMAP_HOST_TIMEOUT = 120  # nmap gives up on the host after this
NMAP_TIMEOUT = NMAP_HOST_TIMEOUT + 30  # and we give up on nmap after this


def nmap_service(port):
    """Runs nmap -sV on 127.0.0.1:PORT; returns (port state, <service> attributes, cpes)."""
    r = sec.run([sec.require_tool("nmap"), "-sV", "--version-intensity", "2", "-Pn", "-n",
                 "-p", str(port), "--host-timeout", "%ds" % NMAP_HOST_TIMEOUT, "-oX", "-",
                 "127.0.0.1"], timeout=NMAP_TIMEOUT)
    if r.rc != 0:
        raise AssertionError("nmap failed: %r" % r)
    root = ET.fromstring(r.out)
    el = root.find(".//port[@portid='%d']" % port)
    if el is None:
        raise AssertionError("nmap did not report port %d (host timeout?): %s" % (port, r.out))
    state = el.find("state").get("state")
    service = el.find("service")
    attrs = dict(service.attrib) if service is not None else {}
    cpes = [c.text for c in service.findall("cpe")] if service is not None else []
    return state, attrs, cpes


def nmap_findings(attrs, cpes):
    """What nmap learnt about the software: empty when it learnt nothing."""
    found = []
    for key in ("product", "version", "extrainfo", "ostype", "devicetype", "hostname"):
        if attrs.get(key):
            found.append("%s=%r" % (key, attrs[key]))
    if cpes:
        found.append("cpe=%r" % cpes)
    for key, value in attrs.items():
        if key == "servicefp":
            # The raw responses nmap stored; the contractual realm is the one allowed "hush".
            value = re.sub(r'realm=\\?"hush\\?"', "", value)
        if BRAND_RE.search(value):
            found.append("%s mentions hush" % key)
    return found


def parse_head(raw):
    """(status line, [(name, value)], body) of the first response in RAW."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers, body


def banner_findings(status_line, headers, body, check_body=True):
    """Everything in a response that names the software or a version."""
    found = []
    reason = status_line.split(" ", 2)[2] if status_line.count(" ") >= 2 else ""
    if BRAND_RE.search(reason) or VERSION_RE.search(reason):
        found.append("status line: %s" % status_line)
    for name, value in headers:
        if name.lower() == "www-authenticate":
            if not sec.ALLOWED_WWW_AUTHENTICATE.match(value):
                found.append("header %s: %s" % (name, value))
            continue
        if BRAND_RE.search(name) or BRAND_RE.search(value) or VERSION_RE.search(value):
            found.append("header %s: %s" % (name, value))
    if check_body:
        text = body.decode("utf-8", errors="replace")
        if BRAND_RE.search(text) or VERSION_RE.search(text):
            found.append("body: %r" % body[:200])
    return found


def cert_findings(pem_path):
    """Names of the software in a certificate, or versions in its subject or issuer."""
    found = []
    text = sec.run(["openssl", "x509", "-in", pem_path, "-noout", "-text"])
    if text.rc != 0:
        raise AssertionError("openssl x509 failed: %r" % text)
    if BRAND_RE.search(text.out):
        found.append("certificate text mentions hush: %s" % pem_path)
    names = sec.run(["openssl", "x509", "-in", pem_path, "-noout", "-subject", "-issuer",
                     "-nameopt", "RFC2253"])
    for line in names.out.splitlines():
        if BRAND_RE.search(line) or VERSION_RE.search(line):
            found.append(line)
    return found


class FingerprintTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.ws = sec.Workspace(prefix="hush-sec-")
        cls.addClassCleanup(cls.ws.cleanup)
        cls.club = sec.make_club(cls.ws)
        cls.server = sec.start_hush(cls.club)
        cls.addClassCleanup(cls.server.stop)
        cls.target = sec.Target("127.0.0.1", cls.server.port, cls.club.ca_pem)

    def auth(self):
        return "Authorization: %s\r\n" % basic("alice", self.club.passwords["alice"])

    def request(self, head, body=b""):
        raw, _closed = self.target.exchange(head.encode("latin-1") + body, timeout=5)
        self.assertTrue(raw, "no response to %r" % head[:80])
        return parse_head(raw)

    # -- nmap ------------------------------------------------------------------------------------

    def test_nmap_names_no_product_or_version(self):
        state, attrs, cpes = nmap_service(self.server.port)
        self.assertEqual(state, "open")
        self.assertEqual(nmap_findings(attrs, cpes), [], attrs.get("name"))

    def test_control_nmap_identifies_the_plain_server(self):
        with sec.PlainServer("--secret", "x") as plain:
            state, attrs, cpes = nmap_service(plain.port)
        self.assertEqual(state, "open")
        found = nmap_findings(attrs, cpes)
        self.assertTrue(any(f.startswith("product=") for f in found), (attrs, cpes))
        self.assertTrue(any(f.startswith("version=") for f in found), (attrs, cpes))

    # -- headers and error bodies ----------------------------------------------------------------

    def test_no_banner_in_any_response(self):
        host = "Host: 127.0.0.1\r\n"
        close = "Connection: close\r\n"
        cases = [
            (401, "GET / HTTP/1.1\r\n" + host + close + "\r\n"),
            (401, "GET / HTTP/1.1\r\n" + host + close + "Authorization: %s\r\n\r\n"
             % basic("alice", "not-the-password")),
            (401, "GET / HTTP/1.1\r\n" + host + close + "Authorization: %s\r\n\r\n"
             % basic("nobody", "whatever")),
            (404, "GET /nothing/here HTTP/1.1\r\n" + host + close + self.auth() + "\r\n"),
            (405, "DELETE / HTTP/1.1\r\n" + host + close + self.auth() + "\r\n"),
            (400, "GARBAGE\r\n\r\n"),
            (400, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n"),
            (413, "POST /api/v1/messages HTTP/1.1\r\n" + host + close + self.auth()
             + "Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"),
            (431, "GET / HTTP/1.1\r\n" + host + close + self.auth()
             + "X-Pad: " + "a" * 20000 + "\r\n\r\n"),
        ]
        for expected, head in cases:
            with self.subTest(status=expected, request=head[:60]):
                status_line, headers, body = self.request(head)
                self.assertRegex(status_line, r"^HTTP/1\.[01] %d " % expected)
                self.assertEqual(banner_findings(status_line, headers, body), [])
        # The member's own read: headers only (the body is the member's message).
        status_line, headers, _body = self.request(
            "GET / HTTP/1.1\r\n" + host + close + self.auth() + "\r\n")
        self.assertRegex(status_line, r"^HTTP/1\.[01] 200 ")
        self.assertEqual(banner_findings(status_line, headers, b"", check_body=False), [])

    def test_www_authenticate_is_the_one_allowed_mention(self):
        status_line, headers, _ = self.request("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                               "Connection: close\r\n\r\n")
        values = [v for n, v in headers if n.lower() == "www-authenticate"]
        self.assertEqual(len(values), 1, headers)
        self.assertRegex(values[0], sec.ALLOWED_WWW_AUTHENTICATE)

    def test_control_plain_server_banner_is_flagged(self):
        with sec.PlainServer("--secret", "x", "--member", "alice:pw") as plain:
            target = sec.Target("127.0.0.1", plain.port)
            found = []
            for head in ("GET / HTTP/1.0\r\n\r\n", "BREW / HTTP/1.0\r\n\r\n", "GARBAGE\r\n\r\n"):
                raw, _ = target.exchange(head.encode(), timeout=5)
                found += banner_findings(*parse_head(raw))
        self.assertTrue(any("Werkzeug/2.0 Python/3.11" in f for f in found), found)

    # -- certificates ----------------------------------------------------------------------------

    def test_certificates_do_not_name_the_software(self):
        served = os.path.join(self.ws.path, "served.pem")
        ctx = ssl.create_default_context(cafile=self.club.ca_pem)
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1") as tls:
                der = tls.getpeercert(binary_form=True)
        with open(served, "w") as f:
            f.write(ssl.DER_cert_to_PEM_cert(der))
        for pem in (self.club.ca_pem, self.club.path("server.pem"), served):
            with self.subTest(pem=os.path.basename(pem)):
                self.assertEqual(cert_findings(pem), [])

    def test_control_certificate_named_after_the_software_is_flagged(self):
        key = os.path.join(self.ws.path, "control.key")
        pem = os.path.join(self.ws.path, "control.pem")
        r = sec.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-keyout", key,
                     "-out", pem, "-subj", "/O=hush/CN=hush server 1.2.3"])
        self.assertEqual(r.rc, 0, r)
        found = cert_findings(pem)
        self.assertTrue(any("text mentions hush" in f for f in found), found)
        self.assertTrue(any("1.2.3" in f for f in found), found)


class RequiredClientCertsTest(unittest.TestCase):
    """With `server.client_certs = "required"`, a stranger (and nmap) gets a TLS alert and
    nothing else: no HTTP status, no header, no page. Control: a member's certificate is served."""

    @classmethod
    def setUpClass(cls):
        cls.ws = sec.Workspace(prefix="hush-sec-")
        cls.addClassCleanup(cls.ws.cleanup)
        cls.club = sec.make_club(cls.ws, config={("server", "client_certs"): '"required"'})
        out_dir = cls.ws.sub("certs")
        os.makedirs(out_dir)
        r = cls.club.hush("member", "cert", "alice", "--out-dir", out_dir)
        if r.rc != 0:
            raise AssertionError("member cert failed: %r" % r)
        cls.cert = (os.path.join(out_dir, "alice.pem"), os.path.join(out_dir, "alice.key"))
        cls.server = sec.start_hush(cls.club)
        cls.addClassCleanup(cls.server.stop)

    def exchange(self, cert=None):
        ctx = ssl.create_default_context(cafile=self.club.ca_pem)
        if cert:
            ctx.load_cert_chain(*cert)
        request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
        data = b""
        try:
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    tls.sendall(request)
                    while True:
                        chunk = tls.recv(65536)
                        if not chunk:
                            break
                        data += chunk
        except (ssl.SSLError, ConnectionError) as e:
            return data, e
        return data, None

    def test_a_stranger_gets_only_a_tls_alert(self):
        data, error = self.exchange()
        self.assertEqual(data, b"")
        self.assertIsInstance(error, ssl.SSLError)
        self.assertIn("CERTIFICATE_REQUIRED", str(error).upper())

    def test_control_a_member_with_a_certificate_is_served(self):
        data, error = self.exchange(self.cert)
        self.assertIsNone(error)
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])

    def test_nmap_learns_nothing(self):
        state, attrs, cpes = nmap_service(self.server.port)
        self.assertEqual(state, "open")
        self.assertEqual(nmap_findings(attrs, cpes), [], attrs)
        self.assertNotIn("http", attrs.get("name", ""))


if __name__ == "__main__":
    sec.main()
