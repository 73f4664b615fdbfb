"""Password guessing is throttled ([throttle] in hush.toml).

Contract: failed verifications are counted per (member, client address) and per client address;
after member_free_failures (resp. address_free_failures) each further failure blocks that key for
a delay that doubles from base_delay_seconds up to max_delay_seconds. While blocked, a request
with credentials for that key gets `429`, `Retry-After: N` and {"error":"too_many_requests",...}
without the password being verified.

- 200 wrong guesses for alice from 127.0.0.1 within 60 s get at most 10 real verifications (401),
  the rest 429 with a Retry-After that grows from block to block; a 429 costs no Argon2 run.
- While (alice, 127.0.0.1) is blocked, alice's RIGHT password from 127.0.0.1 still gets 429.
- alice logs in at once from 127.0.0.2: guessing does not lock the member out.
- Failures for many names from one address block that address for every member, not others.
Control: the plain server answers all 200 guesses, none with 429.
On SQLite, and on PostgreSQL with HUSH_TEST_STORE=postgresql (ctest's
postgres.security.test_guessing), where the throttle's counts live in the database.

Run: /usr/bin/python3 tests/security/test_guessing.py   (HUSH_BIN=/path/to/hush optional)
"""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import secsupport as sec  # noqa: E402

THROTTLE = {
    ("throttle", "member_free_failures"): "3",
    ("throttle", "address_free_failures"): "10",
    ("throttle", "base_delay_seconds"): "2",
    ("throttle", "max_delay_seconds"): "900",
}
GUESSES = 200
BUDGET_S = 60  # the whole guessing run, whatever the server does
INTERVAL_S = 0.2  # 200 guesses spread over ~40 s, so that several blocks expire meanwhile
MAX_VERIFICATIONS = 10  # 3 free + 1 + one per expired block (2+4+8+16 s < 40 s): 8 expected


def guess(sess, url, user, password, n, budget_s, interval_s):
    """N guesses, one every INTERVAL_S, stopping at BUDGET_S. Returns [(status, retry_after,
    seconds, json body or None)]."""
    results = []
    start = time.monotonic()
    for i in range(n):
        if time.monotonic() - start > budget_s:
            break
        status, seconds, r = sec.timed_get(sess, url, user, password, timeout=10)
        retry_after, body = None, None
        if status is not None:
            retry_after = r.headers.get("Retry-After")
            try:
                body = r.json()
            except ValueError:
                body = None
        results.append((status, retry_after, seconds, body))
        pause = start + (i + 1) * interval_s - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    return results


def block_maxima(results):
    """Largest Retry-After of each run of 429s (one run per block)."""
    maxima, current = [], None
    for status, retry_after, _s, _b in results:
        if status == 429 and retry_after is not None and retry_after.isdigit():
            current = max(current or 0, int(retry_after))
        elif current is not None:
            maxima.append(current)
            current = None
    if current is not None:
        maxima.append(current)
    return maxima


def guessing_problems(results, n=GUESSES):
    """What lets a guesser through: [] when the throttle held."""
    problems = []
    if len(results) < n:
        problems.append("only %d of %d guesses sent within the budget" % (len(results), n))
    verified = [r for r in results if r[0] != 429]
    if len(verified) > MAX_VERIFICATIONS:
        problems.append("%d guesses were verified (not 429), at most %d allowed"
                        % (len(verified), MAX_VERIFICATIONS))
    others = sorted({r[0] for r in results} - {401, 429})
    if others:
        problems.append("statuses other than 401/429: %r" % others)
    for status, retry_after, _s, body in results:
        if status != 429:
            continue
        if retry_after is None or not retry_after.isdigit() or int(retry_after) < 1:
            problems.append("429 with Retry-After %r" % retry_after)
            break
        if not isinstance(body, dict) or body.get("error") != "too_many_requests":
            problems.append("429 body %r" % body)
            break
    maxima = block_maxima(results)
    if len(maxima) < 2 or maxima != sorted(maxima) or maxima[-1] <= maxima[0]:
        problems.append("Retry-After does not grow from block to block: %r" % maxima)
    return problems


class GuessingTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.ws = sec.Workspace(prefix="hush-sec-")
        cls.addClassCleanup(cls.ws.cleanup)
        cls.club = sec.make_club(cls.ws, THROTTLE, members=("alice", "bob"))
        cls.server = sec.start_hush(cls.club)
        cls.addClassCleanup(cls.server.stop)

    def pw(self, name):
        return self.club.passwords[name]

    def session(self, source_ip):
        s = sec.http_session(self.club.ca_pem, source_ip)
        self.addCleanup(s.close)
        return s

    def test_guessing_run_is_throttled_and_alice_is_not_locked_out(self):
        attacker = self.session("127.0.0.1")
        t0 = time.monotonic()
        results = guess(attacker, self.server.url, "alice", "wrong-" + self.pw("alice"),
                        GUESSES, BUDGET_S, INTERVAL_S)
        elapsed = time.monotonic() - t0
        summary = "%.1f s, statuses %r, block maxima %r" % (
            elapsed, [r[0] for r in results], block_maxima(results))
        sys.stderr.write("\n  %d guesses in %.1f s: %d answered 401, %d answered 429; largest "
                         "Retry-After per block %r\n" % (
                             len(results), elapsed, sum(r[0] == 401 for r in results),
                             sum(r[0] == 429 for r in results), block_maxima(results)))
        self.assertEqual(guessing_problems(results), [], summary)

        # A 429 is answered before any Argon2 run: much faster than a verification.
        t401 = sec.median([r[2] for r in results if r[0] == 401])
        t429 = sec.median([r[2] for r in results if r[0] == 429])
        self.assertLess(t429, t401 / 2, "429 median %.4f s vs 401 median %.4f s" % (t429, t401))

        # Still blocked: the right password from the same address is not even looked at.
        status, _s, r = sec.timed_get(attacker, self.server.url, "alice", self.pw("alice"))
        self.assertEqual(status, 429, "right password while blocked: %r" % r)
        self.assertTrue(r.headers.get("Retry-After", "").isdigit(), r.headers)
        self.assertNotIn(sec.SECRET_TEXT, r.text)

        # alice herself, elsewhere, gets in right away.
        status, _s, r = sec.timed_get(self.session("127.0.0.2"), self.server.url, "alice",
                                      self.pw("alice"))
        self.assertEqual(status, 200, r)
        self.assertIn(sec.SECRET_TEXT, r.text)

    def test_address_is_blocked_for_every_member_after_its_free_failures(self):
        attacker = self.session("127.0.0.3")
        statuses = []
        for i in range(14):  # 10 free, the 11th blocks: 429 from the 12th on
            status, _s, _r = sec.timed_get(attacker, self.server.url, "nobody%d" % i, "guess")
            statuses.append(status)
        self.assertEqual(statuses[:10], [401] * 10, "free failures must not be throttled")
        self.assertEqual(statuses[-1], 429, statuses)
        status, _s, r = sec.timed_get(attacker, self.server.url, "bob", self.pw("bob"))
        self.assertEqual(status, 429, "blocked address, right password: %r" % r)
        status, _s, r = sec.timed_get(self.session("127.0.0.4"), self.server.url, "bob",
                                      self.pw("bob"))
        self.assertEqual(status, 200, "another address is not blocked: %r" % r)

    def test_control_plain_server_answers_every_guess(self):
        with sec.PlainServer("--secret", sec.SECRET_TEXT, "--member", "alice:right") as plain:
            s = self.session("127.0.0.1")
            results = guess(s, plain.url, "alice", "wrong", GUESSES, BUDGET_S, 0)
        self.assertEqual(len(results), GUESSES)
        self.assertFalse(any(r[0] == 429 for r in results))
        self.assertNotEqual(guessing_problems(results), [], "the control was not flagged")


if __name__ == "__main__":
    sec.main()
