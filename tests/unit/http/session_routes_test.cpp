#include <functional>
#include <optional>
#include <span>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "auth/sessions.hpp"
#include "auth/tokens.hpp"
#include "crypto/encoding.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "support/http_helpers.hpp"
#include "support/memory_store.hpp"
#include "support/test_club.hpp"

// The browser-facing surface: the page, login sessions, CSRF and origin checks, members admin.
namespace hush::http {
namespace {

constexpr std::string_view host = "club.example:5684";
constexpr std::string_view own_origin = "https://club.example:5684";

using testing::basic;

struct browser_session {
  std::string token;
  std::string csrf;
};

class SessionRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg.session_idle = std::chrono::seconds(600);
    cfg.session_absolute = std::chrono::seconds(3600);
    club.add("reader", store::role::reader, "reader password");
    club.add("poster", store::role::poster, "poster password");
    club.add("admin", store::role::admin, "admin password");
  }

  static request make(verb method, std::string target) {
    request req{method, target, 11};
    req.set(field::host, host);
    return req;
  }

  static void json_body(request& req, const boost::json::value& body) {
    req.set(field::content_type, "application/json");
    req.body() = boost::json::serialize(body);
    req.prepare_payload();
  }

  // A request as the club's own page makes it: same origin, the cookie, the CSRF token.
  static request from_page(verb method, std::string target, const browser_session& s) {
    auto req = make(method, std::move(target));
    req.set(field::cookie, std::string(auth::session_cookie_name) + "=" + s.token);
    req.set(field::origin, own_origin);
    req.set("Sec-Fetch-Site", "same-origin");
    req.set("Sec-Fetch-Mode", "cors");
    if (method != verb::get) {
      req.set("X-CSRF-Token", s.csrf);
    }
    return req;
  }

  response send(request req) { return router_.handle(req, request_context{"198.51.100.4"}); }

  response log_in_response(std::string_view name, std::string_view password) {
    auto req = make(verb::post, "/api/v1/session");
    req.set(field::origin, own_origin);
    json_body(req, {{"name", name}, {"password", password}});
    return send(std::move(req));
  }

  browser_session log_in(std::string_view name, std::string_view password) {
    const auto res = log_in_response(name, password);
    EXPECT_EQ(res.result(), status::ok) << res.body();
    const auto cookie = std::string(res[field::set_cookie]);
    const auto prefix = std::string(auth::session_cookie_name) + "=";
    EXPECT_EQ(cookie.rfind(prefix, 0), 0U);
    browser_session s;
    s.token = cookie.substr(prefix.size(), cookie.find(';') - prefix.size());
    s.csrf = std::string(boost::json::parse(res.body()).as_object().at("csrf").as_string());
    return s;
  }

  static std::string error_code_of(const response& res) {
    return std::string(boost::json::parse(res.body()).as_object().at("error").as_string());
  }

  // PUT /api/v1/members/{name}/password, as the page sends it.
  response change_password(const browser_session& s, std::string_view name,
                           const boost::json::value& body) {
    auto req = from_page(verb::put, "/api/v1/members/" + std::string(name) + "/password", s);
    json_body(req, body);
    return send(std::move(req));
  }

  config::config cfg;
  testing::test_club club{100};
  router router_{services{club.domain, club.auth, cfg}};
};

