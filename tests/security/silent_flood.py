#!/usr/bin/python3
"""A bounded flood of silent TCP connections, run as its own process by the security tests (so
that it does not slow down the measuring test process).

Keeps --connections plain TCP connections open to 127.0.0.1:--port, each from one of the loopback
source addresses 127.X.Y.Z (X = --first-octet, --networks /24s of --per-network addresses), never
sending a byte; each one the server closes is replaced at once, at most --rate new connections a
second. Stops after --seconds or --max-connects, whichever comes first. Prints a status line
every 0.5 s and a last one at the end, each a JSON object:
{"t": seconds, "open": n, "connects": n, "closed_by_server": n, "errors": n}.
"""

import argparse
import errno
import json
import selectors
import socket
import sys
import time

sys.dont_write_bytecode = True

STATUS_EVERY_S = 0.5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=300)
    ap.add_argument("--first-octet", type=int, default=1)
    ap.add_argument("--networks", type=int, default=8)
    ap.add_argument("--per-network", type=int, default=200)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--max-connects", type=int, default=100000)
    args = ap.parse_args()

    addresses = ["127.%d.%d.%d" % (args.first_octet, n, 1 + h)
                 for h in range(args.per_network) for n in range(args.networks)]
    sel = selectors.DefaultSelector()
    started = time.monotonic()
    deadline = started + args.seconds
    stats = {"open": 0, "connects": 0, "closed_by_server": 0, "errors": 0}
    next_address = 0
    budget = 0.0  # connects allowed now (token bucket at --rate)
    last_refill = started
    next_status = started + STATUS_EVERY_S

    def status():
        line = dict(stats, t=round(time.monotonic() - started, 2))
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    def connect():
        nonlocal next_address
        address = addresses[next_address % len(addresses)]
        next_address += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.setblocking(False)
        try:
            s.bind((address, 0))
            rc = s.connect_ex(("127.0.0.1", args.port))
        except OSError:
            s.close()
            stats["errors"] += 1
            return
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            stats["errors"] += 1
            return
        sel.register(s, selectors.EVENT_READ)
        stats["open"] += 1
        stats["connects"] += 1

    try:
        while time.monotonic() < deadline and stats["connects"] < args.max_connects:
            now = time.monotonic()
            budget = min(budget + (now - last_refill) * args.rate, args.rate / 10)
            last_refill = now
            while (stats["open"] < args.connections and budget >= 1
                   and stats["connects"] < args.max_connects):
                connect()
                budget -= 1
            for key, _mask in sel.select(timeout=0.01):
                s = key.fileobj
                try:
                    gone = s.recv(1) == b""
                except BlockingIOError:
                    gone = False
                except OSError:
                    gone = True
                if gone:
                    sel.unregister(s)
                    s.close()
                    stats["open"] -= 1
                    stats["closed_by_server"] += 1
            if time.monotonic() >= next_status:
                status()
                next_status += STATUS_EVERY_S
    finally:
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        status()


if __name__ == "__main__":
    main()
