"""hush CLI: init, member, message, and serve's refusals (permissions, config).

Run: /usr/bin/python3 tests/integration/test_cli.py   (HUSH_BIN=/path/to/hush optional)
"""

import os
import pwd
import re
import stat
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import Club, Workspace, hush, one_hush_line, try_serve  # noqa: E402

GENERATED_PW_RE = re.compile(r"^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$")
SECRET_FILES = ("ca.key", "server.key", "master.key", "hush.toml", "hush.db")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class InitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def test_prints_three_lines_with_absolute_paths_and_password(self):
        lines = self.club.init_result.out.splitlines()
        self.assertEqual(len(lines), 3, self.club.init_result)
        real = os.path.abspath(self.club.dir)
        self.assertEqual(lines[0], "Created a club in %s" % real)
        self.assertEqual(lines[1],
                         "CA certificate for members (curl --cacert): %s" % os.path.join(real, "ca.pem"))
        self.assertRegex(lines[2], r'^Member "admin" \(admin\), password shown once: \S+$')
        self.assertRegex(self.club.admin_password, GENERATED_PW_RE)
        self.assertEqual(self.club.init_result.err, "")
        self.assertEqual(self.club.init_result.rc, 0)

    def test_directory_and_file_modes(self):
        self.assertEqual(mode(self.club.dir), 0o700)
        self.assertEqual(mode(self.club.path("ca.pem")), 0o644)
        for name in SECRET_FILES:
            with self.subTest(file=name):
                self.assertTrue(os.path.isfile(self.club.path(name)), name)
                self.assertEqual(mode(self.club.path(name)), 0o600, name)
        self.assertTrue(os.path.isfile(self.club.path("server.pem")))

    def test_master_key_is_32_random_bytes(self):
        with open(self.club.path("master.key"), "rb") as f:
            key = f.read()
        self.assertEqual(len(key), 32)
        self.assertGreater(len(set(key)), 8, "master.key does not look random")

    def test_two_clubs_get_different_keys_and_passwords(self):
        ws = Workspace()
        try:
            other = Club(ws)
            for name in ("master.key", "ca.key", "server.key"):
                with open(self.club.path(name), "rb") as a, open(other.path(name), "rb") as b:
                    self.assertNotEqual(a.read(), b.read(), name)
            self.assertNotEqual(self.club.admin_password, other.admin_password)
        finally:
            ws.cleanup()

    def test_refuses_existing_club(self):
        with open(self.club.path("master.key"), "rb") as f:
            before = f.read()
        names_before = sorted(os.listdir(self.club.dir))
        r = hush("init", "--dir", self.club.dir)
        self.assertEqual(r.rc, 1, r)
        one_hush_line(self, r)
        self.assertNotIn("password", r.out)
        with open(self.club.path("master.key"), "rb") as f:
            self.assertEqual(f.read(), before)
        self.assertEqual(sorted(os.listdir(self.club.dir)), names_before)

    def test_refuses_non_empty_directory(self):
        ws = Workspace()
        try:
            d = ws.sub("stuff")
            os.mkdir(d)
            with open(os.path.join(d, "keep.txt"), "w") as f:
                f.write("mine")
            r = hush("init", "--dir", d)
            self.assertEqual(r.rc, 1, r)
            one_hush_line(self, r)
            self.assertEqual(os.listdir(d), ["keep.txt"])
            self.assertEqual(sorted(os.listdir(ws.path)), ["stuff"], "left debris next to it")
        finally:
            ws.cleanup()

    def test_accepts_existing_empty_directory(self):
        ws = Workspace()
        try:
            d = ws.sub("empty")
            os.mkdir(d, 0o755)
            r = hush("init", "--dir", d)
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(mode(d), 0o700)
            self.assertTrue(os.path.isfile(os.path.join(d, "hush.db")))
        finally:
            ws.cleanup()

    def test_fills_an_empty_directory_in_a_parent_it_cannot_write(self):
        # systemd's StateDirectory=hush: /var/lib/hush belongs to the service's user, /var/lib
        # does not. The club is made in place, without a sibling scratch directory.
        ws = Workspace()
        try:
            nobody = pwd.getpwnam("nobody")
            os.chmod(ws.path, 0o755)
            d = ws.sub("state")
            os.mkdir(d, 0o755)
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
            as_nobody = ["setpriv", "--reuid", str(nobody.pw_uid), "--regid",
                         str(nobody.pw_gid), "--clear-groups", support.HUSH_BIN]
            # LeakSanitizer cannot attach to an undumpable process of another user.
            env = support.clean_env({"ASAN_OPTIONS": "detect_leaks=0"})
            r = support.run(as_nobody + ["init", "--dir", d], env=env)
            support.check_sanitizers(r.err, "hush init as nobody")
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(mode(d), 0o700)
            self.assertEqual(sorted(os.listdir(ws.path)), ["state"], "left debris next to it")
            self.assertNotIn(".init-", " ".join(os.listdir(d)), "left its scratch directory")
            for name in SECRET_FILES:
                self.assertEqual(os.stat(os.path.join(d, name)).st_uid, nobody.pw_uid, name)
            # A second init into it refuses: it is a club now.
            again = support.run(as_nobody + ["init", "--dir", d], env=env)
            self.assertEqual(again.rc, 1, again)
        finally:
            ws.cleanup()

    def test_default_dir_is_HUSH_DIR_then_hush_data(self):
        ws = Workspace()
        try:
            target = ws.sub("from-env")
            r = hush("init", cwd=ws.path, env=support.clean_env({"HUSH_DIR": target}))
            self.assertEqual(r.rc, 0, r)
            self.assertTrue(os.path.isfile(os.path.join(target, "master.key")))
            self.assertFalse(os.path.exists(ws.sub("hush-data")))
            # HUSH_DIR also drives the other commands.
            r = hush("member", "list", cwd=ws.path, env=support.clean_env({"HUSH_DIR": target}))
            self.assertEqual([row[:2] for row in support.table_rows(r, support.MEMBER_HEADER)],
                             [["admin", "admin"]])

            r = hush("init", cwd=ws.path, env=support.clean_env())
            self.assertEqual(r.rc, 0, r)
            self.assertTrue(os.path.isfile(ws.sub("hush-data", "master.key")))
            self.assertIn("Created a club in %s" % os.path.abspath(ws.sub("hush-data")), r.out)
        finally:
            ws.cleanup()

    def test_commands_without_a_club_fail_cleanly(self):
        ws = Workspace()
        try:
            for args in (["member", "list"], ["message", "list"], ["audit"]):
                with self.subTest(args=args):
                    r = hush(*args, "--dir", ws.sub("nothing"))
                    one_hush_line(self, r)
            self.assertEqual(os.listdir(ws.path), [])
        finally:
            ws.cleanup()


