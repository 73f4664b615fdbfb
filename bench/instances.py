#!/usr/bin/env python3
"""hush on SQLite against hush on PostgreSQL, one instance and two behind HAProxy (issue 15).

Same machine, same run, interleaved rounds, medians. The workload is bench.py's keep-alive read:
GET / with a bearer token (an authenticated, audited read of the newest message), 50
connections. Reported per setup: requests per second, p99, and CPU per request of hush alone and
of everything serving (hush, plus PostgreSQL's processes, plus HAProxy). PostgreSQL runs with
fsync on (HUSH_PG_FSYNC=on), synchronous_commit as shipped (on): each audit commit is durable,
as SQLite's is.

Usage: bench/instances.py [--rounds N] [--duration S] [--hush PATH]   (run as root or a user
PostgreSQL accepts; nothing else heavy on the machine meanwhile)
"""

import argparse
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import bench as b  # noqa: E402
import pg_support  # noqa: E402

CONNECTIONS = 50


class Workspace:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="hush-instances-")

    def sub(self, *parts):
        return os.path.join(self.path, *parts)


def make_club(hush, root, store=None):
    directory = os.path.join(root, "club")
    b.run([hush, "init", "--dir", directory] + (["--store", store] if store else []))
    b.run([hush, "message", "post", "--dir", directory], input=b.MESSAGE)
    b.run([hush, "member", "add", "alice", "--password-stdin", "--dir", directory],
          input="bench-password-alice-1\n")
    token = b.run([hush, "token", "create", "bench", "--member", "alice", "--dir",
                   directory]).stdout.strip().splitlines()[-1]
    path = os.path.join(directory, "hush.toml")
    with open(path) as f:
        config = f.read()
    for key, value in (("max_connections", b.MAX_CONNECTIONS),
                       ("max_connections_per_address", b.MAX_CONNECTIONS),
                       ("max_connections_per_network", b.MAX_CONNECTIONS),
                       ("member_requests_per_second", 0)):
        config = re.sub(r"(?m)^%s = .*$" % key, "%s = %s" % (key, value), config)
    with open(path, "w") as f:
        f.write(config)
    club = b.Club.__new__(b.Club)
    club.hush, club.dir, club.token = hush, directory, token
    return club


def copy_club(club, root):
    copy = b.Club.__new__(b.Club)
    copy.hush, copy.token = club.hush, club.token
    copy.dir = os.path.join(root, "club")
    shutil.copytree(club.dir, copy.dir, symlinks=True)
    return copy


def postmaster_pids(pg):
    with open(os.path.join(pg.socket_dir, "data", "postmaster.pid")) as f:
        return b.process_tree(int(f.readline()))


def measure(port, hush_pids, other_pids, duration):
    before_hush, before_all = b.cpu_ticks(hush_pids()), b.cpu_ticks(hush_pids() + other_pids())
    result = b.wrk(port, "/", str(CONNECTIONS), duration,
                   headers=["Authorization: Bearer " + CLUB_TOKEN[0]])
    after_hush, after_all = b.cpu_ticks(hush_pids()), b.cpu_ticks(hush_pids() + other_pids())
    scale = 1e6 / b.CLK_TCK / result["count"]
    result["hush_cpu_us"] = (after_hush - before_hush) * scale
    result["all_cpu_us"] = (after_all - before_all) * scale
    return result


CLUB_TOKEN = [None]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--hush", default=os.path.join(HERE, "..", "build", "release", "src",
                                                       "hush"))
    args = parser.parse_args()
    hush = os.path.abspath(args.hush)
    ws = Workspace()
    os.environ["HUSH_PG_FSYNC"] = "on"
    pg = pg_support.Postgres(ws).start()
    servers, proxy = [], None
    try:
        os.makedirs(ws.sub("sqlite"))
        lite = make_club(hush, ws.sub("sqlite"))
        os.makedirs(ws.sub("pg"))
        shared = make_club(hush, ws.sub("pg"), store=pg.new_database())
        os.makedirs(ws.sub("pg-two"))
        second = copy_club(shared, ws.sub("pg-two"))
        CLUB_TOKEN[0] = None
        lite_server = b.Hush(hush, lite).start()
        pg_one = b.Hush(hush, shared).start()
        pg_two = b.Hush(hush, second).start()
        servers = [lite_server, pg_one, pg_two]
        proxy = pg_support.HAProxy(ws, [pg_one.port, pg_two.port],
                                   os.path.join(shared.dir, "ca.pem")).start()
        proxy_pids = lambda: [proxy.proc.pid]  # noqa: E731
        pg_pids = lambda: postmaster_pids(pg)  # noqa: E731

        def run(port, club, hush_pids, other_pids):
            def go():
                CLUB_TOKEN[0] = club.token
                return measure(port, hush_pids, other_pids, args.duration)
            return go

        measures = {
            "sqlite, one instance": run(lite_server.port, lite, lambda: [lite_server.proc.pid],
                                        lambda: []),
            "postgresql, one instance": run(pg_one.port, shared, lambda: [pg_one.proc.pid],
                                            pg_pids),
            "postgresql, two behind haproxy": run(
                proxy.port, shared, lambda: [pg_one.proc.pid, pg_two.proc.pid],
                lambda: pg_pids() + proxy_pids()),
        }
        results = b.interleaved(args.rounds, measures)
        print("keep-alive GET / with a bearer token, %d connections, %d rounds of %d s, medians"
              % (CONNECTIONS, args.rounds, args.duration))
        print("%-32s %10s %9s %14s %16s" % ("setup", "req/s", "p99 ms", "hush us/req",
                                             "all us/req"))
        for name, rounds in results.items():
            med = {k: b.statistics.median(r[k] for r in rounds)
                   for k in ("rps", "p99_ms", "hush_cpu_us", "all_cpu_us")}
            print("%-32s %10.0f %9.2f %14.1f %16.1f" % (name, med["rps"], med["p99_ms"],
                                                         med["hush_cpu_us"], med["all_cpu_us"]))
    finally:
        for server in servers:
            server.stop()
        if proxy is not None:
            proxy.stop()
        pg.stop()
        shutil.rmtree(ws.path, ignore_errors=True)


if __name__ == "__main__":
    main()
