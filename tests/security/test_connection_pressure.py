"""The connection caps cannot be turned against members ([limits] in hush.toml).

- A flood of silent TCP connections from many loopback addresses (silent_flood.py: more than
  max_connections at once, each one the server closes replaced at once) does not lock members
  out: a member from a fresh address gets the message within 2 s, again and again during the
  flood, because at the cap the oldest connections that have sent no request make room.
- At the cap, the oldest silent connection is closed to make room for a member.
- Near the cap (three quarters of it), a new silent connection is closed after 2 s, however long
  handshake_timeout_seconds is.
- max_connections_per_network caps one IPv4 /24 (an IPv6 /56) as a whole: its further
  connections are closed at once, while another /24 is still served.
Control: the flood really holds the server at its cap (the flooder holds about max_connections
connections and the server closes many of its connections), so a flood too weak to fill the cap
cannot pass.

Run: /usr/bin/python3 tests/security/test_connection_pressure.py   (HUSH_BIN=/path/to/hush optional)
"""

import http.client
import json
import os
import resource
import ssl
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import secsupport as sec  # noqa: E402

FLOOD = os.path.join(sec.HERE, "silent_flood.py")
CAP = 200
FLOOD_CONNECTIONS = 320  # more than the cap: the flooder always wants more
FLOOD_SECONDS = 14
MEMBER_PROBES = 6
MEMBER_LIMIT_S = 2.0
PRESSED_S = 2  # the shortened deadline near the cap
SLACK_S = 2.0


class FloodProcess:
    """silent_flood.py as a subprocess; its status lines are collected as they arrive."""

    def __init__(self, port, **options):
        argv = [sec.PYTHON, FLOOD, "--port", str(port)]
        for name, value in options.items():
            argv += ["--" + name.replace("_", "-"), str(value)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=sec.clean_env())
        self.statuses = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.statuses.append(json.loads(line))
            except ValueError:
                pass

    def latest(self):
        return self.statuses[-1] if self.statuses else None

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.reader.join(5)
        self.proc.stdout.close()


def hold(port, addresses):
    socks = []
    for address in addresses:
        socks.append(sec.raw_connect("127.0.0.1", port, address, timeout=5))
        time.sleep(0.01)
    return socks


