#!/usr/bin/python3
"""Side-by-side benchmark: hush against nginx and h2o over the same TLS, on this machine, in one
run.

The three servers get the same ECDSA P-256 certificate and key (the club's), TLS 1.2/1.3 with the
same TLS 1.2 suites (and OpenSSL's TLS 1.3 suites, which are the same three), keep an access log,
and answer GET / with the same bytes (nginx: `return 200 "<message>"`; h2o: an mruby handler that
returns the message, or a static file where h2o was built without mruby). Each workload runs in
several rounds, the servers interleaved (the order rotates per round); the report gives the median,
min and max of each, and hush/nginx and hush/h2o ratios of the medians.

Besides throughput and p99 it measures the servers' CPU per request (utime + stime of all their
processes, from /proc, over the load, divided by the requests the load completed), relates the CPU
per new connection to the crypto floor (one ECDSA P-256 signature and one ECDH, `openssl speed`),
and the proportional set size (PSS) each idle or half-open connection costs.

Usage: bench/run [--rounds N] [--duration S] [--smoke] [--write docs/performance.md]
Traffic goes to 127.0.0.1 only; every load is bounded in count or time; only processes started
here are stopped, by PID. Exits 1 if a server does not start, a load fails, or a connection meant
to be held could not be made.
"""

import argparse
import base64
import os
import platform
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MESSAGE = "The eagle lands at midnight."
TLS12_CIPHERS = (
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256"
)
TLS13_SUITES = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
GROUPS = "X25519:P-256:P-384"
# The peers' connection caps, as hush's in the bench club (Club below).
MAX_CONNECTIONS = 20000
IDLE_TIMEOUT_SECONDS = 120
CLK_TCK = os.sysconf("SC_CLK_TCK")
PEERS = ("nginx", "h2o")
# How long PSS is left to settle after a batch of connections closes: hush hands the memory of a
# flood of closed connections back at its next look, every 2 s.
SETTLE_AFTER_CLOSE_SECONDS = 3
# How long a batch of connections may take to open before the rest count as failures.
HOLD_DEADLINE_SECONDS = 300


