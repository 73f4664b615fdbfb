#!/usr/bin/python3
"""Side-by-side benchmark: hush against nginx over the same TLS, on this machine, in one run.

Both servers get the same ECDSA P-256 certificate and key (the club's), the same TLS versions,
suites and groups, and answer GET / with the same bytes (nginx: `return 200 "<message>"`). Each
workload runs in several rounds, hush and nginx interleaved (the order alternates per round), and
the report gives the median, min and max of each and the hush/nginx ratio of the medians.

Usage: bench/run [--rounds N] [--duration S] [--smoke] [--write docs/performance.md]
Traffic goes to 127.0.0.1 only; every load is bounded in time; only processes started here are
stopped, by PID.
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


def wait_for_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError("nothing listens on %d" % port)


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def children(pid):
    out = run(["pgrep", "-P", pid], check=False).stdout.split()
    return [int(p) for p in out]


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
        for key, value in (("max_connections", "20000"), ("max_connections_per_address", "20000"),
                           ("max_connections_per_network", "20000"),
                           ("idle_timeout_seconds", "120"), ("member_requests_per_second", "0")):
            config = re.sub(r"(?m)^%s = .*$" % key, "%s = %s" % (key, value), config)
        with open(config_path, "w") as f:
            f.write(config)

    def path(self, name):
        return os.path.join(self.dir, name)


class Hush:
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
        return self

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Nginx:
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
worker_rlimit_nofile 20000;
events { worker_connections 20000; }
http {
  %(access_log)s;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_body_temp_path %(root)s/body;
  server {
    listen 127.0.0.1:%(port)d ssl;
    ssl_certificate %(cert)s;
    ssl_certificate_key %(key)s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers %(ciphers)s;
    ssl_conf_command Ciphersuites %(suites)s;
    ssl_prefer_server_ciphers on;
    ssl_ecdh_curve X25519:P-256:P-384;
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
       "ciphers": TLS12_CIPHERS, "suites": TLS13_SUITES, "body": body, "htpasswd": htpasswd,
       "message_file": message_file})
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["nginx", "-p", self.root, "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for_port(self.port)
        return self

    def pids(self):
        return [self.proc.pid] + children(self.proc.pid)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wrk(port, path, connections, duration, headers=()):
    args = ["wrk", "-t", "2", "-c", connections, "-d", "%ds" % duration, "--latency",
            "--timeout", "5s"]
    for h in headers:
        args += ["-H", h]
    args.append("https://127.0.0.1:%d%s" % (port, path))
    out = run(args, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = parse_latency(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        # A load that is answered with errors measures the error path, not the workload.
        raise RuntimeError("wrk got %s non-2xx answers from %s:\n%s" % (non2xx.group(1), args[-1], out))
    return {"rps": rps, "p99_ms": p99, "errors": errors.group(1) if errors else ""}


def parse_latency(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def s_time(port, reuse, duration):
    # Resumption is measured over TLS 1.2: s_time closes each TLS 1.3 connection before the
    # server's NewSessionTicket arrives, so its "-reuse" never resumes a 1.3 session (seen: every
    # connection "New"), while a 1.2 session id or ticket is resumed ("Reused") by both servers.
    args = ["openssl", "s_time", "-connect", "127.0.0.1:%d" % port, "-time", str(duration)]
    args += ["-reuse", "-tls1_2"] if reuse else ["-new"]
    out = run(args, timeout=duration + 60).stdout
    # "1234 connections in 10.00s; 123.40 connections/user sec, bytes read 0"
    match = re.search(r"(\d+) connections in ([\d.]+)s", out)
    return {"rps": int(match.group(1)) / float(match.group(2))}


def hold_connections(port, count, ca, token, request_path="/"):
    """Opens COUNT keep-alive TLS connections, does one request on each, and returns them open."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(count + 1024, hard), hard))
    ctx = ssl.create_default_context(cafile=ca)
    socks, failures = [], 0
    request = ("GET %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n\r\n"
               % (request_path, token)).encode()
    deadline = time.monotonic() + 300
    for _ in range(count):
        if time.monotonic() > deadline:
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


def memory_per_connection(server, count, ca, token):
    before = rss_kib(server.pids())
    socks, failures = hold_connections(server.port, count, ca, token)
    time.sleep(1)
    after = rss_kib(server.pids())
    for s in socks:
        s.close()
    return {"kib_per_conn": (after - before) / max(1, len(socks)), "held": len(socks),
            "failures": failures, "rss_before_kib": before, "rss_after_kib": after}


def cold_start(hush, club):
    server = Hush(hush, club)
    t0 = time.monotonic()
    server.start()
    ctx = ssl.create_default_context(cafile=club.path("ca.pem"))
    while True:
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