class UsageErrorTest(unittest.TestCase):
    """Contract: failures print `hush: <one-line reason>` on stderr and exit non-zero."""

    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def test_runtime_errors_are_one_hush_line(self):
        for args in (["member", "add", "x", "--role", "boss"],
                     ["message", "show", "999"],
                     ["message", "show", "abc"],
                     ["member", "remove", "nobody"]):
            with self.subTest(args=args):
                one_hush_line(self, self.club.hush(*args))

    def test_usage_errors_are_one_hush_line(self):
        for args in (["member", "add"],  # NAME missing
                     ["message", "list", "--limit", "0"],
                     ["frobnicate"]):
            with self.subTest(args=args):
                one_hush_line(self, self.club.hush(*args))


class MemberTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def members(self):
        r = self.club.hush("member", "list")
        out = {}
        for fields in support.table_rows(r, support.MEMBER_HEADER):
            self.assertRegex(fields[2], support.UTC_RE)
            out[fields[0]] = fields[1]
        return out

    def test_list_has_admin(self):
        self.assertEqual(self.members().get("admin"), "admin")

    def test_add_generates_password_and_defaults_to_reader(self):
        r = self.club.hush("member", "add", "gen1")
        self.assertEqual(r.rc, 0, r)
        m = re.match(r'^Added member "gen1" \(reader\), password shown once: (\S+)$', r.out.strip())
        self.assertIsNotNone(m, r.out)
        self.assertRegex(m.group(1), GENERATED_PW_RE)
        self.assertEqual(self.members().get("gen1"), "reader")

    def test_add_each_role(self):
        for role in ("reader", "poster", "admin"):
            with self.subTest(role=role):
                name = "role-" + role
                r = self.club.hush("member", "add", name, "--role", role)
                self.assertEqual(r.rc, 0, r)
                self.assertIn('Added member "%s" (%s)' % (name, role), r.out)
                self.assertEqual(self.members().get(name), role)

    def test_bad_role_refused(self):
        for role in ("boss", "Admin", ""):
            with self.subTest(role=role):
                one_hush_line(self, self.club.hush("member", "add", "badrole", "--role", role))
        self.assertNotIn("badrole", self.members())

    def test_password_stdin_is_not_echoed(self):
        pw = "correct horse battery staple"
        r = self.club.hush("member", "add", "stdin1", "--role", "poster", "--password-stdin",
                           input=pw + "\n")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out.strip(), 'Added member "stdin1" (poster)')
        self.assertNotIn(pw, r.out + r.err)

    def test_password_length_bounds(self):
        cases = [("len0", "", False), ("len11", "a" * 11, False), ("len12", "b" * 12, True),
                 ("len1024", "c" * 1024, True), ("len1025", "d" * 1025, False)]
        for name, pw, ok in cases:
            with self.subTest(name=name):
                r = self.club.hush("member", "add", name, "--password-stdin", input=pw + "\n")
                if ok:
                    self.assertEqual(r.rc, 0, r)
                else:
                    one_hush_line(self, r)
        got = self.members()
        for name, _pw, ok in cases:
            self.assertEqual(name in got, ok, name)

    def test_member_names(self):
        good = ["a", "Z", "A.b_c-9", "x" * 64]
        bad = ["bad name", "a/b", "a:b", "caf\u00e9", "x" * 65, "tab\tname", "semi;colon"]
        for name in good:
            with self.subTest(good=name):
                r = self.club.hush("member", "add", name)
                self.assertEqual(r.rc, 0, r)
        for name in bad:
            with self.subTest(bad=name):
                one_hush_line(self, self.club.hush("member", "add", name))
        got = self.members()
        for name in good:
            self.assertIn(name, got)
        for name in bad:
            self.assertNotIn(name, got)

    def test_empty_name_refused(self):
        r = self.club.hush("member", "add", "")
        self.assertNotEqual(r.rc, 0, r)
        self.assertNotIn("", self.members())

    def test_duplicate_refused(self):
        self.club.add_member("dup")
        one_hush_line(self, self.club.hush("member", "add", "dup", "--role", "admin"))
        self.assertEqual(self.members().get("dup"), "reader")

    def test_remove(self):
        self.club.add_member("leaver")
        self.assertIn("leaver", self.members())
        r = self.club.hush("member", "remove", "leaver")
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn("leaver", self.members())
        one_hush_line(self, self.club.hush("member", "remove", "leaver"))

    def test_passwd(self):
        self.club.add_member("changer")
        r = self.club.hush("member", "passwd", "changer")
        self.assertEqual(r.rc, 0, r)
        m = re.search(r"password shown once: (\S+)$", r.out.strip())
        self.assertIsNotNone(m, r.out)
        self.assertRegex(m.group(1), GENERATED_PW_RE)
        r = self.club.hush("member", "passwd", "changer", "--password-stdin",
                           input="a brand new password\n")
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn("a brand new password", r.out + r.err)
        one_hush_line(self, self.club.hush("member", "passwd", "changer", "--password-stdin",
                                           input="short\n"))
        one_hush_line(self, self.club.hush("member", "passwd", "ghost", "--password-stdin",
                                           input="long enough password\n"))
        self.assertNotIn("ghost", self.members())


class MessageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)
        cls.club.add_member("alice", "poster")

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def listing(self):
        r = self.club.hush("message", "list")
        rows = []
        for fields in support.table_rows(r, support.MESSAGE_HEADER):
            self.assertRegex(fields[1], support.UTC_RE)
            self.assertEqual(fields[3], "text")
            rows.append((int(fields[0]), fields[2]))
        return rows

    def show(self, mid):
        r = self.club.hush("message", "show", str(mid))
        self.assertEqual(r.rc, 0, r)
        return r.out_bytes

    def assertShows(self, mid, body):
        out = self.show(mid)
        self.assertIn(out, (body, body + b"\n"), "message show %s" % mid)

    def test_post_prints_increasing_ids_and_list_is_newest_first(self):
        a = self.club.hush("message", "post", input="first of two")
        b = self.club.hush("message", "post", "--author", "alice", input="second of two")
        for r in (a, b):
            self.assertEqual(r.rc, 0, r)
            self.assertRegex(r.out, r"^\d+\n$")
        ida, idb = int(a.out), int(b.out)
        self.assertGreater(idb, ida)
        rows = self.listing()
        ids = [i for i, _ in rows]
        self.assertEqual(ids, sorted(ids, reverse=True))
        self.assertIn((ida, "admin"), rows)
        self.assertIn((idb, "alice"), rows)
        self.assertShows(ida, b"first of two")
        self.assertShows(idb, b"second of two")

    def test_post_from_stdin_keeps_exact_bytes(self):
        body = "line one\n  line two \u2713 \u00e9t\u00e9 \U0001F510\n\ttabbed\n".encode("utf-8")
        r = self.club.hush("message", "post", "-", input=body)
        self.assertEqual(r.rc, 0, r)
        self.assertShows(int(r.out), body)

    def test_post_refuses_an_author_who_is_not_a_member(self):
        before = self.listing()
        r = self.club.hush("message", "post", "--author", "nobody", input="from nobody")
        self.assertEqual(r.rc, 1, r)
        self.assertIn('"nobody" is not a member', one_hush_line(self, r))
        self.assertEqual(self.listing(), before)

    def test_post_refuses_empty(self):
        one_hush_line(self, self.club.hush("message", "post", ""))
        one_hush_line(self, self.club.hush("message", "post", "-", input=b""))

    def test_show_and_rm_unknown(self):
        one_hush_line(self, self.club.hush("message", "show", "987654"))
        one_hush_line(self, self.club.hush("message", "rm", "987654"))
        for bad in ("abc", "0", "-1", "1x"):
            with self.subTest(id=bad):
                one_hush_line(self, self.club.hush("message", "show", bad))

    def test_rm(self):
        mid = self.club.post("to be removed")
        self.assertIn(mid, [i for i, _ in self.listing()])
        r = self.club.hush("message", "rm", str(mid))
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn(mid, [i for i, _ in self.listing()])
        one_hush_line(self, self.club.hush("message", "show", str(mid)))

    def test_max_message_bytes(self):
        ws = Workspace()
        try:
            club = Club(ws)
            club.set_config("limits", "max_message_bytes", "10")
            r = club.hush("message", "post", input="0123456789")
            self.assertEqual(r.rc, 0, r)
            one_hush_line(self, club.hush("message", "post", input="0123456789A"))
            # Bytes, not characters: five 2-byte characters fit, six do not.
            self.assertEqual(club.hush("message", "post", input="\u00e9" * 5).rc, 0)
            one_hush_line(self, club.hush("message", "post", input="\u00e9" * 6))
            r = club.hush("message", "list")
            self.assertEqual(len(support.table_rows(r, support.MESSAGE_HEADER)), 2, r)
        finally:
            ws.cleanup()


