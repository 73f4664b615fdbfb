"""Helpers for the hush integration tests.

Everything here is hermetic: clubs live in fresh temporary directories, servers listen on
127.0.0.1 (or ::1) port 0, every subprocess has a timeout and every wait is bounded.

The hush binary comes from $HUSH_BIN, falling back to the dev build in this work tree.
Run the tests with Debian's /usr/bin/python3 (it has python3-requests).
"""

import atexit
import base64
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True

import requests  # noqa: E402  (Debian's python3-requests)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
HUSH_BIN = os.environ.get("HUSH_BIN") or os.path.join(REPO, "build", "dev", "src", "hush")

# Bounds for everything that waits.
CMD_TIMEOUT = 30  # one CLI command or one client tool (curl, openssl)
START_TIMEOUT = 10  # until `hush serve` prints its URL
STOP_TIMEOUT = 20  # after SIGTERM, before SIGKILL (shutdown_grace_seconds defaults to 10)
HTTP_TIMEOUT = 15  # one HTTP request

SERVING_RE = re.compile(r"^hush: serving (https://(\[[0-9a-fA-F:]+\]|[0-9.]+):(\d+)/)$")
PASSWORD_RE = re.compile(r"password shown once: (\S+)\s*$")
INIT_ADMIN_RE = re.compile(r'^Member "admin" \(admin\), password shown once: (\S+)$')
UTC_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

SECURITY_HEADERS = (
    "Strict-Transport-Security",
    "Cache-Control",
    "X-Content-Type-Options",
    "Content-Security-Policy",
    "Referrer-Policy",
)

# Servers still running and temporary directories still there when the interpreter exits are
# stopped and removed, whatever happened to the tests (a failing setUpClass skips tearDownClass).
_live_servers = []
_live_workspaces = []


def _kill_leftovers():
    for server in list(_live_servers):
        server.stop()
    # The shared cluster after the servers that use it, before its state directory goes.
    if _shared_postgres is not None:
        _shared_postgres.stop()
    for workspace in list(_live_workspaces):
        workspace.cleanup()


atexit.register(_kill_leftovers)

# The store every club made here lives in (issue 15: the suites that matter run on both).
# Unset or "sqlite": hush.db in the club directory, hush's default. "postgresql": each club a
# fresh database of one throwaway PostgreSQL cluster per test process (pg_support.Postgres:
# tests/support/pg_cluster, fsync off, as no test here crashes PostgreSQL itself), started at
# the first club and stopped at exit. ctest's postgres.* registrations set it
# (tests/integration/CMakeLists.txt).
TEST_STORE = os.environ.get("HUSH_TEST_STORE") or "sqlite"
if TEST_STORE not in ("sqlite", "postgresql"):
    raise SystemExit("HUSH_TEST_STORE=%r: sqlite or postgresql" % TEST_STORE)
_shared_postgres = None


def on_postgres():
    return TEST_STORE == "postgresql"


def shared_postgres():
    """The test process's PostgreSQL cluster (pg_support.Postgres), started on first use."""
    global _shared_postgres
    if _shared_postgres is None:
        import pg_support  # here: it imports this module
        # Set before start(), so that the exit handler also stops a cluster half started.
        _shared_postgres = pg_support.Postgres(Workspace(prefix="hush-pgstore-"))
        _shared_postgres.start()
    return _shared_postgres


def test_store_url():
    """The --store for a new club: None on SQLite, else a fresh database's libpq string."""
    return shared_postgres().new_database() if on_postgres() else None


