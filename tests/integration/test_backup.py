"""Backups and restores (issue 12, "Backups and keys").

- `hush backup FILE` taken while a client keeps posting through the running server: every
  message acknowledged before the backup began is in it, and every message in it reads back from
  the restored club; the backup and the restored database pass `sqlite3 ... PRAGMA
  integrity_check`. Control: a message posted after the restore's source was copied is absent.
- Without --with-keys the backup holds no key (neither the master key's bytes nor a PEM private
  key) and says so; restore then needs --keys DIR, and a wrong master key is refused.
- With --with-keys the keys are sealed under a passphrase read from stdin; restore reads the same
  passphrase; a wrong one is a clear error, exit 1, and leaves no directory behind.
- With keys.master_key_file set, a --with-keys restore writes the master key at that path when
  nothing is there, else as master.key.restored in the new club; it never drops it.
- A --with-keys backup of a club whose master key is sealed restores it sealed, under the
  passphrase it had (not the backup's), and says so.
- A backup whose name holds ?, # and % is written and restored under that very name.
- Refusals: a backup onto an existing file, a restore into a non-empty directory.

Run: /usr/bin/python3 tests/integration/test_backup.py   (HUSH_BIN=/path/to/hush optional)
"""

import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import Club, Workspace, one_hush_line  # noqa: E402
from keys_support import (  # noqa: E402
    PASSPHRASE, Api, Serving, create_token, sqlite3_cli)

