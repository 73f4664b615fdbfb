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
        cls.club.add_member("pat", role="poster")
        cls.club.add_member("rhea", role="reader")
        cls.club.add_member("wren", role="reader")
        cls.club.set_config("club", "name", '"The Quiet Garden"')
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

    def as_(self, name, password=None):
        return {"Authorization": basic(name, password or self.club.passwords[name])}

    def test_the_clubs_name_is_for_members_only(self):
        me = self.browser().get(self.origin + "/api/v1/session", headers=self.as_("rhea"),
                                timeout=T)
        self.assertEqual(me.status_code, 200)
        self.assertEqual(me.json()["club"], "The Quiet Garden")
        s = self.browser()
        self.assertEqual(self.log_in(s, "rhea").json()["club"], "The Quiet Garden")
        stranger = self.browser()
        for path in ("/", "/app.js", "/api/v1/session"):
            r = stranger.get(self.origin + path, headers={"Accept": "text/html"}, timeout=T)
            self.assertNotIn("Quiet Garden", r.text, path)
        wrong = stranger.post(self.origin + "/api/v1/session", timeout=T,
                              json={"name": "rhea", "password": "not her password at all"})
        self.assertEqual(wrong.status_code, 401)
        self.assertNotIn("Quiet Garden", wrong.text)

    def test_a_bad_club_name_refuses_to_start(self):
        ws = Workspace()
        self.addCleanup(ws.cleanup)
        other = Club(ws)
        for bad in ('""', '"%s"' % ("x" * 65), '"bell\\u0007"'):
            other.set_config("club", "name", bad)
            started, r = support.try_serve(other)
            self.assertFalse(started, bad)
            self.assertNotEqual(r.rc, 0)
            self.assertIn("club.name must be 1 to 64 characters", r.err, r)
        other.set_config("club", "name", '"%s"' % ("\u00e9" * 64))
        started, r = support.try_serve(other)
        self.assertTrue(started, r)

    def test_a_member_changes_their_own_password(self):
        here, there = self.browser(), self.browser()
        csrf = self.log_in(here, "wren").json()["csrf"]
        self.log_in(there, "wren")
        old = self.club.passwords["wren"]
        url = self.origin + "/api/v1/members/wren/password"
        page = {"Origin": self.origin, "X-CSRF-Token": csrf}
        fresh = "wren's brand new passphrase"

        wrong = here.put(url, json={"current_password": "not it, not at all",
                                    "new_password": fresh}, headers=page, timeout=T)
        self.assertEqual(wrong.status_code, 403, wrong.text)
        self.assertEqual(wrong.json()["error"], "forbidden")
        short = here.put(url, json={"current_password": old, "new_password": "short"},
                         headers=page, timeout=T)
        self.assertEqual(short.status_code, 400, short.text)
        no_csrf = here.put(url, json={"current_password": old, "new_password": fresh},
                           headers={"Origin": self.origin}, timeout=T)
        self.assertEqual(no_csrf.status_code, 403)
        self.assertEqual(no_csrf.json()["error"], "cross_origin")
        others = here.put(self.origin + "/api/v1/members/rhea/password", headers=page,
                          json={"current_password": old, "new_password": fresh}, timeout=T)
        self.assertEqual(others.status_code, 403)
        # Nothing changed so far: the other session lives, the old password works.
        self.assertEqual(there.get(self.origin + "/api/v1/session", timeout=T).status_code, 200)

        done = here.put(url, json={"current_password": old, "new_password": fresh},
                        headers=page, timeout=T)
        self.assertEqual(done.status_code, 200, done.text)
        self.club.passwords["wren"] = fresh
        # The browser goes on in a new session (the cookie the answer set), with its new token.
        who = here.get(self.origin + "/api/v1/session", timeout=T)
        self.assertEqual(who.status_code, 200)
        self.assertEqual(who.json()["csrf"], done.json()["csrf"])
        self.assertEqual(there.get(self.origin + "/api/v1/session", timeout=T).status_code, 401)
        # The old password fails at once, on the very next request, by Basic and by login.
        probe = self.browser()
        self.assertEqual(probe.get(self.server.url, headers=self.as_("wren", old),
                                   timeout=T).status_code, 401)
        self.assertEqual(probe.post(self.origin + "/api/v1/session", timeout=T,
                                    json={"name": "wren", "password": old}).status_code, 401)
        self.assertEqual(probe.get(self.server.url, headers=self.as_("wren"),
                                   timeout=T).status_code, 200)
        # rhea's password is untouched.
        self.assertEqual(probe.get(self.server.url, headers=self.as_("rhea"),
                                   timeout=T).status_code, 200)

    def test_a_stolen_cookie_does_not_survive_a_password_change(self):
        self.club.add_member("cleo", role="reader")
        here = self.browser()
        csrf = self.log_in(here, "cleo").json()["csrf"]
        stolen = here.cookies.get("__Host-hush")
        self.assertTrue(stolen)
        thief = self.browser()
        thief.cookies.set("__Host-hush", stolen)
        session_url = self.origin + "/api/v1/session"
        self.assertEqual(thief.get(session_url, timeout=T).status_code, 200)

        fresh = "cleo's new and longer passphrase"
        done = here.put(self.origin + "/api/v1/members/cleo/password", timeout=T,
                        headers={"Origin": self.origin, "X-CSRF-Token": csrf},
                        json={"current_password": self.club.passwords["cleo"],
                              "new_password": fresh})
        self.assertEqual(done.status_code, 200, done.text)
        self.club.passwords["cleo"] = fresh
        set_cookie = done.headers.get("Set-Cookie", "")
        self.assertTrue(set_cookie.startswith("__Host-hush="), set_cookie)
        for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(attribute, set_cookie)
        new_csrf = done.json()["csrf"]
        self.assertNotEqual(new_csrf, csrf)
        renewed = here.cookies.get("__Host-hush")
        self.assertNotEqual(renewed, stolen)

        # The old cookie is refused, for reads and writes alike; the new one works, with the new
        # CSRF token (the old token no longer matches).
        self.assertEqual(thief.get(session_url, timeout=T).status_code, 401)
        again = self.browser()
        again.cookies.set("__Host-hush", stolen)
        self.assertEqual(again.delete(session_url, timeout=T,
                                      headers={"Origin": self.origin, "X-CSRF-Token": csrf}
                                      ).status_code, 401)
        self.assertEqual(here.get(session_url, timeout=T).status_code, 200)
        old_token = here.delete(session_url, timeout=T,
                                headers={"Origin": self.origin, "X-CSRF-Token": csrf})
        self.assertEqual(old_token.status_code, 403, old_token.text)
        self.assertEqual(old_token.json()["error"], "cross_origin")
        ended = here.delete(session_url, timeout=T,
                            headers={"Origin": self.origin, "X-CSRF-Token": new_csrf})
        self.assertEqual(ended.status_code, 204, ended.text)
        # A security event, without the passwords.
        log = self.server.log()
        self.assertRegex(log, r"warn password-changed client=127\.0\.0\.1 method=session "
                              r"member=cleo session=new")
        self.assertNotIn(fresh, log)

    def test_a_password_change_with_basic_ends_every_session(self):
        self.club.add_member("bess", role="reader")
        s = self.browser()
        self.log_in(s, "bess")
        fresh = "bess has chosen another"
        r = self.browser().put(self.origin + "/api/v1/members/bess/password", timeout=T,
                               headers=self.as_("bess"),
                               json={"current_password": self.club.passwords["bess"],
                                     "new_password": fresh})
        self.assertEqual(r.status_code, 204, r.text)
        self.assertNotIn("Set-Cookie", r.headers)
        self.club.passwords["bess"] = fresh
        self.assertEqual(s.get(self.origin + "/api/v1/session", timeout=T).status_code, 401)

    def test_who_may_delete_a_message(self):
        http = self.browser()

        def post(name, body):
            r = http.post(self.origin + "/api/v1/messages", json={"body": body},
                          headers=self.as_(name), timeout=T)
            self.assertEqual(r.status_code, 201, r.text)
            return r.json()["id"]

        def delete(name, message):
            return http.delete(self.origin + "/api/v1/messages/%d" % message,
                               headers=self.as_(name), timeout=T).status_code

        pats, pauls = post("pat", "pat's to take back"), post("paul", "paul's to keep")
        self.assertEqual(delete("rhea", pats), 403)       # a reader: never
        self.assertEqual(delete("rhea", 999999), 403)     # not even a lookup
        self.assertEqual(delete("pat", pauls), 403)       # another poster's
        self.assertEqual(delete("pat", 999999), 404)
        self.assertEqual(delete("pat", pats), 204)        # the author
        self.assertEqual(delete("pat", pats), 404)
        self.assertEqual(http.get(self.origin + "/api/v1/messages/%d" % pats,
                                  headers=self.as_("rhea"), timeout=T).status_code, 404)
        self.assertEqual(delete("admin", pauls), 204)     # an admin: anyone's
        # By the page's cookie too, with its CSRF token.
        s = self.browser()
        csrf = self.log_in(s, "pat").json()["csrf"]
        again = post("pat", "pat's second")
        r = s.delete(self.origin + "/api/v1/messages/%d" % again, timeout=T,
                     headers={"Origin": self.origin, "X-CSRF-Token": csrf})
        self.assertEqual(r.status_code, 204)

    def test_the_list_says_null_after_a_full_last_page(self):
        ws = Workspace()
        self.addCleanup(ws.cleanup)
        other = Club(ws)
        for i in range(4):
            other.post("m%d" % i)
        with other.serve() as server:
            http = self.browser()
            http.verify = other.ca_pem
            headers = {"Authorization": basic("admin", other.admin_password)}
            base = server.url.rstrip("/") + "/api/v1/messages?limit=2"
            first = http.get(base, headers=headers, timeout=T).json()
            self.assertEqual(len(first["messages"]), 2)
            second = http.get(base + "&before=%d" % first["next_before"], headers=headers,
                              timeout=T).json()
            self.assertEqual(len(second["messages"]), 2)
            self.assertIsNone(second["next_before"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
