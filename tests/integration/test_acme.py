"""hush and an ACME CA: Pebble (Debian's `pebble`, RFC 8555's test server) on loopback.

- tls-alpn-01: Pebble validates on the HTTPS port itself (acme-tls/1, RFC 8737), with nothing
  listening on its HTTP-01 port; once validated, the challenge certificate is no longer served.
- The directory is down when hush starts: hush serves with the club's own certificate, retries
  with backoff, and gets a certificate for `localhost` over HTTP-01 (answered on the
  server.redirect_http port) once Pebble is up; the live reload swaps it in.
- The served chain verifies against Pebble's root, fetched from Pebble's management API, with
  curl and Python requests; a member reads the secret through it.
- Pebble issues 24-second certificates here: hush renews at two thirds of the lifetime, and a
  keep-alive connection opened before the renewal still works after it (no connection dropped).
- The account key, the certificate's key and their directory are private (0600, 0700).
- A restart with a valid certificate on disk serves it at once and orders nothing.
- A CA that accepts the connection and never answers does not hold up SIGTERM.
- `hush doctor` warns while there is no ACME certificate yet, then accepts the chain and
  reports its expiry.
- Pebble rejects 5% of nonces at random (its default): the client's badNonce retry is exercised.

Run: /usr/bin/python3 tests/integration/test_acme.py   (HUSH_BIN=/path/to/hush optional)
"""

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import Club, Server, Workspace, curl, run  # noqa: E402

SECRET = "issued by a public CA, read by a member"
LIFETIME_S = 24
ISSUED_RE = re.compile(r"info acme: a certificate for localhost")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served_certificate(port, host="localhost"):
    """The DER of the leaf certificate the server at PORT presents for HOST (not verified)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.getpeercert(binary_form=True)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))


class Pebble:
    """Pebble on loopback, with a TLS certificate for its own listeners from a CA made here."""

    def __init__(self, ws, http_port, tls_port):
        if shutil.which("pebble") is None:
            raise AssertionError("pebble is not installed (Debian package pebble; "
                                 "scripts/install-deps installs it)")
        self.dir = ws.sub("pebble")
        os.makedirs(self.dir)
        self.minica = os.path.join(self.dir, "minica.pem")
        key = os.path.join(self.dir, "minica.key")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", key, "-out", self.minica, "-days", "2",
                      "-subj", "/CN=pebble test minica",
                      "-addext", "basicConstraints=critical,CA:TRUE")
        cert, cert_key = os.path.join(self.dir, "wfe.pem"), os.path.join(self.dir, "wfe.key")
        csr = os.path.join(self.dir, "wfe.csr")
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-keyout", cert_key, "-out", csr, "-subj", "/CN=localhost")
        ext = os.path.join(self.dir, "ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        self._openssl("x509", "-req", "-in", csr, "-CA", self.minica, "-CAkey", key,
                      "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
        self.port, self.management_port = free_port(), free_port()
        self.config = os.path.join(self.dir, "pebble.json")
        with open(self.config, "w") as f:
            json.dump({"pebble": {
                "listenAddress": "127.0.0.1:%d" % self.port,
                "managementListenAddress": "127.0.0.1:%d" % self.management_port,
                "certificate": cert, "privateKey": cert_key,
                "httpPort": http_port, "tlsPort": tls_port,
                "ocspResponderURL": "", "externalAccountBindingRequired": False,
                "certificateValidityPeriod": LIFETIME_S}}, f)
        self.proc = None
        self.log_path = os.path.join(self.dir, "pebble.log")

    def _openssl(self, *args):
        r = run(["openssl"] + list(args))
        if r.rc != 0:
            raise AssertionError(r)

    @property
    def directory(self):
        return "https://127.0.0.1:%d/dir" % self.port

    def start(self):
        env = support.clean_env({"PEBBLE_VA_NOSLEEP": "1"})
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["pebble", "-config", self.config], stdout=self.log_file,
                                     stderr=subprocess.STDOUT, env=env, cwd=self.dir)
        wait_for(lambda: curl(["--cacert", self.minica, self.directory]).rc == 0, 20,
                 "Pebble's directory")

    def root(self):
        """Pebble's issuing root, from its management API (it is made anew at each start)."""
        r = curl(["--cacert", self.minica,
                  "https://127.0.0.1:%d/roots/0" % self.management_port])
        if r.rc != 0 or "BEGIN CERTIFICATE" not in r.out:
            raise AssertionError(r)
        path = os.path.join(self.dir, "root.pem")
        with open(path, "w") as f:
            f.write(r.out)
        return path

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        support.stop_process(self.proc)
        if self.proc is not None:
            self.log_file.close()


