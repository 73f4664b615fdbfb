"""Helpers shared by test_backup.py and test_keys.py: a server started with stdin or extra
environment, an API token client, and reading messages back. Everything bounded, loopback only."""

import json
import os
import signal
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import HTTP_TIMEOUT, HUSH_BIN, SERVING_RE, START_TIMEOUT, STOP_TIMEOUT  # noqa: E402

PASSPHRASE = "correct horse battery staple"


class Serving:
    """`hush serve --dir DIR` with optional extra args, stdin bytes and environment."""

    def __init__(self, workspace, club_dir, args=(), stdin=None, env_extra=None):
        fd, self.log_path = tempfile.mkstemp(prefix="serve-", suffix=".log", dir=workspace.path)
        self._log = os.fdopen(fd, "wb")
        self.proc = subprocess.Popen(
            [HUSH_BIN, "serve", "--dir", club_dir, "--listen", "127.0.0.1:0"] + list(args),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            env=support.clean_env(env_extra))
        if stdin is not None:
            self.proc.stdin.write(stdin)
        self.proc.stdin.close()
        line = support.read_line(self.proc.stdout, START_TIMEOUT)
        m = SERVING_RE.match(line.decode("utf-8", "replace").rstrip("\n")) if line else None
        self.url = m.group(1) if m else None
        self.first_line = line

    def started(self):
        return self.url is not None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self._log.close()
        return self.proc.returncode

    def log(self):
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


def create_token(club, name="ops"):
    r = club.hush("token", "create", name, "--member", "admin")
    if r.rc != 0:
        raise AssertionError("token create failed: %r" % r)
    return r.out.strip().splitlines()[-1]


class Api:
    """A bearer-token client of one server."""

    def __init__(self, url, ca_pem, token):
        self.url = url.rstrip("/")
        self.s = support.session(ca_pem)
        self.s.headers["Authorization"] = "Bearer " + token

    def post(self, body):
        r = self.s.post(self.url + "/api/v1/messages", data=json.dumps({"body": body}),
                        headers={"Content-Type": "application/json"}, timeout=HTTP_TIMEOUT)
        if r.status_code != 201:
            raise AssertionError("post: %d %r" % (r.status_code, r.text))
        return int(r.headers["Location"].rsplit("/", 1)[1])

    def read(self, message_id):
        r = self.s.get(self.url + "/api/v1/messages/%d" % message_id, timeout=HTTP_TIMEOUT)
        return r.status_code, (r.json().get("body") if r.status_code == 200 else r.text)


def sqlite3_cli(*args):
    """Runs Debian's sqlite3 shell; a missing tool fails the test, never skips it."""
    return support.run(["sqlite3"] + list(args))


def key_ids(db_path):
    """The data-key id of every message's envelope (bytes 1..4, big-endian), by sqlite3."""
    r = sqlite3_cli(db_path, "SELECT hex(substr(sealed, 2, 4)) FROM messages ORDER BY id")
    if r.rc != 0:
        raise AssertionError("sqlite3: %r" % r)
    return [int(h, 16) for h in r.out.split()]


def data_key_count(db_path):
    r = sqlite3_cli(db_path, "SELECT count(*) FROM data_keys")
    if r.rc != 0:
        raise AssertionError("sqlite3: %r" % r)
    return int(r.out.strip())