class ServeRefusalTest(unittest.TestCase):
    """`hush serve` must refuse to start on loose permissions or a bad hush.toml."""

    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)
        cls.original_config = cls.club.read_config()

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def setUp(self):
        os.chmod(self.club.dir, 0o700)
        for name in SECRET_FILES:
            os.chmod(self.club.path(name), 0o600)
        self.club.write_config(self.original_config)

    def assertRefuses(self, mentioning=None):
        started, r = try_serve(self.club)
        self.assertFalse(started, "hush serve started anyway: %r" % r)
        line = one_hush_line(self, r)
        if mentioning:
            self.assertIn(mentioning, line)
        return line

    def assertStarts(self):
        started, r = try_serve(self.club)
        self.assertTrue(started, "hush serve did not start: %r" % r)
        self.assertEqual(r.rc, 0, r)

    def test_control_starts_with_defaults(self):
        self.assertStarts()

    def test_loose_permissions(self):
        cases = [(".", 0o755), (".", 0o750), (".", 0o701), ("ca.key", 0o640),
                 ("server.key", 0o640), ("master.key", 0o640), ("hush.db", 0o640),
                 ("master.key", 0o604), ("hush.db", 0o660), ("ca.key", 0o644)]
        for name, m in cases:
            with self.subTest(file=name, mode=oct(m)):
                path = self.club.dir if name == "." else self.club.path(name)
                os.chmod(path, m)
                try:
                    self.assertRefuses()
                finally:
                    os.chmod(path, 0o700 if name == "." else 0o600)
        self.assertStarts()

    def test_invalid_config(self):
        cases = [
            ("out of range", lambda c: c.set_config("limits", "max_body_bytes", "1"), "max_body_bytes"),
            ("unknown top-level key", lambda c: c.insert_config_line(None, "bogus = 1"), "bogus"),
            ("unknown key in a table", lambda c: c.insert_config_line("limits", "bogus = 1"), "bogus"),
            ("unknown table", lambda c: c.write_config(c.read_config() + "\n[bogus]\nx = 1\n"), "bogus"),
            ("wrong type: string for integer",
             lambda c: c.set_config("server", "io_threads", '"2"'), "io_threads"),
            ("wrong type: integer for string", lambda c: c.set_config("server", "listen", "5684"), "listen"),
            ("wrong type: float", lambda c: c.set_config("api", "page_size", "2.5"), "page_size"),
            ("page_size zero", lambda c: c.set_config("api", "page_size", "0"), "page_size"),
            ("argon2 memory too small",
             lambda c: c.set_config("passwords", "argon2_memory_kib", "1"), "argon2_memory_kib"),
            ("log level", lambda c: c.set_config("log", "level", '"loud"'), "level"),
            ("max_message_bytes too big",
             lambda c: c.set_config("limits", "max_message_bytes", "999999999"), "max_message_bytes"),
            ("not TOML", lambda c: c.write_config(c.read_config() + "\nthis is = = not toml\n"), None),
        ]
        for what, mutate, mentioning in cases:
            with self.subTest(what):
                self.club.write_config(self.original_config)
                mutate(self.club)
                self.assertNotEqual(self.club.read_config(), self.original_config)
                self.assertRefuses(mentioning)
        self.club.write_config(self.original_config)
        self.assertStarts()

    def test_valid_config_change_starts(self):
        self.club.set_config("api", "page_size", "2")
        self.club.set_config("limits", "max_message_bytes", "100")
        self.assertStarts()


if __name__ == "__main__":
    support.main()