class AcmeTest(unittest.TestCase):

    def test_certificate_from_pebble_over_http01_renewed_and_reloaded(self):
        ws = Workspace()
        self.addCleanup(ws.cleanup)
        club = Club(ws)
        password = club.add_member("alice", password="alice's long passphrase")
        club.post(SECRET)
        https_port, http_port = free_port(), free_port()
        pebble = Pebble(ws, http_port, https_port)
        self.addCleanup(pebble.stop)
        club.set_config("server", "redirect_http", '"127.0.0.1:%d"' % http_port)
        club.set_config("acme", "enabled", "true")
        club.set_config("acme", "directory", '"%s"' % pebble.directory)
        club.set_config("acme", "hosts", '["localhost"]')
        club.set_config("acme", "email", '"admin@club.example"')
        club.set_config("acme", "ca_bundle", '"%s"' % pebble.minica)

        # The directory is down: the club's own certificate is served, and hush keeps trying.
        server = Server(club, listen="127.0.0.1:%d" % https_port, announcements=1).start()
        self.addCleanup(server.stop)
        r = curl(["--cacert", club.ca_pem, "-u", "alice:" + password,
                  "https://localhost:%d/" % https_port])
        self.assertEqual((r.rc, r.out), (0, SECRET), r)
        wait_for(lambda: "acme: GET %s: Connection refused; trying again in" % pebble.directory
                 in server.log(), 10, "a failed attempt in the log")
        own = served_certificate(https_port)
        r = club.hush("doctor")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("warn: %s: no ACME certificate yet" % os.path.join(club.dir, "acme",
                                                                       "server.pem"), r.out)

        pebble.start()
        wait_for(lambda: ISSUED_RE.search(server.log()), 30, "the first certificate")
        wait_for(lambda: served_certificate(https_port) != own, 10, "the reload")
        root = pebble.root()
        # The served chain verifies against Pebble's root: curl and requests, by name.
        r = curl(["--cacert", root, "-u", "alice:" + password,
                  "https://localhost:%d/" % https_port])
        self.assertEqual((r.rc, r.out), (0, SECRET), r)
        r = curl(["--cacert", club.ca_pem, "https://localhost:%d/healthz" % https_port])
        self.assertNotEqual(r.rc, 0, "the club CA does not vouch for the ACME certificate")
        keep_alive = http.client.HTTPSConnection(
            "localhost", https_port, timeout=support.HTTP_TIMEOUT,
            context=ssl.create_default_context(cafile=root))
        self.addCleanup(keep_alive.close)
        auth = {"Authorization": support.basic("alice", password)}
        keep_alive.request("GET", "/", headers=auth)
        res = keep_alive.getresponse()
        self.assertEqual((res.status, res.read().decode()), (200, SECRET))
        sock = keep_alive.sock

        acme_dir = os.path.join(club.dir, "acme")
        self.assertEqual(stat.S_IMODE(os.stat(acme_dir).st_mode), 0o700)
        for name in ("account.key", "server.key"):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(acme_dir, name)).st_mode), 0o600,
                             name)
        with open(os.path.join(acme_dir, "server.pem")) as f:
            self.assertGreaterEqual(f.read().count("BEGIN CERTIFICATE"), 2, "leaf and intermediate")

        # hush doctor accepts the ACME chain and reports its expiry (a 24-second certificate:
        # a warning, soon).
        r = club.hush("doctor")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("ok: acme/server.pem: the ACME certificate for localhost matches its key",
                      r.out)
        self.assertRegex(r.out, r"warn: ACME certificate expires at \S+, in ")

        # Renewal at two thirds of 24 s; the keep-alive connection made before it still works.
        first = served_certificate(https_port)
        wait_for(lambda: len(ISSUED_RE.findall(server.log())) >= 2, LIFETIME_S + 10,
                 "the renewal")
        wait_for(lambda: served_certificate(https_port) != first, 10, "the renewed certificate")
        keep_alive.request("GET", "/", headers=auth)
        res = keep_alive.getresponse()
        self.assertEqual((res.status, res.read().decode()), (200, SECRET))
        self.assertIs(keep_alive.sock, sock, "the same connection, not a new one")
        server.stop()
        self.assertEqual(server.returncode, 0, server.log())

        # A restart with a valid certificate on disk serves it at once and orders nothing.
        orders = pebble.log().count("Issued certificate serial")
        server = Server(club, listen="127.0.0.1:%d" % https_port, announcements=1).start()
        self.addCleanup(server.stop)
        r = curl(["--cacert", root, "https://localhost:%d/healthz" % https_port])
        self.assertEqual(r.rc, 0, r)
        time.sleep(1)
        self.assertEqual(pebble.log().count("Issued certificate serial"), orders)
        self.assertNotIn("acme: a certificate", server.log())
        for secret_text in (password, SECRET):
            self.assertNotIn(secret_text, server.log())

    def test_certificate_from_pebble_over_tls_alpn01(self):
        # tls-alpn-01 (RFC 8737) is answered on the HTTPS port itself: no plain-HTTP port at all.
        ws = Workspace()
        self.addCleanup(ws.cleanup)
        club = Club(ws)
        password = club.add_member("alice", password="alice's long passphrase")
        club.post(SECRET)
        https_port = free_port()
        # Pebble's HTTP-01 port is one nobody listens on: only tls-alpn-01 can succeed.
        pebble = Pebble(ws, free_port(), https_port)
        self.addCleanup(pebble.stop)
        pebble.start()
        club.set_config("acme", "enabled", "true")
        club.set_config("acme", "directory", '"%s"' % pebble.directory)
        club.set_config("acme", "hosts", '["localhost"]')
        club.set_config("acme", "challenge", '"tls-alpn-01"')
        club.set_config("acme", "ca_bundle", '"%s"' % pebble.minica)
        # Client certificates asked of members: the CA's validator has none, and is answered (a
        # unit test covers client_certs = "required").
        club.set_config("server", "client_certs", '"optional"')
        club.set_config("log", "level", '"debug"')
        server = Server(club, listen="127.0.0.1:%d" % https_port, announcements=1).start()
        self.addCleanup(server.stop)
        wait_for(lambda: ISSUED_RE.search(server.log()), 30, "the certificate")
        # Pebble's validators knocked on the HTTPS port with acme-tls/1 (its log names no type).
        self.assertIn("acme tls-alpn-01 validation from 127.0.0.1", server.log())
        root = pebble.root()
        wait_for(lambda: curl(["--cacert", root, "https://localhost:%d/healthz"
                               % https_port]).rc == 0, 10, "the reload")
        r = curl(["--cacert", root, "-u", "alice:" + password,
                  "https://localhost:%d/" % https_port])
        self.assertEqual((r.rc, r.out), (0, SECRET), r)
        # Once validated, the challenge is withdrawn: acme-tls/1 gets the ordinary certificate.
        context = ssl.create_default_context(cafile=root)
        context.set_alpn_protocols(["acme-tls/1"])
        with socket.create_connection(("127.0.0.1", https_port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                self.assertIsNone(tls.selected_alpn_protocol())
        server.stop()
        self.assertEqual(server.returncode, 0, server.log())
        self.assertNotIn(password, server.log())

    def test_a_ca_that_never_answers_does_not_hold_the_server(self):
        # A directory that accepts the connection and then says nothing: the exchange in flight
        # is cut by SIGTERM at once (and by the 30 s deadline otherwise), not waited on for ever.
        ws = Workspace()
        self.addCleanup(ws.cleanup)
        club = Club(ws)
        silent = socket.socket()
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        club.set_config("server", "redirect_http", '"127.0.0.1:0"')
        club.set_config("acme", "enabled", "true")
        club.set_config("acme", "directory", '"https://127.0.0.1:%d/dir"'
                        % silent.getsockname()[1])
        club.set_config("acme", "hosts", '["localhost"]')
        server = Server(club, announcements=1).start()
        self.addCleanup(server.stop)
        connection, _ = silent.accept()  # the client is now waiting for the TLS handshake
        self.addCleanup(connection.close)
        time.sleep(0.5)
        started = time.monotonic()
        server.stop(timeout=15)
        self.assertLess(time.monotonic() - started, 5, server.log())
        self.assertFalse(server.killed, server.log())
        self.assertEqual(server.returncode, 0, server.log())


if __name__ == "__main__":
    support.main()
