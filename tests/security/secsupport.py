"""Helpers for the hush security tests, on top of tests/integration/support.py.

Everything stays on loopback: hush listens on 127.0.0.1 port 0, clients may bind other 127.0.0.x
source addresses (all of 127/8 is loopback on Linux), every subprocess and every wait is bounded,
and only processes started here are stopped, by PID.

Each test has a control: the same probe against a throwaway plain-HTTP server (plain_server.py)
must find what the test looks for, so that a probe that cannot see anything does not pass.
"""

import atexit
import os
import re
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import requests  # noqa: E402  (Debian's python3-requests)
from requests.adapters import HTTPAdapter  # noqa: E402

import support  # noqa: E402
from support import (  # noqa: E402,F401
    CMD_TIMEOUT, HTTP_TIMEOUT, HUSH_BIN, Club, Server, Workspace, basic, clean_env, curl,
    read_line, run)

PLAIN_SERVER = os.path.join(HERE, "plain_server.py")
PYTHON = sys.executable or "/usr/bin/python3"

# A message text nobody could confuse with anything else in a capture or a response.
SECRET_TEXT = "the-owl-flies-at-midnight-7f3a9c41"

# Header and body checks: what would name the software, and what looks like a version.
BRAND_RE = re.compile(r"hush", re.I)
VERSION_RE = re.compile(r"\d+\.\d+|/\d|\bv\d")
# The one place the contract puts "hush" on the wire.
ALLOWED_WWW_AUTHENTICATE = re.compile(r'^Basic realm="hush"(, charset="UTF-8")?$')


# ---- config ---------------------------------------------------------------------------------


def configure(club, table, key, value):
    """Sets `key = value` (raw TOML) in [table] of hush.toml: replaced if present, else added
    under the table, else the table is appended. Settings that the running binary does not know
    make `hush serve` refuse to start, which fails the test (that is the contract)."""
    lines = club.read_config().splitlines()
    current = None
    header_at = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1].strip()
            if current == table:
                header_at = i
        elif current == table and re.match(r"^%s\s*=" % re.escape(key), stripped):
            lines[i] = "%s = %s" % (key, value)
            club.write_config("\n".join(lines) + "\n")
            return
    if header_at is None:
        lines += ["", "[%s]" % table, "%s = %s" % (key, value)]
    else:
        lines.insert(header_at + 1, "%s = %s" % (key, value))
    club.write_config("\n".join(lines) + "\n")


def make_club(ws, config=None, members=("alice",), secret=SECRET_TEXT):
    """A club with members (reader role, generated passwords), one message SECRET and CONFIG
    {(table, key): raw TOML} applied. Returns the club. Its store is support.Club's: SQLite, or
    with HUSH_TEST_STORE=postgresql a fresh database of the process's PostgreSQL cluster."""
    club = Club(ws)
    for (table, key), value in (config or {}).items():
        configure(club, table, key, value)
    for name in members:
        club.add_member(name)
    if secret is not None:
        club.post(secret)
    return club


def start_hush(club):
    """`hush serve` on 127.0.0.1 port 0. A config the binary refuses fails with its log."""
    return Server(club).start()


def serve_club(testcase, config=None):
    """A club (make_club with CONFIG) served for TESTCASE, both cleaned up after it."""
    ws = Workspace(prefix="hush-sec-")
    testcase.addCleanup(ws.cleanup)
    club = make_club(ws, config)
    server = start_hush(club)
    testcase.addCleanup(server.stop)
    return club, server


def require_tool(name):
    for d in os.environ.get("PATH", "/usr/bin:/bin").split(":") + ["/usr/sbin", "/sbin"]:
        p = os.path.join(d, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    raise AssertionError("%s is not installed (scripts/install-deps installs it)" % name)


# ---- HTTP clients ---------------------------------------------------------------------------


class SourceAddressAdapter(HTTPAdapter):
    """A transport adapter whose connections leave from SOURCE_IP (a loopback address)."""

    def __init__(self, source_ip, **kw):
        self.source_ip = source_ip
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self.source_ip, 0)
        return super().init_poolmanager(*args, **kw)


def http_session(ca_pem=None, source_ip=None):
    """A requests session: trusts only CA_PEM (if given), no proxies, optional source IP."""
    s = requests.Session()
    s.trust_env = False
    s.proxies = {}
    if ca_pem:
        s.verify = ca_pem
    if source_ip:
        adapter = SourceAddressAdapter(source_ip)
        s.mount("https://", adapter)
        s.mount("http://", adapter)
    return s


def timed_get(sess, url, user=None, password=None, timeout=HTTP_TIMEOUT):
    """(status or None, seconds, response or exception) of one GET."""
    headers = {}
    if user is not None:
        headers["Authorization"] = basic(user, password)
    t0 = time.monotonic()
    try:
        r = sess.get(url, headers=headers, timeout=timeout, allow_redirects=False)
        return r.status_code, time.monotonic() - t0, r
    except requests.RequestException as e:
        return None, time.monotonic() - t0, e


def member_get(club, server, source_ip, timeout=5):
    """(status or None, seconds, response or exception) of alice's GET / from SOURCE_IP."""
    s = http_session(club.ca_pem, source_ip)
    try:
        return timed_get(s, server.url, "alice", club.passwords["alice"], timeout=timeout)
    finally:
        s.close()


def median(values):
    return statistics.median(values) if values else float("nan")


# ---- the control peer -----------------------------------------------------------------------


