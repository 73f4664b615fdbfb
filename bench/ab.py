#!/usr/bin/python3
"""A/B of two hush builds and nginx: server CPU per keep-alive request, interleaved rounds.

For measuring one lever at a time: hush at the commit before it (A), at the commit with it (B),
and nginx `return 200` beside them, each with a bearer token over the same TLS settings as
bench/bench.py (each hush build gets a club of its own, since B may have migrated the schema).
Each round starts each server afresh, warms it up with one load, then measures a second load;
the order alternates per round. Server CPU is utime+stime of all the server's processes.

Usage: bench/ab.py A_HUSH B_HUSH [--rounds 3] [--duration 4] [--connections 50]
Traffic goes to 127.0.0.1 only; every load is bounded in time; only processes started here are
stopped, by PID.
"""

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def measure(server, headers, connections, duration):
    pids = server.pids()
    before = cpu_seconds(pids)
    args = ["wrk", "-t", "2", "-c", connections, "-d", "%ds" % duration, "--latency"]
    for h in headers:
        args += ["-H", h]
    out = bench.run(args + ["https://127.0.0.1:%d/" % server.port], timeout=duration + 60).stdout
    spent = cpu_seconds(pids) - before
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError("the load was answered with errors:\n" + out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {"us": spent * 1e6 / requests,
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p99": bench.parse_latency(re.search(r"99%\s+([\d.]+\w+)", out).group(1))}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=4)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="hush-ab-")
    os.chmod(root, 0o755)  # nginx's workers run as nobody
    try:
        clubs = {}
        for name, binary in (("A", args.a), ("B", args.b)):
            os.makedirs(os.path.join(root, name))
            clubs[name] = bench.Club(binary, os.path.join(root, name))
        servers = {"A": bench.Hush(args.a, clubs["A"]), "B": bench.Hush(args.b, clubs["B"]),
                   "nginx": bench.Nginx(root, clubs["B"])}
        results = {name: [] for name in servers}
        for r in range(args.rounds):
            order = list(servers) if r % 2 == 0 else list(reversed(servers))
            for name in order:
                server = servers[name].start()
                try:
                    time.sleep(0.3)
                    token = clubs.get(name, clubs["B"]).token
                    headers = ["Authorization: Bearer " + token]
                    measure(server, headers, args.connections, args.duration)  # warm-up
                    results[name].append(measure(server, headers, args.connections,
                                                 args.duration))
                finally:
                    server.stop()
        for name, rs in results.items():
            print("%-6s server CPU per request %6.1f us (rounds: %s)  req/s %8.0f  p99 %5.2f ms" % (
                name, statistics.median(x["us"] for x in rs),
                ", ".join("%.1f" % x["us"] for x in rs), statistics.median(x["rps"] for x in rs),
                statistics.median(x["p99"] for x in rs)))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
