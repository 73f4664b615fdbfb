#!/usr/bin/env python3
"""One use case, two doors: what the CLI and the HTTP API do to the club must be the same, since
both are thin adapters over club's use cases (issue 11). Each test runs a use case through the
CLI and through the API against the same running server and compares what a member, the store
and the served revocation list then see.

Usage: HUSH_BIN=build/dev/src/hush python3 tests/integration/test_doors.py
"""

import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import HUSH_BIN, Club, Workspace, basic  # noqa: E402
from keys_support import Serving  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

T = 10
# The API's removal is published by a child process and reloaded at once; the CLI's is picked up
# by the server's file watch within a second. Both must show within "a second or two".
PUBLISH_WAIT = 2.0
SERIAL_RE = re.compile(r"serial ([0-9A-Fa-f]+)")


def sanitizer_build(binary):
    with open(binary, "rb") as f:
        image = f.read()
    return b"__asan_init" in image or b"__tsan_init" in image


class Doors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace(prefix="hush-doors-")
        cls.club = Club(cls.ws)
        cls.club.add_member("alice", role="reader", password="alice's long password")
        cls.club.post("the newest secret")
        cls.server = cls.club.serve()
        cls.http = support.session(cls.club.ca_pem)
        with open(cls.club.ca_pem, "rb") as f:
            cls.ca = x509.load_pem_x509_certificate(f.read())

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        cls.server.stop()
        cls.ws.cleanup()

    # -- helpers ----------------------------------------------------------------------------

    def admin(self):
        return {"Authorization": basic("admin", self.club.admin_password)}

    def api(self, method, path, headers=None, **kwargs):
        return self.http.request(method, self.server.url + path.lstrip("/"),
                                 headers=headers or {}, timeout=T, **kwargs)

    def member_with_cert(self, name):
        password = self.club.add_member(name)
        out = self.ws.sub(name + "-certs")
        os.makedirs(out)
        r = self.club.hush("member", "cert", name, "--out-dir", out)
        self.assertEqual(r.rc, 0, r)
        return password, int(SERIAL_RE.search(r.out).group(1), 16)

    def served_crl(self):
        r = self.api("GET", "/ca.crl")
        self.assertEqual(r.status_code, 200)
        crl = x509.load_der_x509_crl(r.content)
        # Signed by the club CA's own key, so that every client can check it as it is.
        self.assertTrue(crl.is_signature_valid(self.ca.public_key()))
        return crl

    def wait_until_listed(self, serial):
        deadline = time.monotonic() + PUBLISH_WAIT
        while True:
            crl = self.served_crl()
            if crl.get_revoked_certificate_by_serial_number(serial) is not None:
                return crl
            if time.monotonic() > deadline:
                self.fail("serial %x not in the served CRL within %.1f s" % (serial, PUBLISH_WAIT))
            time.sleep(0.1)

    def crl_number(self, crl):
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number

    # -- member removal -----------------------------------------------------------------------

    def check_removed(self, name, password, serial, before):
        crl = self.wait_until_listed(serial)
        self.assertGreater(self.crl_number(crl), self.crl_number(before))
        with open(self.club.path("ca.crl"), "rb") as f:
            self.assertEqual(f.read(), crl.public_bytes(serialization.Encoding.DER))
        self.assertEqual(self.api("GET", "/", auth=(name, password)).status_code, 401)
        listed = self.club.hush("member", "list")
        self.assertNotIn(name + "\t", listed.out)

    def test_removing_a_member_through_the_api_publishes_the_crl(self):
        password, serial = self.member_with_cert("bob")
        self.assertEqual(self.api("GET", "/", auth=("bob", password)).status_code, 200)
        before = self.served_crl()
        self.assertIsNone(before.get_revoked_certificate_by_serial_number(serial))
        r = self.api("DELETE", "/api/v1/members/bob", headers=self.admin())
        self.assertEqual(r.status_code, 204, r.text)
        self.check_removed("bob", password, serial, before)

    def test_removing_a_member_through_the_cli_publishes_the_crl(self):
        password, serial = self.member_with_cert("carol")
        before = self.served_crl()
        r = self.club.hush("member", "remove", "carol")
        self.assertEqual(r.rc, 0, r)
        self.check_removed("carol", password, serial, before)

    def test_the_serving_process_never_holds_the_ca_key(self):
        # The API's removal had the CRL signed: by a child process, never by the server itself.
        password, serial = self.member_with_cert("dave")
        r = self.api("DELETE", "/api/v1/members/dave", headers=self.admin())
        self.assertEqual(r.status_code, 204, r.text)
        self.wait_until_listed(serial)
        if sanitizer_build(HUSH_BIN):
            # A sanitizer runtime makes a forced dump tens of GB; the dev suite takes it.
            return
        with open(self.club.path("ca.key"), "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        scalar = key.private_numbers().private_value.to_bytes(32, "big")
        pem_lines = [line for line in key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).splitlines() if len(line) == 64]
        with open(self.club.path("ca.key"), "rb") as f:
            pem_lines += [line for line in f.read().splitlines() if len(line) == 64]
        core = os.path.join(self.ws.path, "core")
        pid = self.server.proc.pid
        r = subprocess.run(["gcore", "-o", core, str(pid)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120)
        dumped = "%s.%d" % (core, pid)
        self.assertTrue(os.path.exists(dumped), r.stdout.decode(errors="replace")[-2000:])
        try:
            with open(dumped, "rb") as f:
                image = f.read()
        finally:
            os.unlink(dumped)
        # Control: the image holds what the server does keep, the CRL it serves.
        self.assertIn(self.served_crl().public_bytes(serialization.Encoding.DER), image)
        self.assertNotIn(scalar, image)
        for line in pem_lines:
            self.assertNotIn(line, image)

    # -- the club's rules, whichever door -----------------------------------------------------

    def test_the_last_admin_stays(self):
        # CLI: the club's only admin cannot be removed.
        r = self.club.hush("member", "remove", "admin")
        self.assertNotEqual(r.rc, 0)
        self.assertIn("last admin", r.err)
        # API: an admin cannot remove themselves, nor (being the only one) leave the club bare.
        r = self.api("DELETE", "/api/v1/members/admin", headers=self.admin())
        self.assertEqual(r.status_code, 409)
        self.assertEqual(self.api("GET", "/", headers=self.admin()).status_code, 200)
        # A second admin can be removed from either door; the first stays.
        for door in ("cli", "api"):
            self.club.add_member("deputy", role="admin", password="deputy's long password")
            if door == "cli":
                self.assertEqual(self.club.hush("member", "remove", "deputy").rc, 0)
            else:
                r = self.api("DELETE", "/api/v1/members/deputy", headers=self.admin())
                self.assertEqual(r.status_code, 204, r.text)
            self.assertNotIn("deputy\t", self.club.hush("member", "list").out)

    def test_an_author_must_be_a_member(self):
        # CLI: --author names a member, or nothing is posted.
        r = self.club.hush("message", "post", "--author", "nobody", "-", input="ghost text")
        self.assertNotEqual(r.rc, 0)
        self.assertIn("not a member", r.err)
        # API: the author is the authenticated member; one removed meanwhile posts nothing.
        self.club.add_member("erin", role="poster", password="erin's long password")
        erin = ("erin", "erin's long password")
        r = self.api("POST", "/api/v1/messages", auth=erin, json={"body": "erin was here"})
        self.assertEqual(r.status_code, 201, r.text)
        self.assertEqual(self.club.hush("member", "remove", "erin").rc, 0)
        r = self.api("POST", "/api/v1/messages", auth=erin, json={"body": "erin, removed"})
        self.assertEqual(r.status_code, 401)
        listed = support.table_rows(self.club.hush("message", "list"), support.MESSAGE_HEADER)
        authors = [row[2] for row in listed]
        self.assertNotIn("nobody", authors)
        self.assertEqual(authors.count("erin"), 1)

    def test_a_token_from_the_cli_works_and_dies_through_the_api(self):
        self.club.add_member("frank", password="frank's long password")
        r = self.club.hush("token", "create", "frank-script", "--member", "frank")
        self.assertEqual(r.rc, 0, r)
        token = r.out.strip().splitlines()[-1]
        bearer = {"Authorization": "Bearer " + token}
        self.assertEqual(self.api("GET", "/", headers=bearer).status_code, 200)
        self.assertEqual(self.club.hush("token", "revoke", "frank-script").rc, 0)
        self.assertEqual(self.api("GET", "/", headers=bearer).status_code, 401)
        # A token for a name that is not a member is refused by the same use case.
        r = self.club.hush("token", "create", "ghost-script", "--member", "ghost")
        self.assertNotEqual(r.rc, 0)
        self.assertIn("member ghost: not found", r.err)

    def test_removing_a_member_through_the_api_ends_their_tokens(self):
        self.club.add_member("gina", password="gina's long password")
        token = self.club.hush("token", "create", "gina-script",
                               "--member", "gina").out.strip().splitlines()[-1]
        bearer = {"Authorization": "Bearer " + token}
        self.assertEqual(self.api("GET", "/", headers=bearer).status_code, 200)
        r = self.api("DELETE", "/api/v1/members/gina", headers=self.admin())
        self.assertEqual(r.status_code, 204, r.text)
        self.assertEqual(self.api("GET", "/", headers=bearer).status_code, 401)
        self.assertNotIn("gina-script", self.club.hush("token", "list").out)


class SealedDoors(unittest.TestCase):
    """Review: with a sealed master key the server's child (`hush ca crl`, no passphrase, stdin
    /dev/null) could not open the club, so an API removal never reached ca.crl."""

    PASSPHRASE = "correct horse battery staple"

    def setUp(self):
        self.ws = Workspace(prefix="hush-doors-sealed-")
        self.club = Club(self.ws)
        self.club.add_member("dave")
        out = self.ws.sub("dave-certs")
        os.makedirs(out)
        r = self.club.hush("member", "cert", "dave", "--out-dir", out)
        self.assertEqual(r.rc, 0, r)
        self.serial = int(SERIAL_RE.search(r.out).group(1), 16)
        r = self.club.hush("key", "seal", input=self.PASSPHRASE + "\n")
        self.assertEqual(r.rc, 0, r)
        self.server = Serving(self.ws, self.club.dir, args=["--unseal-stdin"],
                              stdin=(self.PASSPHRASE + "\n").encode())
        self.http = support.session(self.club.ca_pem)
        self.assertTrue(self.server.started(), self.server.log())

    def tearDown(self):
        self.http.close()
        self.server.stop()
        self.ws.cleanup()

    def served_crl(self):
        r = self.http.get(self.server.url.rstrip("/") + "/ca.crl", timeout=T)
        self.assertEqual(r.status_code, 200)
        return x509.load_der_x509_crl(r.content)

    def test_an_api_removal_republishes_the_crl_of_a_sealed_club(self):
        self.assertIsNone(self.served_crl().get_revoked_certificate_by_serial_number(self.serial))
        r = self.http.delete(self.server.url.rstrip("/") + "/api/v1/members/dave",
                             headers={"Authorization": basic("admin", self.club.admin_password)},
                             timeout=T)
        self.assertEqual(r.status_code, 204, r.text)
        deadline = time.monotonic() + PUBLISH_WAIT
        while self.served_crl().get_revoked_certificate_by_serial_number(self.serial) is None:
            if time.monotonic() > deadline:
                self.fail("serial %x not in the served CRL within %.1f s\n%s"
                          % (self.serial, PUBLISH_WAIT, self.server.log()))
            time.sleep(0.1)
        self.assertNotIn("hush ca crl failed", self.server.log())


if __name__ == "__main__":
    support.main()
