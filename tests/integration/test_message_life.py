"""Messages with a life (issue 16), end to end with real clients: expiry, burn after reading,
recipients and read receipts, over the API, GET / and the CLI.

- Expiry: a message posted with "expires_in" is served until then, is 404 at once afterwards
  (GET / moves on to the newest one still visible), and soon after no byte of its sealed body
  is left in any file of the club directory (the server's sweeper). Control: the scan finds the
  body of a message still alive.
- Burn after one read under 20 concurrent readers (each their own member, token and TLS
  connection, released together): exactly one 200, nineteen 404, and the body is gone from the
  directory. The author reading it back before did not use the read up.
- Recipients: a message to bob is invisible to carol through every route (GET / repeatedly,
  which the server may answer from memory; the list; GET by id in both formats; receipts;
  DELETE, carol being a poster), and visible to bob and the author; role:admin reaches admins.
- Receipts: the author and admins see who read it and when (API and `hush message show ID
  --reads`), another reader gets 403.
- End-to-end messages (a Fernet token posted with "format": "fernet") keep their terms too.
- Bad terms get a 400 that says what is wrong (API) or a usage error (CLI).

Run: /usr/bin/python3 tests/integration/test_message_life.py   (HUSH_BIN=/path/to/hush optional)
"""

import json
import os
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import (  # noqa: E402
    HTTP_TIMEOUT, Club, Workspace, basic, files_with_window, sealed_body, session)

# The server sweeps every 2 s; a slow machine gets ten times that.
SWEEP_WAIT = 20
READERS = 20


class MessageLifeTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        support.require_binary()
        cls.ws = Workspace(prefix="hush-life-")
        cls.addClassCleanup(cls.ws.cleanup)
        cls.club = Club(cls.ws)
        cls.passwords = {"admin": cls.club.admin_password}
        for name, role in (("alice", "poster"), ("bob", "reader"), ("carol", "poster")):
            cls.passwords[name] = cls.club.add_member(name, role)
        cls.tokens = {}
        for name in ("alice", "bob", "carol", "admin"):
            cls.tokens[name] = cls.make_token(name)
        cls.server = cls.club.serve()
        cls.addClassCleanup(cls.server.stop)
        cls.http = session(cls.club.ca_pem)

    @classmethod
    def make_token(cls, member):
        r = cls.club.hush("token", "create", "t-" + member, "--member", member)
        if r.rc != 0:
            raise AssertionError("token create: %r" % r)
        return r.out.strip().splitlines()[-1]

    def auth(self, who):
        return {"Authorization": "Bearer " + self.tokens[who]}

    def url(self, path):
        return self.server.url + path.lstrip("/")

    def get(self, who, path, **kw):
        return self.http.get(self.url(path), headers=dict(self.auth(who), **kw.pop("headers", {})),
                             timeout=HTTP_TIMEOUT, **kw)

    def post(self, who, body, **life):
        r = self.http.post(self.url("api/v1/messages"), json=dict(body=body, **life),
                           headers=self.auth(who), timeout=HTTP_TIMEOUT)
        self.assertEqual(r.status_code, 201, r.text)
        return r.json()["id"]

    def listed(self, who):
        r = self.get(who, "api/v1/messages?limit=100")
        self.assertEqual(r.status_code, 200, r.text)
        return {m["id"]: m for m in r.json()["messages"]}

    def test_an_expired_message_is_gone_and_then_its_bytes_are(self):
        kept = self.post("alice", "alive for ever (expiry test)")
        brief = self.post("alice", "brief secret", expires_in=3)
        posted = time.monotonic()
        blob = sealed_body(self.club, brief)
        self.assertNotEqual(files_with_window(self.club.dir, blob), [])
        r = self.get("bob", "/")
        self.assertEqual((r.status_code, r.text), (200, "brief secret"))
        summary = self.listed("bob")[brief]
        self.assertIn("expires", summary)
        self.assertNotIn("max_reads", summary)
        self.assertNotIn("to", summary)

        time.sleep(max(0, posted + 4.2 - time.monotonic()))
        self.assertEqual(self.get("bob", "api/v1/messages/%d" % brief).status_code, 404)
        r = self.get("bob", "/")
        self.assertEqual((r.status_code, r.text), (200, "alive for ever (expiry test)"))
        self.assertNotIn(brief, self.listed("alice"))
        self.assertIn(kept, self.listed("alice"))
        r = self.club.hush("message", "show", str(brief))
        self.assertNotEqual(r.rc, 0, r)

        deadline = time.monotonic() + SWEEP_WAIT
        while files_with_window(self.club.dir, blob) and time.monotonic() < deadline:
            time.sleep(0.5)
        self.assertEqual(files_with_window(self.club.dir, blob), [],
                         "the expired message's sealed body is still on disk")
        # Control: the live message is still found by the same scan.
        self.assertNotEqual(files_with_window(self.club.dir, sealed_body(self.club, kept)), [])

    def test_burn_after_one_read_under_twenty_concurrent_readers(self):
        readers = ["burn%02d" % i for i in range(READERS)]
        tokens = {}
        for name in readers:
            self.club.add_member(name, "reader")
            tokens[name] = self.make_token(name)
        burn = self.post("alice", "read me once", max_reads=1)
        blob = sealed_body(self.club, burn)
        # The author reading it back uses nothing up.
        r = self.get("alice", "api/v1/messages/%d" % burn)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["reads_left"], 1)
        # Neither a HEAD nor a Fernet token asked of a text message shows a body: neither uses
        # the read up.
        r = self.http.head(self.url("api/v1/messages/%d" % burn), headers=self.auth("bob"),
                           timeout=HTTP_TIMEOUT)
        self.assertEqual(r.status_code, 200)
        r = self.get("bob", "api/v1/messages/%d" % burn, headers={"Accept": "application/vnd.fernet"})
        self.assertEqual(r.status_code, 406, r.text)
        self.assertEqual(self.listed("alice")[burn]["reads_left"], 1)

        # Each reader on a TLS connection of its own, already open, all released at once.
        sessions = {}
        for name in readers:
            s = session(self.club.ca_pem)
            s.get(self.url("healthz"), timeout=HTTP_TIMEOUT)
            sessions[name] = s
        barrier = threading.Barrier(READERS)
        results = {}

        def read(name):
            barrier.wait(timeout=30)
            r = sessions[name].get(self.url("api/v1/messages/%d" % burn),
                                   headers={"Authorization": "Bearer " + tokens[name]},
                                   timeout=HTTP_TIMEOUT)
            results[name] = (r.status_code, r.json().get("body") if r.status_code == 200 else None)

        threads = [threading.Thread(target=read, args=(n,)) for n in readers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        for s in sessions.values():
            s.close()
        statuses = sorted(code for code, _ in results.values())
        self.assertEqual(len(results), READERS)
        self.assertEqual(statuses, [200] + [404] * (READERS - 1), results)
        self.assertEqual([b for _, b in results.values() if b], ["read me once"])

        self.assertEqual(self.get("alice", "api/v1/messages/%d" % burn).status_code, 404)
        self.assertEqual(files_with_window(self.club.dir, blob), [],
                         "the burned message's sealed body is still on disk")
        # Who read it stays in the audit trail: the CLI shows it.
        r = self.club.hush("message", "show", str(burn), "--reads", "--json")
        self.assertEqual(r.rc, 0, r)
        got = [x["reader"] for x in json.loads(r.out)["reads"]]
        winner = [n for n, (code, _) in results.items() if code == 200]
        # (bob's HEAD is audited like any read of the message, as it always was.)
        self.assertEqual(sorted(set(got)), sorted(set(["alice", "bob"] + winner)))

    def test_a_message_to_bob_is_invisible_to_carol_everywhere(self):
        open_id = self.post("alice", "for the whole club (recipients test)")
        to_bob = self.post("alice", "for bob only", to=["bob"])
        for _ in range(5):  # GET / may be answered from memory: never this one to carol
            r = self.get("carol", "/")
            self.assertEqual((r.status_code, r.text), (200, "for the whole club (recipients test)"))
        self.assertNotIn(to_bob, self.listed("carol"))
        self.assertIn(open_id, self.listed("carol"))
        for headers in ({}, {"Accept": "application/vnd.fernet"}):
            r = self.get("carol", "api/v1/messages/%d" % to_bob, headers=headers)
            self.assertEqual(r.status_code, 404, r.text)
            self.assertNotIn("bob only", r.text)
        r = self.get("carol", "api/v1/messages/%d/reads" % to_bob)
        self.assertEqual(r.status_code, 404, r.text)
        r = self.http.delete(self.url("api/v1/messages/%d" % to_bob), headers=self.auth("carol"),
                             timeout=HTTP_TIMEOUT)
        self.assertEqual(r.status_code, 404, r.text)
        # carol's password (a browser's login) sees no more than her token.
        r = self.http.get(self.url("/"), headers={"Authorization": basic(
            "carol", self.passwords["carol"])}, timeout=HTTP_TIMEOUT)
        self.assertEqual(r.text, "for the whole club (recipients test)")

        r = self.get("bob", "/")
        self.assertEqual((r.status_code, r.text), (200, "for bob only"))
        self.assertEqual(self.listed("bob")[to_bob]["to"], ["bob"])
        self.assertEqual(self.get("alice", "api/v1/messages/%d" % to_bob).json()["body"],
                         "for bob only")

        to_admins = self.post("alice", "for admins", to=["role:admin"])
        self.assertEqual(self.get("admin", "api/v1/messages/%d" % to_admins).status_code, 200)
        self.assertEqual(self.get("bob", "api/v1/messages/%d" % to_admins).status_code, 404)
        self.assertEqual(self.listed("admin")[to_admins]["to"], ["role:admin"])
        # The operator's tools see everything.
        r = self.club.hush("message", "list", "--json")
        self.assertEqual(r.rc, 0, r)
        listed = {m["id"]: m for m in json.loads(r.out)["messages"]}
        self.assertEqual(listed[to_bob]["to"], ["bob"])
        # Every key always there in the CLI's JSON (docs/operations.md, "Lists").
        self.assertEqual((listed[open_id]["to"], listed[open_id]["expires"],
                          listed[open_id]["max_reads"], listed[open_id]["reads"]),
                         (None, None, None, 0))

    def test_receipts_for_the_author_and_admins(self):
        mid = self.post("alice", "who reads this?")
        for who in ("bob", "carol"):
            self.assertEqual(self.get(who, "api/v1/messages/%d" % mid).status_code, 200)
        r = self.get("alice", "api/v1/messages/%d/reads" % mid)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual([x["reader"] for x in r.json()["reads"]], ["bob", "carol"])
        self.assertTrue(all(x["at"].endswith("Z") for x in r.json()["reads"]))
        self.assertEqual(self.get("admin", "api/v1/messages/%d/reads" % mid).status_code, 200)
        self.assertEqual(self.get("bob", "api/v1/messages/%d/reads" % mid).status_code, 403)
        r = self.club.hush("message", "show", str(mid), "--reads")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("bob", r.out)
        self.assertIn("carol", r.out)
        # The operator's own read is audited, and uses nothing up.
        self.assertEqual(self.club.hush("message", "show", str(mid)).out.strip(), "who reads this?")

    def test_end_to_end_messages_keep_their_terms(self):
        from cryptography.fernet import Fernet
        key = Fernet.generate_key()
        token = Fernet(key).encrypt(b"e2e, once, for bob").decode()
        r = self.http.post(self.url("api/v1/messages"),
                           json={"body": token, "format": "fernet", "max_reads": 1, "to": ["bob"]},
                           headers=self.auth("alice"), timeout=HTTP_TIMEOUT)
        self.assertEqual(r.status_code, 201, r.text)
        mid = r.json()["id"]
        fernet = {"Accept": "application/vnd.fernet"}
        self.assertEqual(self.get("carol", "api/v1/messages/%d" % mid, headers=fernet).status_code,
                         404)
        r = self.get("bob", "api/v1/messages/%d" % mid, headers=fernet)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(Fernet(key).decrypt(r.text.encode()), b"e2e, once, for bob")
        self.assertEqual(self.get("bob", "api/v1/messages/%d" % mid, headers=fernet).status_code,
                         404)

    def test_the_cli_posts_with_a_life_and_lists_it(self):
        r = self.club.hush("message", "post", "--author", "alice", "--expires", "1h",
                           "--max-reads", "2", "--to", "bob,role:admin", "-", input="cli life")
        self.assertEqual(r.rc, 0, r)
        mid = int(r.out.strip())
        summary = self.listed("bob")[mid]
        self.assertEqual((summary["max_reads"], summary["reads_left"]), (2, 2))
        self.assertEqual(summary["to"], ["bob", "role:admin"])
        self.assertNotIn(mid, self.listed("carol"))
        r = self.club.hush("message", "list")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("2 of 2 reads left, to bob and role:admin", r.out)
        for args, words in ((["--expires", "0s"], "--expires"), (["--expires", "soon"], "--expires"),
                            (["--to", "nobody"], "nobody"), (["--to", "role:king"], "role:"),
                            (["--to", "bob,bob"], "twice"), (["--max-reads", "0"], "max-reads"),
                            (["--to", ""], "--to"), (["--to", "bob,"], "recipient")):
            r = self.club.hush("message", "post", "--author", "alice", *args, "-", input="x")
            self.assertNotEqual(r.rc, 0, r)
            self.assertIn(words, r.err, r)

    def test_bad_terms_get_a_clear_400(self):
        for life, words in (({"expires_in": 0}, "expires_in"), ({"expires_in": "60"}, "expires_in"),
                            ({"expires_in": 1.5}, "expires_in"),
                            ({"expires_in": 10 ** 12}, "expires_in"),
                            ({"max_reads": 0}, "max_reads"), ({"max_reads": -1}, "max_reads"),
                            ({"to": []}, "to"), ({"to": "bob"}, "to"), ({"to": [1]}, "to"),
                            ({"to": ["bob", "bob"]}, "twice"), ({"to": ["nobody"]}, "nobody"),
                            ({"to": ["role:king"]}, "role:"), ({"format": "gif"}, "format")):
            r = self.http.post(self.url("api/v1/messages"), json=dict(body="x", **life),
                               headers=self.auth("alice"), timeout=HTTP_TIMEOUT)
            self.assertEqual(r.status_code, 400, (life, r.text))
            self.assertIn(words, r.json()["message"], life)
        # A reader still may not post, terms or not.
        r = self.http.post(self.url("api/v1/messages"), json={"body": "x", "max_reads": 1},
                           headers=self.auth("bob"), timeout=HTTP_TIMEOUT)
        self.assertEqual(r.status_code, 403, r.text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