class PlainServer:
    """plain_server.py as a subprocess: plain HTTP on 127.0.0.1 port 0, like the naive Flask app
    the course starts from. ARGS are its options (see plain_server.py)."""

    SERVING_RE = re.compile(rb"^plain: serving http://127\.0\.0\.1:(\d+)/\s*$")
    live = []  # stopped at exit whatever happened

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [PYTHON, PLAIN_SERVER] + [str(a) for a in args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=clean_env())
        PlainServer.live.append(self)
        line = read_line(self.proc.stdout, support.START_TIMEOUT)
        m = self.SERVING_RE.match(line or b"")
        if not m:
            self.stop()
            raise AssertionError("plain control server did not start: %r" % line)
        self.port = int(m.group(1))
        self.host = "127.0.0.1"
        self.url = "http://127.0.0.1:%d/" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()
        if self in PlainServer.live:
            PlainServer.live.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


atexit.register(lambda: [p.stop() for p in list(PlainServer.live)])


# ---- raw connections ------------------------------------------------------------------------


def raw_connect(host, port, source_ip=None, timeout=5.0):
    """A plain TCP connection, optionally from SOURCE_IP."""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if source_ip:
            s.bind((source_ip, 0))
        s.connect((host, port))
    except OSError:
        s.close()
        raise
    return s


class Target:
    """Where raw requests go: TLS with the club CA (hush) or plain TCP (the control)."""

    def __init__(self, host, port, ca_pem=None):
        self.host, self.port, self.ca_pem = host, port, ca_pem

    def connect(self, source_ip=None, timeout=5.0):
        s = raw_connect(self.host, self.port, source_ip, timeout)
        if not self.ca_pem:
            return s
        ctx = ssl.create_default_context(cafile=self.ca_pem)
        try:
            return ctx.wrap_socket(s, server_hostname=self.host)
        except (OSError, ssl.SSLError):
            s.close()
            raise

    def exchange(self, data, timeout=4.0, source_ip=None):
        """Sends DATA, reads until the peer closes or TIMEOUT passes.
        Returns (bytes received, closed) where closed is True when the peer ended the
        connection (EOF or reset) before the timeout."""
        with self.connect(source_ip, timeout) as s:
            try:
                s.sendall(data)
            except OSError:
                pass
            return read_until_close(s, timeout)


def read_until_close(sock, timeout, limit=1 << 20):
    """(bytes, closed): reads until EOF/reset (closed True) or TIMEOUT (closed False)."""
    chunks, total = [], 0
    deadline = time.monotonic() + timeout
    while total < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(chunks), False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return b"".join(chunks), False
        except ssl.SSLError as e:
            # A peer that closes without close_notify, or a handshake it aborts: it closed.
            if "timed out" in str(e):
                return b"".join(chunks), False
            return b"".join(chunks), True
        except OSError:
            return b"".join(chunks), True
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks), False


def closed_by_peer(socks, wait_s=1.0):
    """For each socket: True if the peer closed it (EOF or reset) within WAIT_S in all."""
    deadline = time.monotonic() + wait_s
    result = []
    for s in socks:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            result.append(s.recv(1) == b"")
        except socket.timeout:
            result.append(False)
        except OSError:
            result.append(True)
    return result


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def wait_closed(sock, timeout):
    """Seconds until the peer closes SOCK (reading and dropping data), or None after TIMEOUT."""
    t0 = time.monotonic()
    _data, closed = read_until_close(sock, timeout)
    return time.monotonic() - t0 if closed else None


STATUS_LINE_RE = re.compile(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r?\n")


def split_responses(raw, head_request=False):
    """Parses RAW as a sequence of HTTP/1.x responses framed by Content-Length.
    Returns [(status, {lower header: value}, body)]; trailing bytes that do not start with a
    status line become one entry with status None (garbage that a client would misread)."""
    out = []
    rest = raw
    first = True
    while rest:
        m = STATUS_LINE_RE.match(rest)
        if not m:
            out.append((None, {}, rest))
            break
        head_end = rest.find(b"\r\n\r\n")
        sep = 4
        if head_end < 0:
            head_end = rest.find(b"\n\n")
            sep = 2
        if head_end < 0:
            out.append((int(m.group(1)), {}, rest))
            break
        headers = {}
        for line in rest[m.end():head_end].decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body_start = head_end + sep
        if head_request and first:
            length = 0
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                length = len(rest) - body_start
        out.append((int(m.group(1)), headers, rest[body_start:body_start + length]))
        rest = rest[body_start + length:]
        first = False
    return out


# ---- background load ------------------------------------------------------------------------


class Loop(threading.Thread):
    """Runs FN(index) repeatedly until stop() or DEADLINE seconds pass; bounded by MAX_ROUNDS."""

    def __init__(self, fn, deadline_s, max_rounds=100000):
        super().__init__(daemon=True)
        self.fn = fn
        self.deadline = time.monotonic() + deadline_s
        self.max_rounds = max_rounds
        self._stop_event = threading.Event()
        self.rounds = 0
        self.errors = 0

    def run(self):
        while (not self._stop_event.is_set() and time.monotonic() < self.deadline
               and self.rounds < self.max_rounds):
            try:
                self.fn(self.rounds)
            except Exception:  # noqa: BLE001  (load generators must not die on one failure)
                self.errors += 1
            self.rounds += 1

    def stop(self, join_timeout=20):
        self._stop_event.set()
        self.join(join_timeout)


def main():
    support.main()
