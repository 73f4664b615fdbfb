"""hush fernet and end-to-end messages, against Debian's python3-cryptography and requests.

Tokens and keys go both ways between hush and cryptography.fernet; the course's symmetric client
reads an e2e message from a real `hush serve`; the plaintext never reaches a club file.

Run: /usr/bin/python3 tests/integration/test_fernet.py   (HUSH_BIN=/path/to/hush optional)
"""

import base64
import os
import stat
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cryptography.fernet import Fernet, InvalidToken  # noqa: E402  (Debian's python3-cryptography)

import support  # noqa: E402
from support import Club, Workspace, files_containing, hush, one_hush_line  # noqa: E402

GENERIC = "hush: invalid or expired token"


def write_key(path, key, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    os.chmod(path, mode)
    return path


def flip_byte(token, index):
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw))


class FernetCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.key_path = cls.ws.sub("hush.key")
        r = hush("fernet", "key", "--out", cls.key_path)
        if r.rc != 0:
            raise AssertionError("hush fernet key --out failed: %r" % r)
        with open(cls.key_path, "rb") as f:
            cls.key = f.read().strip()
        cls.py_key = Fernet.generate_key()
        cls.py_key_path = write_key(cls.ws.sub("python.key"), cls.py_key)

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def decrypt(self, token, key_path=None, ttl=None):
        args = ["fernet", "decrypt", "--key-file", key_path or self.py_key_path]
        if ttl is not None:
            args += ["--ttl", str(ttl)]
        return hush(*args, input=token)

    def assert_refused(self, r):
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(one_hush_line(self, r), GENERIC)
        self.assertEqual(r.out_bytes, b"")

    def test_printed_key_is_a_python_key(self):
        r = hush("fernet", "key")
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.out, r"^[A-Za-z0-9_-]{43}=\n$")
        key = r.out.strip().encode()
        self.assertEqual(len(base64.urlsafe_b64decode(key)), 32)
        self.assertEqual(Fernet(key).decrypt(Fernet(key).encrypt(b"x")), b"x")
        self.assertNotEqual(key, hush("fernet", "key").out.strip().encode())

    def test_key_file_is_private_and_never_overwritten(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.key_path).st_mode), 0o600)
        r = hush("fernet", "key", "--out", self.key_path)
        self.assertEqual(r.rc, 1, r)
        one_hush_line(self, r)
        with open(self.key_path, "rb") as f:
            self.assertEqual(f.read().strip(), self.key)

    def test_hush_encrypts_python_decrypts(self):
        for plain in (b"meet at the old mill", b"", b"\x00\xff binary \n\r\n", "caf\u00e9".encode() * 50):
            with self.subTest(size=len(plain)):
                r = hush("fernet", "encrypt", "--key-file", self.key_path, input=plain)
                self.assertEqual(r.rc, 0, r)
                self.assertTrue(r.out.endswith("\n"), r)
                self.assertEqual(len(r.out.splitlines()), 1, r)
                self.assertEqual(Fernet(self.key).decrypt(r.out_bytes.strip()), plain)
                self.assertEqual(Fernet(self.key).decrypt(r.out_bytes.strip(), ttl=60), plain)

    def test_python_encrypts_hush_decrypts(self):
        for plain in (b"the eagle lands at noon", b"", b"\x00\x01\x02" * 100):
            with self.subTest(size=len(plain)):
                token = Fernet(self.py_key).encrypt(plain)
                r = self.decrypt(token)
                self.assertEqual(r.rc, 0, r)
                self.assertEqual(r.out_bytes, plain)
                self.assertEqual(r.err, "")

    def test_surrounding_whitespace_is_trimmed(self):
        token = Fernet(self.py_key).encrypt(b"padded")
        r = self.decrypt(b"  \n" + token + b"\r\n\n")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out_bytes, b"padded")

    def test_wrong_key_is_refused_both_ways(self):
        token = Fernet(self.py_key).encrypt(b"not for you")
        self.assert_refused(self.decrypt(token, key_path=self.key_path))
        r = hush("fernet", "encrypt", "--key-file", self.key_path, input=b"not for you either")
        with self.assertRaises(InvalidToken):
            Fernet(self.py_key).decrypt(r.out_bytes.strip())

    def test_tampered_tokens_are_refused(self):
        token = Fernet(self.py_key).encrypt(b"attack at dawn, north gate")
        size = len(base64.urlsafe_b64decode(token))
        # version, timestamp, IV, ciphertext, HMAC
        for index in (0, 4, 12, 30, size - 1):
            with self.subTest(byte=index):
                self.assert_refused(self.decrypt(flip_byte(token, index)))
        self.assert_refused(self.decrypt(token[:-8]))
        self.assert_refused(self.decrypt(b"not a token at all"))
        self.assert_refused(self.decrypt(b""))

    def test_expired_and_future_tokens_are_refused_under_a_ttl(self):
        now = int(time.time())
        old = Fernet(self.py_key).encrypt_at_time(b"old news", now - 1000)
        self.assert_refused(self.decrypt(old, ttl=100))
        r = self.decrypt(old, ttl=100000)
        self.assertEqual((r.rc, r.out_bytes), (0, b"old news"), r)
        r = self.decrypt(old)
        self.assertEqual((r.rc, r.out_bytes), (0, b"old news"), r)
        future = Fernet(self.py_key).encrypt_at_time(b"from tomorrow", now + 3600)
        self.assert_refused(self.decrypt(future, ttl=100000))
        # Python agrees on both.
        with self.assertRaises(InvalidToken):
            Fernet(self.py_key).decrypt(old, ttl=100)
        with self.assertRaises(InvalidToken):
            Fernet(self.py_key).decrypt(future, ttl=100000)

    def test_loose_key_file_is_refused(self):
        loose = write_key(self.ws.sub("loose.key"), self.py_key, mode=0o644)
        token = Fernet(self.py_key).encrypt(b"x")
        for args, data in ((["fernet", "decrypt"], token), (["fernet", "encrypt"], b"x")):
            with self.subTest(command=args[1]):
                r = hush(*args, "--key-file", loose, input=data)
                self.assertEqual(r.rc, 1, r)
                line = one_hush_line(self, r)
                self.assertIn("loose.key", line)
                self.assertIn("chmod 600", line)
                self.assertEqual(r.out_bytes, b"")

    def test_malformed_key_file_is_refused(self):
        bad = write_key(self.ws.sub("bad.key"), self.py_key.rstrip(b"="))
        r = hush("fernet", "encrypt", "--key-file", bad, input=b"x")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("not a Fernet key", one_hush_line(self, r))
        r = hush("fernet", "encrypt", "--key-file", self.ws.sub("absent.key"), input=b"x")
        self.assertEqual(r.rc, 1, r)
        one_hush_line(self, r)


