"""Deadlines, size limits and connection caps, probed with raw sockets ([limits] in hush.toml).

- A connection that never sends a byte is closed after handshake_timeout_seconds.
- One that sends its request head a line at a time is closed after request_timeout_seconds.
- An idle keep-alive connection is closed after idle_timeout_seconds.
- An idle keep-alive connection gets request_timeout_seconds, not idle_timeout_seconds, for a
  request whose first bytes have arrived.
- A head over max_header_bytes gets 431, a declared body over max_body_bytes gets 413 before the
  body is sent; both close the connection.
- Over max_connections_per_address, the address's own oldest silent connections make room: it
  never holds more than its cap, while another address is served at once; over max_connections
  held by idle keep-alive connections, the longest idle make room, never more than the cap are
  open, and the server recovers when connections go away. (Floods of silent connections:
  test_connection_pressure.py.)
Controls: the plain server keeps a silent connection open past the same deadline, and keeps
every connection from one address open past the same cap.

Run: /usr/bin/python3 tests/security/test_limits.py   (HUSH_BIN=/path/to/hush optional)
"""

import os
import socket
import ssl
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import secsupport as sec  # noqa: E402
from secsupport import basic  # noqa: E402

HANDSHAKE_S = 2
REQUEST_S = 3
IDLE_S = 3
SLACK_S = 2.5  # scheduling, timer granularity, a loaded 2-core machine
PER_ADDRESS = 8
EXTRA = 4
GLOBAL = 12


def get_head(password_user, path="/", extra="", close=False):
    user, password = password_user
    return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n%s%s\r\n"
            % (path, basic(user, password), extra, "Connection: close\r\n" if close else ""))


def hold_connections(host, port, source_ip, n, pause=0.02):
    socks = []
    for _ in range(n):
        socks.append(sec.raw_connect(host, port, source_ip, timeout=5))
        time.sleep(pause)
    return socks


def read_one_response(testcase, tls, timeout=5):
    """Reads until one whole response has arrived on TLS; returns its status."""
    deadline = time.monotonic() + timeout
    data = b""
    while time.monotonic() < deadline:
        chunk, closed = sec.read_until_close(tls, 0.2)
        data += chunk
        responses = sec.split_responses(data)
        if responses and responses[0][0] and len(responses[0][2]) >= int(
                responses[0][1].get("content-length", "0")):
            return responses[0][0]
        testcase.assertFalse(closed, "closed before the response: %r" % data)
    testcase.fail("no whole response within %.1f s: %r" % (timeout, data[:200]))


class DeadlinesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.ws = sec.Workspace(prefix="hush-sec-")
        cls.addClassCleanup(cls.ws.cleanup)
        cls.club = sec.make_club(cls.ws, {
            ("limits", "handshake_timeout_seconds"): str(HANDSHAKE_S),
            ("limits", "request_timeout_seconds"): str(REQUEST_S),
            ("limits", "idle_timeout_seconds"): str(IDLE_S),
            ("limits", "max_header_bytes"): "8192",
            ("limits", "max_body_bytes"): "262144",
        })
        cls.server = sec.start_hush(cls.club)
        cls.addClassCleanup(cls.server.stop)
        cls.target = sec.Target("127.0.0.1", cls.server.port, cls.club.ca_pem)
        cls.alice = ("alice", cls.club.passwords["alice"])

    def test_silent_connection_is_closed_after_handshake_timeout(self):
        with sec.raw_connect("127.0.0.1", self.server.port, "127.0.0.5") as s:
            elapsed = sec.wait_closed(s, HANDSHAKE_S + SLACK_S)
        self.assertIsNotNone(elapsed, "still open after %.1f s" % (HANDSHAKE_S + SLACK_S))
        self.assertGreater(elapsed, HANDSHAKE_S - 0.5)

    def test_control_plain_server_keeps_a_silent_connection(self):
        with sec.PlainServer("--secret", "x") as plain:
            with sec.raw_connect("127.0.0.1", plain.port, "127.0.0.5") as s:
                elapsed = sec.wait_closed(s, HANDSHAKE_S + SLACK_S)
        self.assertIsNone(elapsed, "the control closed it: the probe would not see a missing "
                                   "deadline")

    def test_slow_request_head_is_closed_after_request_timeout(self):
        with self.target.connect("127.0.0.5", timeout=5) as tls:
            t0 = time.monotonic()
            head = get_head(self.alice).encode()
            head_lines = head.split(b"\r\n")[:-2]  # everything but the final blank line
            closed_at, received = None, b""
            for i in range(40):  # one header line every 0.25 s, never the blank line
                line = head_lines[i] if i < len(head_lines) else b"X-Slow-%d: a" % i
                try:
                    tls.sendall(line + b"\r\n")
                except OSError:
                    closed_at = time.monotonic() - t0
                    break
                data, closed = sec.read_until_close(tls, 0.25)
                received += data
                if closed:
                    closed_at = time.monotonic() - t0
                    break
        self.assertIsNotNone(closed_at, "still open after 10 s of slow headers")
        self.assertGreater(closed_at, REQUEST_S - 0.5)
        self.assertLess(closed_at, REQUEST_S + SLACK_S)
        self.assertNotIn(sec.SECRET_TEXT.encode(), received)

    def test_idle_keep_alive_connection_is_closed_after_idle_timeout(self):
        with self.target.connect("127.0.0.5", timeout=5) as tls:
            tls.sendall(get_head(self.alice).encode())
            self.assertEqual(read_one_response(self, tls), 200)
            elapsed = sec.wait_closed(tls, IDLE_S + SLACK_S)
        self.assertIsNotNone(elapsed, "idle connection still open after %.1f s"
                             % (IDLE_S + SLACK_S))
        self.assertGreater(elapsed, IDLE_S - 0.5)

    def test_huge_head_gets_431_and_close(self):
        raw, closed = self.target.exchange(
            get_head(self.alice, extra="X-Pad: %s\r\n" % ("a" * 10000)).encode(), timeout=5)
        responses = sec.split_responses(raw)
        self.assertEqual([r[0] for r in responses], [431], raw[:300])
        self.assertTrue(closed, "connection left open after 431")

    def test_declared_huge_body_gets_413_before_it_is_sent(self):
        head = ("POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
                "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (basic(*self.alice), 262144 + 1))
        raw, closed = self.target.exchange(head.encode(), timeout=5)
        responses = sec.split_responses(raw)
        self.assertEqual([r[0] for r in responses], [413], raw[:300])
        self.assertTrue(closed, "connection left open after 413")

    def test_streamed_huge_body_gets_413(self):
        with self.target.connect("127.0.0.5", timeout=5) as tls:
            tls.sendall(("POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Authorization: %s\r\nContent-Type: application/json\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n" % basic(*self.alice)).encode())
            chunk = b"8000\r\n" + b"a" * 0x8000 + b"\r\n"
            try:
                for _ in range(20):  # 640 KiB > 256 KiB
                    tls.sendall(chunk)
            except OSError:
                pass
            raw, closed = sec.read_until_close(tls, 5)
        responses = sec.split_responses(raw)
        self.assertEqual([r[0] for r in responses][:1], [413], raw[:300])


class KeepAliveDeadlineTest(unittest.TestCase):
    """request_timeout_seconds well below idle_timeout_seconds: the idle deadline covers only the
    wait for the next request's first byte."""

    REQUEST_S = 2
    IDLE_S = 30

    @classmethod
    def setUpClass(cls):
        cls.ws = sec.Workspace(prefix="hush-sec-")
        cls.addClassCleanup(cls.ws.cleanup)
        cls.club = sec.make_club(cls.ws, {
            ("limits", "request_timeout_seconds"): str(cls.REQUEST_S),
            ("limits", "idle_timeout_seconds"): str(cls.IDLE_S),
        })
        cls.server = sec.start_hush(cls.club)
        cls.addClassCleanup(cls.server.stop)
        cls.target = sec.Target("127.0.0.1", cls.server.port, cls.club.ca_pem)
        cls.alice = ("alice", cls.club.passwords["alice"])

    def test_a_partial_second_head_gets_the_request_deadline(self):
        with self.target.connect("127.0.0.8", timeout=5) as tls:
            tls.sendall(get_head(self.alice).encode())
            self.assertEqual(read_one_response(self, tls), 200)
            tls.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the rest
            elapsed = sec.wait_closed(tls, self.REQUEST_S + SLACK_S)
        self.assertIsNotNone(elapsed, "a half-sent keep-alive request still open after %.1f s "
                             "(idle_timeout_seconds is %d)" % (self.REQUEST_S + SLACK_S,
                                                               self.IDLE_S))
        self.assertGreater(elapsed, self.REQUEST_S - 0.5)

    def test_the_wait_before_the_next_request_is_idle_time(self):
        with self.target.connect("127.0.0.8", timeout=5) as tls:
            tls.sendall(get_head(self.alice).encode())
            self.assertEqual(read_one_response(self, tls), 200)
            time.sleep(self.REQUEST_S + 1)  # longer than a request may take, shorter than idle
            tls.sendall(get_head(self.alice).encode())
            self.assertEqual(read_one_response(self, tls), 200)


def cap_probe(port, source_ip, n):
    """Opens N connections from SOURCE_IP; returns (sockets, [closed at once?])."""
    socks = hold_connections("127.0.0.1", port, source_ip, n)
    return socks, sec.closed_by_peer(socks, 1.0)


class ConnectionCapsTest(unittest.TestCase):

    def start(self, config):
        return sec.serve_club(self, config)

    def test_per_address_cap(self):
        club, server = self.start({
            ("limits", "max_connections_per_address"): str(PER_ADDRESS),
            ("limits", "handshake_timeout_seconds"): "30",
        })
        socks, closed = cap_probe(server.port, "127.0.0.6", PER_ADDRESS + EXTRA)
        self.addCleanup(sec.close_all, socks)
        # The address never holds more than its cap: its own oldest silent connections made room
        # for its newer ones.
        self.assertEqual(closed, [True] * EXTRA + [False] * PER_ADDRESS, closed)
        # A real client from that address is served (its oldest silent one goes)...
        status, seconds, r = sec.member_get(club, server, "127.0.0.6")
        self.assertEqual(status, 200, r)
        self.assertEqual(sec.closed_by_peer(socks[EXTRA:EXTRA + 2], 1.0), [True, False])
        # ...and another address at once, costing that address nothing.
        status, seconds, r = sec.member_get(club, server, "127.0.0.7")
        self.assertEqual(status, 200, r)
        self.assertLess(seconds, 2)
        self.assertEqual(sec.closed_by_peer(socks[EXTRA + 2:], 0.5), [False] * (PER_ADDRESS - 2))

    def test_global_cap_and_recovery(self):
        club, server = self.start({
            ("limits", "max_connections"): str(GLOBAL),
            ("limits", "max_connections_per_address"): str(GLOBAL),
        })
        target = sec.Target("127.0.0.1", server.port, club.ca_pem)
        alice = ("alice", club.passwords["alice"])
        socks = []
        self.addCleanup(sec.close_all, socks)
        # Keep-alive connections that have each had a request answered, then wait idle.
        for i in range(GLOBAL):
            tls = target.connect("127.0.0.%d" % (100 + i), timeout=5)
            socks.append(tls)
            tls.sendall(get_head(alice).encode())
            self.assertEqual(read_one_response(self, tls), 200)
            time.sleep(0.02)
        self.assertEqual(sec.closed_by_peer(socks, 0.5), [False] * GLOBAL)
        # Past the cap a newcomer takes the place of the longest idle connection; the next one
        # takes that of the oldest silent newcomer (silence goes before idleness): never more
        # than max_connections at once.
        extra = hold_connections("127.0.0.1", server.port, "127.0.0.200", 2)
        socks += extra
        self.assertEqual(sec.closed_by_peer(socks, 1.0), [True] + [False] * (GLOBAL - 1) + [True, False])
        sec.close_all(socks)
        # The slots come back once those connections are gone.
        deadline = time.monotonic() + 5
        status = None
        while time.monotonic() < deadline:
            status, _s, _r = sec.member_get(club, server, "127.0.0.7")
            if status == 200:
                break
            time.sleep(0.2)
        self.assertEqual(status, 200, "the server did not recover its connection slots")

    def test_control_plain_server_has_no_cap(self):
        with sec.PlainServer("--secret", "x") as plain:
            socks, closed = cap_probe(plain.port, "127.0.0.6", PER_ADDRESS + EXTRA)
            sec.close_all(socks)
        self.assertEqual(closed, [False] * (PER_ADDRESS + EXTRA),
                         "the control closed connections: the probe would not see a cap")


if __name__ == "__main__":
    sec.main()