def clean_env(extra=None, drop=()):
    """The environment for subprocesses: no proxies (all traffic is to loopback), no HUSH_DIR."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and k != "HUSH_DIR" and k not in drop
    }
    env["NO_PROXY"] = "*"
    env["no_proxy"] = "*"
    if extra:
        env.update(extra)
    return env


class Result:
    """A finished subprocess: rc, out/err as text and out_bytes as bytes."""

    def __init__(self, args, rc, out_bytes, err_bytes):
        self.args = args
        self.rc = rc
        self.out_bytes = out_bytes
        self.err_bytes = err_bytes
        self.out = out_bytes.decode("utf-8", errors="replace")
        self.err = err_bytes.decode("utf-8", errors="replace")

    def __repr__(self):
        return "Result(args=%r, rc=%r, out=%r, err=%r)" % (self.args, self.rc, self.out, self.err)


def run(args, input=None, env=None, cwd=None, timeout=CMD_TIMEOUT):
    """Runs a command with a timeout; input may be str or bytes. Never raises on exit status."""
    if isinstance(input, str):
        input = input.encode("utf-8")
    proc = subprocess.run(
        [str(a) for a in args],
        input=input if input is not None else b"",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env if env is not None else clean_env(),
        cwd=cwd,
        timeout=timeout,
    )
    return Result(args, proc.returncode, proc.stdout, proc.stderr)


# What AddressSanitizer, LeakSanitizer and UBSan print when the asan build finds a bug. Every
# hush process's stderr is checked for it, so the asan preset's run of this suite fails loudly
# instead of passing with a report nobody reads.
SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error: ")


def check_sanitizers(stderr_text, what):
    found = SANITIZER_RE.search(stderr_text)
    if found:
        raise AssertionError("sanitizer report from %s:\n%s" % (what, stderr_text[found.start():][:4000]))


def hush(*args, input=None, env=None, cwd=None, timeout=CMD_TIMEOUT):
    result = run([HUSH_BIN] + [str(a) for a in args], input=input, env=env, cwd=cwd, timeout=timeout)
    check_sanitizers(result.err, "hush " + " ".join(str(a) for a in args))
    return result


def require_binary():
    if not (os.path.isfile(HUSH_BIN) and os.access(HUSH_BIN, os.X_OK)):
        sys.stderr.write("hush binary not found at %s (set HUSH_BIN)\n" % HUSH_BIN)
        sys.exit(2)


# The header rows of the CLI's lists (docs/operations.md).
MEMBER_HEADER = ["NAME", "ROLE", "CREATED"]
MESSAGE_HEADER = ["ID", "CREATED", "AUTHOR", "FORMAT", "LIFE"]
TOKEN_HEADER = ["NAME", "MEMBER", "CREATED", "EXPIRES"]
AUDIT_HEADER = ["TIME", "MEMBER", "MESSAGE", "REMOTE"]
CERT_HEADER = ["SERIAL", "KIND", "NAMES", "EXPIRES", "STATUS"]


def table_rows(result, header):
    """The rows of a list the CLI printed (hush member list, ...): checks the exit status and the
    header row, and returns every other line split on tabs, each with as many fields."""
    if result.rc != 0:
        raise AssertionError("list failed: %r" % result)
    lines = result.out.splitlines()
    if not lines or lines[0].split("\t") != header:
        raise AssertionError("expected the header row %r: %r" % (header, result.out))
    rows = [line.split("\t") for line in lines[1:]]
    for row in rows:
        if len(row) != len(header):
            raise AssertionError("row %r does not match the header %r" % (row, header))
    return rows


def one_hush_line(testcase, result):
    """Asserts a failure: non-zero exit and exactly one stderr line 'hush: <reason>'."""
    testcase.assertNotEqual(result.rc, 0, "expected failure: %r" % result)
    lines = result.err.splitlines()
    testcase.assertEqual(len(lines), 1, "stderr must be one line: %r" % result)
    testcase.assertTrue(lines[0].startswith("hush: "), "stderr must start 'hush: ': %r" % result)
    testcase.assertGreater(len(lines[0].strip()), len("hush:"), "empty reason: %r" % result)
    return lines[0]


class Workspace:
    """A temporary directory removed at cleanup."""

    def __init__(self, prefix="hush-it-"):
        self.path = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.path, 0o700)
        _live_workspaces.append(self)

    def sub(self, *parts):
        return os.path.join(self.path, *parts)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)
        if self in _live_workspaces:
            _live_workspaces.remove(self)


def parse_init_password(output):
    lines = output.splitlines()
    if len(lines) != 3:
        raise AssertionError("hush init should print three lines, got %r" % output)
    m = INIT_ADMIN_RE.match(lines[2])
    if not m:
        raise AssertionError("cannot find the admin password in %r" % output)
    return m.group(1)


class Club:
    """A club made by `hush init` in WORKSPACE/NAME. STORE: a --store URL; by default the
    store HUSH_TEST_STORE names (test_store_url)."""

    def __init__(self, workspace, name="club", hosts=(), store=None):
        self.workspace = workspace
        self.dir = workspace.sub(name)
        if store is None:
            store = test_store_url()
        self.store = store
        args = ["init", "--dir", self.dir]
        for h in hosts:
            args += ["--host", h]
        if store is not None:
            args += ["--store", store]
        self.init_result = hush(*args)
        if self.init_result.rc != 0:
            raise AssertionError("hush init failed: %r" % self.init_result)
        self.admin_password = parse_init_password(self.init_result.out)
        self.passwords = {"admin": self.admin_password}
        if store is not None and os.path.exists(self.path("hush.db")):
            raise AssertionError("a club on %r made hush.db" % store)

    def another_instance(self, name):
        """A second instance of this club: a copy of its directory (keys, certificates, config),
        as docs/scaling.md tells an admin to make; with store.url set, both share the data."""
        copy = Club.__new__(Club)
        copy.workspace = self.workspace
        copy.dir = self.workspace.sub(name)
        shutil.copytree(self.dir, copy.dir, symlinks=True)
        copy.store = self.store
        copy.init_result = self.init_result
        copy.admin_password = self.admin_password
        copy.passwords = self.passwords
        return copy

    # Paths
    def path(self, name):
        return os.path.join(self.dir, name)

    @property
    def ca_pem(self):
        return self.path("ca.pem")

    @property
    def config_path(self):
        return self.path("hush.toml")

    # CLI
    def hush(self, *args, input=None, timeout=CMD_TIMEOUT):
        """Runs `hush ARGS... --dir DIR`."""
        return hush(*args, "--dir", self.dir, input=input, timeout=timeout)

    def add_member(self, name, role="reader", password=None):
        args = ["member", "add", name, "--role", role]
        if password is not None:
            args.append("--password-stdin")
        r = self.hush(*args, input=(password + "\n") if password is not None else None)
        if r.rc != 0:
            raise AssertionError("member add failed: %r" % r)
        if password is None:
            m = PASSWORD_RE.search(r.out.strip())
            if not m:
                raise AssertionError("no generated password in %r" % r.out)
            password = m.group(1)
        self.passwords[name] = password
        return password

    def post(self, text, author=None):
        args = ["message", "post"]
        if author:
            args += ["--author", author]
        # On standard input, as the README teaches: a text in argv is visible to every local user.
        r = self.hush(*args, "-", input=text)
        if r.rc != 0:
            raise AssertionError("message post failed: %r" % r)
        return int(r.out.strip())

    def sql(self, statement):
        """STATEMENT run on this club's PostgreSQL database (psql, unaligned, tuples only)."""
        if not self.store or _shared_postgres is None:
            raise AssertionError("the club's data is not in the shared PostgreSQL cluster")
        m = re.search(r"(?:^|\s)dbname=(\S+)", self.store)
        if not m:
            raise AssertionError("no dbname in the store URL %r" % self.store)
        return shared_postgres().psql(statement, dbname=m.group(1))

    # Config
    def read_config(self):
        with open(self.config_path, encoding="utf-8") as f:
            return f.read()

    def write_config(self, text):
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(text)

    def set_config(self, table, key, value):
        """Replaces `key = ...` inside [table] with `key = value` (value is raw TOML)."""
        lines = self.read_config().splitlines()
        current = None
        for i, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith("[") and stripped.endswith("]"):
                current = stripped[1:-1].strip()
            elif current == table and re.match(r"^%s\s*=" % re.escape(key), stripped):
                lines[i] = "%s = %s" % (key, value)
                self.write_config("\n".join(lines) + "\n")
                return
        raise AssertionError("no %s.%s in hush.toml" % (table, key))

    def insert_config_line(self, table, line):
        """Adds LINE right after the [table] header (or at the very top if table is None)."""
        lines = self.read_config().splitlines()
        if table is None:
            lines.insert(0, line)
        else:
            idx = lines.index("[%s]" % table)
            lines.insert(idx + 1, line)
        self.write_config("\n".join(lines) + "\n")

    def serve(self, listen="127.0.0.1:0"):
        return Server(self, listen=listen).start()