WRITE_LOAD_SECONDS = 6  # bound on the writer thread
MIN_ACKED_BEFORE = 10


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class BackupRestore(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)
        cls.token = create_token(cls.club)

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def keys_dir(self, name):
        d = self.ws.sub(name)
        os.mkdir(d, 0o700)
        for k in ("master.key", "ca.key", "server.key"):
            shutil.copy2(self.club.path(k), os.path.join(d, k))
        return d

    def test_backup_under_write_load_restores_every_acknowledged_message(self):
        self.assertIsNotNone(shutil.which("sqlite3"), "sqlite3 is needed (apt install sqlite3)")
        server = Serving(self.ws, self.club.dir)
        try:
            self.assertTrue(server.started(), server.log())
            api = Api(server.url, self.club.ca_pem, self.token)
            acked = {}  # id -> (body, time acknowledged)
            stop = threading.Event()
            errors = []

            def writer():
                n = 0
                deadline = time.monotonic() + WRITE_LOAD_SECONDS
                while not stop.is_set() and time.monotonic() < deadline:
                    body = "under load %d" % n
                    try:
                        # The time after the answer: `acked[api.post(body)] = (body, now)` would
                        # take it first (Python evaluates the value before the key), and a post
                        # answered after the backup began would count as acknowledged before.
                        message_id = api.post(body)
                        acked[message_id] = (body, time.monotonic())
                    except Exception as e:  # noqa: BLE001 - reported below
                        errors.append(repr(e))
                        return
                    n += 1

            t = threading.Thread(target=writer)
            t.start()
            deadline = time.monotonic() + WRITE_LOAD_SECONDS
            while len(acked) < MIN_ACKED_BEFORE and time.monotonic() < deadline:
                time.sleep(0.05)
            began = time.monotonic()
            backup = self.ws.sub("load.hush")
            r = self.club.hush("backup", backup)
            stop.set()
            t.join(WRITE_LOAD_SECONDS + 5)
            self.assertEqual(errors, [])
            self.assertEqual(r.rc, 0, r)
            self.assertIn("holds no keys", r.out)
            self.assertGreaterEqual(len(acked), MIN_ACKED_BEFORE)
        finally:
            server.stop()

        self.assertEqual(stat.S_IMODE(os.stat(backup).st_mode), 0o600)
        chk = sqlite3_cli(backup, "PRAGMA integrity_check")
        self.assertEqual((chk.rc, chk.out.strip()), (0, "ok"), chk)

        restored = self.ws.sub("restored")
        r = support.hush("restore", backup, "--dir", restored, "--keys", self.keys_dir("keys1"))
        self.assertEqual(r.rc, 0, r)
        chk = sqlite3_cli(os.path.join(restored, "hush.db"), "PRAGMA integrity_check")
        self.assertEqual((chk.rc, chk.out.strip()), (0, "ok"), chk)
        self.assertEqual(stat.S_IMODE(os.stat(restored).st_mode), 0o700)

        server = Serving(self.ws, restored)
        try:
            self.assertTrue(server.started(), server.log())
            api = Api(server.url, os.path.join(restored, "ca.pem"), self.token)
            before = {i: v[0] for i, v in acked.items() if v[1] < began}
            self.assertGreaterEqual(len(before), MIN_ACKED_BEFORE)
            for message_id, body in sorted(before.items()):
                self.assertEqual(api.read(message_id), (200, body), message_id)
            # Those acknowledged during the backup are either whole or absent, never torn.
            for message_id, (body, _) in sorted(acked.items()):
                status, got = api.read(message_id)
                self.assertIn(status, (200, 404), (message_id, got))
                if status == 200:
                    self.assertEqual(got, body)
        finally:
            server.stop()

    def test_a_backup_without_keys_holds_none(self):
        backup = self.ws.sub("nokeys.hush")
        r = self.club.hush("backup", backup)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("holds no keys", r.out)
        data = read_bytes(backup)
        self.assertNotIn(read_bytes(self.club.path("master.key")), data)
        self.assertNotIn(b"PRIVATE KEY", data)
        # Without --keys it is refused, naming what is missing.
        r = support.hush("restore", backup, "--dir", self.ws.sub("nokeys-a"))
        one_hush_line(self, r)
        self.assertEqual(r.rc, 1)
        self.assertIn("--keys", r.err)
        self.assertFalse(os.path.exists(self.ws.sub("nokeys-a")))
        # Another club's master key is refused, and nothing is left behind.
        other = Club(self.ws, "other")
        wrong = self.ws.sub("wrongkeys")
        os.mkdir(wrong, 0o700)
        for k in ("master.key", "ca.key", "server.key"):
            shutil.copy2(other.path(k), os.path.join(wrong, k))
        r = support.hush("restore", backup, "--dir", self.ws.sub("nokeys-b"), "--keys", wrong)
        one_hush_line(self, r)
        self.assertIn("does not match", r.err)
        self.assertFalse(os.path.exists(self.ws.sub("nokeys-b")))

    def test_with_keys_sealed_under_a_passphrase(self):
        mid = self.club.post("kept with keys", author="admin")
        backup = self.ws.sub("withkeys.hush")
        r = self.club.hush("backup", "--with-keys", backup, input=PASSPHRASE + "\n")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("holds the keys", r.out)
        data = read_bytes(backup)
        self.assertNotIn(read_bytes(self.club.path("master.key")), data)
        self.assertNotIn(b"PRIVATE KEY", data)

        # A wrong passphrase: one clear line, exit 1, no club made.
        target = self.ws.sub("withkeys-restored")
        r = support.hush("restore", backup, "--dir", target, input="not the passphrase\n")
        one_hush_line(self, r)
        self.assertEqual(r.rc, 1)
        self.assertIn("wrong passphrase", r.err)
        self.assertFalse(os.path.exists(target))
        # A short one is refused before anything is tried.
        r = support.hush("backup", "--with-keys", self.ws.sub("short.hush"), "--dir",
                         self.club.dir, input="short\n")
        one_hush_line(self, r)
        self.assertFalse(os.path.exists(self.ws.sub("short.hush")))

        r = support.hush("restore", backup, "--dir", target, input=PASSPHRASE + "\n")
        self.assertEqual(r.rc, 0, r)
        for k in ("master.key", "ca.key", "server.key", "hush.db", "hush.toml"):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(target, k)).st_mode), 0o600, k)
        self.assertEqual(read_bytes(os.path.join(target, "master.key")),
                         read_bytes(self.club.path("master.key")))
        r = support.hush("message", "show", str(mid), "--dir", target)
        self.assertEqual((r.rc, r.out.strip()), (0, "kept with keys"), r)
        d = support.hush("doctor", "--dir", target)
        self.assertEqual(d.rc, 0, d)

    def test_with_keys_and_the_key_elsewhere_never_drops_the_key(self):
        """Review: with keys.master_key_file set, restore checked the backup's master key, then
        deleted it and told the user to put it somewhere; it existed nowhere."""
        club = Club(self.ws, "elsewhere")
        key = read_bytes(club.path("master.key"))
        keys = self.ws.sub("elsewhere-keys")
        os.mkdir(keys, 0o700)
        key_file = os.path.join(keys, "master.key")
        shutil.move(club.path("master.key"), key_file)
        club.set_config("keys", "master_key_file", '"%s"' % key_file)
        mid = club.post("kept elsewhere", author="admin")
        backup = self.ws.sub("elsewhere.hush")
        r = club.hush("backup", "--with-keys", backup, input=PASSPHRASE + "\n")
        self.assertEqual(r.rc, 0, r)

        # The configured path is taken (the club's own key is still there): the backup's key is
        # kept in the new club as master.key.restored, and restore says so.
        taken = self.ws.sub("elsewhere-taken")
        r = support.hush("restore", backup, "--dir", taken, input=PASSPHRASE + "\n")
        self.assertEqual(r.rc, 0, r)
        restored = os.path.join(taken, "master.key.restored")
        self.assertIn(restored, r.out)
        self.assertEqual(read_bytes(restored), key)
        self.assertEqual(stat.S_IMODE(os.stat(restored).st_mode), 0o600)
        self.assertEqual(read_bytes(key_file), key)
        self.assertEqual([n for n in os.listdir(taken) if "restore-check" in n], [])

        # The key file is gone (a new host): restore writes it where hush.toml names it, and the
        # restored club opens with it.
        os.rename(key_file, key_file + ".away")
        fresh = self.ws.sub("elsewhere-fresh")
        r = support.hush("restore", backup, "--dir", fresh, input=PASSPHRASE + "\n")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(key_file, r.out)
        self.assertEqual(read_bytes(key_file), key)
        self.assertEqual(stat.S_IMODE(os.stat(key_file).st_mode), 0o600)
        self.assertFalse(os.path.exists(os.path.join(fresh, "master.key.restored")))
        self.assertFalse(os.path.exists(os.path.join(fresh, "master.key")))
        r = support.hush("message", "show", str(mid), "--dir", fresh)
        self.assertEqual((r.rc, r.out.strip()), (0, "kept elsewhere"), r)

    def test_a_sealed_master_key_is_restored_sealed(self):
        """Review: a --with-keys backup of a club whose master key was sealed was restored with
        the key raw in master.key, silently."""
        club = Club(self.ws, "sealed")
        raw = read_bytes(club.path("master.key"))
        mid = club.post("sealed and backed up", author="admin")
        r = club.hush("key", "seal", input=PASSPHRASE + "\n")
        self.assertEqual(r.rc, 0, r)
        backup_passphrase = "another passphrase, for the backup"
        backup = self.ws.sub("sealed.hush")
        rfd, wfd = os.pipe()
        os.write(wfd, (PASSPHRASE + "\n").encode())
        os.close(wfd)
        try:
            proc = subprocess.run(
                [support.HUSH_BIN, "backup", "--with-keys", backup, "--dir", club.dir],
                input=(backup_passphrase + "\n").encode(), stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, pass_fds=(rfd,),
                env=support.clean_env({"HUSH_UNSEAL_FD": str(rfd)}), timeout=60)
        finally:
            os.close(rfd)
        self.assertEqual(proc.returncode, 0, proc.stderr)

        target = self.ws.sub("sealed-restored")
        r = support.hush("restore", backup, "--dir", target, input=backup_passphrase + "\n")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("sealed", r.out)
        self.assertIn("--unseal-stdin", r.out)
        # Sealed as it was: no raw key on disk; the original passphrase opens it.
        self.assertEqual(support.files_containing(target, raw), [])
        self.assertEqual(read_bytes(os.path.join(target, "master.key")),
                         read_bytes(club.path("master.key")))
        r = support.hush("message", "show", str(mid), "--dir", target)
        self.assertNotEqual(r.rc, 0, r)
        self.assertIn("HUSH_UNSEAL_FD", r.err)
        server = Serving(self.ws, target, args=["--unseal-stdin"],
                         stdin=(PASSPHRASE + "\n").encode())
        try:
            self.assertTrue(server.started(), server.log())
        finally:
            server.stop()

    def test_a_backup_named_with_uri_characters(self):
        """Review: the backup's name went into a SQLite URI unescaped, so ? and # cut it short."""
        mid = self.club.post("an odd name", author="admin")
        backup = self.ws.sub("odd?mode=ro#100%.hush")
        r = self.club.hush("backup", backup)
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(os.path.isfile(backup))
        self.assertEqual(sorted(n for n in os.listdir(self.ws.path) if n.startswith("odd")),
                         ["odd?mode=ro#100%.hush"])
        target = self.ws.sub("odd-restored")
        r = support.hush("restore", backup, "--dir", target, "--keys", self.keys_dir("odd-keys"))
        self.assertEqual(r.rc, 0, r)
        r = support.hush("message", "show", str(mid), "--dir", target)
        self.assertEqual((r.rc, r.out.strip()), (0, "an odd name"), r)

    def test_refuses_to_overwrite(self):
        backup = self.ws.sub("once.hush")
        self.assertEqual(self.club.hush("backup", backup).rc, 0)
        before = read_bytes(backup)
        r = self.club.hush("backup", backup)
        one_hush_line(self, r)
        self.assertIn("refusing to overwrite", r.err)
        self.assertEqual(read_bytes(backup), before)

        busy = self.ws.sub("busy")
        os.mkdir(busy, 0o700)
        with open(os.path.join(busy, "keep-me"), "w") as f:
            f.write("mine")
        r = support.hush("restore", backup, "--dir", busy, "--keys", self.keys_dir("keys2"))
        one_hush_line(self, r)
        self.assertIn("not empty", r.err)
        self.assertEqual(sorted(os.listdir(busy)), ["keep-me"])
        # An empty directory is fine.
        empty = self.ws.sub("empty")
        os.mkdir(empty, 0o700)
        r = support.hush("restore", backup, "--dir", empty, "--keys", self.keys_dir("keys3"))
        self.assertEqual(r.rc, 0, r)
        self.assertIn("hush.db", os.listdir(empty))


if __name__ == "__main__":
    support.main()
