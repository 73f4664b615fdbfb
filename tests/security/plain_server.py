#!/usr/bin/python3
"""The control peer of the security tests: a throwaway plain-HTTP server, as naive as the Flask
app the course starts from. It is NOT hush and must fail every security test.

- Plain HTTP on 127.0.0.1, port 0; prints "plain: serving http://127.0.0.1:PORT/" once ready.
- `Server: Werkzeug/2.0 Python/3.11` on every response, default HTML error pages.
- GET of ANY path returns the secret (a catch-all route); with --member NAME:PASSWORD it asks for
  Basic credentials first (401 otherwise), with no throttling at all.
- --hash-iterations N: a known member's password is checked with PBKDF2 (N rounds) while an
  unknown name is refused at once (the timing leak hush must not have).
- HTTP/1.0 like the Werkzeug 2.0 development server; --keep-alive speaks HTTP/1.1 with
  persistent connections, where a GET's body is never read, so bytes after the head are parsed
  as the next request (request smuggling).
- TRACE echoes the request (like a default Apache).
- No deadlines: a silent connection stays open for as long as the client wants.
- --single-thread: one connection at a time (so slowloris can starve it).
"""

import argparse
import base64
import hashlib
import hmac
import http.server
import signal
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secret", default="the-secret")
    ap.add_argument("--member", action="append", default=[], help="NAME:PASSWORD")
    ap.add_argument("--hash-iterations", type=int, default=0)
    ap.add_argument("--single-thread", action="store_true")
    ap.add_argument("--keep-alive", action="store_true")
    ap.add_argument("--bind", default="127.0.0.1")
    args = ap.parse_args()

    salt = b"plain-control-salt"
    members = {}
    for item in args.member:
        name, _, password = item.partition(":")
        members[name] = password

    def digest(password):
        return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, args.hash_iterations)

    stored = {n: digest(p) for n, p in members.items()} if args.hash_iterations else {}
    secret = args.secret.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "Werkzeug/2.0"
        sys_version = "Python/3.11"
        protocol_version = "HTTP/1.1" if args.keep_alive else "HTTP/1.0"

        def log_message(self, *a):
            pass

        def authorized(self):
            if not members:
                return True
            value = self.headers.get("Authorization", "")
            if not value.startswith("Basic "):
                return False
            try:
                name, _, password = base64.b64decode(value[6:]).decode().partition(":")
            except Exception:  # noqa: BLE001
                return False
            if name not in members:
                return False  # at once: no hash for unknown names
            if args.hash_iterations:
                return hmac.compare_digest(digest(password), stored[name])
            return password == members[name]

        def send(self, status, body, ctype="text/plain; charset=utf-8", extra=()):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            if not self.authorized():
                self.send(401, b"Unauthorized\n", extra=[("WWW-Authenticate",
                                                          'Basic realm="club"')])
                return
            self.send(200, secret + b"\n")

        def do_HEAD(self):
            self.do_GET()

        def do_TRACE(self):
            echo = self.requestline.encode("latin-1") + b"\r\n" + bytes(self.headers)
            self.send(200, echo, ctype="message/http")

    cls = http.server.HTTPServer if args.single_thread else http.server.ThreadingHTTPServer
    cls.daemon_threads = True
    cls.request_queue_size = 1024
    httpd = cls((args.bind, 0), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.stdout.write("plain: serving http://127.0.0.1:%d/\n" % httpd.server_address[1])
    sys.stdout.flush()
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
