"""The members' web API over real HTTPS, with Python requests as the browser's stand-in: the page,
login sessions and their cookie, CSRF and origin refusals, logout, and what curl still gets.
(The page itself runs in a real browser in tests/browser.)

Run: /usr/bin/python3 tests/integration/test_web.py   (HUSH_BIN=/path/to/hush optional)
"""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import Club, Workspace, basic, curl  # noqa: E402

T = support.HTTP_TIMEOUT


class WebApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.addClassCleanup(cls.ws.cleanup)
        cls.club = Club(cls.ws)
        cls.club.add_member("paul", role="poster")
        cls.club.post("the newest secret", author="paul")
        cls.server = cls.club.serve()
        cls.addClassCleanup(cls.server.stop)
        cls.origin = cls.server.url.rstrip("/")

    def browser(self):
        s = support.session(self.club.ca_pem)
        self.addCleanup(s.close)
        return s

    def log_in(self, s, name="paul"):
        r = s.post(self.origin + "/api/v1/session", timeout=T,
                   json={"name": name, "password": self.club.passwords[name]},
                   headers={"Origin": self.origin})
        self.assertEqual(r.status_code, 200, r.text)
        return r

    def test_page_for_browsers_message_for_curl(self):
        page = curl(["--cacert", self.club.ca_pem, "-H", "Accept: text/html", self.server.url])
        self.assertEqual(page.rc, 0, page)
        self.assertIn('<script src="/app.js"', page.out)
        self.assertNotIn("the newest secret", page.out)
        text = curl(["--cacert", self.club.ca_pem, "-u", "paul:" + self.club.passwords["paul"],
                     self.server.url])
        self.assertEqual(text.out, "the newest secret")

    def test_session_cookie_round_trip_and_logout(self):
        s = self.browser()
        r = self.log_in(s)
        cookie = r.headers["Set-Cookie"]
        for attribute in ("__Host-hush=", "Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(attribute, cookie)
        csrf = r.json()["csrf"]
        self.assertEqual(s.get(self.server.url, timeout=T).text, "the newest secret")

        kept = dict(s.cookies)  # what a thief who copied the cookie would hold
        out = s.delete(self.origin + "/api/v1/session", timeout=T,
                       headers={"Origin": self.origin, "X-CSRF-Token": csrf})
        self.assertEqual(out.status_code, 204)
        thief = self.browser()
        thief.cookies.update(kept)
        self.assertEqual(thief.get(self.origin + "/api/v1/session", timeout=T).status_code, 401)

    def test_csrf_and_origin_are_checked_by_the_real_server(self):
        s = self.browser()
        csrf = self.log_in(s).json()["csrf"]
        url = self.origin + "/api/v1/messages"
        attempts = [
            {"Origin": self.origin},                                          # no token
            {"Origin": "https://evil.example", "X-CSRF-Token": csrf},         # other origin
            {"X-CSRF-Token": csrf},                                           # no Origin
            {"Origin": self.origin, "X-CSRF-Token": csrf,
             "Sec-Fetch-Site": "cross-site"},
        ]
        for headers in attempts:
            r = s.post(url, json={"body": "forged"}, headers=headers, timeout=T)
            self.assertEqual(r.status_code, 403, headers)
            self.assertEqual(r.json()["error"], "cross_origin")
        ok = s.post(url, json={"body": "by the page"}, timeout=T,
                    headers={"Origin": self.origin, "X-CSRF-Token": csrf})
        self.assertEqual(ok.status_code, 201, ok.text)
        # Leave the newest message as the other tests expect it.
        self.assertEqual(self.club.hush("message", "rm", str(ok.json()["id"])).rc, 0)

    def test_basic_from_another_origin_is_refused(self):
        r = self.browser().post(self.origin + "/api/v1/messages", json={"body": "forged"},
                                timeout=T, headers={
                                    "Authorization": basic("paul", self.club.passwords["paul"]),
                                    "Origin": "https://evil.example"})
        self.assertEqual(r.status_code, 403)


if __name__ == "__main__":
    unittest.main(verbosity=2)
