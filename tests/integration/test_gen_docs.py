"""The man pages and bash completion that packaging/gen-docs writes from the binary (the package
ships them): every command and option of every `hush ... --help` page is in the completion and in
hush(1), every setting of the hush.toml `hush init` writes is in hush.toml(5), groff finds nothing
to warn about, and bash (with Debian's bash-completion) completes commands, options and values.
Each check has a control: the same check on a page with one command taken out fails.

Run: /usr/bin/python3 tests/integration/test_gen_docs.py   (HUSH_BIN=/path/to/hush optional)
"""

import os
import re
import shutil
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import Workspace  # noqa: E402

GEN_DOCS = os.path.join(support.REPO, "packaging", "gen-docs")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def help_pages(path=()):
    """{command path: (subcommands, options)} read from the binary's --help, independently of
    gen-docs (any line of a section that starts with a name)."""
    r = support.hush(*path, "--help")
    if r.rc != 0:
        raise AssertionError(r)
    section, subs, opts = None, [], []
    for line in r.out.splitlines():
        if line in ("Options:", "Subcommands:", "Positionals:"):
            section = line
        elif section == "Subcommands:" and re.match(r"^  [a-z]", line):
            subs.append(line.split()[0])
        elif section == "Options:" and re.match(r"^  -", line):
            opts += line.split()[0].split(",")
    pages = {path: (subs, opts)}
    for sub in subs:
        pages.update(help_pages(path + (sub,)))
    return pages


def complete(completion_file, *words):
    """What bash completes for WORDS (the last one being completed)."""
    script = ('source %s; source "$1"; shift; COMP_WORDS=("$@"); '
              'COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_LINE="$*"; '
              'COMP_POINT=${#COMP_LINE}; _hush; printf "%%s\\n" "${COMPREPLY[@]}"'
              % BASH_COMPLETION)
    r = support.run(["bash", "-c", script, "complete", completion_file] + list(words))
    if r.rc != 0:
        raise AssertionError(r)
    return sorted(line for line in r.out.splitlines() if line)


def check_completion(text, pages):
    for path, (subs, opts) in pages.items():
        key = " ".join(("hush",) + path)
        m = re.search(r"\['%s'\]='([^']*)'" % re.escape(key), text)
        if not m:
            raise AssertionError("no commands entry for %r" % key)
        if sorted(m.group(1).split()) != sorted(subs):
            raise AssertionError("%r completes %r, --help has %r" % (key, m.group(1), subs))
        options = re.findall(r"\['%s'\]='([^']*)'" % re.escape(key), text)
        if len(options) < 2 or not set(opts) <= set(options[1].split()):
            raise AssertionError("%r: options %r missing from %r" % (key, opts, options))


def check_man(text, pages):
    for path, (subs, opts) in pages.items():
        if subs or not path:
            continue
        heading = ".SS hush " + " ".join(path)
        if heading not in text:
            raise AssertionError("no %r in hush.1" % heading)
        section = text.split(heading, 1)[1].split(".SS ", 1)[0]
        for opt in opts:
            if opt not in ("-h", "--help") and opt.replace("-", "\\-") not in section:
                raise AssertionError("%s: %s not in hush.1" % (heading, opt))


class GenDocsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("groff", "bash"):
            if shutil.which(tool) is None:
                raise AssertionError("%s is missing" % tool)
        if not os.path.exists(BASH_COMPLETION):
            raise AssertionError("Debian's bash-completion is missing")
        cls.ws = Workspace()
        cls.out = cls.ws.sub("docs")
        r = support.run([GEN_DOCS, support.HUSH_BIN, cls.out], timeout=120)
        if r.rc != 0:
            raise AssertionError(r)
        cls.pages = help_pages()

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def read(self, name):
        with open(os.path.join(self.out, name), encoding="utf-8") as f:
            return f.read()

    def test_every_command_and_option_is_completed(self):
        self.assertGreater(len(self.pages), 30)
        check_completion(self.read("hush.bash-completion"), self.pages)

    def test_completion_control(self):
        text = self.read("hush.bash-completion").replace(" doctor ", " ")
        with self.assertRaises(AssertionError):
            check_completion(text, self.pages)

    def test_bash_completes(self):
        f = os.path.join(self.out, "hush.bash-completion")
        self.assertEqual(complete(f, "hush", "mem"), ["member"])
        self.assertEqual(complete(f, "hush", "member", ""),
                         sorted(self.pages[("member",)][0]))
        self.assertEqual(complete(f, "hush", "--dir", "/tmp", "key", "r"), ["rotate"])
        self.assertEqual(complete(f, "hush", "member", "add", "--role", ""),
                         ["admin", "poster", "reader"])
        self.assertEqual(complete(f, "hush", "serve", "--client-certs", "o"), ["off", "optional"])
        self.assertIn("--unseal-stdin", complete(f, "hush", "serve", "--"))

    def test_every_command_is_in_the_man_page(self):
        check_man(self.read("hush.1"), self.pages)

    def test_man_control(self):
        text = self.read("hush.1").replace(".SS hush doctor", ".SS hush doktor")
        with self.assertRaises(AssertionError):
            check_man(text, self.pages)

    def test_every_setting_is_in_hush_toml_5(self):
        club = support.Club(self.ws, "club")
        page = self.read("hush.toml.5")
        tables = 0
        for line in club.read_config().splitlines():
            if line.startswith("["):
                tables += 1
                self.assertIn(".SS " + line, page)
            elif re.match(r"^[a-z_]+ = ", line):
                key = line.split(" = ")[0]
                self.assertIn("\\fB%s\\fR = " % key, page)
        self.assertGreater(tables, 5)

    def test_groff_finds_nothing_to_warn_about(self):
        for name in ("hush.1", "hush.toml.5"):
            r = support.run(["groff", "-man", "-ww", "-z", os.path.join(self.out, name)])
            self.assertEqual((r.rc, r.err), (0, ""), name)
            rendered = subprocess.run(["man", "-l", os.path.join(self.out, name)],
                                      capture_output=True, text=True, timeout=30,
                                      env=support.clean_env({"MANWIDTH": "100"}))
            self.assertEqual(rendered.returncode, 0, rendered.stderr)
        self.assertIn("STOPPING=1", self.read("hush.1"))


if __name__ == "__main__":
    support.require_binary()
    unittest.main(verbosity=2)
