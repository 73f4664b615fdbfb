"""docs/openapi.json against a running server.

For every path the document describes, OPTIONS (or the 405 to it) lists exactly the documented
methods, with HEAD wherever GET is. Then every documented operation is called for real, as the
member it is for, and each answer's status must be one the document lists for it, and its JSON
body must match the documented schema (required keys, types, enums, no key the schema does not
name). The unit test tests/unit/http/openapi_test.cpp compares the same document with the route
table; this one asks the server itself.

Run: /usr/bin/python3 tests/integration/test_openapi.py   (HUSH_BIN=/path/to/hush optional)
"""

import json
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import Club, Server, Workspace  # noqa: E402

DOC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                        "openapi.json")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def check_schema(doc, schema, value, where, closed=True):
    """The subset of JSON Schema docs/openapi.json uses; raises AssertionError at the first
    mismatch, naming where it is."""
    schema = resolve(doc, schema)
    if value is None:
        if not schema.get("nullable"):
            raise AssertionError("%s: null where the schema does not allow it" % where)
        return
    for part in schema.get("allOf", []):
        check_schema(doc, part, value, where, closed=False)
    kind = schema.get("type")
    expected = {"object": dict, "array": list, "string": str, "integer": int,
                "boolean": bool, "number": (int, float)}.get(kind)
    if expected is not None and (not isinstance(value, expected)
                                 or (kind == "integer" and isinstance(value, bool))):
        raise AssertionError("%s: %r is not %s" % (where, value, kind))
    if "enum" in schema and value not in schema["enum"]:
        raise AssertionError("%s: %r is not one of %r" % (where, value, schema["enum"]))
    if isinstance(value, dict):
        named = {}
        for part in [schema] + [resolve(doc, p) for p in schema.get("allOf", [])]:
            named.update(part.get("properties", {}))
            for key in part.get("required", []):
                if key not in value:
                    raise AssertionError("%s: no %r in %r" % (where, key, value))
        for key, item in value.items():
            if key not in named and not closed:
                continue
            if key not in named:
                raise AssertionError("%s: %r is not in the schema" % (where, key))
            check_schema(doc, named[key], item, "%s.%s" % (where, key))
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check_schema(doc, schema["items"], item, "%s[%d]" % (where, i))


class OpenApiTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        with open(DOC_PATH) as f:
            cls.doc = json.load(f)
        cls.ws = Workspace()
        cls.club = Club(cls.ws)
        cls.passwords = {name: cls.club.add_member(name, role=role,
                                                   password="%s's long passphrase" % name)
                         for name, role in (("ann", "admin"), ("pat", "poster"),
                                            ("rea", "reader"), ("gone", "reader"))}
        cls.club.post("the first secret")
        cls.server = Server(cls.club).start()
        cls.base = "https://localhost:%d" % cls.server.port
        cls.http = support.session(cls.club.ca_pem)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.ws.cleanup()

    def as_member(self, name):
        return {"Authorization": support.basic(name, self.passwords[name])}

    def call(self, method, path, name="ann", **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if name is not None:
            headers.update(self.as_member(name))
        return self.http.request(method.upper(), self.base + path, headers=headers,
                                 timeout=support.HTTP_TIMEOUT, allow_redirects=False, **kwargs)

    def check_answer(self, method, template, res):
        operation = self.doc["paths"][template][method]
        where = "%s %s -> %d" % (method.upper(), template, res.status_code)
        responses = operation["responses"]
        self.assertIn(str(res.status_code), responses, where + ": not a documented status")
        response = resolve(self.doc, responses[str(res.status_code)])
        content = response.get("content", {})
        media = res.headers.get("Content-Type", "").split(";")[0].strip()
        if res.status_code == 204:
            self.assertEqual(res.content, b"", where)
            return
        self.assertIn(media, content, where + ": undocumented media type")
        if media == "application/json":
            check_schema(self.doc, content[media]["schema"], res.json(), where)

    def test_every_path_allows_exactly_the_documented_methods(self):
        for template, item in self.doc["paths"].items():
            path = template.replace("{id}", "1").replace("{name}", "rea")
            documented = {m.upper() for m in item if m in METHODS}
            if "GET" in documented:
                documented.add("HEAD")
            res = self.call("options", path, name=None)
            self.assertIn(res.status_code, (204, 405), template)
            allow = {m.strip() for m in res.headers.get("Allow", "").split(",") if m.strip()}
            self.assertEqual(allow, documented, template)

    def test_every_operation_answers_as_documented(self):
        seen = set()

        def check(method, template, res):
            self.check_answer(method, template, res)
            seen.add((method, template))
            return res

        check("get", "/", self.call("get", "/", name="rea"))
        check("get", "/", self.call("get", "/?format=fernet", name="rea"))
        check("get", "/", self.call("get", "/?format=rot13", name="rea"))
        check("get", "/", self.call("get", "/", name=None))
        posted = check("post", "/api/v1/messages",
                       self.call("post", "/api/v1/messages", name="pat",
                                 json={"body": "a documented secret"}))
        self.assertEqual(posted.status_code, 201)
        message = posted.json()["id"]
        self.assertEqual(posted.headers["Location"], "/api/v1/messages/%d" % message)
        check("post", "/api/v1/messages",
              self.call("post", "/api/v1/messages", name="rea", json={"body": "x"}))
        check("post", "/api/v1/messages",
              self.call("post", "/api/v1/messages", name="pat", json={"body": "", "x": 1}))
        check("post", "/api/v1/messages",
              self.call("post", "/api/v1/messages", name="pat", data="body=x",
                        headers={"Content-Type": "application/x-www-form-urlencoded"}))
        page = check("get", "/api/v1/messages",
                     self.call("get", "/api/v1/messages?limit=1", name="rea"))
        self.assertIsNotNone(page.json()["next_before"])
        check("get", "/api/v1/messages",
              self.call("get", "/api/v1/messages?before=%d" % page.json()["next_before"],
                        name="rea"))
        check("get", "/api/v1/messages", self.call("get", "/api/v1/messages?limit=0"))
        check("get", "/api/v1/messages/{id}",
              self.call("get", "/api/v1/messages/%d" % message, name="rea"))
        check("get", "/api/v1/messages/{id}",
              self.call("get", "/api/v1/messages/%d?format=fernet" % message, name="rea"))
        check("get", "/api/v1/messages/{id}", self.call("get", "/api/v1/messages/999999"))
        check("delete", "/api/v1/messages/{id}",
              self.call("delete", "/api/v1/messages/%d" % message, name="rea"))
        check("delete", "/api/v1/messages/{id}",
              self.call("delete", "/api/v1/messages/%d" % message))
        check("delete", "/api/v1/messages/{id}",
              self.call("delete", "/api/v1/messages/%d" % message))

        login = check("post", "/api/v1/session",
                      self.call("post", "/api/v1/session", name=None,
                                json={"name": "rea", "password": self.passwords["rea"]}))
        self.assertEqual(login.status_code, 200)
        cookie = login.headers["Set-Cookie"].split(";")[0]
        check("post", "/api/v1/session",
              self.call("post", "/api/v1/session", name=None,
                        json={"name": "rea", "password": "wrong but long enough"}))
        check("get", "/api/v1/session", self.call("get", "/api/v1/session", name="rea"))
        check("get", "/api/v1/session",
              self.call("get", "/api/v1/session", name=None, headers={"Cookie": cookie}))
        check("delete", "/api/v1/session",
              self.call("delete", "/api/v1/session", name=None,
                        headers={"Cookie": cookie, "Origin": self.base,
                                 "X-CSRF-Token": login.json()["csrf"]}))

        check("get", "/api/v1/members", self.call("get", "/api/v1/members"))
        check("get", "/api/v1/members", self.call("get", "/api/v1/members", name="rea"))
        check("post", "/api/v1/members",
              self.call("post", "/api/v1/members", json={"name": "newbie", "role": "reader"}))
        check("post", "/api/v1/members",
              self.call("post", "/api/v1/members", json={"name": "newbie", "role": "reader"}))
        check("post", "/api/v1/members",
              self.call("post", "/api/v1/members", json={"name": "x", "role": "king"}))
        check("delete", "/api/v1/members/{name}", self.call("delete", "/api/v1/members/gone"))
        check("delete", "/api/v1/members/{name}", self.call("delete", "/api/v1/members/gone"))
        check("delete", "/api/v1/members/{name}",
              self.call("delete", "/api/v1/members/ann", name="pat"))

        receipted = self.call("post", "/api/v1/messages", name="pat",
                              json={"body": "who reads this?", "max_reads": 5, "to": ["rea"],
                                    "expires_in": 3600}).json()["id"]
        check("get", "/api/v1/messages/{id}",
              self.call("get", "/api/v1/messages/%d" % receipted, name="rea"))
        check("get", "/api/v1/messages",
              self.call("get", "/api/v1/messages?limit=1", name="rea"))
        reads = "/api/v1/messages/{id}/reads"
        answer = check("get", reads,
                       self.call("get", "/api/v1/messages/%d/reads" % receipted, name="pat"))
        self.assertEqual([r["reader"] for r in answer.json()["reads"]], ["rea"])
        check("get", reads, self.call("get", "/api/v1/messages/%d/reads" % receipted, name="rea"))
        check("get", reads, self.call("get", "/api/v1/messages/999999/reads", name="rea"))

        own = self.call("post", "/api/v1/messages", name="pat", json={"body": "mine"}).json()
        check("delete", "/api/v1/messages/{id}",
              self.call("delete", "/api/v1/messages/%d" % own["id"], name="pat"))

        template = "/api/v1/members/{name}/password"
        change = {"current_password": self.passwords["pat"],
                  "new_password": "pat's newer passphrase"}
        check("put", template, self.call("put", "/api/v1/members/ann/password", name="pat",
                                         json=change))
        check("put", template, self.call("put", "/api/v1/members/pat/password", name="pat",
                                         json=dict(change, current_password="not it at all")))
        check("put", template, self.call("put", "/api/v1/members/pat/password", name="pat",
                                         json=dict(change, new_password="short")))
        changed = check("put", template, self.call("put", "/api/v1/members/pat/password",
                                                   name="pat", json=change))
        self.assertEqual(changed.status_code, 204)
        self.passwords["pat"] = change["new_password"]
        # Made in a browser session: 200, a new session's cookie and CSRF token.
        login = self.call("post", "/api/v1/session", name=None,
                          json={"name": "pat", "password": self.passwords["pat"]})
        self.assertEqual(login.status_code, 200)
        renewed = check("put", template, self.call(
            "put", "/api/v1/members/pat/password", name=None,
            headers={"Cookie": login.headers["Set-Cookie"].split(";")[0], "Origin": self.base,
                     "X-CSRF-Token": login.json()["csrf"]},
            json={"current_password": self.passwords["pat"],
                  "new_password": "pat's newest passphrase"}))
        self.assertEqual(renewed.status_code, 200, renewed.text)
        self.assertTrue(renewed.headers["Set-Cookie"].startswith("__Host-hush="))
        self.passwords["pat"] = "pat's newest passphrase"

        for path, template in (("/healthz", "/healthz"), ("/ca.crl", "/ca.crl"),
                               ("/ca.pem", "/ca.pem")):
            check("get", template, self.call("get", path, name=None))

        every = {(m, t) for t, item in self.doc["paths"].items() for m in item if m in METHODS}
        self.assertEqual(every - seen, set(), "documented operations this test never called")


if __name__ == "__main__":
    support.main()