TEST_F(SessionRoutesTest, BrowsersGetThePageAndCurlGetsTheMessage) {
  ASSERT_TRUE(club.domain.post("poster", "the newest secret"));
  auto browser = make(verb::get, "/");
  browser.set(field::accept, "text/html,application/xhtml+xml,*/*;q=0.8");
  const auto page = send(browser);
  EXPECT_EQ(page.result(), status::ok);
  EXPECT_EQ(page[field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(page.body().find("<script src=\"/app.js\""), std::string::npos);
  EXPECT_EQ(page.body().find("the newest secret"), std::string::npos);
  const auto csp = std::string(page["Content-Security-Policy"]);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);

  // No Accept: text/html, so this is curl: it gets the 401 challenge, as before.
  const auto curl = send(make(verb::get, "/"));
  EXPECT_EQ(curl.result(), status::unauthorized);
  EXPECT_FALSE(curl[field::www_authenticate].empty());

  const auto script = send(make(verb::get, "/app.js"));
  EXPECT_EQ(script.result(), status::ok);
  EXPECT_EQ(script[field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(send(make(verb::post, "/app.js")).result(), status::method_not_allowed);
}

TEST_F(SessionRoutesTest, LoginSetsAHardenedCookieAndTheSessionReads) {
  ASSERT_TRUE(club.domain.post("poster", "the newest secret"));
  const auto res = log_in_response("reader", "reader password");
  ASSERT_EQ(res.result(), status::ok);
  const auto cookie = std::string(res[field::set_cookie]);
  for (const auto* attribute : {"; Secure", "; HttpOnly", "; SameSite=Strict", "; Path=/"}) {
    EXPECT_NE(cookie.find(attribute), std::string::npos) << attribute;
  }
  EXPECT_EQ(cookie.find("Domain"), std::string::npos);

  const auto s = log_in("reader", "reader password");
  const auto who = send(from_page(verb::get, "/api/v1/session", s));
  ASSERT_EQ(who.result(), status::ok);
  const auto me = boost::json::parse(who.body()).as_object();
  EXPECT_EQ(me.at("name").as_string(), "reader");
  EXPECT_EQ(me.at("role").as_string(), "reader");
  EXPECT_EQ(me.at("csrf").as_string(), s.csrf);

  const auto newest = send(from_page(verb::get, "/", s));
  EXPECT_EQ(newest.result(), status::ok);
  EXPECT_EQ(newest.body(), "the newest secret");
}

TEST_F(SessionRoutesTest, OnlyAHashOfTheSessionTokenIsStored) {
  const auto s = log_in("reader", "reader password");
  EXPECT_TRUE(club.store.member_by_session(auth::session_hash(s.token), club.clock.now_seconds(),
                                           {600, 3600}));
  // The token itself, used as if it were the hash, finds nothing.
  const std::vector<std::uint8_t> raw(s.token.begin(), s.token.end());
  EXPECT_FALSE(club.store.member_by_session(raw, club.clock.now_seconds(), {600, 3600}));
}

TEST_F(SessionRoutesTest, WrongPasswordAndUnknownMemberAreTheSame401WithoutAChallenge) {
  const auto wrong = log_in_response("reader", "not the password");
  const auto unknown = log_in_response("mallory", "reader password");
  for (const auto* res : {&wrong, &unknown}) {
    EXPECT_EQ(res->result(), status::unauthorized);
    EXPECT_EQ(error_code_of(*res), "unauthorized");
    EXPECT_TRUE((*res)[field::www_authenticate].empty());
    EXPECT_TRUE((*res)[field::set_cookie].empty());
  }
}

TEST_F(SessionRoutesTest, LoginIsThrottledLikeBasic) {
  response last{status::ok, 11};
  for (int i = 0; i < 6; ++i) {
    last = log_in_response("reader", "not the password");
  }
  EXPECT_EQ(last.result(), status::too_many_requests);
  EXPECT_FALSE(last[field::retry_after].empty());
  // Even the right password waits while the key is blocked.
  EXPECT_EQ(log_in_response("reader", "reader password").result(), status::too_many_requests);
}

TEST_F(SessionRoutesTest, IdleAndAbsoluteExpiry) {
  const auto s = log_in("reader", "reader password");
  club.clock.now += 599;
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/session", s)).result(), status::ok);
  club.clock.now += 599;  // used 599 s ago: still within the idle limit
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/session", s)).result(), status::ok);
  club.clock.now += 601;
  const auto idle = send(from_page(verb::get, "/api/v1/session", s));
  EXPECT_EQ(idle.result(), status::unauthorized);
  EXPECT_EQ(error_code_of(idle), "session_expired");
  EXPECT_TRUE(idle[field::www_authenticate].empty());
  // Expired for good: asked again, it is still expired, never revived.
  EXPECT_EQ(error_code_of(send(from_page(verb::get, "/api/v1/session", s))), "session_expired");
  // The next login sweeps it away.
  log_in("poster", "poster password");
  EXPECT_EQ(error_code_of(send(from_page(verb::get, "/api/v1/session", s))), "unauthorized");

  const auto busy = log_in("reader", "reader password");
  for (int minute = 0; minute < 60; ++minute) {
    club.clock.now += 59;
    ASSERT_EQ(send(from_page(verb::get, "/api/v1/session", busy)).result(), status::ok);
  }
  club.clock.now += 60;  // past an hour since login, however busy
  EXPECT_EQ(error_code_of(send(from_page(verb::get, "/api/v1/session", busy))), "session_expired");
}

TEST_F(SessionRoutesTest, ALoginOverALiveSessionEndsIt) {
  const auto first = log_in("reader", "reader password");
  auto again = make(verb::post, "/api/v1/session");
  again.set(field::origin, own_origin);
  again.set(field::cookie, std::string(auth::session_cookie_name) + "=" + first.token);
  json_body(again, {{"name", "poster"}, {"password", "poster password"}});
  ASSERT_EQ(send(again).result(), status::ok);
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/session", first)).result(), status::unauthorized);
}

TEST_F(SessionRoutesTest, ImpossibleNamesAreRefusedWithoutHashing) {
  const std::string huge(100'000, 'a');
  for (const auto& name : {huge, std::string("bad name"), std::string("")}) {
    const auto res = log_in_response(name, "reader password");
    EXPECT_EQ(res.result(), status::unauthorized);
    EXPECT_TRUE(res[field::www_authenticate].empty());
  }
}

TEST_F(SessionRoutesTest, LogoutEndsTheSessionServerSide) {
  const auto s = log_in("reader", "reader password");
  const auto out = send(from_page(verb::delete_, "/api/v1/session", s));
  EXPECT_EQ(out.result(), status::no_content);
  EXPECT_NE(std::string(out[field::set_cookie]).find("Max-Age=0"), std::string::npos);
  // A copy of the cookie kept by an attacker is worthless now.
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/session", s)).result(), status::unauthorized);
}

TEST_F(SessionRoutesTest, StateChangesNeedTheCsrfTokenAndTheOwnOrigin) {
  const auto s = log_in("poster", "poster password");
  const auto post = [&](auto&& edit) {
    auto req = from_page(verb::post, "/api/v1/messages", s);
    json_body(req, {{"body", "hello"}});
    edit(req);
    return send(std::move(req));
  };
  EXPECT_EQ(post([](request&) {}).result(), status::created);

  const auto no_token = post([](request& r) { r.erase("X-CSRF-Token"); });
  const auto wrong_token =
      post([](request& r) { r.set("X-CSRF-Token", "x" + std::string(r["X-CSRF-Token"])); });
  const auto other_session = log_in("admin", "admin password");
  const auto someone_elses = post([&](request& r) { r.set("X-CSRF-Token", other_session.csrf); });
  const auto no_origin = post([](request& r) {
    r.erase(field::origin);
    r.erase("Sec-Fetch-Site");
  });
  const auto evil_origin = post([](request& r) {
    r.set(field::origin, "https://evil.example");
    r.erase("Sec-Fetch-Site");
  });
  const auto cross_site = post([](request& r) { r.set("Sec-Fetch-Site", "cross-site"); });
  const auto http_origin =
      post([](request& r) { r.set(field::origin, "http://club.example:5684"); });
  for (const auto* res : {&no_token, &wrong_token, &someone_elses, &no_origin, &evil_origin,
                          &cross_site, &http_origin}) {
    EXPECT_EQ(res->result(), status::forbidden);
    EXPECT_EQ(error_code_of(*res), "cross_origin");
  }
  const auto list = club.domain.list(std::nullopt, 10).value();
  EXPECT_EQ(list.size(), 1U);  // only the legitimate post
}

TEST_F(SessionRoutesTest, CrossOriginStateChangesAreRefusedEvenWithBasic) {
  // A browser may replay a cached Basic login on a forged cross-site request.
  auto req = make(verb::post, "/api/v1/messages");
  req.set(field::authorization, basic("poster:poster password"));
  req.set(field::origin, "https://evil.example");
  json_body(req, {{"body", "forged"}});
  const auto res = send(req);
  EXPECT_EQ(res.result(), status::forbidden);
  EXPECT_EQ(error_code_of(res), "cross_origin");

  // Login CSRF too: another site cannot log a browser into the club.
  auto login = make(verb::post, "/api/v1/session");
  login.set(field::origin, "https://evil.example");
  json_body(login, {{"name", "reader"}, {"password", "reader password"}});
  EXPECT_EQ(send(login).result(), status::forbidden);

  // A form of another origin cannot send JSON without asking, and hush grants no one.
  auto form = make(verb::post, "/api/v1/session");
  form.set(field::content_type, "application/x-www-form-urlencoded");
  form.body() = "name=reader&password=reader+password";
  form.prepare_payload();
  EXPECT_EQ(send(form).result(), status::unsupported_media_type);
}

TEST_F(SessionRoutesTest, RemovingAMemberOrChangingAPasswordEndsTheirSessions) {
  const auto removed = log_in("reader", "reader password");
  const auto changed = log_in("poster", "poster password");
  ASSERT_TRUE(club.domain.remove_member("reader"));
  ASSERT_TRUE(club.domain.set_password("poster", "a brand new password"));
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/session", removed)).result(), status::unauthorized);
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/session", changed)).result(), status::unauthorized);
}

TEST_F(SessionRoutesTest, AdminsManageMembers) {
  const auto admin = log_in("admin", "admin password");
  auto add = from_page(verb::post, "/api/v1/members", admin);
  json_body(add, {{"name", "carol"}, {"role", "poster"}});
  const auto added = send(add);
  ASSERT_EQ(added.result(), status::created) << added.body();
  const auto body = boost::json::parse(added.body()).as_object();
  const auto password = std::string(body.at("password").as_string());
  EXPECT_GE(password.size(), club::min_password_size);
  EXPECT_EQ(send(add).result(), status::conflict);

  const auto carol = log_in("carol", password);
  const auto listed = send(from_page(verb::get, "/api/v1/members", admin));
  ASSERT_EQ(listed.result(), status::ok);
  EXPECT_NE(listed.body().find("\"carol\""), std::string::npos);
  EXPECT_EQ(listed.body().find("argon2"), std::string::npos);  // no hashes leave the server

  EXPECT_EQ(send(from_page(verb::delete_, "/api/v1/members/admin", admin)).result(),
            status::conflict);
  EXPECT_EQ(send(from_page(verb::delete_, "/api/v1/members/carol", admin)).result(),
            status::no_content);
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/session", carol)).result(), status::unauthorized);
  EXPECT_EQ(send(from_page(verb::delete_, "/api/v1/members/carol", admin)).result(),
            status::not_found);
}

TEST_F(SessionRoutesTest, AKeyGivenTwiceIsRefusedNotResolved) {
  // Boost.JSON keeps the last of two equal keys, a proxy or a logger in front may keep the first:
  // a body that says "reader" to one and "admin" to the other creates nobody.
  const auto admin = log_in("admin", "admin password");
  for (const std::string body : {R"({"name":"carol","role":"reader","role":"admin"})",
                                 R"({"name":"carol","role":"reader","r\u006fle":"admin"})",
                                 R"({"name":"carol","name":"carol","role":"reader"})"}) {
    auto add = from_page(verb::post, "/api/v1/members", admin);
    add.set(field::content_type, "application/json");
    add.body() = body;
    add.prepare_payload();
    const auto res = send(add);
    EXPECT_EQ(res.result(), status::bad_request) << body;
    EXPECT_EQ(error_code_of(res), "bad_request");
  }
  EXPECT_FALSE(club.store.find_member("carol"));

  auto login = make(verb::post, "/api/v1/session");
  login.set(field::origin, own_origin);
  login.set(field::content_type, "application/json");
  login.body() =
      R"({"name":"mallory","password":"x","name":"reader","password":"reader password"})";
  login.prepare_payload();
  EXPECT_EQ(send(login).result(), status::bad_request);
}

TEST_F(SessionRoutesTest, OnlyAdminsManageMembers) {
  const auto poster = log_in("poster", "poster password");
  auto add = from_page(verb::post, "/api/v1/members", poster);
  json_body(add, {{"name", "carol"}, {"role", "admin"}});
  EXPECT_EQ(send(add).result(), status::forbidden);
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/members", poster)).result(), status::forbidden);
  EXPECT_EQ(send(from_page(verb::delete_, "/api/v1/members/reader", poster)).result(),
            status::forbidden);
  EXPECT_TRUE(club.store.find_member("reader"));
}

TEST_F(SessionRoutesTest, APasswordChangeReplacesTheSessionAndEndsEveryOther) {
  const auto here = log_in("poster", "poster password");
  const auto elsewhere = log_in("poster", "poster password");
  const auto someone_else = log_in("reader", "reader password");
  const auto changed = change_password(
      here, "poster",
      {{"current_password", "poster password"}, {"new_password", "a brand new password"}});
  ASSERT_EQ(changed.result(), status::ok) << changed.body();
  // A new session, in a cookie as hardened as a login's, and its CSRF token in the answer.
  const auto cookie = std::string(changed[field::set_cookie]);
  const auto prefix = std::string(auth::session_cookie_name) + "=";
  ASSERT_EQ(cookie.rfind(prefix, 0), 0U) << cookie;
  EXPECT_NE(cookie.find("; Secure"), std::string::npos);
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos);
  browser_session fresh;
  fresh.token = cookie.substr(prefix.size(), cookie.find(';') - prefix.size());
  const auto body = boost::json::parse(changed.body()).as_object();
  fresh.csrf = std::string(body.at("csrf").as_string());
  EXPECT_NE(fresh.token, here.token);
  EXPECT_NE(fresh.csrf, here.csrf);
  EXPECT_EQ(fresh.csrf, auth::csrf_token(fresh.token));
  // The session the change was made in ended with every other one: a cookie stolen before the
  // change does not outlive it.
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/session", here)).result(), status::unauthorized);
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/session", elsewhere)).result(),
            status::unauthorized);
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/session", someone_else)).result(), status::ok);
  // The new one reads, and writes with its own CSRF token (not the old one's).
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/session", fresh)).result(), status::ok);
  auto post = from_page(verb::post, "/api/v1/messages", fresh);
  json_body(post, {{"body", "still here"}});
  EXPECT_EQ(send(std::move(post)).result(), status::created);
  auto stale_csrf = from_page(verb::post, "/api/v1/messages", {fresh.token, here.csrf});
  json_body(stale_csrf, {{"body", "with the old token"}});
  EXPECT_EQ(send(std::move(stale_csrf)).result(), status::forbidden);
  // The old password is refused on the very next request, by every door; the new one works.
  EXPECT_EQ(log_in_response("poster", "poster password").result(), status::unauthorized);
  auto basic_old = make(verb::get, "/api/v1/session");
  basic_old.set(field::authorization, basic("poster:poster password"));
  EXPECT_EQ(send(basic_old).result(), status::unauthorized);
  EXPECT_EQ(log_in_response("poster", "a brand new password").result(), status::ok);
}

TEST_F(SessionRoutesTest, WithBasicEverySessionEndsAndNoneStarts) {
  const auto open = log_in("poster", "poster password");
  auto req = make(verb::put, "/api/v1/members/poster/password");
  req.set(field::authorization, basic("poster:poster password"));
  json_body(req,
            {{"current_password", "poster password"}, {"new_password", "a brand new password"}});
  const auto res = send(std::move(req));
  ASSERT_EQ(res.result(), status::no_content) << res.body();
  EXPECT_TRUE(res[field::set_cookie].empty());
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/session", open)).result(), status::unauthorized);
}

TEST_F(SessionRoutesTest, WithATokenEverySessionEndsAndTheTokenStays) {
  const auto open = log_in("poster", "poster password");
  const auto token = club.domain.create_token("laptop", "poster", 0).value();
  auto req = make(verb::put, "/api/v1/members/poster/password");
  req.set(field::authorization, "Bearer " + std::string(token.value.view()));
  json_body(req,
            {{"current_password", "poster password"}, {"new_password", "a brand new password"}});
  const auto res = send(std::move(req));
  ASSERT_EQ(res.result(), status::no_content) << res.body();
  EXPECT_TRUE(res[field::set_cookie].empty());
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/session", open)).result(), status::unauthorized);
  // API tokens survive a password change (the page and docs/api.md say so).
  auto with_token = make(verb::get, "/api/v1/session");
  with_token.set(field::authorization, "Bearer " + std::string(token.value.view()));
  EXPECT_EQ(send(std::move(with_token)).result(), status::ok);
}

TEST_F(SessionRoutesTest, AWrongCurrentPasswordIsRefusedAndThrottledLikeALogin) {
  const auto s = log_in("poster", "poster password");
  const auto other = log_in("poster", "poster password");
  const auto wrong = change_password(
      s, "poster", {{"current_password", "not the password"}, {"new_password", "a new password!"}});
  // 403, not 401: the session itself is fine, and the page must not take it for a lost one.
  EXPECT_EQ(wrong.result(), status::forbidden);
  EXPECT_EQ(error_code_of(wrong), "forbidden");
  EXPECT_TRUE(wrong[field::www_authenticate].empty());
  // Nothing changed: the password, and the other session.
  EXPECT_EQ(send(from_page(verb::get, "/api/v1/session", other)).result(), status::ok);
  EXPECT_TRUE(club.hasher.verify(club.store.find_member("poster").value().password_hash,
                                 "poster password"));
  // A stolen session guesses no faster here than at the login form: the throttle counts these.
  response last{status::ok, 11};
  for (int i = 0; i < 6; ++i) {
    last = change_password(
        s, "poster",
        {{"current_password", "guess " + std::to_string(i)}, {"new_password", "a new password!"}});
  }
  EXPECT_EQ(last.result(), status::too_many_requests);
  EXPECT_FALSE(last[field::retry_after].empty());
  EXPECT_EQ(log_in_response("poster", "poster password").result(), status::too_many_requests);
  // Too long to be anyone's password: refused without a hash, the same 403.
  const auto s2 = log_in("reader", "reader password");
  const auto huge = change_password(
      s2, "reader",
      {{"current_password", std::string(2000, 'x')}, {"new_password", "a new password!"}});
  EXPECT_EQ(huge.result(), status::forbidden);
}

TEST_F(SessionRoutesTest, OnlyOnesOwnPasswordAndTheNewOneFollowsTheRules) {
  const auto admin = log_in("admin", "admin password");
  const auto poster = log_in("poster", "poster password");
  const boost::json::value good = {{"current_password", "admin password"},
                                   {"new_password", "a brand new password"}};
  // Not even an admin changes another member's password here (hush member passwd does).
  EXPECT_EQ(change_password(admin, "poster", good).result(), status::forbidden);
  EXPECT_EQ(change_password(poster, "admin", good).result(), status::forbidden);
  EXPECT_EQ(change_password(admin, "nobody", good).result(), status::forbidden);
  EXPECT_TRUE(
      club.hasher.verify(club.store.find_member("admin").value().password_hash, "admin password"));
  const auto bad = [&](const boost::json::value& body) {
    const auto res = change_password(admin, "admin", body);
    EXPECT_EQ(res.result(), status::bad_request) << boost::json::serialize(body);
    return std::string(boost::json::parse(res.body()).as_object().at("message").as_string());
  };
  EXPECT_NE(bad({{"current_password", "admin password"}, {"new_password", "short"}})
                .find("\"new_password\" must be 12 to 1024 bytes"),
            std::string::npos);
  bad({{"current_password", "admin password"}, {"new_password", std::string(1025, 'x')}});
  bad({{"current_password", "admin password"}});
  bad({{"current_password", "admin password"}, {"new_password", 12345678901234}});
  bad({{"current_password", "admin password"},
       {"new_password", "a brand new password"},
       {"name", "admin"}});
  // A cookie-made change needs the CSRF token, as every write does.
  auto no_csrf = from_page(verb::put, "/api/v1/members/admin/password", admin);
  no_csrf.erase("X-CSRF-Token");
  json_body(no_csrf, good);
  const auto refused = send(std::move(no_csrf));
  EXPECT_EQ(refused.result(), status::forbidden);
  EXPECT_EQ(error_code_of(refused), "cross_origin");
  EXPECT_TRUE(
      club.hasher.verify(club.store.find_member("admin").value().password_hash, "admin password"));
}

TEST_F(SessionRoutesTest, TheClubsNameIsForMembersOnly) {
  cfg.club_name = "The Oak Society";
  const auto login = log_in_response("reader", "reader password");
  ASSERT_EQ(login.result(), status::ok);
  EXPECT_EQ(boost::json::parse(login.body()).as_object().at("club").as_string(), "The Oak Society");
  const auto s = log_in("reader", "reader password");
  const auto who = send(from_page(verb::get, "/api/v1/session", s));
  EXPECT_EQ(boost::json::parse(who.body()).as_object().at("club").as_string(), "The Oak Society");
  // A stranger learns nothing of it: not from the session route, a failed login or the page.
  const auto stranger = send(make(verb::get, "/api/v1/session"));
  EXPECT_EQ(stranger.result(), status::unauthorized);
  EXPECT_EQ(log_in_response("reader", "wrong password").body().find("Oak"), std::string::npos);
  for (const auto* path : {"/", "/app.js"}) {
    auto req = make(verb::get, path);
    req.set(field::accept, "text/html");
    const auto res = send(req);
    EXPECT_EQ(res.body().find("Oak"), std::string::npos) << path;
  }
  EXPECT_EQ(stranger.body().find("Oak"), std::string::npos);
}

// The in-memory store, with a step run once just before the next session is added or password
// hash set: what another request does in that very gap, made certain.
class racing_store final : public testing::memory_store {
 public:
  result<void> add_session(std::span<const std::uint8_t> hash, std::string_view member,
                           std::string_view password_hash, std::int64_t now,
                           hush::store::session_limits limits) override {
    run_once(before_add_session);
    return memory_store::add_session(hash, member, password_hash, now, limits);
  }
  result<void> set_password_hash(std::string_view name, std::string_view hash,
                                 std::optional<std::string_view> expected) override {
    run_once(before_set_password);
    return memory_store::set_password_hash(name, hash, expected);
  }
  std::function<void()> before_add_session;
  std::function<void()> before_set_password;

 private:
  static void run_once(std::function<void()>& step) {
    if (step) {
      auto once = std::exchange(step, nullptr);
      once();
    }
  }
};

struct racing_club : testing::club_over<racing_store> {
  config::config cfg;
  router routes{services{domain, auth, cfg}};

  racing_club() {
    EXPECT_TRUE(domain.add_member("poster", store::role::poster, "poster password"));
  }

  response log_in(std::string_view password) {
    request req{verb::post, "/api/v1/session", 11};
    req.set(field::host, host);
    req.set(field::origin, own_origin);
    req.set(field::content_type, "application/json");
    req.body() =
        boost::json::serialize(boost::json::object{{"name", "poster"}, {"password", password}});
    req.prepare_payload();
    return routes.handle(req, request_context{"198.51.100.4"});
  }
};

std::string cookie_token(const response& res) {
  const auto cookie = std::string(res[field::set_cookie]);
  const auto prefix = std::string(auth::session_cookie_name) + "=";
  return cookie.rfind(prefix, 0) == 0
             ? cookie.substr(prefix.size(), cookie.find(';') - prefix.size())
             : std::string();
}

// A login verified the old password; a change ended every session before the login added its
// own. The login must not get one: it answers as a wrong password does, never 500.
TEST(PasswordRaces, ALoginThatVerifiedAReplacedPasswordGetsNoSession) {
  racing_club c;
  c.store.before_add_session = [&] {
    ASSERT_TRUE(c.domain.set_password("poster", "a brand new password"));
  };
  const auto res = c.log_in("poster password");
  EXPECT_EQ(res.result(), status::unauthorized) << res.body();
  EXPECT_TRUE(res[field::set_cookie].empty());
  EXPECT_TRUE(res[field::www_authenticate].empty());
  EXPECT_EQ(boost::json::parse(res.body()).as_object().at("error").as_string(), "unauthorized");
  // The new password logs in as usual.
  const auto fresh = c.log_in("a brand new password");
  EXPECT_EQ(fresh.result(), status::ok);
  EXPECT_FALSE(cookie_token(fresh).empty());
}

// A change checked the current password; another change (here the operator's reset) replaced it
// before this one stored its hash. This one changes nothing and answers 409.
TEST(PasswordRaces, AChangeThatVerifiedAReplacedPasswordChangesNothing) {
  racing_club c;
  const auto login = c.log_in("poster password");
  ASSERT_EQ(login.result(), status::ok);
  const auto token = cookie_token(login);
  c.store.before_set_password = [&] {
    ASSERT_TRUE(c.domain.set_password("poster", "the operator's reset"));
  };
  request req{verb::put, "/api/v1/members/poster/password", 11};
  req.set(field::host, host);
  req.set(field::cookie, std::string(auth::session_cookie_name) + "=" + token);
  req.set(field::origin, own_origin);
  req.set("X-CSRF-Token", auth::csrf_token(token));
  req.set(field::content_type, "application/json");
  req.body() = R"({"current_password":"poster password","new_password":"a brand new password"})";
  req.prepare_payload();
  const auto res = c.routes.handle(req, request_context{"198.51.100.4"});
  EXPECT_EQ(res.result(), status::conflict) << res.body();
  EXPECT_EQ(boost::json::parse(res.body()).as_object().at("error").as_string(), "conflict");
  EXPECT_TRUE(res[field::set_cookie].empty());
  // The reset stands; the change's password was never stored.
  EXPECT_EQ(c.log_in("a brand new password").result(), status::unauthorized);
  EXPECT_EQ(c.log_in("the operator's reset").result(), status::ok);
}

TEST_F(SessionRoutesTest, CookieParsingRefusesAmbiguity) {
  const auto token = auth::new_token().str();
  const auto one = std::string(auth::session_cookie_name) + "=" + token;
  EXPECT_EQ(auth::session_from_cookies("a=b; " + one + "; c=d"), token);
  EXPECT_FALSE(auth::session_from_cookies(one + "; " + one));
  EXPECT_FALSE(auth::session_from_cookies(std::string(auth::session_cookie_name) + "=short"));
  EXPECT_FALSE(auth::session_from_cookies("hush=" + token));
  EXPECT_NE(auth::csrf_token(token), auth::csrf_token(auth::new_token().str()));
  EXPECT_TRUE(auth::csrf_matches(token, auth::csrf_token(token)));
  EXPECT_FALSE(auth::csrf_matches(token, ""));
}

}  // namespace
}  // namespace hush::http