def run(args, **kw):
    kw.setdefault("check", True)
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 600)
    return subprocess.run([str(a) for a in args], **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=10, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("the server on port %d exited with status %d" % (
                port, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError("nothing listens on %d" % port)


def tail(path, lines=5):
    """The last lines of a server's log, for an error message (the scratch directory goes)."""
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def proc_stat(pid):
    """The fields of /proc/PID/stat after the command name (field 3, the state, is [0])."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()


def process_tree(pid):
    """PID and its descendants, PID first (nginx's master and workers; h2o and its helpers)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(proc_stat(int(entry))[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    tree, queue = [], [pid]
    while queue:
        p = queue.pop(0)
        tree.append(p)
        queue += sorted(children.get(p, []))
    return tree


def cpu_ticks(pids):
    """utime + stime of PIDS (all their threads), in clock ticks (CLK_TCK a second)."""
    total = 0
    for pid in pids:
        fields = proc_stat(pid)
        total += int(fields[11]) + int(fields[12])
    return total


def pss_kib(pids):
    """The proportional set size of PIDS, summed (KiB): shared pages count once in all."""
    total = 0
    for pid in pids:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total


def raise_nofile(count):
    """Lets this process (and what it starts from now on) hold COUNT connections and a few more
    files; raises the hard limit too if need be and if allowed (CAP_SYS_RESOURCE)."""
    need = count + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(hard, need)))
    except (ValueError, OSError) as e:
        raise RuntimeError("cannot raise RLIMIT_NOFILE to %d for %d connections (hard limit %d): %s"
                           % (need, count, hard, e))


class Club:
    """A hush club in a scratch directory, with a member, a token and bench-friendly limits."""

    def __init__(self, hush, root):
        self.hush = hush
        self.dir = os.path.join(root, "club")
        run([hush, "init", "--dir", self.dir])
        self.password = "bench-password-alice-1"
        run([hush, "member", "add", "alice", "--password-stdin", "--dir", self.dir],
            input=self.password + "\n")
        run([hush, "message", "post", "--dir", self.dir], input=MESSAGE)
        self.token = run([hush, "token", "create", "bench", "--member", "alice",
                          "--dir", self.dir]).stdout.strip().splitlines()[-1]
        config_path = os.path.join(self.dir, "hush.toml")
        with open(config_path) as f:
            config = f.read()
        # The benchmark is its own guessing flood from one address and one member: lift the caps
        # that would (rightly) refuse it, and nothing else.
        for key, value in (("max_connections", MAX_CONNECTIONS),
                           ("max_connections_per_address", MAX_CONNECTIONS),
                           ("max_connections_per_network", MAX_CONNECTIONS),
                           ("idle_timeout_seconds", IDLE_TIMEOUT_SECONDS),
                           ("member_requests_per_second", 0)):
            config = re.sub(r"(?m)^%s = .*$" % key, "%s = %s" % (key, value), config)
        with open(config_path, "w") as f:
            f.write(config)

    def path(self, name):
        return os.path.join(self.dir, name)


class Server:
    """What the three servers share: the processes to account, a liveness check, a stop by PID."""

    name = "?"
    proc = None

    def pids(self):
        return process_tree(self.proc.pid)

    def check_alive(self):
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError("%s is not running (exit status %s)" % (
                self.name, None if self.proc is None else self.proc.returncode))

    def remember_processes(self):
        # Helpers a server forks (h2o's key process and crash handler) may outlive its main
        # process for a moment; stop() ends them by PID, and only while the PID still names the
        # process recorded here (same start time).
        self.started = [(pid, proc_stat(pid)[19]) for pid in self.pids()]

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        deadline = time.monotonic() + 5
        for pid, start in getattr(self, "started", []):
            while True:
                try:
                    fields = proc_stat(pid)
                except OSError:
                    break
                if fields[19] != start or fields[0] == "Z":
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    break
                time.sleep(0.05)


class Hush(Server):
    name = "hush"

    def __init__(self, hush, club):
        self.hush, self.club = hush, club
        self.port = free_port()
        self.proc = None

    def start(self):
        self.started_at = time.monotonic()
        # The access log (one line per request, [log] level = "info") to a file, as nginx's.
        self.log = open(os.path.join(self.club.dir, "..", "hush.log"), "ab")
        self.proc = subprocess.Popen(
            [self.hush, "serve", "--dir", self.club.dir, "--listen", "127.0.0.1:%d" % self.port],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if "serving" not in line:
            raise RuntimeError("hush did not start: %r" % line)
        self.remember_processes()
        return self

    def pids(self):
        return [self.proc.pid]


class Nginx(Server):
    name = "nginx"

    # Both servers keep an access log in the benchmark, each its own way: nginx buffered
    # (buffer=64k), hush buffered the same way in its stderr, which goes to a file.
    def __init__(self, root, club, access_log=True, single_process=False):
        self.root = os.path.join(root, "nginx")
        os.makedirs(os.path.join(self.root, "logs"), exist_ok=True)
        os.chmod(self.root, 0o755)
        self.port = free_port()
        htpasswd = os.path.join(self.root, "htpasswd")
        # bcrypt at cost 10, the usual choice for auth_basic.
        run(["htpasswd", "-b", "-B", "-C", "10", "-c", htpasswd, "alice", club.password])
        os.chmod(htpasswd, 0o644)
        body = MESSAGE.replace("\\", "\\\\").replace('"', '\\"')
        message_file = os.path.join(self.root, "message.txt")
        with open(message_file, "w") as f:
            f.write(MESSAGE)
        os.chmod(message_file, 0o644)
        self.conf = os.path.join(self.root, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write("""
worker_processes %(workers)d;
master_process %(master)s;
daemon off;
pid %(root)s/nginx.pid;
error_log %(root)s/logs/error.log error;
worker_rlimit_nofile %(max_connections)d;
events { worker_connections %(max_connections)d; }
http {
  %(access_log)s;
  keepalive_requests 10000000;
  keepalive_timeout %(idle)ds;
  client_body_temp_path %(root)s/body;
  server {
    listen 127.0.0.1:%(port)d ssl;
    ssl_certificate %(cert)s;
    ssl_certificate_key %(key)s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers %(ciphers)s;
    ssl_conf_command Ciphersuites %(suites)s;
    ssl_prefer_server_ciphers on;
    ssl_ecdh_curve %(groups)s;
    ssl_session_cache shared:SSL:10m;
    ssl_session_tickets on;
    location = / { default_type "text/plain; charset=utf-8"; return 200 "%(body)s"; }
    # Not `return`: it runs in the rewrite phase, before auth_basic would ever be asked.
    location = /basic {
      auth_basic "club";
      auth_basic_user_file %(htpasswd)s;
      default_type "text/plain; charset=utf-8";
      alias %(message_file)s;
    }
  }
}
""" % {"workers": 1 if single_process else (os.cpu_count() or 1),
       "master": "off" if single_process else "on",
       "access_log": ("access_log %s/logs/access.log combined buffer=64k" % self.root)
                     if access_log else "access_log off", "root": self.root, "port": self.port,
       "cert": club.path("server.pem"), "key": club.path("server.key"),
       "ciphers": TLS12_CIPHERS, "suites": TLS13_SUITES, "groups": GROUPS, "body": body,
       "htpasswd": htpasswd, "message_file": message_file, "max_connections": MAX_CONNECTIONS,
       "idle": IDLE_TIMEOUT_SECONDS})
        self.proc = None

    def start(self):
        self.stderr = open(os.path.join(self.root, "logs", "stderr.log"), "ab")
        self.proc = subprocess.Popen(["nginx", "-p", self.root, "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        try:
            wait_for_port(self.port, proc=self.proc)
        except RuntimeError as e:
            raise RuntimeError("nginx: %s:\n%s%s" % (
                e, tail(os.path.join(self.root, "logs", "error.log")), tail(self.stderr.name)))
        self.remember_processes()
        return self

    def stop(self):
        # SIGQUIT: nginx's graceful shutdown.
        Server.stop(self, signal.SIGQUIT)


def h2o_info():
    """h2o's version line and whether it was built with mruby; raises if h2o is missing."""
    if shutil.which("h2o") is None:
        raise RuntimeError("h2o is not installed (a peer of this benchmark): run "
                           "scripts/install-deps as root")
    out = run(["h2o", "--version"]).stdout
    version = re.search(r"h2o version (\S+)", out)
    return "h2o " + (version.group(1) if version else "?"), bool(re.search(r"(?m)^mruby: YES", out))


class H2o(Server):
    """h2o 2.2 (Debian's), set up as nginx is: the club's certificate, TLS 1.2/1.3 with the same
    TLS 1.2 suites and server preference, the same caps and idle timeout, an access log, and GET /
    answered with the message's bytes."""

    name = "h2o"

    def __init__(self, root, club):
        self.version, self.mruby = h2o_info()
        self.root = os.path.join(root, "h2o")
        os.makedirs(os.path.join(self.root, "logs"), exist_ok=True)
        os.chmod(self.root, 0o755)
        self.port = free_port()
        message_file = os.path.join(self.root, "message.txt")
        with open(message_file, "w") as f:
            f.write(MESSAGE)
        os.chmod(message_file, 0o644)
        if self.mruby:
            # The nearest to nginx's `return 200`: a constant string, no file to open or stat.
            literal = "'%s'" % MESSAGE.replace("\\", "\\\\").replace("'", "\\'")
            self.handler = "mruby.handler"
            handler = ("mruby.handler: |\n"
                       "          body = %s\n"
                       "          Proc.new do |env|\n"
                       "            [200, {'content-type' => 'text/plain; charset=utf-8'}, "
                       "[body]]\n"
                       "          end" % literal)
        else:
            self.handler = "file.file"
            handler = ("file.file: %s\n"
                       "        file.mime.addtypes:\n"
                       "          'text/plain; charset=utf-8': .txt" % message_file)
        self.conf = os.path.join(self.root, "h2o.conf")
        with open(self.conf, "w") as f:
            # h2o 2.2 has no setting for TLS 1.3 suites or for groups: OpenSSL's defaults apply,
            # whose TLS 1.3 suites are TLS13_SUITES in the same order, and whose groups start with
            # X25519, as GROUPS does. Without `user`, h2o run as root drops to nobody once it has
            # read its configuration, certificate, key and opened its logs (as nginx's workers).
            # ocsp-update-interval 0: no OCSP fetcher (the club's certificate names no responder).
            f.write("""num-threads: %(threads)d
max-connections: %(max_connections)d
http1-request-timeout: %(idle)d
error-log: %(root)s/logs/error.log
access-log: %(root)s/logs/access.log
listen:
  host: 127.0.0.1
  port: %(port)d
  ssl:
    certificate-file: %(cert)s
    key-file: %(key)s
    minimum-version: TLSv1.2
    cipher-suite: %(ciphers)s
    cipher-preference: server
    ocsp-update-interval: 0
hosts:
  default:
    paths:
      /:
        %(handler)s
""" % {"threads": os.cpu_count() or 1, "max_connections": MAX_CONNECTIONS,
       "idle": IDLE_TIMEOUT_SECONDS, "root": self.root, "port": self.port,
       "cert": club.path("server.pem"), "key": club.path("server.key"),
       "ciphers": TLS12_CIPHERS, "handler": handler})
        self.proc = None

    def start(self):
        self.stderr = open(os.path.join(self.root, "logs", "stderr.log"), "ab")
        self.proc = subprocess.Popen(["h2o", "-c", self.conf], cwd=self.root,
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        # h2o binds its port while it reads its configuration, before it may still refuse a
        # later line: ready is when it says so in its error log.
        error_log = os.path.join(self.root, "logs", "error.log")
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("h2o exited with status %d:\n%s%s" % (
                    self.proc.returncode, tail(error_log), tail(self.stderr.name)))
            if os.path.exists(error_log):
                with open(error_log) as f:
                    if "ready to serve requests" in f.read():
                        break
            if time.monotonic() > deadline:
                raise RuntimeError("h2o did not start in 10 s:\n%s" % tail(error_log))
            time.sleep(0.02)
        wait_for_port(self.port, proc=self.proc)
        self.remember_processes()
        return self


def get_once(server, ca, path, headers):
    """One GET on a new connection; returns the status line and the body."""
    ctx = ssl.create_default_context(cafile=ca)
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", server.port), timeout=30),
                         server_hostname="localhost") as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n%sConnection: close\r\n\r\n" % (
            path, "".join(h + "\r\n" for h in headers))).encode())
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0], body


def check_serves(server, ca, path, headers):
    """The answer must be 200 with the message, from every server (and it warms what a first
    request warms: hush's verified-credential cache, for one)."""
    status, body = get_once(server, ca, path, headers)
    if b" 200 " not in status or body != MESSAGE.encode():
        raise RuntimeError("%s does not answer GET %s with the message: %r %r" % (
            server.name, path, status, body))


def tls_facts(port):
    """The protocol, suite and key-exchange group a default OpenSSL client gets from PORT."""
    out = run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
               "-servername", "localhost"], input="", timeout=30, check=False).stdout
    temp = re.search(r"Server Temp Key: ([^\n]+)", out)
    suite = re.search(r"New, (\S+), Cipher is (\S+)", out)
    if not temp or not suite:
        raise RuntimeError("no TLS handshake with port %d:\n%s" % (port, out))
    key = temp.group(1)
    group = ("x25519" if key.startswith("X25519") else "p256" if "prime256v1" in key
             else "p384" if "secp384r1" in key else None)
    if group is None:
        raise RuntimeError("unexpected key exchange %r on port %d" % (key, port))
    return {"protocol": suite.group(1), "suite": suite.group(2), "temp_key": key, "group": group}