class Server:
    """`hush serve` as a subprocess; stdout gives the URL, stderr goes to a log file."""

    def __init__(self, club, listen="127.0.0.1:0", preexec_fn=None, announcements=0):
        self.club = club
        # One --listen, or several: the URL of each is printed, in order ("hush: serving URL").
        self.listen = [listen] if isinstance(listen, str) else list(listen)
        # Lines printed after the serving lines to read too ("hush: redirect URL", say).
        self.announcements = announcements
        self.urls = []
        self.announced = []
        self.preexec_fn = preexec_fn  # run in the child before exec (a resource limit, say)
        self.proc = None
        self.url = None
        self.host = None
        self.port = None
        self.returncode = None
        self.killed = False
        self.log_path = None
        self._log_file = None

    def start(self):
        fd, self.log_path = tempfile.mkstemp(prefix="serve-", suffix=".log",
                                             dir=self.club.workspace.path)
        self._log_file = os.fdopen(fd, "wb")
        self.proc = subprocess.Popen(
            [HUSH_BIN, "serve", "--dir", self.club.dir]
            + [arg for address in self.listen for arg in ("--listen", address)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            env=clean_env(),
            preexec_fn=self.preexec_fn,
        )
        _live_servers.append(self)
        line = read_line(self.proc.stdout, START_TIMEOUT)
        m = SERVING_RE.match(line.decode("utf-8", errors="replace").rstrip("\n")) if line else None
        if not m:
            self.stop()
            raise AssertionError("hush serve did not start: stdout %r, rc %r, log %r"
                                 % (line, self.returncode, self.log()))
        self.url, self.host, self.port = m.group(1), m.group(2), int(m.group(3))
        self.urls = [self.url]
        for _ in range(max(len(self.listen) - 1, 0) + self.announcements):
            line = read_line(self.proc.stdout, START_TIMEOUT).decode("utf-8", "replace").rstrip("\n")
            m = SERVING_RE.match(line)
            if m:
                self.urls.append(m.group(1))
            else:
                self.announced.append(line)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def wait(self, timeout=STOP_TIMEOUT):
        """Waits for exit; SIGKILL only as a last resort. Returns the exit status."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.killed = True
            self.proc.kill()
            self.returncode = self.proc.wait(timeout=10)
        self._close()
        check_sanitizers(self.log(), "hush serve")
        return self.returncode

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        if self.proc is None:
            return None
        if self.returncode is None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            self.wait(timeout)
        return self.returncode

    def _close(self):
        if self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()
        if self._log_file and not self._log_file.closed:
            self._log_file.close()
        if self in _live_servers:
            _live_servers.remove(self)

    def log_bytes(self):
        if self._log_file and not self._log_file.closed:
            self._log_file.flush()
        if not self.log_path or not os.path.exists(self.log_path):
            return b""
        with open(self.log_path, "rb") as f:
            return f.read()

    def log(self):
        return self.log_bytes().decode("utf-8", errors="replace")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def read_line(stream, timeout):
    """Reads one line from a pipe within TIMEOUT seconds; b'' at EOF or on timeout."""
    fd = stream.fileno()
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\n" not in buf and len(buf) < 65536:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        # A byte at a time: whatever follows the line stays in the pipe for the next call.
        chunk = os.read(fd, 1)
        if not chunk:
            break
        buf += chunk
    return buf.split(b"\n", 1)[0] + b"\n" if b"\n" in buf else buf


def try_serve(club, listen="127.0.0.1:0", timeout=START_TIMEOUT):
    """Starts `hush serve` expecting it to refuse. Returns (started, Result).

    started is True if it printed its URL or was still running after TIMEOUT seconds; such a
    server is stopped before returning."""
    proc = subprocess.Popen(
        [HUSH_BIN, "serve", "--dir", club.dir, "--listen", listen],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
    line = read_line(proc.stdout, timeout)
    started = line.startswith(b"hush: serving")
    if started:
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=STOP_TIMEOUT if started else timeout)
    except subprocess.TimeoutExpired:
        started = True  # still running: it did not refuse
        proc.kill()
        out, err = proc.communicate(timeout=10)
    return started, Result(["serve", "--dir", club.dir], proc.returncode, line + out, err)


# ---- HTTP clients -----------------------------------------------------------------------------


def stop_process(proc, timeout=10):
    """Ends a helper process this test started (a CA, a proxy): SIGTERM, then SIGKILL after
    TIMEOUT seconds; waits for it either way."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def session(ca_pem):
    """A requests session that trusts only the club's CA and ignores proxy settings."""
    s = requests.Session()
    s.trust_env = False
    s.verify = ca_pem
    s.proxies = {}
    return s


def basic(user, password):
    raw = ("%s:%s" % (user, password)).encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode("ascii")


def curl(args, timeout=CMD_TIMEOUT):
    return run(["curl", "--noproxy", "*", "--silent", "--show-error", "--max-time", "15"] + args,
                timeout=timeout)


def s_client(port, ca_pem, extra, host="127.0.0.1", timeout=CMD_TIMEOUT):
    """openssl s_client with no input: handshakes, then closes. Returns (Result, info dict)."""
    r = run(["openssl", "s_client", "-connect", "%s:%d" % (host, port), "-CAfile", ca_pem,
             "-verify_return_error"] + list(extra), timeout=timeout)
    return r, parse_s_client(r.out)


def parse_s_client(out):
    """Protocol, cipher and verify result of an s_client run; cipher is None if no handshake."""
    info = {"protocol": None, "cipher": None, "verify": None}
    new_line_protocol = None
    for line in out.splitlines():
        m = re.match(r"^New, (\S+), Cipher is (\S+)", line)
        if m and m.group(2) != "(NONE)":
            info["cipher"] = m.group(2)
            new_line_protocol = m.group(1)
        m = re.match(r"^\s*Protocol\s*:\s*(\S+)", line)
        if m:
            info["protocol"] = m.group(1)
        m = re.match(r"^\s*Verify return code:\s*(.*)$", line)
        if m:
            info["verify"] = m.group(1).strip()
    # The SSL-Session block (with "Protocol :") may be missing for TLS 1.3 when s_client closes
    # before the session tickets come; then the "New, TLSv1.3, ..." line names the protocol.
    if info["protocol"] is None and new_line_protocol == "TLSv1.3":
        info["protocol"] = "TLSv1.3"
    return info


def handshake_ok(info):
    return info["cipher"] is not None


class OpenSSLServer:
    """A control peer: `openssl s_server` on 127.0.0.1 port 0 with the club's server key."""

    def __init__(self, club, extra):
        self.proc = subprocess.Popen(
            ["openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", club.path("server.pem"),
             "-key", club.path("server.key"), "-naccept", "1"] + list(extra),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=clean_env())
        self.port = None
        # Everything it prints is kept: "Using default temp DH parameters" and the ACCEPT line
        # often arrive in one read, and a line reader that drops the rest would miss the port.
        deadline = time.monotonic() + START_TIMEOUT
        fd = self.proc.stdout.fileno()
        seen = b""
        while self.port is None and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
            m = re.search(rb"(?m)^ACCEPT .*:(\d+)\s*$", seen)
            if m:
                self.port = int(m.group(1))
        if self.port is None:
            self.stop()
            raise AssertionError("openssl s_server did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for f in (self.proc.stdin, self.proc.stdout):
            if f and not f.closed:
                f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def tls_exchange(host, port, ca_pem, data, timeout=HTTP_TIMEOUT, server_hostname=None):
    """Sends DATA over a verified TLS connection and reads until the peer closes (bounded)."""
    ctx = ssl.create_default_context(cafile=ca_pem)
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_hostname or host) as tls:
            tls.sendall(data)
            return read_until_close(tls, timeout)


def read_until_close(sock, timeout, limit=1 << 20):
    chunks = []
    total = 0
    deadline = time.monotonic() + timeout
    while total < limit and time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ConnectionResetError, ssl.SSLError, OSError):
            break
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def parse_raw_response(raw):
    """(status, {lower-case header: value}, body) of one HTTP/1.1 response in RAW bytes."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"^HTTP/1\.[01] (\d{3})", lines[0]) if lines else None
    if not m:
        raise AssertionError("not an HTTP response: %r" % raw[:200])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(m.group(1)), headers, body


# ---- at-rest checks ---------------------------------------------------------------------------


def regular_files(directory):
    """(path, bytes) of every regular file under DIRECTORY (links are not followed)."""
    for root, _dirs, names in os.walk(directory):
        for name in names:
            p = os.path.join(root, name)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            with open(p, "rb") as f:
                yield p, f.read()


def files_containing(directory, needle):
    """Every regular file under DIRECTORY whose bytes contain NEEDLE (bytes)."""
    return [p for p, data in regular_files(directory) if needle in data]


# Bytes: a window this long of a sealed body (random nonce, ciphertext) is unique.
SEALED_WINDOW = 16


def sealed_body(club, message_id):
    """The sealed column of a message, read straight from the club's SQLite database file."""
    import sqlite3
    db = sqlite3.connect(club.path("hush.db"), timeout=10)
    try:
        row = db.execute("SELECT sealed FROM messages WHERE id = ?", (message_id,)).fetchone()
    finally:
        db.close()
    if row is None:
        raise AssertionError("message %d is not in the database" % message_id)
    return bytes(row[0])


def files_with_window(directory, blob):
    """Every file under DIRECTORY that holds some SEALED_WINDOW-byte window of BLOB, with the
    offset of the first window found there: [(file name, offset)]."""
    windows = [blob[i:i + SEALED_WINDOW] for i in range(0, len(blob) - SEALED_WINDOW + 1)]
    found = []
    for path, data in regular_files(directory):
        for offset, w in enumerate(windows):
            if w in data:
                found.append((os.path.basename(path), offset))
                break
    return found


def main():
    """Runs the calling module's tests; exits non-zero on any failure."""
    require_binary()
    unittest.main(module="__main__", verbosity=2)