class PressureTest(unittest.TestCase):

    def start(self, config):
        return sec.serve_club(self, config)

    def test_member_is_served_during_a_flood_of_silent_connections(self):
        club, server = self.start({("limits", "max_connections"): str(CAP)})
        # Warm up: the member's first request pays for Argon2id; later ones hit the cache.
        status, _s, r = sec.member_get(club, server, "127.2.0.1", timeout=10)
        self.assertEqual(status, 200, r)

        flood = FloodProcess(server.port, connections=FLOOD_CONNECTIONS, seconds=FLOOD_SECONDS,
                             first_octet=1, networks=8, per_network=200, rate=1000,
                             max_connects=FLOOD_SECONDS * 1000)
        self.addCleanup(flood.stop)
        time.sleep(2)  # the flood reaches the cap
        held, results = [], []
        for i in range(MEMBER_PROBES):
            latest = flood.latest()
            held.append(latest["open"] if latest else 0)
            results.append(sec.member_get(club, server, "127.2.1.%d" % (10 + i), MEMBER_LIMIT_S + 3))
            time.sleep(1)
        flood.stop()
        final = flood.latest()

        # Control: the flood was strong enough to fill the cap, and the server had to act on it.
        self.assertIsNotNone(final, "the flooder printed nothing")
        self.assertGreaterEqual(min(held), int(CAP * 0.9),
                                "the flood did not hold the cap: %r" % held)
        self.assertGreater(final["closed_by_server"], FLOOD_CONNECTIONS - CAP, final)
        failures = [(i, status, round(seconds, 2), str(r)[:120])
                    for i, (status, seconds, r) in enumerate(results)
                    if status != 200 or seconds >= MEMBER_LIMIT_S]
        self.assertEqual(failures, [], "members locked out during the flood (held %r, flood %r)"
                         % (held, final))
        for _status, _seconds, r in results:
            self.assertIn(sec.SECRET_TEXT, r.text)

    def test_at_the_cap_the_oldest_silent_connection_makes_room(self):
        cap = 12
        club, server = self.start({
            ("limits", "max_connections"): str(cap),
            ("limits", "max_connections_per_address"): str(cap),
            ("limits", "handshake_timeout_seconds"): "30",
        })
        socks = hold(server.port, ["127.5.0.%d" % (1 + i) for i in range(cap)])
        self.addCleanup(sec.close_all, socks)
        status, seconds, r = sec.member_get(club, server, "127.5.1.1", timeout=5)
        self.assertEqual(status, 200, r)
        self.assertLess(seconds, MEMBER_LIMIT_S)
        # The oldest silent one went; the next ones (opened before the pressure) are still there.
        self.assertEqual(sec.closed_by_peer(socks[:3], 1.0), [True, False, False])

    def test_near_the_cap_a_silent_connection_gets_less_time(self):
        cap = 20
        _club, server = self.start({
            ("limits", "max_connections"): str(cap),
            ("limits", "max_connections_per_address"): str(cap),
            ("limits", "handshake_timeout_seconds"): "30",
        })
        socks = hold(server.port, ["127.4.0.%d" % (1 + i) for i in range(cap * 3 // 4)])
        self.addCleanup(sec.close_all, socks)
        with sec.raw_connect("127.0.0.1", server.port, "127.4.1.1") as s:
            elapsed = sec.wait_closed(s, PRESSED_S + SLACK_S)
        self.assertIsNotNone(elapsed, "a silent connection near the cap still open after %.1f s"
                             % (PRESSED_S + SLACK_S))
        self.assertGreater(elapsed, PRESSED_S - 0.5)

    def test_per_network_cap(self):
        per_address, per_network = 4, 16
        club, server = self.start({
            ("limits", "max_connections_per_address"): str(per_address),
            ("limits", "max_connections_per_network"): str(per_network),
            ("limits", "handshake_timeout_seconds"): "30",
        })
        # 5 addresses of one /24, 4 connections each: 4 more than the network's cap. The network's
        # own oldest silent connections make room; it never holds more than its cap.
        addresses = ["127.3.0.%d" % (1 + i // per_address) for i in range(per_network + 4)]
        socks = hold(server.port, addresses)
        self.addCleanup(sec.close_all, socks)
        self.assertEqual(sec.closed_by_peer(socks, 1.0), [True] * 4 + [False] * per_network)
        # A member in that /24 is not locked out by its neighbours' silence: the network's oldest
        # silent connection goes for them...
        status, seconds, r = sec.member_get(club, server, "127.3.0.200", timeout=5)
        self.assertEqual(status, 200, r)
        self.assertLess(seconds, MEMBER_LIMIT_S)
        self.assertEqual(sec.closed_by_peer(socks[4:6], 1.0), [True, False])
        # ...and one from the next /24 is served at once, costing that /24 nothing.
        status, seconds, r = sec.member_get(club, server, "127.3.1.1", timeout=5)
        self.assertEqual(status, 200, r)
        self.assertLess(seconds, 2)
        self.assertEqual(sec.closed_by_peer(socks[6:], 0.5), [False] * (per_network - 2))

    def test_idle_keep_alive_connections_make_room_too(self):
        # One unauthenticated request per connection (GET /ca.crl is public) used to make a
        # connection untouchable: a few networks could fill the cap for good and refuse members.
        cap = 12
        club, server = self.start({
            ("limits", "max_connections"): str(cap),
            ("limits", "max_connections_per_address"): str(cap),
        })
        ctx = ssl.create_default_context(cafile=club.ca_pem)
        idle = []
        self.addCleanup(lambda: [c.close() for c in idle])
        for i in range(cap):
            conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=5,
                                               source_address=("127.7.0.%d" % (1 + i), 0))
            conn.request("GET", "/ca.crl")
            response = conn.getresponse()
            response.read()
            self.assertEqual(response.status, 200)
            idle.append(conn)
            time.sleep(0.02)
        status, seconds, r = sec.member_get(club, server, "127.7.1.1", timeout=5)
        self.assertEqual(status, 200, r)
        self.assertLess(seconds, MEMBER_LIMIT_S)
        # The longest idle connection made room, the others are still open.
        still_open = []
        for conn in idle[:3]:
            conn.sock.settimeout(0.5)
            try:
                still_open.append(conn.sock.recv(1) != b"")
            except (ssl.SSLError, OSError) as e:
                still_open.append("timed out" in str(e))
        self.assertEqual(still_open, [False, True, True])

    def test_a_file_limit_below_the_cap_lowers_the_cap_so_eviction_still_works(self):
        # With fewer descriptors than max_connections, accept ran out of descriptors before the
        # cap was reached, and nothing made room: a silent flood locked members out at accept.
        ws = sec.Workspace(prefix="hush-sec-")
        self.addCleanup(ws.cleanup)
        club = sec.make_club(ws, {("limits", "max_connections_per_address"): "256",
                                  ("limits", "handshake_timeout_seconds"): "30"})
        server = sec.Server(club, preexec_fn=lambda: resource.setrlimit(
            resource.RLIMIT_NOFILE, (200, 200))).start()
        self.addCleanup(server.stop)
        status, _s, r = sec.member_get(club, server, "127.8.9.1", timeout=10)  # pays for Argon2id
        self.assertEqual(status, 200, r)
        socks = []
        self.addCleanup(sec.close_all, socks)
        for i in range(260):
            try:
                socks.append(sec.raw_connect("127.0.0.1", server.port,
                                             "127.8.%d.%d" % (i // 200, 1 + i % 200)))
            except OSError:
                pass
        status, seconds, r = sec.member_get(club, server, "127.8.10.1", timeout=5)
        self.assertEqual(status, 200, r)
        self.assertLess(seconds, MEMBER_LIMIT_S)
        self.assertRegex(server.log(), r"open file limit 200 is below limits.max_connections "
                                       r"\(10000\); serving at most \d+ connections")


if __name__ == "__main__":
    sec.main()