class EndToEndTest(unittest.TestCase):
    SECRET = "e2e-marker: the vault code is 7291, tell no one"
    TEXT = "an ordinary club message"

    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.club = Club(cls.ws)
        cls.password = cls.club.add_member("alice", "reader")
        cls.key = Fernet.generate_key()
        cls.key_path = write_key(cls.ws.sub("club-fernet.key"), cls.key)
        cls.text_id = cls.club.post(cls.TEXT)
        r = cls.club.hush("message", "post", "--e2e", "--key-file", cls.key_path, "-",
                          input=cls.SECRET)
        if r.rc != 0:
            raise AssertionError("message post --e2e failed: %r" % r)
        cls.e2e_id = int(r.out.strip())
        cls.server = cls.club.serve()
        cls.http = support.session(cls.club.ca_pem)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.ws.cleanup()

    def get(self, path, **kwargs):
        return self.http.get(self.server.url.rstrip("/") + path, auth=("alice", self.password),
                             timeout=support.HTTP_TIMEOUT, **kwargs)

    def test_course_client_reads_the_message(self):
        # Fernet(key).decrypt(requests.get(url, auth=..., verify="ca.pem").content), with the
        # Accept header or the query.
        for path, headers in (("/", {"Accept": "application/vnd.fernet"}), ("/?format=fernet", {})):
            with self.subTest(path=path):
                res = self.get(path, headers=headers)
                self.assertEqual(res.status_code, 200, res.text)
                self.assertEqual(res.headers["Content-Type"], "application/vnd.fernet")
                self.assertEqual(Fernet(self.key).decrypt(res.content), self.SECRET.encode())

    def test_token_without_the_accept_header_is_still_marked(self):
        res = self.get("/")
        self.assertEqual(res.status_code, 200)
        self.assertEqual(res.headers["Content-Type"], "application/vnd.fernet")
        self.assertEqual(Fernet(self.key).decrypt(res.content), self.SECRET.encode())

    def test_json_carries_the_format(self):
        listed = self.get("/api/v1/messages").json()["messages"]
        formats = {m["id"]: m["format"] for m in listed}
        self.assertEqual(formats, {self.e2e_id: "fernet", self.text_id: "text"})
        one = self.get("/api/v1/messages/%d" % self.e2e_id).json()
        self.assertEqual(one["format"], "fernet")
        self.assertEqual(Fernet(self.key).decrypt(one["body"].encode()), self.SECRET.encode())

    def test_text_message_asked_for_as_fernet_is_406(self):
        res = self.get("/api/v1/messages/%d?format=fernet" % self.text_id)
        self.assertEqual(res.status_code, 406)
        self.assertEqual(res.json()["error"], "not_acceptable")
        self.assertNotIn(self.TEXT, res.text)

    def test_plaintext_never_reaches_a_club_file(self):
        self.assertEqual(files_containing(self.club.dir, self.SECRET.encode()), [])
        self.assertEqual(files_containing(self.club.dir, b"vault code"), [])

    def test_cli_show_gives_the_token_to_decrypt_locally(self):
        r = self.club.hush("message", "show", str(self.e2e_id))
        self.assertEqual(r.rc, 0, r)
        d = hush("fernet", "decrypt", "--key-file", self.key_path, input=r.out_bytes)
        self.assertEqual((d.rc, d.out), (0, self.SECRET), d)

    def test_e2e_post_refuses_a_loose_key_and_a_missing_one(self):
        loose = write_key(self.ws.sub("loose.key"), Fernet.generate_key(), mode=0o640)
        r = self.club.hush("message", "post", "--e2e", "--key-file", loose, input="never stored")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("chmod 600", one_hush_line(self, r))
        r = self.club.hush("message", "post", "--e2e", input="never stored")
        self.assertEqual(r.rc, 2, r)
        one_hush_line(self, r)
        self.assertEqual(files_containing(self.club.dir, b"never stored"), [])


if __name__ == "__main__":
    support.main()
