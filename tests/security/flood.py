#!/usr/bin/python3
"""A bounded flood of wrong-password guesses, run as its own process by the security tests (so
that its threads do not slow down the measuring test process).

Threads send GET / with wrong Basic credentials for NAMES in turn, each request from one of the
loopback source addresses 127.0.0.FIRST..127.0.0.LAST in turn (keep-alive per address). Stops
after --seconds or --max-requests, whichever comes first; prints one JSON line of statistics
({"requests": n, "statuses": {"401": n, ...}, "retry_after_on_503": bool, "errors": n}).
"""

import argparse
import collections
import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import secsupport as sec  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--ca", default=None)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--first", type=int, default=10)
    ap.add_argument("--last", type=int, default=60)
    ap.add_argument("--names", default="alice,nobody,mallory,root,admin")
    ap.add_argument("--max-requests", type=int, default=200000)
    args = ap.parse_args()

    names = args.names.split(",")
    addresses = ["127.0.0.%d" % i for i in range(args.first, args.last + 1)]
    started = time.monotonic()
    deadline = started + args.seconds
    lock = threading.Lock()
    statuses = collections.Counter()
    counters = {"requests": 0, "errors": 0, "retry_after_on_503": False}

    def worker(index):
        sessions = {}
        i = index
        try:
            while time.monotonic() < deadline:
                with lock:
                    if counters["requests"] >= args.max_requests:
                        return
                    counters["requests"] += 1
                address = addresses[i % len(addresses)]
                name = names[(i // len(addresses)) % len(names)]
                i += args.threads
                s = sessions.get(address)
                if s is None:
                    s = sessions[address] = sec.http_session(args.ca, address)
                left = max(0.5, deadline - time.monotonic())
                status, _t, r = sec.timed_get(s, args.url, name, "guess-%d" % i,
                                              timeout=min(10, left + 1))
                with lock:
                    if status is None:
                        counters["errors"] += 1
                    else:
                        statuses[str(status)] += 1
                        if status == 503 and r.headers.get("Retry-After", "").isdigit():
                            counters["retry_after_on_503"] = True
        finally:
            for s in sessions.values():
                s.close()

    threads = [threading.Thread(target=worker, args=(k,), daemon=True)
               for k in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, deadline - time.monotonic() + 15))
    with lock:
        out = dict(counters, statuses=dict(statuses),
                   seconds=round(time.monotonic() - started, 1))
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
