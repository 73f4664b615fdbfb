"""hush listeners: several HTTPS addresses (IPv4 and IPv6), and the plain-HTTP redirect port.

- `--listen` given twice, and `[server] listen = [...]` in the config, serve members on every
  address, IPv4 and IPv6 alike; a single string still works.
- `[server] redirect_http` answers every request with a 301 to the same host and path over
  HTTPS, whatever it asks for and whatever credentials it carries: never a secret, no login, no
  route. curl follows it to the secret over HTTPS. Its limits: a head of at most 4 KiB, no body
  read, the request timeout for the whole exchange, and a per-address cap under which a flood of
  silent connections cannot lock a real client out.
- Bad listener configs are refused at start, naming the setting.

Run: /usr/bin/python3 tests/integration/test_listeners.py   (HUSH_BIN=/path/to/hush optional)
"""

import os
import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import Club, Server, Workspace, curl, read_until_close, try_serve  # noqa: E402

SECRET = "the redirect port never tells"
REQUEST_TIMEOUT_S = 2


def port_of(url):
    return int(url.rstrip("/").rsplit(":", 1)[1])


def raw_exchange(port, data, timeout=10, host="127.0.0.1"):
    """Sends DATA on a fresh connection and returns everything the server sends until it
    closes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        if data:
            s.sendall(data)
        return read_until_close(s, timeout)


class ListenersTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)
        cls.password = cls.club.add_member("alice", password="alice's long passphrase")
        cls.club.post(SECRET)
        cls.club.set_config("limits", "request_timeout_seconds", str(REQUEST_TIMEOUT_S))
        cls.club.set_config("limits", "max_connections_per_address", "4")

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def read_secret(self, url):
        r = curl(["--cacert", self.club.ca_pem, "-u", "alice:" + self.password, url])
        self.assertEqual(r.rc, 0, r)
        return r.out

    def test_every_https_address_serves_ipv4_and_ipv6(self):
        with Server(self.club, listen=["127.0.0.1:0", "[::1]:0"]).start() as server:
            self.assertEqual(len(server.urls), 2, server.urls)
            self.assertTrue(server.urls[0].startswith("https://127.0.0.1:"), server.urls)
            self.assertTrue(server.urls[1].startswith("https://[::1]:"), server.urls)
            for url in server.urls:
                self.assertEqual(self.read_secret(url), SECRET, url)

    def test_config_list_and_single_string(self):
        original = self.club.read_config()
        self.addCleanup(self.club.write_config, original)
        # Ports from a socket just closed: free, unless something takes them in between.
        ports = []
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            with socket.socket(family) as s:
                s.bind((host, 0))
                ports.append(s.getsockname()[1])
        self.club.set_config("server", "listen",
                             '["127.0.0.1:%d", "[::1]:%d"]' % (ports[0], ports[1]))
        started, result = try_serve(self.club, listen="127.0.0.1:0")
        self.assertTrue(started, result)  # --listen replaces the config's list
        r = support.run([support.HUSH_BIN, "serve", "--dir", self.club.dir, "--help"])
        self.assertIn("several times", r.out)

        # No --listen: the config's two addresses, each announced.
        with Server(self.club, listen=[], announcements=1).start() as server:
            self.assertEqual(server.urls, ["https://127.0.0.1:%d/" % ports[0],
                                           "https://[::1]:%d/" % ports[1]])
            self.assertEqual(self.read_secret(server.urls[1]), SECRET)
        self.club.set_config("server", "listen", '"127.0.0.1:%d"' % ports[0])
        with Server(self.club, listen=[]).start() as server:
            self.assertEqual(self.read_secret(server.url), SECRET)

    def test_bad_listeners_are_refused_at_start(self):
        original = self.club.read_config()
        self.addCleanup(self.club.write_config, original)
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            self.club.set_config("server", "redirect_http", '"127.0.0.1:%d"' % port)
            started, result = try_serve(self.club)
            self.assertFalse(started, result)
            self.assertIn("server.redirect_http: cannot listen on 127.0.0.1:%d" % port, result.err)
        self.club.set_config("server", "redirect_http", '"127.0.0.1:8443"')
        self.club.set_config("server", "listen", '["127.0.0.1:8443"]')
        started, result = try_serve(self.club, listen="127.0.0.1:0")
        self.assertFalse(started, result)
        self.assertIn("127.0.0.1:8443 is both an HTTPS address (server.listen) and "
                      "server.redirect_http", result.err)
        self.club.set_config("server", "listen", '[]')
        started, result = try_serve(self.club)
        self.assertFalse(started, result)
        self.assertIn("server.listen: at least one address is needed", result.err)

    def redirect_server(self, address="127.0.0.1:0", listen=("127.0.0.1:0",)):
        original = self.club.read_config()
        self.addCleanup(self.club.write_config, original)
        self.club.set_config("server", "redirect_http", '"%s"' % address)
        server = Server(self.club, listen=list(listen), announcements=1)
        server.start()
        self.addCleanup(server.stop)
        self.assertEqual(len(server.announced), 1, server.announced)
        self.assertTrue(server.announced[0].startswith("hush: redirect http://"), server.announced)
        return server, port_of(server.announced[0].split(" ")[2])

    def test_redirect_sends_every_request_to_https_and_never_a_secret(self):
        server, port = self.redirect_server()
        credentials = support.basic("alice", self.password)
        for path in ("/", "/api/v1/messages?limit=1", "/healthz", "/ca.crl", "/metrics",
                     "/.well-known/acme-challenge/"):
            for method in ("GET", "HEAD", "POST"):
                raw = raw_exchange(port, ("%s %s HTTP/1.1\r\nHost: club.example:80\r\n"
                                          "Authorization: %s\r\nContent-Length: 0\r\n\r\n"
                                          % (method, path, credentials)).encode())
                head, _, body = raw.partition(b"\r\n\r\n")
                text = head.decode("latin-1")
                self.assertNotIn(SECRET.encode(), raw, path)
                self.assertNotIn("Set-Cookie", text, path)
                self.assertNotIn("WWW-Authenticate", text, path)
                self.assertIn("Connection: close", text, path)
                if path.startswith("/.well-known/acme-challenge/"):
                    self.assertTrue(text.startswith("HTTP/1.1 404 "), text)
                    continue
                self.assertTrue(text.startswith("HTTP/1.1 301 "), (method, path, text))
                self.assertIn("\r\nLocation: https://club.example:%d%s\r\n"
                              % (server.port, path), text)
                self.assertEqual(body, b"" if method == "HEAD" else b"moved to https\n")
        # No Host: nowhere to send it.
        raw = raw_exchange(port, b"GET / HTTP/1.0\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.0 400 "), raw)
        # curl follows the redirect to the secret, over HTTPS.
        r = curl(["--cacert", self.club.ca_pem, "--location", "--location-trusted", "-u",
                  "alice:" + self.password, "http://127.0.0.1:%d/" % port])
        self.assertEqual((r.rc, r.out), (0, SECRET), r)
        # IPv6 for the redirect too, to an IPv6 HTTPS listener.
        server6, port6 = self.redirect_server("[::1]:0", listen=("[::1]:0",))
        raw = raw_exchange(port6, b"GET /x HTTP/1.1\r\nHost: [::1]\r\n\r\n", host="::1")
        self.assertIn(b"\r\nLocation: https://[::1]:%d/x\r\n" % server6.port, raw)

    def test_redirect_limits(self):
        _server, port = self.redirect_server()
        # A head past 4 KiB: closed unanswered.
        raw = raw_exchange(port, b"GET / HTTP/1.1\r\nHost: club\r\nX-Pad: " + b"a" * 5000
                           + b"\r\n\r\n")
        self.assertEqual(raw, b"")
        # A body is never read: the answer comes after the head, and the connection closes.
        started = time.monotonic()
        raw = raw_exchange(port, b"POST / HTTP/1.1\r\nHost: club\r\nContent-Length: 1000000\r\n\r\n"
                           + b"x" * 1000)
        self.assertTrue(raw.startswith(b"HTTP/1.1 301 "), raw[:100])
        self.assertLess(time.monotonic() - started, REQUEST_TIMEOUT_S)
        # A silent connection is closed at the request timeout.
        started = time.monotonic()
        raw = raw_exchange(port, b"", timeout=REQUEST_TIMEOUT_S + 8)
        waited = time.monotonic() - started
        self.assertEqual(raw, b"")
        self.assertGreaterEqual(waited, REQUEST_TIMEOUT_S - 0.5)
        self.assertLess(waited, REQUEST_TIMEOUT_S + 5)
        # More silent connections from one address than its cap (4): the oldest make room, so a
        # real request still gets its answer.
        silent = []
        try:
            for _ in range(12):
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                silent.append(s)
            raw = raw_exchange(port, b"GET / HTTP/1.1\r\nHost: club\r\n\r\n")
            self.assertTrue(raw.startswith(b"HTTP/1.1 301 "), raw[:100])
            # The oldest were closed to make room.
            closed = 0
            for s in silent[:8]:
                s.settimeout(5)
                try:
                    closed += s.recv(1) == b""
                except OSError:
                    closed += 1
            self.assertEqual(closed, 8)
        finally:
            for s in silent:
                s.close()


if __name__ == "__main__":
    support.main()