def crypto_floor(groups):
    """The CPU a server cannot avoid for a full handshake: one ECDSA P-256 signature (the club's
    key) and one ECDH in the negotiated group, as `openssl speed` times them on this machine. The
    server also generates its ephemeral key (another scalar multiplication) and hashes the
    transcript, so a real handshake costs more than the floor."""
    sign = re.search(r"256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)",
                     run(["openssl", "speed", "-seconds", "1", "ecdsap256"], timeout=60).stdout)
    floor = {"sign_per_s": float(sign.group(1)), "ecdh_per_s": {}, "us": {}}
    for group in sorted(set(groups)):
        out = run(["openssl", "speed", "-seconds", "1", "ecdh" + group], timeout=60).stdout
        ecdh = re.search(r"bits ecdh \([^)]*\)\s+\S+\s+([\d.]+)", out)
        floor["ecdh_per_s"][group] = float(ecdh.group(1))
        floor["us"][group] = 1e6 / floor["sign_per_s"] + 1e6 / float(ecdh.group(1))
    return floor


def parse_latency(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(port, path, connections, duration, headers=()):
    args = ["wrk", "-t", "2", "-c", connections, "-d", "%ds" % duration, "--latency",
            "--timeout", "5s"]
    for h in headers:
        args += ["-H", h]
    args.append("https://127.0.0.1:%d%s" % (port, path))
    out = run(args, timeout=duration + 60).stdout
    count = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    if not (count and rps and p99) or int(count.group(1)) == 0:
        raise RuntimeError("wrk completed no requests on %s:\n%s" % (args[-1], out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        # A load that is answered with errors measures the error path, not the workload.
        raise RuntimeError("wrk got %s non-2xx answers from %s:\n%s" % (
            non2xx.group(1), args[-1], out))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors and any(int(e) for e in errors.groups()):
        raise RuntimeError("wrk's socket errors on %s:\n%s" % (args[-1], out))
    return {"rps": float(rps.group(1)), "p99_ms": parse_latency(p99.group(1)),
            "count": int(count.group(1))}


def ab(port, connections, duration, headers=()):
    """ApacheBench: HTTP/1.0 without keep-alive, so a new connection and a full TLS handshake per
    request (ab resumes no session). Bounded by time (-t) and by count (-n, given after -t)."""
    args = ["ab", "-q", "-t", duration, "-n", 10000000, "-c", connections, "-s", 10]
    for h in headers:
        args += ["-H", h]
    args.append("https://127.0.0.1:%d/" % port)
    result = run(args, timeout=duration + 60, check=False)
    out = result.stdout
    complete = re.search(r"Complete requests:\s+(\d+)", out)
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    if (result.returncode != 0 or not complete or int(complete.group(1)) == 0
            or not failed or int(failed.group(1)) or non2xx):
        raise RuntimeError("ab failed on %s (status %d):\n%s%s" % (args[-1], result.returncode, out,
                                                                     result.stderr))
    elapsed = float(re.search(r"Time taken for tests:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"(?m)^\s*99%\s+(\d+)", out)
    temp = re.search(r"Server Temp Key:\s+(\S+)", out)
    return {"rps": int(complete.group(1)) / elapsed, "count": int(complete.group(1)),
            "p99_ms": float(p99.group(1)) if p99 else float("nan"),
            "temp_key": temp.group(1) if temp else "?"}


def s_time(port, reuse, duration):
    # Resumption is measured over TLS 1.2: s_time closes each TLS 1.3 connection before the
    # server's NewSessionTicket arrives, so its "-reuse" never resumes a 1.3 session (seen: every
    # connection "New"), while a 1.2 session id or ticket is resumed ("Reused") by all servers.
    args = ["openssl", "s_time", "-connect", "127.0.0.1:%d" % port, "-time", str(duration)]
    args += ["-reuse", "-tls1_2"] if reuse else ["-new"]
    out = run(args, timeout=duration + 60).stdout
    # "1234 connections in 10.00s; 123.40 connections/user sec, bytes read 0"
    match = re.search(r"(\d+) connections in ([\d.]+)s", out)
    if not match or int(match.group(1)) == 0:
        raise RuntimeError("s_time made no connection to %d:\n%s" % (port, out))
    return {"rps": int(match.group(1)) / float(match.group(2)), "count": int(match.group(1))}


def with_cpu(server, load):
    """Runs LOAD against SERVER and adds the server's CPU (all its processes) per request it
    completed: cpu_us, in microseconds. Clock ticks are 1/CLK_TCK s: over a load of seconds on
    two cores the rounding is well under a percent."""
    server.check_alive()
    pids = server.pids()
    before = cpu_ticks(pids)
    result = load()
    after = cpu_ticks(pids)
    server.check_alive()
    result["cpu_us"] = (after - before) * 1e6 / CLK_TCK / result["count"]
    return result


def hold_connections(port, count, ca, token, request_path="/"):
    """Opens COUNT keep-alive TLS connections, does one request on each, and returns them open."""
    raise_nofile(count)
    ctx = ssl.create_default_context(cafile=ca)
    socks, failures = [], 0
    request = ("GET %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n\r\n"
               % (request_path, token)).encode()
    deadline = time.monotonic() + HOLD_DEADLINE_SECONDS
    for i in range(count):
        if time.monotonic() > deadline:
            failures += count - i
            break
        try:
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            s = ctx.wrap_socket(raw, server_hostname="localhost")
            s.sendall(request)
            data = b""
            while MESSAGE.encode() not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            if b" 200 " not in data.split(b"\r\n", 1)[0]:
                failures += 1
            socks.append(s)
        except OSError:
            failures += 1
    return socks, failures


def partial_client_hello():
    """The first half of the ClientHello a default OpenSSL client sends: a server that gets it
    waits for the rest of the record."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        client.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    return hello[:len(hello) // 2]


def open_silent(port, count, first_bytes=b""):
    """Opens COUNT TCP connections that send FIRST_BYTES (none, or part of a ClientHello) and
    then nothing: half-open TLS connections, as a slow or hostile client leaves them."""
    raise_nofile(count)
    socks, failures = [], 0
    deadline = time.monotonic() + HOLD_DEADLINE_SECONDS
    for i in range(count):
        if time.monotonic() > deadline:
            failures += count - i
            break
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            if first_bytes:
                s.sendall(first_bytes)
            socks.append(s)
        except OSError:
            failures += 1
    return socks, failures


def still_open(socks):
    """How many of these plain sockets the server has not closed (nor answered) yet."""
    alive = 0
    for s in socks:
        # Non-blocking: with a timeout set, recv() would first wait that long for data.
        s.setblocking(False)
        try:
            s.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    return alive


def close_all(socks):
    for s in socks:
        s.close()


def memory_per_connection(server, count, kind, ca, token):
    """The PSS (all the server's processes) each connection costs, in KiB, for COUNT connections
    of KIND: "idle" (TLS, served one request, kept alive), "silent" (TCP, nothing sent) or
    "partial" (half a ClientHello sent).

    A warm-up batch of COUNT is opened and closed first, so that arenas, pools and caches a first
    batch grows are not counted as per-connection memory. Then PSS before, with COUNT open
    (kib_per_conn: the growth per connection), and with COUNT / 2 more open on top
    (marginal_kib_per_conn): allocators keep what the warm-up freed and hand it to the first COUNT
    again, so the first figure shows only what could not be reused (near 0 for an allocator that
    reuses everything), while the connections beyond the warm-up's must take new memory: the
    second figure is what a connection holds. Last, PSS once all are closed and a server that
    hands memory back after a flood (hush looks every 2 s) has had the time to."""
    extra = max(1, count // 2)
    if kind == "idle":
        def open_batch(n):
            return hold_connections(server.port, n, ca, token)
    else:
        first = partial_client_hello() if kind == "partial" else b""

        def open_batch(n):
            return open_silent(server.port, n, first)

    def open_count(socks):
        # Idle TLS connections are within every server's idle timeout here; silent ones may meet
        # a handshake timeout (hush's is 10 s), so they are counted when PSS has been read.
        return len(socks) if kind == "idle" else still_open(socks)

    raise_nofile(count + extra)
    server.check_alive()
    socks, _ = open_batch(count)
    close_all(socks)
    time.sleep(SETTLE_AFTER_CLOSE_SECONDS)
    before = pss_kib(server.pids())
    started = time.monotonic()
    socks, failures = open_batch(count)
    opened_in = time.monotonic() - started
    time.sleep(1)
    during = pss_kib(server.pids())
    more, more_failures = open_batch(extra)
    time.sleep(1)
    beyond = pss_kib(server.pids())
    open_now, more_open = open_count(socks), open_count(more)
    close_all(socks + more)
    time.sleep(SETTLE_AFTER_CLOSE_SECONDS)
    after_close = pss_kib(server.pids())
    server.check_alive()
    return {"kib_per_conn": (during - before) / max(1, open_now),
            "marginal_kib_per_conn": (beyond - during) / max(1, more_open),
            "held": len(socks), "open": open_now, "more_open": more_open, "extra": extra,
            "failures": failures + more_failures, "opened_in_s": opened_in,
            "pss_before_kib": before, "pss_during_kib": during, "pss_beyond_kib": beyond,
            "pss_after_close_kib": after_close, "kept_after_close_kib": after_close - before}


def cold_start(hush, club):
    server = Hush(hush, club)
    t0 = time.monotonic()
    server.start()
    ctx = ssl.create_default_context(cafile=club.path("ca.pem"))
    deadline = t0 + 30
    while True:
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError("hush answered no GET / within 30 s of its start")
        try:
            with ctx.wrap_socket(socket.create_connection(("127.0.0.1", server.port)),
                                 server_hostname="localhost") as s:
                s.sendall(("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                           "Connection: close\r\n\r\n" % club.token).encode())
                if b" 200 " in s.recv(4096):
                    break
        except OSError:
            time.sleep(0.001)
    elapsed = (time.monotonic() - t0) * 1000
    server.stop()
    return elapsed


def cli_start(hush, club, runs=20):
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        run([hush, "message", "list", "--limit", "1", "--dir", club.dir])
        times.append((time.monotonic() - t0) * 1000)
    return statistics.median(times)


def summarize(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def interleaved(rounds, measures):
    """Runs each server's measurement (MEASURES: name -> function) ROUNDS times, the order rotating
    per round; returns name -> the list of results, one per round."""
    names = list(measures)
    results = {name: [] for name in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            results[name].append(measures[name]())
    return results


def machine(h2o_version):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return "%d cores (%s), %.0f GiB, %s, nginx %s, %s, %s" % (
        os.cpu_count(), cpu, mem, platform.platform(),
        run(["nginx", "-v"]).stderr.strip().split("/")[-1], h2o_version,
        run(["openssl", "version"]).stdout.strip())


# Throughput metrics: (result key, label, format); "%(unit)s" is "request" or "connection".
METRICS = (("rps", "%(unit)ss/s", "%.1f"), ("p99_ms", "p99 (ms)", "%.2f"),
           ("cpu_us", "server CPU (us/%(unit)s)", "%.1f"))
MEMORY_KINDS = {"idle": "idle keep-alive TLS connection (served one request)",
                "silent": "half-open connection, nothing sent (TCP only)",
                "partial": "half-open connection, half a ClientHello sent"}


def median_of(results, name, key):
    return statistics.median(r[key] for r in results[name])


def ratio(a, b):
    return a / b if b > 0 else float("nan")


def fmt_ratio(x):
    if x != x:
        return "-"  # the peer's figure is 0 (or less): no ratio
    return "%.0f" % x if x >= 100 else "%.2f" % x if x >= 0.01 else "%.4f" % x


def print_workload(w, floor=None, groups=None):
    print(w["title"], flush=True)
    names = list(w["results"])
    for key, label, spec in METRICS:
        if key not in w["results"]["hush"][0]:
            continue
        line = "  %-30s" % (label % {"unit": w["unit"]})
        for name in names:
            line += "  %s %10s" % (name, spec % median_of(w["results"], name, key))
        for peer in names[1:]:
            line += "  hush/%s %s" % (peer, fmt_ratio(ratio(median_of(w["results"], "hush", key),
                                                            median_of(w["results"], peer, key))))
        print(line, flush=True)
    if floor and w["unit"] == "connection" and "cpu_us" in w["results"]["hush"][0]:
        print("  %-30s" % "CPU / crypto floor" + "".join(
            "  %s %9.1fx" % (name, median_of(w["results"], name, "cpu_us")
                             / floor["us"][groups[name]]) for name in names), flush=True)


def print_memory(title, res):
    print(title, flush=True)
    extra = next(iter(res.values()))[0]["extra"]
    for label, key, spec, open_key in (
            ("growth per connection after the warm-up", "kib_per_conn", "%8.2f", "open"),
            ("the next %d: per connection" % extra, "marginal_kib_per_conn", "%8.2f", "more_open"),
            ("PSS kept after closing all (KiB)", "kept_after_close_kib", "%8.0f", None)):
        line = "  %-42s" % label
        for name, rs in res.items():
            line += ("  %s " + spec) % (name, statistics.median(r[key] for r in rs))
            if open_key:
                line += " (%d open)" % rs[0][open_key]
        print(line, flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--smoke", action="store_true",
                        help="one short round of each load, for CI: checks the harness works")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--write", help="write the report (markdown) to this file")
    parser.add_argument("--hush", default=os.path.join(REPO, "build", "release", "src", "hush"))
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.duration = 1, 2
    # A missing peer fails the run at once: a benchmark that skips one passes for nothing.
    h2o_version, _ = h2o_info()

    if not args.no_build:
        # scripts/test sets HUSH_WERROR=ON: warnings are errors in every build CI makes.
        werror = os.environ.get("HUSH_WERROR")
        run(["cmake", "--preset", "release"] + ([f"-DHUSH_WERROR={werror}"] if werror else []),
            cwd=REPO, capture_output=False)
        run(["cmake", "--build", "--preset", "release", "--target", "hush",
             "hush-seed-messages"], cwd=REPO, capture_output=False)

    began = time.monotonic()
    root = tempfile.mkdtemp(prefix="hush-bench-")
    # nginx workers and h2o run as nobody and must reach the files below it.
    os.chmod(root, 0o711)
    servers, problems = [], []
    try:
        club = Club(args.hush, root)
        ca = club.path("ca.pem")
        # The servers inherit the file limit: each gets the hard limit, whatever they raise.
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        hush, nginx, h2o = Hush(args.hush, club), Nginx(root, club), H2o(root, club)
        for s in (hush, nginx, h2o):
            # Listed before it starts: one that fails to start is still stopped below.
            servers.append(s)
            s.start()
        bearer = "Authorization: Bearer " + club.token
        for s in servers:
            check_serves(s, ca, "/", [bearer])
        # PSS before any load: what a server holds ready (nginx allocates and touches its
        # connection and event structures for all worker_connections at start).
        start_pss = {s.name: pss_kib(s.pids()) for s in servers}
        print("PSS at start (KiB): " + ", ".join("%s %d" % x for x in start_pss.items()),
              flush=True)
        tls = {s.name: tls_facts(s.port) for s in servers}
        groups = {name: facts["group"] for name, facts in tls.items()}
        for name, facts in tls.items():
            print("%s: %s, %s, %s" % (name, facts["protocol"], facts["suite"], facts["temp_key"]),
                  flush=True)
        floor = crypto_floor(groups.values())
        print("crypto floor of a full handshake: ECDSA P-256 sign %.0f/s + %s" % (
            floor["sign_per_s"], ", ".join("ECDH %s %.0f/s = %.1f us" % (g, floor["ecdh_per_s"][g],
                                                                        floor["us"][g])
                                           for g in floor["us"])), flush=True)

        basic = "Authorization: Basic " + base64.b64encode(
            ("alice:" + club.password).encode()).decode()
        d, rounds = args.duration, args.rounds
        workloads = {}

        def workload(key, title, unit, load, names=("hush",) + PEERS, warm=None):
            # The peers get the same request bytes (they ignore the Authorization header).
            by_name = {s.name: s for s in servers}
            for name in names:
                # One request first, as WARM (path and headers) gives it: the first of a cached
                # credential is a full verification (Argon2id for hush), not the workload.
                if warm:
                    check_serves(by_name[name], ca, *warm(by_name[name]))
            measures = {name: (lambda s=by_name[name]: with_cpu(s, lambda: load(s)))
                        for name in names}
            w = {"key": key, "title": title, "unit": unit, "results": interleaved(rounds, measures)}
            workloads[key] = w
            print_workload(w, floor, groups)

        for c in (50, 200):
            workload("bearer_%d" % c, "keep-alive GET /, bearer token, %d connections" % c,
                     "request", lambda s, c=c: wrk(s.port, "/", c, d, [bearer]))
        for c in (50, 200):
            workload("basic_%d" % c, "keep-alive GET /, Basic (cached), %d connections (peers: "
                     "static)" % c, "request", lambda s, c=c: wrk(s.port, "/", c, d, [basic]),
                     warm=lambda s: ("/", [basic]))
        workload("bcrypt", "keep-alive GET /, Basic, 50 conn vs nginx auth_basic bcrypt", "request",
                 lambda s: wrk(s.port, "/basic" if s is nginx else "/", 50, d, [basic]),
                 names=("hush", "nginx"), warm=lambda s: ("/basic" if s is nginx else "/", [basic]))
        workload("close", "new connection per request: wrk, Connection: close, 50 conn",
                 "connection", lambda s: wrk(s.port, "/", 50, d, [bearer, "Connection: close"]))
        workload("ab", "new connection per request: ab (HTTP/1.0), 50 conn", "connection",
                 lambda s: ab(s.port, 50, d, [bearer]))
        workload("s_time_new", "openssl s_time, full handshakes", "connection",
                 lambda s: s_time(s.port, False, d))
        workload("s_time_reuse", "openssl s_time, resumed sessions, TLS 1.2", "connection",
                 lambda s: s_time(s.port, True, d))

        # Memory: 1,000 idle connections in every round; 10,000 (about 20 s a batch, two
        # batches a server) and the half-open ones once.
        memory = {}

        def measure_memory(kind, count, rounds_):
            measures = {s.name: (lambda s=s: memory_per_connection(s, count, kind, ca, club.token))
                        for s in servers}
            res = interleaved(rounds_, measures)
            memory[(kind, count)] = res
            for name, rs in res.items():
                for r in rs:
                    if r["failures"]:
                        problems.append("%s: %d of %d %s connections failed" % (
                            name, r["failures"], count, kind))
            print_memory("PSS per %s, %d connections (KiB)" % (MEMORY_KINDS[kind], count), res)

        idle_counts = (1000,) if args.smoke else (1000, 10000)
        half_open = 1000 if args.smoke else 10000
        measure_memory("idle", 1000, rounds)
        if not args.smoke:
            measure_memory("idle", 10000, 1)
        measure_memory("silent", half_open, 1)
        measure_memory("partial", half_open, 1)
        many = idle_counts[-1]
        held = memory[("idle", many)]["hush"][0]
        print("%d concurrent connections to hush: %d held, %d failed" % (
            many, held["held"], held["failures"]), flush=True)

        # A large club: p99 of a read and of a list page before and after adding messages.
        big = 10000 if args.smoke else 1000000
        paths = (("GET /", "/"), ("GET /api/v1/messages (one page)", "/api/v1/messages"))
        small_p99 = {name: wrk(hush.port, path, 50, d, [bearer])["p99_ms"] for name, path in paths}
        seed = os.path.join(os.path.dirname(args.hush), "..", "bench", "hush-seed-messages")
        run([seed, club.dir, big])
        large_p99 = {name: wrk(hush.port, path, 50, d, [bearer])["p99_ms"] for name, path in paths}
        for name, _ in paths:
            print("p99 of %s: %.2f ms with 1 message, %.2f ms with %d (x%.2f)" % (
                name, small_p99[name], large_p99[name], big, large_p99[name] / small_p99[name]),
                flush=True)
        large = (big, small_p99, large_p99)

        hush.stop()
        starts = [cold_start(args.hush, club) for _ in range(3 if args.smoke else 10)]
        cli = cli_start(args.hush, club, 5 if args.smoke else 20)
        print("cold start to first answer: median %.1f ms; CLI command: median %.1f ms" % (
            statistics.median(starts), cli), flush=True)
        # Every server kept its access log: nginx flushes its buffer when it stops.
        for s in servers:
            s.stop()
        for name, log in (("hush", os.path.join(root, "hush.log")),
                          ("nginx", os.path.join(nginx.root, "logs", "access.log")),
                          ("h2o", os.path.join(h2o.root, "logs", "access.log"))):
            if not os.path.exists(log) or os.path.getsize(log) == 0:
                problems.append("%s wrote no access log (%s)" % (name, log))
        if args.write:
            write_report(args, {"machine": machine(h2o_version), "workloads": workloads,
                                "memory": memory, "idle_counts": idle_counts,
                                "half_open": half_open, "tls": tls, "groups": groups,
                                "floor": floor, "h2o_handler": h2o.handler,
                                "h2o_version": h2o_version, "many": many, "start_pss": start_pss,
                                "held": held, "starts": starts, "cli": cli, "large": large,
                                "problems": problems})
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(root, ignore_errors=True)
    print("bench: %.0f s" % (time.monotonic() - began), flush=True)
    if problems:
        for p in problems:
            print("bench: " + p, file=sys.stderr)
        sys.exit(1)


def write_report(args, r):
    w, memory, floor, groups = r["workloads"], r["memory"], r["floor"], r["groups"]

    def med(key, name, metric):
        return median_of(w[key]["results"], name, metric)

    def mem_med(kind, count, name, key="kib_per_conn"):
        return statistics.median(x[key] for x in memory[(kind, count)][name])

    def yes(ok):
        return "yes" if ok else "**no**"

    targets = []  # (issue, target, result, met)
    for key in ("bearer_50", "bearer_200", "basic_50", "basic_200"):
        title = w[key]["title"]
        h, n, o = (med(key, s, "cpu_us") for s in ("hush", "nginx", "h2o"))
        targets.append(("13", "%s: server CPU per request <= nginx's" % title,
                        "hush %.1f us, nginx %.1f us (x%.2f); h2o %.1f us" % (h, n, h / n, o),
                        yes(h <= n)))
        h, n, o = (med(key, s, "p99_ms") for s in ("hush", "nginx", "h2o"))
        targets.append(("13", "%s: p99 <= nginx's" % title,
                        "hush %.2f ms, nginx %.2f ms (x%.2f); h2o %.2f ms" % (h, n, h / n, o),
                        yes(h <= n)))
    for key in ("close", "ab"):
        cpu = {s: med(key, s, "cpu_us") for s in ("hush", "nginx", "h2o")}
        targets.append(("13", "%s: server CPU per connection <= nginx's" % w[key]["title"],
                        "; ".join("%s %.0f us = %.1fx the crypto floor" % (
                            s, cpu[s], cpu[s] / floor["us"][groups[s]]) for s in cpu)
                        + " (floor %.0f us)" % floor["us"][groups["hush"]],
                        yes(cpu["hush"] <= cpu["nginx"])))
    for count in r["idle_counts"]:
        for key, how in (("kib_per_conn", "growth after a warm-up of as many"),
                         ("marginal_kib_per_conn", "the next %d beyond them" % max(1, count // 2))):
            h, n, o = (mem_med("idle", count, s, key) for s in ("hush", "nginx", "h2o"))
            targets.append(("13", "PSS per idle keep-alive TLS connection, %d connections (%s), "
                            "<= nginx's" % (count, how),
                            "hush %.2f KiB, nginx %.2f KiB; h2o %.2f KiB" % (h, n, o), yes(h <= n)))

    rps = {k: ratio(med(k, "hush", "rps"), med(k, "nginx", "rps")) for k in w}
    p99 = {k: ratio(med(k, "hush", "p99_ms"), med(k, "nginx", "p99_ms"))
           for k in ("bearer_50", "bearer_200")}
    targets.append(("4", "keep-alive `GET /`, bearer, 50 and 200 connections: >= 1.0x nginx's "
                    "`return 200`, p99 no worse", "x%.2f and x%.2f; p99 x%.2f and x%.2f" % (
                        rps["bearer_50"], rps["bearer_200"], p99["bearer_50"], p99["bearer_200"]),
                    yes(min(rps["bearer_50"], rps["bearer_200"]) >= 1.0
                        and max(p99.values()) <= 1.0)))
    targets.append(("4", "the same with Basic, 50 connections: >= 0.9x nginx static",
                    "x%.2f" % rps["basic_50"], yes(rps["basic_50"] >= 0.9)))
    targets.append(("4", "Basic: >= 20x nginx `auth_basic` with bcrypt",
                    "x" + fmt_ratio(rps["bcrypt"]), yes(rps["bcrypt"] >= 20)))
    targets.append(("4", "new connection per request >= 0.95x (wrk `Connection: close`; ab; "
                    "`openssl s_time` full handshakes)", "x%.2f; x%.2f; x%.2f" % (
                        rps["close"], rps["ab"], rps["s_time_new"]),
                    yes(min(rps["close"], rps["ab"], rps["s_time_new"]) >= 0.95)))
    targets.append(("4", "resumed sessions (`openssl s_time -reuse`, TLS 1.2) >= 1.0x",
                    "x%.2f" % rps["s_time_reuse"], yes(rps["s_time_reuse"] >= 1.0)))
    h, n = (mem_med("idle", 1000, s) for s in ("hush", "nginx"))
    targets.append(("4", "memory per idle connection <= nginx's (now PSS, 1000 connections)",
                    "hush %.2f KiB, nginx %.2f KiB" % (h, n), yes(h <= n)))
    held, many = r["held"], r["many"]
    targets.append(("4", "%d concurrent connections, no errors" % many,
                    "%d held and served, %d failed" % (held["held"], held["failures"]),
                    yes(held["held"] == many and not held["failures"])))
    big, small_p99, large_p99 = r["large"]
    growth = {name: large_p99[name] / small_p99[name] for name in small_p99}
    targets.append(("4", "%d messages: p99 of `GET /` and of a list page within 2x of a "
                    "one-message club" % big, " and ".join("x%.2f" % g for g in growth.values()),
                    yes(max(growth.values()) <= 2)))
    start = statistics.median(r["starts"])
    targets.append(("4", "cold start < 100 ms; a CLI command < 20 ms",
                    "%.1f ms; %.1f ms" % (start, r["cli"]), yes(start < 100 and r["cli"] < 20)))

    lines = ["## Results", "",
             "Machine: %s. Command: `bench/run %s`; %s." % (
                 r["machine"], "--smoke" if args.smoke else "--rounds %d --duration %d" % (
                     args.rounds, args.duration),
                 time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())), ""]
    if r["problems"]:
        lines += ["**This run had errors; its numbers are not a measurement:**", ""]
        lines += ["- " + p for p in r["problems"]] + [""]
    lines += ["### Targets (issues 4 and 13)", "", "| issue | target | result | met |",
              "| --- | --- | --- | --- |"]
    lines += ["| %s | %s | %s | %s |" % t for t in targets]

    lines += ["", "### Throughput, latency and server CPU", "",
              "Medians of %d round(s) (min-max); the servers interleaved, the order rotating per "
              "round. Server CPU is utime + stime of all the server's processes (hush: one; nginx: "
              "master and %d workers; h2o: its process, its key process (neverbleed) and its crash "
              "handler) over the load, divided by the requests (or connections) it completed. "
              "Ratios are hush/peer: above 1 is better for req/s, below 1 for p99 and CPU."
              % (args.rounds, os.cpu_count() or 1), "",
              "| workload | metric | hush | nginx | h2o | hush/nginx | hush/h2o |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for wl in w.values():
        for key, label, spec in METRICS:
            if key not in wl["results"]["hush"][0]:
                continue
            cells = []
            for name in ("hush",) + PEERS:
                if name in wl["results"]:
                    s = summarize([x[key] for x in wl["results"][name]])
                    cells.append((spec + " (" + spec + "-" + spec + ")") % (
                        s["median"], s["min"], s["max"]))
                else:
                    cells.append("-")
            ratios = [fmt_ratio(ratio(med(wl["key"], "hush", key), med(wl["key"], peer, key)))
                      if peer in wl["results"] else "-" for peer in PEERS]
            lines.append("| %s | %s | %s | %s |" % (wl["title"], label % {"unit": wl["unit"]},
                                                    " | ".join(cells), " | ".join(ratios)))

    lines += ["", "### New connections against the crypto floor", "",
              "The floor of a full handshake is one ECDSA P-256 signature and one ECDH in the "
              "group the handshake uses, timed by `openssl speed -seconds 1` on this machine: "
              "%s. A server also makes its ephemeral key and hashes and encrypts the handshake, "
              "so no server reaches 1.0x." % "; ".join(
                  "sign %.0f/s, ECDH %s %.0f/s: %.1f us" % (floor["sign_per_s"], g,
                                                          floor["ecdh_per_s"][g], us)
                  for g, us in floor["us"].items()), "",
              "| load | " + " | ".join("%s CPU/connection (x floor)" % n for n in ("hush",) + PEERS)
              + " |", "| --- | --- | --- | --- |"]
    for key in ("close", "ab", "s_time_new"):
        lines.append("| %s | %s |" % (w[key]["title"], " | ".join(
            "%.0f us (%.1fx)" % (med(key, n, "cpu_us"),
                                 med(key, n, "cpu_us") / floor["us"][groups[n]])
            for n in ("hush",) + PEERS)))
    lines += ["", "Handshake with a default OpenSSL client (`openssl s_client`): " + "; ".join(
        "%s %s %s, %s" % (n, t["protocol"], t["suite"], t["temp_key"]) for n, t in r["tls"].items())
        + "."]

    lines += ["", "### Memory per connection (PSS)", "",
              "PSS (`/proc/PID/smaps_rollup`) of all the server's processes. A warm-up batch of N "
              "connections is opened and closed first; then (PSS with N open - PSS before) / N, "
              "and (PSS with N/2 more open - PSS with N open) / (N/2), in KiB per connection; and "
              "the PSS still above the baseline a second after all were closed, in KiB. "
              "Allocators keep what the warm-up freed and give it to the first N again, so the "
              "first figure is only what could not be reused (near 0 where everything is), while "
              "the N/2 beyond the warm-up must take new memory: the second figure is what a "
              "connection holds. Half-open connections count as open if the server had not closed "
              "them when PSS was read (hush's handshake timeout is 10 s).", "",
              "| connections | measure | hush | nginx | h2o | hush/nginx | hush/h2o |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for (kind, count), res in memory.items():
        extra = next(iter(res.values()))[0]["extra"]
        for key, how, spec, open_key, total in (
                ("kib_per_conn", "KiB/conn after the warm-up", "%.2f", "open", count),
                ("marginal_kib_per_conn", "KiB/conn, the next %d" % extra, "%.2f", "more_open",
                 extra),
                ("kept_after_close_kib", "KiB kept after closing all", "%.0f", None, None)):
            per = {n: statistics.median(x[key] for x in res[n]) for n in res}
            opened = {n: res[n][0][open_key] for n in res} if open_key else {}
            lines.append("| %d %s | %s%s | %s | %s | %s |" % (
                count, MEMORY_KINDS[kind], how, "" if all(o == total for o in opened.values())
                else " (open when measured: %s)" % ", ".join("%s %d" % x for x in opened.items()),
                " | ".join(spec % per[n] for n in ("hush",) + PEERS),
                fmt_ratio(ratio(per["hush"], per["nginx"])),
                fmt_ratio(ratio(per["hush"], per["h2o"]))))

    workers = os.cpu_count() or 1
    lines += ["", "### Notes", "",
              "- The peers: nginx `return 200` (and `auth_basic` with bcrypt at cost 10 for the "
              "bcrypt row), %d workers, access log `combined` with `buffer=64k`; %s with %s, %d "
              "threads, its access log in the same format (h2o 2.2 has no buffered log: one "
              "write(2) per request). Each gets the same request bytes, the Authorization header "
              "included (the peers ignore it)." % (
                  workers, r["h2o_version"], "an `mruby.handler` returning the message"
                  if r["h2o_handler"] == "mruby.handler" else "`file.file` serving the message",
                  workers),
              "- What h2o 2.2 does not do as nginx and hush do: it has no setting for TLS 1.3 "
              "suites or for groups, so OpenSSL's defaults apply (the same three TLS 1.3 suites in "
              "the same order; X25519 first among the groups, as the handshake line above shows). "
              "Its bundled picotls speaks only drafts 26-28 of TLS 1.3, so a client offering the "
              "final TLS 1.3 is handed to OpenSSL after picotls has read its ClientHello "
              "(lib/common/socket.c in h2o 2.2.5): TLS 1.3 here is OpenSSL's, as for the others. "
              "Its private key lives in a separate process (neverbleed), so each handshake's "
              "signature is a round trip to it; that process's CPU and memory are counted. "
              "`max-connections` %d is for the whole server; nginx's worker_connections %d is "
              "per worker." % (MAX_CONNECTIONS, MAX_CONNECTIONS),
              "- Memory: PSS growth includes what each new handshake leaves in the server's "
              "session cache: nginx's shared zone is touched page by page until it is full, which "
              "is most of nginx's growth after the warm-up while it fills (near 0 with "
              "`ssl_session_cache none`, in a trial). Freed memory that the allocator keeps is "
              "\"kept after close\": not a leak by itself.",
              "- PSS at start, before any load: %s KiB. nginx allocates and touches its connection "
              "and event structures for all %d worker_connections of each worker at start (in a "
              "trial, 21.8 MiB with 20000 against 5.8 MiB with 1024, two workers: about 0.4 KiB a "
              "slot), so that part of an nginx connection is in its baseline, not in its growth."
              % (", ".join("%s %d" % x for x in r["start_pss"].items()), MAX_CONNECTIONS),
              "- Server CPU is read in clock ticks (1/%d s) from `/proc/PID/stat`." % CLK_TCK,
              "- Cold start (`hush serve` to first answered request): median %.1f ms (min %.1f, "
              "max %.1f)." % (start, min(r["starts"]), max(r["starts"])),
              "- A CLI command (`hush message list --limit 1`): median %.1f ms." % r["cli"]]
    for name in small_p99:
        lines.append("- p99 of %s, 50 connections: %.2f ms with 1 message, %.2f ms with %d "
                     "messages (x%.2f; target <= 2)." % (name, small_p99[name], large_p99[name],
                                                          big, growth[name]))
    lines.append("")
    with open(args.write, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
