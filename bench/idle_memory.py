#!/usr/bin/python3
"""Memory per connection of one hush binary, alone: the memory rows of bench/run (its
memory_per_connection, PSS from /proc/PID/smaps_rollup) without nginx, h2o or a release build,
for comparing two builds of hush quickly.

Usage: HUSH_BIN=build/dev/src/hush bench/idle_memory.py [--connections N] [--rounds R]

For each kind (idle: TLS keep-alive connections that were each answered one `GET /`; silent: TCP
connections that never send a byte; partial: half a ClientHello sent, then nothing), each round
on a fresh server: a warm-up batch of N is opened and closed, then N are held (growth per
connection: what the warm-up left could not be reused), then N/2 more on top (per connection:
what a connection holds), then all are closed (what stays, per connection: the allocator's
free memory kept for reuse, and the TLS session cache, which keeps each handshake's sessions for
an hour). Medians of the rounds. A development measurement: the figures move with the build,
the allocator and the load of the machine. Traffic goes to 127.0.0.1 only; every wait is
bounded; only the servers started here are stopped, by PID.
"""

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

KINDS = {"idle": "idle keep-alive TLS, after one request",
         "silent": "silent TCP, nothing sent",
         "partial": "half a ClientHello, then nothing"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    hush = os.path.abspath(os.environ.get("HUSH_BIN", "build/dev/src/hush"))
    with tempfile.TemporaryDirectory(prefix="hush-idle-") as root:
        club = bench.Club(hush, root)
        print("%s: %d connections, %d rounds, a fresh server each; KiB of PSS per connection "
              "(median, each round)" % (hush, args.connections, args.rounds), flush=True)
        for kind, title in KINDS.items():
            rows = []
            for _ in range(args.rounds):
                server = bench.Hush(hush, club).start()
                try:
                    rows.append(bench.memory_per_connection(
                        server, args.connections, kind, club.path("ca.pem"), club.token))
                finally:
                    server.stop()

            def show(key, per=1):
                values = [r[key] / per for r in rows]
                return "%6.1f (%s)" % (statistics.median(values),
                                       " ".join("%.1f" % v for v in values))

            print("  %-40s held: %s  the next %d: %s  kept after close: %s" % (
                title, show("kib_per_conn"), rows[0]["extra"], show("marginal_kib_per_conn"),
                show("kept_after_close_kib", args.connections + rows[0]["extra"])), flush=True)


if __name__ == "__main__":
    main()
