"""PostgreSQL and HAProxy for the integration tests: real servers, started here and stopped here.

Postgres: a throwaway cluster from tests/support/pg_cluster (as `nobody` when run as root, on a
Unix socket in its own temporary directory, no TCP port), and a fresh database per club.
HAProxy: TCP mode in front of hush instances (TLS goes through untouched, as a club that runs
several instances would set it up), round robin, health checks on /healthz over TLS verified
against the club's CA.
"""

import os
import shutil
import socket
import subprocess
import time
import unittest

import support
from support import run

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PG_CLUSTER = os.path.join(ROOT, "tests", "support", "pg_cluster")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))


class Postgres:
    """A PostgreSQL cluster of the test's own. FSYNC keeps fsync on (pg_cluster turns it off
    unless told: a test of what survives a crash needs it); NAME tells two clusters apart."""

    def __init__(self, ws, name="pg-state", fsync=False):
        self.state = ws.sub(name)
        self.env = support.clean_env({"HUSH_PG_FSYNC": "on"} if fsync else None)
        self.conninfo = None
        self.socket_dir = None
        self.databases = 0

    def start(self):
        return self._made("start")

    def start_standby(self, primary):
        """This cluster as a hot standby of PRIMARY (a running Postgres), streaming as
        application_name hush_standby (pg_cluster standby)."""
        return self._made("standby", primary.state)

    def _made(self, command, *more):
        r = run([PG_CLUSTER, command, self.state] + list(more), env=self.env, timeout=120)
        if r.rc != 0:
            raise AssertionError("pg_cluster %s failed: %r" % (command, r))
        with open(os.path.join(self.state, "conninfo")) as f:
            self.conninfo = f.read().strip()
        with open(os.path.join(self.state, "dir")) as f:
            self.socket_dir = f.read().strip()
        return self

    def crash(self):
        """The server dies at once (an immediate stop: sessions cut, no checkpoint)."""
        self._command("crash")

    def promote(self):
        """A standby becomes a primary (pg_ctl promote, waiting until it is one)."""
        self._command("promote")

    def _command(self, command):
        r = run([PG_CLUSTER, command, self.state], env=self.env, timeout=120)
        if r.rc != 0:
            raise AssertionError("pg_cluster %s failed: %r" % (command, r))

    def stop(self):
        run([PG_CLUSTER, "stop", self.state], env=self.env, timeout=120)

    def halt(self):
        """The server goes away (fast shutdown); its data stays."""
        self._command("halt")

    def resume(self):
        self._command("resume")

    def psql(self, sql, dbname="postgres"):
        psql = shutil.which("psql")
        if psql is None:
            raise AssertionError("psql is not installed (Debian's postgresql-client)")
        r = run([psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.socket_dir,
                 "-U", "hush_test", "-d", dbname, "-c", sql])
        if r.rc != 0:
            raise AssertionError("psql %r: %r" % (sql, r))
        return r.out.strip()

    def new_database(self):
        """A fresh, empty database; its libpq connection string."""
        self.databases += 1
        name = "club_%d" % self.databases
        self.psql("CREATE DATABASE %s" % name)
        return "host=%s user=hush_test dbname=%s" % (self.socket_dir, name)


class PostgresCase(unittest.TestCase):
    """Tests that share one cluster of their own (cls.pg) in a workspace (cls.ws), made before
    the first test of the class and removed after the last."""

    @classmethod
    def setUpClass(cls):
        cls.ws = support.Workspace()
        cls.pg = Postgres(cls.ws).start()

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        cls.ws.cleanup()


class HAProxy:
    """HAProxy in TCP mode, round robin over `backends` (ports on 127.0.0.1)."""

    def __init__(self, ws, backends, ca_pem, host="localhost"):
        if shutil.which("haproxy") is None:
            raise AssertionError("haproxy is not installed (scripts/install-deps installs it)")
        self.dir = ws.sub("haproxy-%d" % free_port())
        os.makedirs(self.dir)
        self.port = free_port()
        self.config = os.path.join(self.dir, "haproxy.cfg")
        servers = "\n".join(
            "    server hush%d 127.0.0.1:%d check check-ssl verify required ca-file %s "
            "check-sni %s verifyhost %s inter 300ms fall 2 rise 1"
            % (i, port, ca_pem, host, host) for i, port in enumerate(backends))
        with open(self.config, "w") as f:
            f.write("""global
    maxconn 200
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 2
    option redispatch
frontend club
    bind 127.0.0.1:%d
    default_backend instances
backend instances
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
%s
""" % (self.port, servers))
        self.proc = None
        self.log_path = os.path.join(self.dir, "haproxy.log")

    def start(self):
        r = run(["haproxy", "-c", "-f", self.config])
        if r.rc != 0:
            raise AssertionError("haproxy -c: %r" % r)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.config],
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     env=support.clean_env())

        def listening():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                return False
        wait_for(listening, 10, "haproxy's port")
        return self

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        support.stop_process(self.proc)
        if self.proc is not None:
            self._log.close()
            self.proc = None
