#!/usr/bin/python3
"""Instructions per request, counted by callgrind (repeatable whatever else the machine does).

Runs `hush serve` (release build) under valgrind --tool=callgrind twice, serving N1 and then N2
keep-alive GET / requests with a bearer token on one TLS connection, and reports
(Ir(N2) - Ir(N1)) / (N2 - N1): start-up and shutdown cancel out.
Usage: bench/instructions.py [--hush PATH] [--n1 200] [--n2 1200]
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


def serve_and_count(hush, club, requests):
    out_file = os.path.join(club.dir, "..", "callgrind.out")
    port = bench.free_port()
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out_file, hush, "serve",
         "--dir", club.dir, "--listen", "127.0.0.1:%d" % port],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        if "serving" not in proc.stdout.readline():
            raise RuntimeError("hush did not start under valgrind")
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
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    with open(out_file) as f:
        total = re.search(r"^summary:\s+(\d+)", f.read(), re.M)
    return int(total.group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hush", default=os.path.join(bench.REPO, "build", "release", "src", "hush"))
    parser.add_argument("--n1", type=int, default=200)
    parser.add_argument("--n2", type=int, default=1200)
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
        print("instructions per keep-alive GET / (bearer): %.0f" % ((high - low) / (args.n2 - args.n1)))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
