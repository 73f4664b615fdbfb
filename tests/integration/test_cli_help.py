"""A CLI that helps (issue 12): the version, unknown words named with the nearest valid one, exit
2 for usage errors and 1 for runtime failures, a group's help, --dir anywhere, lists with a
header row and --json, member role and member certs, API errors that name the field, and
refusals that say what to do (ownership, a privileged port, a port out of range).

Run: /usr/bin/python3 tests/integration/test_cli_help.py   (HUSH_BIN=/path/to/hush optional)
"""

import json
import os
import re
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import (HTTP_TIMEOUT, HUSH_BIN, START_TIMEOUT, STOP_TIMEOUT, Club,  # noqa: E402
                     Workspace, hush, one_hush_line, session, table_rows)

USAGE = 2
RUNTIME = 1


def project_version():
    with open(os.path.join(support.REPO, "CMakeLists.txt"), encoding="utf-8") as f:
        return re.search(r"project\(hush VERSION (\d+\.\d+\.\d+)", f.read()).group(1)


def json_of(testcase, result):
    """The one JSON document a --json list prints (the whole of stdout)."""
    testcase.assertEqual(result.rc, 0, result)
    testcase.assertEqual(result.err, "", result)
    testcase.assertEqual(result.out.count("\n"), 1, "one document on one line: %r" % result.out)
    return json.loads(result.out)


def usage_error(testcase, result, *mentioning):
    line = one_hush_line(testcase, result)
    testcase.assertEqual(result.rc, USAGE, result)
    for word in mentioning:
        testcase.assertIn(word, line)
    return line


def runtime_error(testcase, result, *mentioning):
    line = one_hush_line(testcase, result)
    testcase.assertEqual(result.rc, RUNTIME, result)
    for word in mentioning:
        testcase.assertIn(word, line)
    return line


