"""scripts/check-layers passes on the tree and fails on a deliberate bad include of each kind."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "check-layers")
SRC = os.path.join(ROOT, "src")


def check(src=None):
    args = [sys.executable, SCRIPT] + ([src] if src else [])
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return r.returncode, r.stdout.decode()


class CheckLayersTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hush-layers-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.src = os.path.join(self.tmp, "src")
        shutil.copytree(SRC, self.src, ignore=shutil.ignore_patterns("static"))

    def inject(self, relative, line):
        path = os.path.join(self.src, relative)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(line + "\n" + text)

    def test_the_tree_is_clean(self):
        rc, out = check()
        self.assertEqual(rc, 0, out)
        # Control: the copy the other tests change is clean too before they change it.
        rc, out = check(self.src)
        self.assertEqual(rc, 0, out)

    def test_an_include_against_the_order_fails(self):
        self.inject("club/club.cpp", '#include "net/server.hpp"')
        rc, out = check(self.src)
        self.assertEqual(rc, 1, out)
        self.assertIn("club/club.cpp:1: club includes net/", out)

    def test_crypto_including_the_store_fails(self):
        self.inject("crypto/envelope.cpp", '#include "store/store.hpp"')
        rc, out = check(self.src)
        self.assertEqual(rc, 1, out)
        self.assertIn("crypto/envelope.cpp:1: crypto includes store/", out)

    def test_a_new_store_include_outside_its_owners_fails(self):
        self.inject("http/router.cpp", '#include "store/records.hpp"')
        rc, out = check(self.src)
        self.assertEqual(rc, 1, out)
        self.assertIn("http/router.cpp:1: only store, club and app may include store/", out)

    def test_the_cli_reaching_the_store_fails(self):
        # The CLI is a door: it reaches the store only through club's use cases, wired by app.
        self.inject("cli/member.cpp", '#include "store/sqlite/sqlite_store.hpp"')
        rc, out = check(self.src)
        self.assertEqual(rc, 1, out)
        self.assertIn("cli/member.cpp:1: only store, club and app may include store/", out)

    def test_app_reaching_beast_through_a_header_fails(self):
        # The composition root sees net::server, never the sessions and their Beast types.
        self.inject("app/serve.cpp", '#include "net/engine.hpp"')
        rc, out = check(self.src)
        self.assertEqual(rc, 1, out)
        self.assertIn("app/serve.cpp: reaches Beast (net/engine.hpp -> ", out)

    def test_a_folder_in_no_layer_fails(self):
        os.makedirs(os.path.join(self.src, "misc"))
        with open(os.path.join(self.src, "misc", "x.cpp"), "w") as f:
            f.write("int x;\n")
        rc, out = check(self.src)
        self.assertEqual(rc, 1, out)
        self.assertIn("misc/x.cpp: in no layer", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