def interleaved(rounds, measure_hush, measure_nginx, key="rps"):
    """Runs both measurements ROUNDS times, alternating which goes first."""
    hush_values, nginx_values, extras = [], [], []
    for r in range(rounds):
        order = [("hush", measure_hush), ("nginx", measure_nginx)]
        if r % 2:
            order.reverse()
        for name, measure in order:
            result = measure()
            (hush_values if name == "hush" else nginx_values).append(result[key])
            extras.append((name, result))
    return summarize(hush_values), summarize(nginx_values), extras


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return "%d cores (%s), %.0f GiB, %s, nginx %s, %s" % (
        os.cpu_count(), cpu, mem, platform.platform(),
        run(["nginx", "-v"]).stderr.strip().split("/")[-1],
        run(["openssl", "version"]).stdout.strip())


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

    if not args.no_build:
        # scripts/test sets HUSH_WERROR=ON: warnings are errors in every build CI makes.
        werror = os.environ.get("HUSH_WERROR")
        run(["cmake", "--preset", "release"] + ([f"-DHUSH_WERROR={werror}"] if werror else []),
            cwd=REPO, capture_output=False)
        run(["cmake", "--build", "--preset", "release", "--target", "hush",
             "hush-seed-messages"], cwd=REPO, capture_output=False)

    root = tempfile.mkdtemp(prefix="hush-bench-")
    # nginx workers run as nobody and must reach htpasswd and the message file below it.
    os.chmod(root, 0o711)
    servers = []
    try:
        club = Club(args.hush, root)
        hush = Hush(args.hush, club).start()
        nginx = Nginx(root, club).start()
        servers = [hush, nginx]
        basic = "Authorization: Basic " + base64.b64encode(
            ("alice:" + club.password).encode()).decode()
        bearer = "Authorization: Bearer " + club.token
        d, rounds = args.duration, args.rounds
        results = []

        def compare(title, target, hush_fn, nginx_fn, key="rps"):
            h, n, extras = interleaved(rounds, hush_fn, nginx_fn, key)
            results.append((title, target, h, n, extras))
            print("%-58s hush %10.1f  nginx %10.1f  ratio %.2f" % (
                title, h["median"], n["median"], h["median"] / n["median"]), flush=True)
            return h, n

        for c in (50, 200):
            compare("keep-alive GET /, bearer token, %d connections (req/s)" % c, ">= 1.0",
                    lambda c=c: wrk(hush.port, "/", c, d, [bearer]),
                    lambda c=c: wrk(nginx.port, "/", c, d))
        compare("keep-alive GET /, bearer, 50 conn: p99 latency (ms)", "<= 1.0",
                lambda: wrk(hush.port, "/", 50, d, [bearer]),
                lambda: wrk(nginx.port, "/", 50, d), key="p99_ms")
        compare("keep-alive GET /, Basic, 50 conn vs nginx static (req/s)", ">= 0.9",
                lambda: wrk(hush.port, "/", 50, d, [basic]),
                lambda: wrk(nginx.port, "/", 50, d))
        compare("keep-alive GET /, Basic, 50 conn vs nginx auth_basic bcrypt", ">= 20",
                lambda: wrk(hush.port, "/", 50, d, [basic]),
                lambda: wrk(nginx.port, "/basic", 50, d, [basic]))
        compare("new connection per request, 50 conn (req/s)", ">= 0.95",
                lambda: wrk(hush.port, "/", 50, d, [bearer, "Connection: close"]),
                lambda: wrk(nginx.port, "/", 50, d, ["Connection: close"]))
        compare("openssl s_time, full handshakes (conn/s)", ">= 0.95",
                lambda: s_time(hush.port, False, d), lambda: s_time(nginx.port, False, d))
        compare("openssl s_time, resumed sessions, TLS 1.2 (conn/s)", ">= 1.0",
                lambda: s_time(hush.port, True, d), lambda: s_time(nginx.port, True, d))

        idle = 100 if args.smoke else 1000
        compare("RSS growth per idle keep-alive TLS connection, %d (KiB)" % idle, "<= 1.0",
                lambda: memory_per_connection(hush, idle, club.path("ca.pem"), club.token),
                lambda: memory_per_connection(nginx, idle, club.path("ca.pem"), club.token),
                key="kib_per_conn")
        many = 200 if args.smoke else 10000
        held = memory_per_connection(hush, many, club.path("ca.pem"), club.token)
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
        if args.write:
            write_report(args, results, held, many, starts, cli, large)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(root, ignore_errors=True)


def write_report(args, results, held, many, starts, cli, large):
    lines = ["## Results", "",
             "Machine: %s. Command: `bench/run --rounds %d --duration %d`; %s." % (
                 machine(), args.rounds, args.duration, time.strftime("%Y-%m-%d %H:%M UTC",
                                                                       time.gmtime())),
             "", "| workload | target (hush/nginx) | hush median (min-max) | nginx median "
             "(min-max) | ratio |", "| --- | --- | --- | --- | --- |"]
    for title, target, h, n, _ in results:
        lines.append("| %s | %s | %.1f (%.1f-%.1f) | %.1f (%.1f-%.1f) | %.2f |" % (
            title, target, h["median"], h["min"], h["max"], n["median"], n["min"], n["max"],
            h["median"] / n["median"]))
    lines += ["", "- %d concurrent connections to hush: %d held and served, %d failed." % (
        many, held["held"], held["failures"]),
        "- Cold start (`hush serve` to first answered request): median %.1f ms (min %.1f, max "
        "%.1f)." % (statistics.median(starts), min(starts), max(starts)),
        "- A CLI command (`hush message list --limit 1`): median %.1f ms." % cli]
    big, small_p99, large_p99 = large
    for name in small_p99:
        lines.append("- p99 of %s, 50 connections: %.2f ms with 1 message, %.2f ms with %d messages "
                     "(x%.2f; target <= 2)." % (name, small_p99[name], large_p99[name], big,
                                                 large_p99[name] / small_p99[name]))
    lines.append("")
    with open(args.write, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
