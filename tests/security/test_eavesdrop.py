"""Eavesdropping: tshark on loopback records a member reading a message with curl; the capture
must hold the exchange (packets, TLS records) but neither the message, nor the password, nor the
Basic credentials. Control: the same capture of the plain-HTTP server finds all three.

Run: /usr/bin/python3 tests/security/test_eavesdrop.py   (HUSH_BIN=/path/to/hush optional)
"""

import base64
import os
import signal
import struct
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import secsupport as sec  # noqa: E402
from secsupport import curl  # noqa: E402

CAPTURE_LIMIT_S = 60  # tshark stops by itself after this, whatever happens
MIN_PACKETS = 10  # TCP handshake + TLS handshake + request + response + close is well above


class Capture:
    """tshark -i lo -f 'tcp port PORT' -w FILE (pcap), started and stopped by PID."""

    def __init__(self, port, path):
        self.path = path
        self.proc = subprocess.Popen(
            [sec.require_tool("tshark"), "-i", "lo", "-f", "tcp port %d" % port, "-w", path,
             "-F", "pcap", "-s", "0", "-a", "duration:%d" % CAPTURE_LIMIT_S, "-q"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=sec.clean_env())
        deadline = time.monotonic() + 15
        started = False
        for _ in range(20):  # a few lines of chatter before "Capturing on 'Loopback: lo'"
            line = sec.read_line(self.proc.stderr, max(0.0, deadline - time.monotonic()))
            if not line:
                break
            if b"Capturing on" in line:
                started = True
                break
        if not started:
            self.stop()
            raise AssertionError("tshark did not start capturing (%r)" % line)
        time.sleep(0.5)  # the filter is attached once it says so; a little slack anyway

    def stop(self):
        if self.proc.poll() is None:
            time.sleep(0.5)  # let the last packets (FIN/ACK) be written
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stderr and not self.proc.stderr.closed:
            self.proc.stderr.close()

    def raw(self):
        with open(self.path, "rb") as f:
            return f.read()


def pcap_packets(data):
    """Packets of a classic pcap file (any byte order, micro- or nanosecond)."""
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise AssertionError("not a pcap file: %r" % magic)
    packets = []
    off = 24
    while off + 16 <= len(data):
        _sec, _frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        packets.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return packets


def eavesdrop(port, curl_args, workdir, name):
    """Captures one curl exchange with 127.0.0.1:PORT. Returns (curl Result, pcap bytes,
    packets)."""
    path = os.path.join(workdir, name + ".pcap")
    cap = Capture(port, path)
    try:
        result = curl(curl_args)
    finally:
        cap.stop()
    raw = cap.raw()
    return result, raw, pcap_packets(raw)


def needles(user, password, secret):
    """What an eavesdropper must never see: the message, the password, the Basic header."""
    creds = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {
        "message": secret.encode(),
        "password": password.encode(),
        "basic credentials": creds.encode(),
    }


def leaks(raw, user, password, secret):
    return sorted(k for k, v in needles(user, password, secret).items() if v in raw)


class EavesdropTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        sec.require_tool("tshark")
        cls.ws = sec.Workspace(prefix="hush-sec-")
        cls.addClassCleanup(cls.ws.cleanup)
        cls.club = sec.make_club(cls.ws)
        cls.server = sec.start_hush(cls.club)
        cls.addClassCleanup(cls.server.stop)

    def test_capture_of_a_member_reading_holds_no_secret(self):
        pw = self.club.passwords["alice"]
        result, raw, packets = eavesdrop(
            self.server.port,
            ["--cacert", self.club.ca_pem, "-u", "alice:%s" % pw, self.server.url],
            self.ws.path, "hush")
        # The exchange happened, and it is in the capture.
        self.assertEqual(result.rc, 0, result)
        self.assertIn(sec.SECRET_TEXT, result.out, "the member did not read the message")
        self.assertGreaterEqual(len(packets), MIN_PACKETS,
                                "capture holds %d packets" % len(packets))
        self.assertTrue(any(b"\x17\x03\x03" in p for p in packets),
                        "no TLS application-data record captured: did tshark see the exchange?")
        # ...and holds none of the secrets.
        self.assertEqual(leaks(raw, "alice", pw, sec.SECRET_TEXT), [])

    def test_control_plain_server_leaks_everything(self):
        pw = "correct-horse-battery"
        with sec.PlainServer("--secret", sec.SECRET_TEXT, "--member", "alice:" + pw) as plain:
            result, raw, packets = eavesdrop(plain.port, ["-u", "alice:%s" % pw, plain.url],
                                             self.ws.path, "plain")
        self.assertEqual(result.rc, 0, result)
        self.assertIn(sec.SECRET_TEXT, result.out)
        self.assertGreaterEqual(len(packets), MIN_PACKETS)
        self.assertEqual(leaks(raw, "alice", pw, sec.SECRET_TEXT),
                         ["basic credentials", "message"])  # base64 hides the bare password


if __name__ == "__main__":
    sec.main()