def start_serve(args, prefix=()):
    """`hush serve ARGS` (after PREFIX, e.g. setpriv): (started, rc, first stdout line, stderr)."""
    proc = subprocess.Popen(list(prefix) + [HUSH_BIN] + list(args), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=support.clean_env())
    line = support.read_line(proc.stdout, START_TIMEOUT).decode("utf-8", errors="replace")
    started = line.startswith("hush: serving")
    if started or proc.poll() is None:
        proc.terminate()
    try:
        _out, err = proc.communicate(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate(timeout=10)
    err = err.decode("utf-8", errors="replace")
    support.check_sanitizers(err, "hush serve")
    return started, proc.returncode, line, err


class VersionTest(unittest.TestCase):
    def test_flag_and_command_print_the_project_version(self):
        expected = "hush %s\n" % project_version()
        for args in (["--version"], ["version"]):
            with self.subTest(args=args):
                r = hush(*args)
                self.assertEqual((r.rc, r.out, r.err), (0, expected, ""), r)


class UnknownWordsTest(unittest.TestCase):
    def test_an_unknown_command_is_named_with_the_nearest(self):
        cases = [(["memebr", "list"], '"memebr"', '"member"'),
                 (["mesage", "list"], '"mesage"', '"message"'),
                 (["member", "lst"], '"lst"', '"list"'),
                 (["member", "rmove", "bob"], '"rmove"', '"remove"'),
                 (["ca", "lis"], '"lis"', '"list"'),
                 (["tokn", "list"], '"tokn"', '"token"')]
        for args, named, nearest in cases:
            with self.subTest(args=args):
                line = usage_error(self, hush(*args), named, "did you mean %s?" % nearest)
                self.assertIn("--help", line)

    def test_an_unknown_option_is_named_with_the_nearest(self):
        cases = [(["message", "list", "--lmit", "3"], '"--lmit"', '"--limit"'),
                 (["--dri", "x", "member", "list"], '"--dri"', '"--dir"'),
                 (["member", "add", "bob", "--rol", "admin"], '"--rol"', '"--role"'),
                 (["member", "list", "--jsno"], '"--jsno"', '"--json"'),
                 (["message", "post", "--e2", "--key-file", "k"], '"--e2"', '"--e2e"')]
        for args, named, nearest in cases:
            with self.subTest(args=args):
                usage_error(self, hush(*args), named, "did you mean %s?" % nearest)

    def test_nothing_near_is_named_alone(self):
        line = usage_error(self, hush("frobnicate"), '"frobnicate"')
        self.assertNotIn("did you mean", line)
        line = usage_error(self, hush("member", "list", "--xyzzy-plugh"), '"--xyzzy-plugh"')
        self.assertNotIn("did you mean", line)

    def test_an_extra_argument_is_named(self):
        usage_error(self, hush("member", "remove", "bob", "carol"), '"carol"')


class ExitStatusTest(unittest.TestCase):
    """2 for a command line that is wrong (nothing done), 1 for a failure at run time."""

    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def members(self):
        return {row[0]: row[1] for row in
                table_rows(self.club.hush("member", "list"), support.MEMBER_HEADER)}

    def test_usage_errors_exit_2_and_change_nothing(self):
        before = self.members()
        cases = [
            (["member", "add", "x", "--role", "boss"], ['"boss"', "reader, poster or admin"]),
            (["member", "add", "x", "--role", "Admin"], ['did you mean "admin"?']),
            (["member", "add", "x", "--role", ""], ["reader, poster or admin"]),
            (["member", "role", "admin", "boss"], ['"boss"']),
            (["member", "add"], ["name"]),
            (["member", "add", "bad name"], ["A-Z a-z 0-9"]),
            (["member", "role", "admin"], ["role"]),
            (["message", "list", "--limit", "0"], ["--limit"]),
            (["message", "show", "abc"], ['"abc" is not a message id']),
            (["message", "rm", "-1"], []),
            (["token", "create", "t", "--member", "admin", "--expires", "5x"], ["--expires"]),
            (["token", "create", "bad name", "--member", "admin"], ["token name"]),
            (["member", "cert", "admin", "--days", "0"], ["--days"]),
            (["member", "cert"], ["NAME", "--revoke"]),
            (["ca", "crl", "--days", "0"], ["--days"]),
            (["ca", "revoke", "not-hex"], ["serial"]),
            (["cert", "renew", "--days", "0"], ["--days"]),
            (["serve", "--client-certs", "maybe"], ["off, optional or required"]),
            (["serve", "--listen", "127.0.0.1:70000"], ["out of range", "0 to 65535"]),
            (["serve", "--listen", "nowhere"], ["HOST:PORT"]),
        ]
        for args, mentioning in cases:
            with self.subTest(args=args):
                usage_error(self, self.club.hush(*args), *mentioning)
        self.assertEqual(self.members(), before)

    def test_runtime_errors_exit_1(self):
        cases = [(["message", "show", "987654"], ["not found"]),
                 (["member", "remove", "nobody"], ["not found"]),
                 (["member", "role", "nobody", "admin"], ["not found"]),
                 (["member", "certs", "nobody"], ["not found"]),
                 (["member", "add", "admin"], ["already exists"])]
        for args, mentioning in cases:
            with self.subTest(args=args):
                runtime_error(self, self.club.hush(*args), *mentioning)
        runtime_error(self, hush("member", "list", "--dir", self.ws.sub("no-club")), "hush init")


class GroupHelpTest(unittest.TestCase):
    def test_a_group_without_its_command_shows_its_help(self):
        cases = {("member",): ["add", "list", "remove", "passwd", "cert", "role", "certs"],
                 ("message",): ["post", "list", "show", "rm"],
                 ("token",): ["create", "list", "revoke"],
                 ("ca",): ["crl", "revoke", "list", "sign"],
                 ("fernet",): ["key", "encrypt", "decrypt"],
                 (): ["init", "serve", "member", "message", "version"]}
        for group, commands in cases.items():
            with self.subTest(group=group):
                r = hush(*group)
                line = usage_error(self, r, *commands)
                self.assertIn("Usage: %s" % " ".join(("hush",) + group), r.out)
                for command in commands:
                    self.assertRegex(r.out, r"(?m)^\s+%s\s" % command)
                self.assertIn("help above", line)

    def test_help_itself_is_no_error(self):
        r = hush("member", "--help")
        self.assertEqual((r.rc, r.err), (0, ""), r)
        self.assertIn("role", r.out)


class DirAnywhereTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)
        cls.elsewhere = cls.ws.sub("cwd")
        os.mkdir(cls.elsewhere)

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def run_in_elsewhere(self, *args):
        # No HUSH_DIR, and no ./hush-data where it runs: only --dir can name the club.
        return hush(*args, cwd=self.elsewhere)

    def test_before_between_and_after(self):
        d = self.club.dir
        for args in (["--dir", d, "member", "list"],
                     ["member", "--dir", d, "list"],
                     ["member", "list", "--dir", d],
                     ["--dir=%s" % d, "member", "list"],
                     ["--dir", d, "message", "list", "--limit", "5"],
                     ["--dir", d, "audit"],
                     ["--dir", d, "ca", "list"]):
            with self.subTest(args=args):
                r = self.run_in_elsewhere(*args)
                self.assertEqual(r.rc, 0, r)
                self.assertEqual(r.err, "", r)
        rows = table_rows(self.run_in_elsewhere("--dir", d, "member", "list"),
                          support.MEMBER_HEADER)
        self.assertIn(["admin", "admin"], [row[:2] for row in rows])
        self.assertEqual(os.listdir(self.elsewhere), [])

    def test_a_change_goes_to_the_club_named_before(self):
        r = self.run_in_elsewhere("--dir", self.club.dir, "member", "add", "early-bird")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("early-bird", self.club.hush("member", "list").out)
        self.assertEqual(os.listdir(self.elsewhere), [])

    def test_two_different_dirs_are_a_usage_error(self):
        usage_error(self, self.run_in_elsewhere("--dir", self.club.dir, "member", "list", "--dir",
                                                self.ws.sub("other")), "--dir", "once")
        # The same one twice is no conflict.
        r = self.run_in_elsewhere("--dir", self.club.dir, "member", "list", "--dir", self.club.dir)
        self.assertEqual(r.rc, 0, r)

    def test_serve_takes_it_before_too(self):
        started, rc, line, err = start_serve(["--dir", self.club.dir, "serve", "--listen",
                                              "127.0.0.1:0"])
        self.assertTrue(started, (rc, line, err))
        self.assertEqual(rc, 0, err)


class ListsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)
        cls.club.add_member("alice", "poster")
        cls.club.add_member("rita", "reader")
        cls.text_id = cls.club.post("plain text", author="alice")
        key = cls.ws.sub("club.key")
        r = hush("fernet", "key", "--out", key)
        assert r.rc == 0, r
        r = cls.club.hush("message", "post", "--e2e", "--key-file", key, "--author", "alice",
                          input="sealed end to end")
        assert r.rc == 0, r
        cls.e2e_id = int(r.out)
        for args in (["token", "create", "forever", "--member", "alice"],
                     ["token", "create", "monthly", "--member", "rita", "--expires", "30d"],
                     ["message", "show", str(cls.text_id)]):
            r = cls.club.hush(*args)
            assert r.rc == 0, r
        certs = cls.ws.sub("certs")
        os.mkdir(certs)
        r = cls.club.hush("member", "cert", "alice", "--out-dir", certs)
        assert r.rc == 0, r
        cls.alice_serial = re.search(r"serial ([0-9a-f]+)", r.out).group(1)

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def test_members(self):
        rows = table_rows(self.club.hush("member", "list"), support.MEMBER_HEADER)
        doc = json_of(self, self.club.hush("member", "list", "--json"))
        self.assertEqual(list(doc), ["members"])
        self.assertEqual(doc["members"], [{"name": r[0], "role": r[1], "created": r[2]}
                                          for r in rows])
        self.assertEqual({m["name"]: m["role"] for m in doc["members"]},
                         {"admin": "admin", "alice": "poster", "rita": "reader"})
        for m in doc["members"]:
            self.assertRegex(m["created"], support.UTC_RE)

    def test_messages_show_their_format(self):
        rows = table_rows(self.club.hush("message", "list"), support.MESSAGE_HEADER)
        self.assertEqual([(int(r[0]), r[2], r[3]) for r in rows],
                         [(self.e2e_id, "alice", "e2e"), (self.text_id, "alice", "text")])
        doc = json_of(self, self.club.hush("message", "list", "--json"))
        self.assertEqual(list(doc), ["messages"])
        self.assertEqual(doc["messages"], [{"id": int(r[0]), "created": r[1], "author": r[2],
                                            "format": r[3], "expires": None, "max_reads": None,
                                            "reads": 0, "to": None} for r in rows])
        self.assertEqual([r[4] for r in rows], ["-", "-"])
        limited = json_of(self, self.club.hush("message", "list", "--json", "--limit", "1"))
        self.assertEqual([m["id"] for m in limited["messages"]], [self.e2e_id])

    def test_tokens(self):
        rows = table_rows(self.club.hush("token", "list"), support.TOKEN_HEADER)
        by_name = {r[0]: r for r in rows}
        self.assertEqual(by_name["forever"][1:2] + by_name["forever"][3:], ["alice", "never"])
        self.assertRegex(by_name["monthly"][3], support.UTC_RE)
        doc = json_of(self, self.club.hush("token", "list", "--json"))
        self.assertEqual(list(doc), ["tokens"])
        got = {t["name"]: t for t in doc["tokens"]}
        self.assertEqual(got["forever"]["expires"], None)
        self.assertEqual(got["monthly"]["expires"], by_name["monthly"][3])
        self.assertEqual(set(got["monthly"]), {"name", "member", "created", "expires"})
        self.assertNotIn("hush_", self.club.hush("token", "list", "--json").out)

    def test_audit(self):
        rows = table_rows(self.club.hush("audit"), support.AUDIT_HEADER)
        self.assertIn(["(cli)", str(self.text_id), "local"], [r[1:] for r in rows])
        doc = json_of(self, self.club.hush("audit", "--json"))
        self.assertEqual(list(doc), ["audit"])
        self.assertEqual(doc["audit"], [{"time": r[0], "member": r[1], "message": int(r[2]),
                                         "remote": r[3]} for r in rows])

    def test_certificates(self):
        rows = table_rows(self.club.hush("ca", "list"), support.CERT_HEADER)
        kinds = sorted(r[1] for r in rows)
        self.assertEqual(kinds, ["client", "server"])
        doc = json_of(self, self.club.hush("ca", "list", "--json"))
        self.assertEqual(list(doc), ["certificates"])
        self.assertEqual([c["serial"] for c in doc["certificates"]], [r[0] for r in rows])
        for c in doc["certificates"]:
            self.assertEqual(set(c), {"serial", "kind", "names", "issued", "expires", "revoked"})
            self.assertIsNone(c["revoked"])

    def test_a_members_certificates(self):
        rows = table_rows(self.club.hush("member", "certs", "alice"), support.CERT_HEADER)
        self.assertEqual([r[:3] + r[4:] for r in rows],
                         [[self.alice_serial, "client", "alice", "valid"]])
        self.assertEqual(table_rows(self.club.hush("member", "certs", "rita"),
                                    support.CERT_HEADER), [])
        doc = json_of(self, self.club.hush("member", "certs", "alice", "--json"))
        self.assertEqual([c["serial"] for c in doc["certificates"]], [self.alice_serial])
        self.assertEqual(json_of(self, self.club.hush("member", "certs", "rita", "--json")),
                         {"certificates": []})


class MemberRoleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def role_of(self, name):
        doc = json_of(self, self.club.hush("member", "list", "--json"))
        return {m["name"]: m["role"] for m in doc["members"]}.get(name)

    def test_change_roles(self):
        self.club.add_member("bob")
        r = self.club.hush("member", "role", "bob", "poster")
        self.assertEqual((r.rc, r.out), (0, 'Changed the role of "bob" from reader to poster\n'), r)
        self.assertEqual(self.role_of("bob"), "poster")
        r = self.club.hush("member", "role", "bob", "poster")
        self.assertEqual((r.rc, r.out), (0, 'Member "bob" is already poster\n'), r)
        self.assertEqual(self.club.hush("member", "role", "bob", "admin").rc, 0)
        self.assertEqual(self.role_of("bob"), "admin")
        self.assertEqual(self.club.hush("member", "role", "bob", "reader").rc, 0)
        self.assertEqual(self.role_of("bob"), "reader")

    def test_the_last_admin_is_never_demoted(self):
        for role in ("reader", "poster"):
            with self.subTest(role=role):
                runtime_error(self, self.club.hush("member", "role", "admin", role),
                              "last admin", "hush member role NAME admin")
        self.assertEqual(self.role_of("admin"), "admin")
        # With a second admin, the first may step down; then the second is the last.
        self.club.add_member("deputy", "admin")
        self.assertEqual(self.club.hush("member", "role", "admin", "poster").rc, 0)
        runtime_error(self, self.club.hush("member", "role", "deputy", "reader"), "last admin")
        self.assertEqual(self.role_of("deputy"), "admin")
        self.assertEqual(self.club.hush("member", "role", "admin", "admin").rc, 0)

    def test_a_new_role_holds_at_once_on_the_api(self):
        self.club.add_member("carol", "reader", password="carol's long password")
        with self.club.serve() as server:
            s = session(self.club.ca_pem)
            url = server.url + "api/v1/messages"
            auth = ("carol", "carol's long password")
            r = s.post(url, json={"body": "as a reader"}, auth=auth, timeout=HTTP_TIMEOUT)
            self.assertEqual(r.status_code, 403, r.text)
            self.assertEqual(self.club.hush("member", "role", "carol", "poster").rc, 0)
            r = s.post(url, json={"body": "as a poster"}, auth=auth, timeout=HTTP_TIMEOUT)
            self.assertEqual(r.status_code, 201, r.text)
            self.assertEqual(self.club.hush("member", "role", "carol", "reader").rc, 0)
            r = s.post(url, json={"body": "a reader again"}, auth=auth, timeout=HTTP_TIMEOUT)
            self.assertEqual(r.status_code, 403, r.text)


class ApiErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)
        cls.club.set_config("limits", "max_message_bytes", "100")
        cls.server = cls.club.serve()
        cls.s = session(cls.club.ca_pem)
        cls.admin = ("admin", cls.club.admin_password)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.ws.cleanup()

    def post(self, path, body):
        return self.s.post(self.server.url + path, json=body, auth=self.admin,
                           timeout=HTTP_TIMEOUT)

    def assertNames(self, r, status, code, message):
        self.assertEqual(r.status_code, status, r.text)
        self.assertEqual(r.json(), {"error": code, "message": message})

    def test_a_message_body(self):
        rule = ('"body" must be a string of at most 100 bytes of UTF-8, not empty '
                '(limits.max_message_bytes)')
        self.assertNames(self.post("api/v1/messages", {"body": 42}), 400, "bad_request", rule)
        self.assertNames(self.post("api/v1/messages", {}), 400, "bad_request", rule)
        self.assertNames(self.post("api/v1/messages", {"body": "x" * 101}), 413,
                         "payload_too_large", rule)
        self.assertNames(self.post("api/v1/messages", {"body": "x", "author": "mallory"}), 400,
                         "bad_request", 'unknown key "author"; the object takes only "body", '
                         '"format", "expires_in", "max_reads", "to"')
        self.assertEqual(self.post("api/v1/messages", {"body": "x" * 100}).status_code, 201)

    def test_a_new_member(self):
        self.assertNames(self.post("api/v1/members", {"name": "carol", "role": "boss"}), 400,
                         "bad_request", '"role" must be "reader", "poster" or "admin"')
        self.assertNames(self.post("api/v1/members", {"name": "a b", "role": "reader"}), 400,
                         "bad_request",
                         '"name" must be a string of 1 to 64 of the characters A-Z a-z 0-9 . _ -')

    def test_a_malformed_body(self):
        r = self.s.post(self.server.url + "api/v1/messages", data=b"{not json", auth=self.admin,
                        headers={"Content-Type": "application/json"}, timeout=HTTP_TIMEOUT)
        self.assertNames(r, 400, "bad_request",
                         "the body must be one JSON object, with each key at most once")


class SaysWhatToDoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def test_ownership(self):
        # Run as root (as scripts/test runs): only root can give a file to another uid.
        other = 1000 if os.geteuid() != 1000 else 1001
        me = os.geteuid()
        for name, fix in ((".", "chown -R %d %s" % (me, self.club.dir)),
                          ("master.key", "chown %d %s" % (me, self.club.path("master.key")))):
            path = self.club.dir if name == "." else self.club.path(name)
            with self.subTest(path=name):
                os.chown(path, other, -1)
                try:
                    line = runtime_error(self, self.club.hush("member", "list"),
                                         "owned by uid %d" % other, "run hush as that user",
                                         fix)
                    self.assertIn("hush runs as uid %d" % me, line)
                finally:
                    os.chown(path, me, -1)
        self.assertEqual(self.club.hush("member", "list").rc, 0)

    def test_privileged_port_without_the_capability(self):
        # Root without CAP_NET_BIND_SERVICE in its bounding set: what a non-root user meets.
        drop = ["setpriv", "--bounding-set", "-net_bind_service"]
        started, rc, line, err = start_serve(
            ["serve", "--dir", self.club.dir, "--listen", "127.0.0.1:443"], prefix=drop)
        self.assertFalse(started, (line, err))
        self.assertEqual(rc, RUNTIME, err)
        lines = err.splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertIn("binding :443 needs root or CAP_NET_BIND_SERVICE", lines[0])
        # Control: the same dropped capability serves a port from 1024 up.
        started, rc, line, err = start_serve(
            ["serve", "--dir", self.club.dir, "--listen", "127.0.0.1:0"], prefix=drop)
        self.assertTrue(started, (rc, line, err))

    def test_port_out_of_range(self):
        for listen in ("127.0.0.1:65536", "[::1]:99999"):
            with self.subTest(listen=listen):
                usage_error(self, self.club.hush("serve", "--listen", listen),
                            "out of range", "0 to 65535")
        # In hush.toml it is refused as well, naming the key.
        original = self.club.read_config()
        self.club.set_config("server", "listen", '"127.0.0.1:70000"')
        try:
            started, rc, _line, err = start_serve(["serve", "--dir", self.club.dir])
            self.assertFalse(started, err)
            self.assertNotEqual(rc, 0)
            self.assertIn("out of range", err)
        finally:
            self.club.write_config(original)


if __name__ == "__main__":
    support.main()
