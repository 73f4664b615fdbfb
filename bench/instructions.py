#!/usr/bin/python3
"""Instructions per request, counted by callgrind (repeatable whatever else the machine does).

Runs `hush serve` (release build) under valgrind --tool=callgrind twice, serving N1 and then N2
keep-alive GET / requests with a bearer token on one TLS connection, and reports
(Ir(N2) - Ir(N1)) / (N2 - N1): start-up and shutdown cancel out.

With --access-log it also prices the access log, for hush and for nginx: each server counted
with its access log on and off (hush: [log] level info or warn, its stderr to a file; nginx, one
process without a master: `access_log FILE buffer=64k` or `access_log off`, `return 200` of the
same message over the same certificate), and the difference per request is the log's cost.
Usage: bench/instructions.py [--hush PATH] [--n1 200] [--n2 1200] [--access-log]
"""

import argparse
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402


def serve_and_count(hush, club, requests, log_file=None):
    out_file = os.path.join(club.dir, "..", "callgrind.out")
    port = bench.free_port()
    log = open(log_file, "ab") if log_file else subprocess.DEVNULL
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out_file, hush, "serve",
         "--dir", club.dir, "--listen", "127.0.0.1:%d" % port],
        stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        if "serving" not in proc.stdout.readline():
            raise RuntimeError("hush did not start under valgrind")
        drive(port, club, requests)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        if log_file:
            log.close()
    return callgrind_total(out_file)


def callgrind_total(out_file):
    with open(out_file) as f:
        total = re.search(r"^summary:\s+(\d+)", f.read(), re.M)
    return int(total.group(1))


def drive(port, club, requests):
    """REQUESTS keep-alive GET / with the bearer token, one at a time, on one TLS connection."""
    ctx = ssl.create_default_context(cafile=club.path("ca.pem"))
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60),
                         server_hostname="localhost") as s:
        request = ("GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n\r\n"
                   % club.token).encode()
        for _ in range(requests):
            s.sendall(request)
            data = b""
            while bench.MESSAGE.encode() not in data:
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError("connection closed")
                data += chunk


def nginx_count(root, club, requests, access_log):
    """nginx in one process (no master, one worker) under callgrind, serving REQUESTS."""
    server = bench.Nginx(root, club, access_log=access_log, single_process=True)
    out_file = os.path.join(root, "callgrind-nginx.out")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out_file, "nginx", "-p",
         server.root, "-c", server.conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bench.wait_for_port(server.port, timeout=60)
        drive(server.port, club, requests)
    finally:
        # SIGTERM, then a connection to wake its event loop: under valgrind the signal may wait
        # in epoll_wait until something else happens.
        proc.send_signal(signal.SIGTERM)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            except OSError:
                pass
            try:
                proc.wait(timeout=1)
                break
            except subprocess.TimeoutExpired:
                continue
        proc.wait(timeout=30)
    return callgrind_total(out_file)


def per_request(count, n1, n2):
    return (count(n2) - count(n1)) / (n2 - n1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hush", default=os.path.join(bench.REPO, "build", "release", "src", "hush"))
    parser.add_argument("--n1", type=int, default=200)
    parser.add_argument("--n2", type=int, default=1200)
    parser.add_argument("--access-log", action="store_true",
                        help="also price the access log, hush's and nginx's (on minus off)")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="hush-callgrind-")
    try:
        club = bench.Club(args.hush, root)
        path = club.path("hush.toml")
        with open(path) as f:
            config = f.read()
        for key in ("io_threads", "worker_threads", "argon2_threads"):
            config = re.sub(r"(?m)^%s = .*$" % key, "%s = 1" % key, config)
        with open(path, "w") as f:
            f.write(config)
        low = serve_and_count(args.hush, club, args.n1)
        high = serve_and_count(args.hush, club, args.n2)
        print("instructions per keep-alive GET / (bearer): %.0f" % ((high - low) / (args.n2 - args.n1)),
              flush=True)
        if args.access_log:
            price_access_log(args, root, club, path)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def set_log_level(config_path, level):
    with open(config_path) as f:
        config = f.read()
    config = re.sub(r'(?m)^level = .*$', 'level = "%s"' % level, config)
    with open(config_path, "w") as f:
        f.write(config)


def price_access_log(args, root, club, config_path):
    log_file = os.path.join(root, "hush.log")
    hush = {}
    for level in ("info", "warn"):
        set_log_level(config_path, level)
        hush[level] = per_request(lambda n: serve_and_count(args.hush, club, n, log_file),
                                  args.n1, args.n2)
    nginx = {}
    for on in (True, False):
        nginx[on] = per_request(lambda n: nginx_count(root, club, n, on), args.n1, args.n2)
    with open(log_file, "rb") as f:
        access_lines = f.read().count(b" info access ")
    if access_lines < args.n1 + args.n2:
        raise RuntimeError("hush wrote %d access lines for %d requests" % (
            access_lines, args.n1 + args.n2))
    hush_cost = hush["info"] - hush["warn"]
    nginx_cost = nginx[True] - nginx[False]
    print("hush: %.0f instructions per request with its access log, %.0f without: the log costs "
          "%.0f" % (hush["info"], hush["warn"], hush_cost))
    print("nginx: %.0f instructions per request with access_log buffer=64k, %.0f without: the "
          "log costs %.0f" % (nginx[True], nginx[False], nginx_cost))
    print("access log cost, hush / nginx: %.2f" % (hush_cost / nginx_cost))


if __name__ == "__main__":
    main()
