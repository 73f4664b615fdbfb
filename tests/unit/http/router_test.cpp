#include "http/router.hpp"

#include <sstream>

#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "auth/sessions.hpp"
#include "auth/tokens.hpp"
#include "crypto/encoding.hpp"
#include "crypto/fernet.hpp"
#include "http/observe.hpp"
#include "http/response.hpp"
#include "support/http_helpers.hpp"
#include "support/memory_store.hpp"
#include "support/test_club.hpp"

namespace hush::http {
namespace {

using testing::basic;

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg.max_body_bytes = 2048;
    cfg.max_message_bytes = 100;
    cfg.page_size = 2;
    cfg.max_page_size = 3;
    club.add("reader", store::role::reader, "reader password");
    club.add("poster", store::role::poster, "poster password");
    club.add("admin", store::role::admin, "admin password");
  }

  response send(verb method, std::string target, std::string credentials = "",
                std::string body = "", std::string content_type = "application/json") {
    request req{method, target, 11};
    if (!credentials.empty()) {
      req.set(field::authorization, basic(credentials));
    }
    if (!body.empty()) {
      req.set(field::content_type, content_type);
      req.body() = std::move(body);
    }
    req.prepare_payload();
    return router_.handle(req, request_context{"198.51.100.4"});
  }

  // GET as the reader, with an Accept header if one is given.
  response get_as_reader(std::string target, std::string accept = "") {
    request req{verb::get, target, 11};
    req.set(field::authorization, basic("reader:reader password"));
    if (!accept.empty()) {
      req.set(field::accept, accept);
    }
    req.prepare_payload();
    return router_.handle(req, request_context{"198.51.100.4"});
  }

  // An end-to-end message as `hush message post --e2e` stores it.
  std::pair<store::message_id, std::string> post_e2e(std::string_view plain) {
    const auto key = crypto::fernet::parse_key(crypto::fernet::generate_key().view()).value();
    auto token =
        crypto::fernet::encrypt(
            key, std::span(reinterpret_cast<const std::uint8_t*>(plain.data()), plain.size()), 1)
            .value();
    return {club.domain.post_fernet("poster", token).value(), token};
  }

  static std::string error_code_of(const response& res) {
    return std::string(boost::json::parse(res.body()).as_object().at("error").as_string());
  }

  config::config cfg;
  testing::test_club club{100};
  router router_{services{club.domain, club.auth, cfg}};
};

TEST_F(RouterTest, NewestMessageAsPlainTextForAMember) {
  ASSERT_TRUE(club.domain.post("poster", "older"));
  ASSERT_TRUE(club.domain.post("poster", "the newest secret"));
  const auto res = send(verb::get, "/", "reader:reader password");
  EXPECT_EQ(res.result(), status::ok);
  EXPECT_EQ(res[field::content_type], "text/plain; charset=utf-8");
  EXPECT_EQ(res.body(), "the newest secret");
  const auto audit = club.store.list_audit(1).value();
  ASSERT_EQ(audit.size(), 1U);
  EXPECT_EQ(audit[0].member, "reader");
  EXPECT_EQ(audit[0].remote, "198.51.100.4");
}

TEST_F(RouterTest, StrangersGetTheSame401) {
  ASSERT_TRUE(club.domain.post("poster", "the newest secret"));
  const auto none = send(verb::get, "/");
  const auto wrong = send(verb::get, "/", "reader:not the password");
  const auto unknown = send(verb::get, "/", "mallory:reader password");
  for (const auto* res : {&none, &wrong, &unknown}) {
    EXPECT_EQ(res->result(), status::unauthorized);
    EXPECT_EQ((*res)[field::www_authenticate], "Basic realm=\"hush\", charset=\"UTF-8\"");
    EXPECT_EQ(res->body().find("secret"), std::string::npos);
  }
  EXPECT_EQ(none.body(), wrong.body());
  EXPECT_EQ(wrong.body(), unknown.body());
  EXPECT_EQ(error_code_of(none), "unauthorized");
  EXPECT_TRUE(club.store.list_audit(10).value().empty());
}

TEST_F(RouterTest, EveryResponseCarriesSecurityHeadersAndNoServer) {
  ASSERT_TRUE(club.domain.post("poster", "x"));
  for (const auto& res : {send(verb::get, "/", "reader:reader password"), send(verb::get, "/"),
                          send(verb::get, "/nowhere"), send(verb::put, "/"),
                          send(verb::delete_, "/api/v1/messages/1", "admin:admin password")}) {
    EXPECT_EQ(res[field::strict_transport_security], "max-age=31536000");
    EXPECT_EQ(res[field::cache_control], "no-store");
    EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
    EXPECT_EQ(res["Referrer-Policy"], "no-referrer");
    const auto csp = res["Content-Security-Policy"];
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
    EXPECT_EQ(csp.find("unsafe"), std::string::npos);
    EXPECT_EQ(res.find(field::server), res.end());
  }
}

TEST_F(RouterTest, EmptyClubIs404) {
  const auto res = send(verb::get, "/", "reader:reader password");
  EXPECT_EQ(res.result(), status::not_found);
  EXPECT_EQ(error_code_of(res), "not_found");
}

TEST_F(RouterTest, ListIsPaginatedNewestFirst) {
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(club.domain.post("poster", "m" + std::to_string(i)));
  }
  const auto first = send(verb::get, "/api/v1/messages", "reader:reader password");
  ASSERT_EQ(first.result(), status::ok);
  const auto page = boost::json::parse(first.body()).as_object();
  const auto& items = page.at("messages").as_array();
  ASSERT_EQ(items.size(), 2U);
  EXPECT_EQ(items[0].at("id").as_int64(), 3);
  EXPECT_EQ(items[0].at("author").as_string(), "poster");
  EXPECT_EQ(items[0].as_object().count("body"), 0U);  // a list reveals no bodies
  EXPECT_EQ(page.at("next_before").as_int64(), 2);

  const auto second =
      send(verb::get, "/api/v1/messages?before=2&limit=3", "reader:reader password");
  const auto rest = boost::json::parse(second.body()).as_object();
  ASSERT_EQ(rest.at("messages").as_array().size(), 1U);
  EXPECT_TRUE(rest.at("next_before").is_null());
  // A last page that is full says so too: nothing is behind it.
  const auto full_last =
      send(verb::get, "/api/v1/messages?before=3&limit=2", "reader:reader password");
  const auto last = boost::json::parse(full_last.body()).as_object();
  ASSERT_EQ(last.at("messages").as_array().size(), 2U);
  EXPECT_TRUE(last.at("next_before").is_null());

  EXPECT_EQ(send(verb::get, "/api/v1/messages?limit=4", "reader:reader password").result(),
            status::bad_request);
  EXPECT_EQ(send(verb::get, "/api/v1/messages?limit=0", "reader:reader password").result(),
            status::bad_request);
  EXPECT_EQ(send(verb::get, "/api/v1/messages?before=x", "reader:reader password").result(),
            status::bad_request);
  EXPECT_EQ(send(verb::get, "/api/v1/messages").result(), status::unauthorized);
}

TEST_F(RouterTest, GetOneMessage) {
  const auto id = club.domain.post("poster", "body text").value();
  const auto res =
      send(verb::get, "/api/v1/messages/" + std::to_string(id.value), "reader:reader password");
  ASSERT_EQ(res.result(), status::ok);
  const auto obj = boost::json::parse(res.body()).as_object();
  EXPECT_EQ(obj.at("body").as_string(), "body text");
  EXPECT_EQ(obj.at("author").as_string(), "poster");
  EXPECT_EQ(send(verb::get, "/api/v1/messages/999", "reader:reader password").result(),
            status::not_found);
  EXPECT_EQ(send(verb::get, "/api/v1/messages/999").result(), status::unauthorized);
}

TEST_F(RouterTest, FernetMessageIsServedAsItsTokenHoweverAskedFor) {
  const auto [id, token] = post_e2e("for key holders only");
  const auto one = "/api/v1/messages/" + std::to_string(id.value);
  for (const auto& res :
       {get_as_reader("/"), get_as_reader("/", "application/vnd.fernet"),
        get_as_reader("/?format=fernet"),
        get_as_reader("/", "text/plain, Application/Vnd.Fernet;q=0.5"),
        get_as_reader(one, "application/vnd.fernet"), get_as_reader(one + "?format=fernet")}) {
    EXPECT_EQ(res.result(), status::ok);
    EXPECT_EQ(res[field::content_type], "application/vnd.fernet");
    EXPECT_EQ(res.body(), token);
    EXPECT_EQ(res[field::cache_control], "no-store");
  }
  EXPECT_EQ(club.store.list_audit(10).value().size(), 6U);  // every token served was a read
}

TEST_F(RouterTest, FernetMessageInJsonCarriesItsFormat) {
  ASSERT_TRUE(club.domain.post("poster", "plain words"));
  const auto [id, token] = post_e2e("sealed words");
  const auto res = get_as_reader("/api/v1/messages/" + std::to_string(id.value));
  ASSERT_EQ(res.result(), status::ok);
  EXPECT_EQ(res[field::content_type], "application/json");
  const auto obj = boost::json::parse(res.body()).as_object();
  EXPECT_EQ(obj.at("format").as_string(), "fernet");
  EXPECT_EQ(obj.at("body").as_string(), token);

  const auto list = boost::json::parse(get_as_reader("/api/v1/messages?limit=3").body());
  const auto& items = list.as_object().at("messages").as_array();
  ASSERT_EQ(items.size(), 2U);
  EXPECT_EQ(items[0].at("format").as_string(), "fernet");
  EXPECT_EQ(items[1].at("format").as_string(), "text");
  const auto text = boost::json::parse(get_as_reader("/api/v1/messages/1").body());
  EXPECT_EQ(text.as_object().at("format").as_string(), "text");
}

TEST_F(RouterTest, TextMessageAskedForAsFernetIs406AndNotAudited) {
  ASSERT_TRUE(club.domain.post("poster", "plain words"));
  for (const auto& res :
       {get_as_reader("/", "application/vnd.fernet"), get_as_reader("/?format=fernet"),
        get_as_reader("/api/v1/messages/1", "application/vnd.fernet"),
        get_as_reader("/api/v1/messages/1?format=fernet")}) {
    EXPECT_EQ(res.result(), status::not_acceptable);
    EXPECT_EQ(res[field::content_type], "application/json");
    EXPECT_EQ(error_code_of(res), "not_acceptable");
    EXPECT_EQ(res.body().find("plain words"), std::string::npos);
  }
  EXPECT_TRUE(club.store.list_audit(10).value().empty());
  // Other Accept values are not weighed: text stays the answer, as before.
  EXPECT_EQ(get_as_reader("/", "application/vnd.fernetx, text/*").body(), "plain words");
}

TEST_F(RouterTest, UnknownFormatIs400AndStrangersStill401) {
  ASSERT_TRUE(club.domain.post("poster", "plain words"));
  EXPECT_EQ(get_as_reader("/?format=text").result(), status::bad_request);
  EXPECT_EQ(get_as_reader("/api/v1/messages/1?format=").result(), status::bad_request);
  EXPECT_EQ(send(verb::get, "/?format=fernet").result(), status::unauthorized);
}

TEST_F(RouterTest, PostingNeedsTheRole) {
  const auto posted =
      send(verb::post, "/api/v1/messages", "poster:poster password", R"({"body":"from the api"})");
  ASSERT_EQ(posted.result(), status::created);
  const auto id = boost::json::parse(posted.body()).as_object().at("id").as_int64();
  EXPECT_EQ(posted[field::location], "/api/v1/messages/" + std::to_string(id));
  EXPECT_EQ(send(verb::get, "/", "reader:reader password").body(), "from the api");

  const auto refused =
      send(verb::post, "/api/v1/messages", "reader:reader password", R"({"body":"reader tries"})");
  EXPECT_EQ(refused.result(), status::forbidden);
  EXPECT_EQ(error_code_of(refused), "forbidden");
  EXPECT_EQ(send(verb::post, "/api/v1/messages", "", R"({"body":"stranger"})").result(),
            status::unauthorized);
  EXPECT_EQ(club.store.list_messages(std::nullopt, 10, 0).value().size(), 1U);
}

TEST_F(RouterTest, PostingValidatesTheBody) {
  const auto as_poster = [&](std::string body, std::string type = "application/json") {
    return send(verb::post, "/api/v1/messages", "poster:poster password", std::move(body),
                std::move(type));
  };
  EXPECT_EQ(as_poster("{not json").result(), status::bad_request);
  EXPECT_EQ(as_poster(R"({"text":"wrong key"})").result(), status::bad_request);
  EXPECT_EQ(as_poster(R"({"body":42})").result(), status::bad_request);
  EXPECT_EQ(as_poster(R"({"body":"x","extra":1})").result(), status::bad_request);
  EXPECT_EQ(as_poster(R"(["body"])").result(), status::bad_request);
  EXPECT_EQ(as_poster(R"({"body":""})").result(), status::bad_request);
  EXPECT_EQ(as_poster(R"({"body":"x"})", "text/plain").result(), status::unsupported_media_type);
  EXPECT_EQ(as_poster(R"({"body":")" + std::string(101, 'x') + "\"}").result(),
            status::payload_too_large);
  EXPECT_EQ(as_poster(std::string(3000, ' ')).result(), status::payload_too_large);
  EXPECT_EQ(as_poster(R"({"body":"ok"})", "application/json; charset=utf-8").result(),
            status::created);
}

TEST_F(RouterTest, DeletingIsForTheAuthorAndAdmins) {
  club.add("other", store::role::poster, "other poster password");
  const auto theirs = club.domain.post("other", "someone else's").value();
  const auto own = club.domain.post("poster", "the poster's own").value();
  const auto path = [](store::message_id id) {
    return "/api/v1/messages/" + std::to_string(id.value);
  };
  // A reader deletes nothing, looked up or not; a poster not another's message.
  EXPECT_EQ(send(verb::delete_, path(own), "reader:reader password").result(), status::forbidden);
  EXPECT_EQ(send(verb::delete_, path({999}), "reader:reader password").result(), status::forbidden);
  EXPECT_EQ(send(verb::delete_, path(theirs), "poster:poster password").result(),
            status::forbidden);
  EXPECT_TRUE(club.store.message(theirs, club.clock.now_seconds()));
  // Their own: yes, once; then it is not there.
  EXPECT_EQ(send(verb::delete_, path(own), "poster:poster password").result(), status::no_content);
  EXPECT_EQ(club.store.message(own, club.clock.now_seconds()).error(), errc::not_found);
  EXPECT_EQ(send(verb::delete_, path(own), "poster:poster password").result(), status::not_found);
  // An admin deletes anyone's.
  EXPECT_EQ(send(verb::delete_, path(theirs), "admin:admin password").result(), status::no_content);
  EXPECT_EQ(send(verb::delete_, path(theirs), "admin:admin password").result(), status::not_found);
  // A poster demoted to reader may no longer delete even their own.
  const auto kept = club.domain.post("poster", "kept").value();
  ASSERT_TRUE(club.domain.set_role("poster", store::role::reader));
  EXPECT_EQ(send(verb::delete_, path(kept), "poster:poster password").result(), status::forbidden);
}

TEST_F(RouterTest, UnknownPathsAndMethods) {
  EXPECT_EQ(send(verb::get, "/nowhere", "reader:reader password").result(), status::not_found);
  for (const char* path :
       {"/api/v1/messages/0", "/api/v1/messages/-1", "/api/v1/messages/1x", "/api/v1/messages/%31",
        "/api/v1/messages/1/", "/../etc/passwd", "//", "/api/v1/messages/99999999999999999999"}) {
    EXPECT_EQ(send(verb::get, path, "reader:reader password").result(), status::not_found) << path;
  }
  const auto put = send(verb::put, "/");
  EXPECT_EQ(put.result(), status::method_not_allowed);
  EXPECT_EQ(put[field::allow], "GET, HEAD");
  EXPECT_EQ(send(verb::patch, "/api/v1/messages")[field::allow], "GET, HEAD, POST");
  EXPECT_EQ(send(verb::post, "/api/v1/messages/1")[field::allow], "GET, HEAD, DELETE");
}

TEST_F(RouterTest, OptionsHeadAndTrace) {
  const auto options = send(verb::options, "/api/v1/messages");
  EXPECT_EQ(options.result(), status::no_content);
  EXPECT_EQ(options[field::allow], "GET, HEAD, POST");
  EXPECT_EQ(options.find(field::access_control_allow_origin), options.end());
  // HEAD is answered wherever GET is, as GET would be (the server sends no body after it).
  ASSERT_TRUE(club.domain.post("poster", "secret"));
  const auto head = send(verb::head, "/", "reader:reader password");
  EXPECT_EQ(head.result(), status::ok);
  EXPECT_EQ(head[field::content_length], "6");
  EXPECT_EQ(send(verb::head, "/").result(), status::unauthorized);
  EXPECT_EQ(send(verb::head, "/healthz").result(), status::ok);
  EXPECT_EQ(send(verb::trace, "/").result(), status::method_not_allowed);
  EXPECT_EQ(send(verb::connect, "/").result(), status::method_not_allowed);
  EXPECT_EQ(send(verb::options, "/nowhere").result(), status::not_found);
}

TEST_F(RouterTest, APasswordToVerifyResumesOnTheHashingPoolWithoutRoutingAgain) {
  ASSERT_TRUE(club.domain.post("poster", "secret"));
  request req{verb::get, "/", 11};
  req.set(field::authorization, basic("reader:reader password"));
  const request_context ctx{"198.51.100.4"};
  auto first = router_.route(req, ctx);
  ASSERT_TRUE(std::holds_alternative<needs_hashing>(first));
  // The first pass decided everything but the hash: a change to the request or the throttle
  // after it is not looked at again, and resuming needs neither the router nor a second route.
  const auto second = std::get<needs_hashing>(first).resume();
  // route() leaves the read's audit record to the caller, who commits it before sending.
  ASSERT_TRUE(second.audit.has_value());
  EXPECT_EQ(second.audit->record().member, "reader");
  EXPECT_EQ(second.audit->record().remote, "198.51.100.4");
  EXPECT_TRUE(club.store.list_audit(10).value().empty());
  EXPECT_EQ(second.res.body(), "secret");
  // Verified once, so the general workers can answer it from now on.
  const auto third = router_.route(req, ctx);
  ASSERT_TRUE(std::holds_alternative<reply>(third));
  EXPECT_EQ(std::get<reply>(third).res.body(), "secret");
  // Requests without credentials never need a hash.
  request anonymous{verb::get, "/", 11};
  const auto stranger = router_.route(anonymous, {});
  ASSERT_TRUE(std::holds_alternative<reply>(stranger));
  EXPECT_EQ(std::get<reply>(stranger).res.result(), status::unauthorized);
}

TEST_F(RouterTest, AWrongPasswordFailsOnResumeAndCountsOnce) {
  request req{verb::get, "/", 11};
  req.set(field::authorization, basic("reader:not the password"));
  // The context outlives the resume, as the server's connection does (router.hpp).
  const request_context ctx{"198.51.100.5"};
  auto first = router_.route(req, ctx);
  ASSERT_TRUE(std::holds_alternative<needs_hashing>(first));
  const auto refused = std::get<needs_hashing>(first).resume();
  EXPECT_EQ(refused.res.result(), status::unauthorized);
  EXPECT_FALSE(refused.audit.has_value());
}

TEST_F(RouterTest, AnAdminsNewMemberIsHashedOnTheHashingPool) {
  request req{verb::post, "/api/v1/members", 11};
  req.set(field::authorization, basic("admin:admin password"));
  req.set(field::content_type, "application/json");
  req.body() = R"({"name":"newcomer","role":"reader"})";
  req.prepare_payload();
  // Basic auth and the new member's hash both need Argon2id: one resume does both, in order.
  // The context outlives the resume, as the server's connection does (router.hpp).
  const request_context ctx{"198.51.100.6"};
  auto first = router_.route(req, ctx);
  ASSERT_TRUE(std::holds_alternative<needs_hashing>(first));
  EXPECT_EQ(club.store.find_member("newcomer").error(), errc::not_found);
  const auto added = std::get<needs_hashing>(first).resume();
  EXPECT_EQ(added.res.result(), status::created);
  EXPECT_TRUE(club.store.find_member("newcomer"));
}

TEST_F(RouterTest, GuessingGets429WithRetryAfter) {
  ASSERT_TRUE(club.domain.post("poster", "secret"));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(send(verb::get, "/", "reader:guess " + std::to_string(i)).result(),
              status::unauthorized);
  }
  const auto blocked = send(verb::get, "/", "reader:reader password");
  EXPECT_EQ(blocked.result(), status::too_many_requests);
  EXPECT_EQ(blocked[field::retry_after], "2");
  EXPECT_EQ(error_code_of(blocked), "too_many_requests");
  EXPECT_EQ(blocked.body().find("secret"), std::string::npos);
}

TEST_F(RouterTest, BearerTokenWorksWhereBasicDoes) {
  ASSERT_TRUE(club.domain.post("poster", "for scripts"));
  const auto token = auth::new_token().str();
  ASSERT_TRUE(club.store.add_token({"ci", "poster", 0, 0}, auth::token_hash(token)));
  request req{verb::get, "/", 11};
  req.set(field::authorization, "Bearer " + token);
  const auto read = router_.route(req, {"198.51.100.9"});
  ASSERT_TRUE(std::holds_alternative<reply>(read));
  EXPECT_EQ(std::get<reply>(read).res.body(), "for scripts");

  request post{verb::post, "/api/v1/messages", 11};
  post.set(field::authorization, "Bearer " + token);
  post.set(field::content_type, "application/json");
  post.body() = R"({"body":"posted by a script"})";
  post.prepare_payload();
  EXPECT_EQ(router_.handle(post, {"198.51.100.9"}).result(), status::created);

  ASSERT_TRUE(club.store.remove_token("ci"));
  EXPECT_EQ(router_.handle(req, {"198.51.100.9"}).result(), status::unauthorized);
}

TEST_F(RouterTest, CrlIsPublicWhenThereIsOne) {
  EXPECT_EQ(send(verb::get, "/ca.crl").result(), status::not_found);  // none configured
  published_bytes crl;
  crl.set("DER bytes");
  router with_crl{services{club.domain, club.auth, cfg, &crl}};
  request req{verb::get, "/ca.crl", 11};
  const auto res = with_crl.handle(req, {});
  EXPECT_EQ(res.result(), status::ok);
  EXPECT_EQ(res[field::content_type], "application/pkix-crl");
  EXPECT_EQ(res.body(), "DER bytes");
  request post{verb::post, "/ca.crl", 11};
  EXPECT_EQ(with_crl.handle(post, {}).result(), status::method_not_allowed);
  // hush ca crl while the server runs: the new list is served at once.
  crl.set("newer DER bytes");
  EXPECT_EQ(with_crl.handle(req, {}).body(), "newer DER bytes");
}

TEST_F(RouterTest, CaCertificateIsPublicWhenThereIsOne) {
  EXPECT_EQ(send(verb::get, "/ca.pem").result(), status::not_found);  // none configured
  published_bytes ca_cert;
  ca_cert.set("-----BEGIN CERTIFICATE-----\n");
  router with_ca{services{club.domain, club.auth, cfg, nullptr, nullptr, &ca_cert}};
  request req{verb::get, "/ca.pem", 11};
  const auto res = with_ca.handle(req, {});
  EXPECT_EQ(res.result(), status::ok);
  EXPECT_EQ(res[field::content_type], "application/x-x509-ca-cert");
  EXPECT_EQ(res.body(), "-----BEGIN CERTIFICATE-----\n");
  request post{verb::post, "/ca.pem", 11};
  EXPECT_EQ(with_ca.handle(post, {}).result(), status::method_not_allowed);
  // The CRL is not served from the CA's slot, nor the CA from the CRL's.
  EXPECT_EQ(with_ca.handle(request{verb::get, "/ca.crl", 11}, {}).result(), status::not_found);
}

TEST_F(RouterTest, OnlyOriginFormTargets) {
  EXPECT_EQ(send(verb::connect, "127.0.0.1:22").result(), status::bad_request);
  EXPECT_EQ(send(verb::get, "https://evil.example/").result(), status::bad_request);
  EXPECT_EQ(send(verb::options, "*").result(), status::bad_request);
}

// A request as a browser sends it, with the fetch metadata it adds, and a cached Basic login.
request from_browser(verb method, std::string target, std::string_view site, std::string_view mode,
                     std::string_view dest) {
  request req{method, target, 11};
  req.set(field::authorization, basic("reader:reader password"));
  req.set("Sec-Fetch-Site", site);
  req.set("Sec-Fetch-Mode", mode);
  if (!dest.empty()) {
    req.set("Sec-Fetch-Dest", dest);
  }
  return req;
}

TEST_F(RouterTest, RequestsAnotherSiteStartsAreRefusedAndNotAudited) {
  const auto id = club.domain.post("poster", "the secret").value();
  const auto message = "/api/v1/messages/" + std::to_string(id.value);
  const request_context ctx{"198.51.100.4"};
  // An <img>, a fetch() and a frame of another site's page; a sibling subdomain's page; a
  // navigation to anything but the page itself; a value no browser sends.
  for (const auto& req : {from_browser(verb::get, message, "cross-site", "no-cors", "image"),
                          from_browser(verb::get, message, "cross-site", "cors", "empty"),
                          from_browser(verb::get, "/", "cross-site", "no-cors", "script"),
                          from_browser(verb::get, "/", "cross-site", "navigate", "iframe"),
                          from_browser(verb::get, "/app.js", "cross-site", "no-cors", "script"),
                          from_browser(verb::get, message, "same-site", "no-cors", "image"),
                          from_browser(verb::get, message, "cross-site", "navigate", "document"),
                          from_browser(verb::get, "/ca.crl", "cross-site", "no-cors", "empty"),
                          from_browser(verb::options, message, "cross-site", "cors", "empty"),
                          from_browser(verb::post, "/", "cross-site", "navigate", "document"),
                          from_browser(verb::get, message, "elsewhere", "no-cors", "image")}) {
    const auto res = router_.handle(req, ctx);
    EXPECT_EQ(res.result(), status::forbidden) << req;
    EXPECT_EQ(error_code_of(res), "cross_origin") << req;
    EXPECT_EQ(res.body().find("the secret"), std::string::npos);
  }
  EXPECT_TRUE(club.store.list_audit(10).value().empty());
}

TEST_F(RouterTest, ATopLevelNavigationToThePageIsServed) {
  ASSERT_TRUE(club.domain.post("poster", "the secret"));
  const request_context ctx{"198.51.100.4"};
  // A link from another site to the club, followed: the member sees what the address gives.
  for (const auto dest : {"document", ""}) {
    auto req = from_browser(verb::get, "/", "cross-site", "navigate", dest);
    EXPECT_EQ(router_.handle(req, ctx).result(), status::ok) << req;
    req.erase(field::authorization);
    req.set(field::accept, "text/html");
    const auto page = router_.handle(req, ctx);
    EXPECT_EQ(page.result(), status::ok) << req;
    EXPECT_EQ(page[field::content_type].substr(0, 9), "text/html");
  }
}

TEST_F(RouterTest, SameOriginAndNonBrowserReadsAreServed) {
  const auto id = club.domain.post("poster", "the secret").value();
  const auto message = "/api/v1/messages/" + std::to_string(id.value);
  const request_context ctx{"198.51.100.4"};
  // The club's own page, the member typing the address, and curl (no metadata at all).
  auto curl_like = from_browser(verb::get, message, "", "", "");
  curl_like.erase("Sec-Fetch-Site");
  curl_like.erase("Sec-Fetch-Mode");
  for (const auto& req :
       {from_browser(verb::get, message, "same-origin", "cors", "empty"),
        from_browser(verb::get, message, "none", "navigate", "document"), curl_like}) {
    const auto res = router_.handle(req, ctx);
    EXPECT_EQ(res.result(), status::ok) << req;
    EXPECT_NE(res.body().find("the secret"), std::string::npos);
  }
  EXPECT_EQ(club.store.list_audit(10).value().size(), 3U);
}

TEST_F(RouterTest, KeepAliveFollowsTheRequest) {
  request req{verb::get, "/", 11};
  req.keep_alive(false);
  EXPECT_FALSE(router_.handle(req, {}).keep_alive());
  request keep{verb::get, "/", 11};
  EXPECT_TRUE(router_.handle(keep, {}).keep_alive());
}

// handle() with a note, as the connection passes one, and what the router wrote in it.
struct noted_response {
  response res;
  request_note note;
};

noted_response handle_noted(router& r, const request& req) {
  noted_response out;
  request_context ctx{"198.51.100.4"};
  ctx.note = &out.note;
  out.res = r.handle(req, ctx);
  return out;
}

request with_basic(verb method, std::string target, std::string_view credentials) {
  request req{method, target, 11};
  req.set(field::authorization, basic(credentials));
  req.prepare_payload();
  return req;
}

TEST_F(RouterTest, TheNoteNamesTheRouteByItsTemplate) {
  const auto id = club.domain.post("poster", "the secret").value();
  published_bytes crl;
  crl.set("DER bytes");
  published_bytes ca_cert;
  ca_cert.set("PEM");
  router r{services{club.domain, club.auth, cfg, &crl, nullptr, &ca_cert}};
  const struct {
    verb method;
    std::string target;
    route_name route;
    std::string_view label;
  } cases[] = {
      {verb::get, "/", route_name::root, "/"},
      {verb::get, "/?format=fernet", route_name::root, "/"},
      {verb::get, "/api/v1/messages?limit=1", route_name::messages, "/api/v1/messages"},
      {verb::get, "/api/v1/messages/" + std::to_string(id.value), route_name::message,
       "/api/v1/messages/{id}"},
      {verb::get, "/api/v1/messages/999", route_name::message, "/api/v1/messages/{id}"},
      {verb::get, "/api/v1/session", route_name::session, "/api/v1/session"},
      {verb::get, "/api/v1/members", route_name::members, "/api/v1/members"},
      {verb::delete_, "/api/v1/members/nobody", route_name::member, "/api/v1/members/{name}"},
      {verb::put, "/api/v1/members/admin/password", route_name::member_password,
       "/api/v1/members/{name}/password"},
      {verb::put, "/api/v1/members/no%20one/password", route_name::other, "other"},
      {verb::get, "/api/v1/messages/" + std::to_string(id.value) + "/reads",
       route_name::message_reads, "/api/v1/messages/{id}/reads"},
      {verb::get, "/api/v1/messages/01/reads", route_name::other, "other"},
      {verb::get, "/healthz", route_name::healthz, "/healthz"},
      {verb::get, "/healthz?verbose=1", route_name::healthz, "/healthz"},
      {verb::post, "/healthz", route_name::healthz, "/healthz"},
      {verb::get, "/ca.crl", route_name::crl, "/ca.crl"},
      {verb::get, "/ca.pem", route_name::ca_cert, "/ca.pem"},
      {verb::get, "/app.js", route_name::page, "page"},
      {verb::get, "/nowhere", route_name::other, "other"},
      {verb::get, "/api/v1/messages/0", route_name::other, "other"},
      {verb::get, "/api/v1/members/no%20one", route_name::other, "other"},
      {verb::get, "/API/V1/MESSAGES", route_name::other, "other"},
  };
  for (const auto& c : cases) {
    const auto answer = handle_noted(r, with_basic(c.method, c.target, "admin:admin password"));
    EXPECT_EQ(answer.note.route, c.route) << c.target;
    EXPECT_EQ(to_string(answer.note.route), c.label) << c.target;
  }
  // The members' page, asked for by a browser, is a page whatever its path.
  request page{verb::get, "/", 11};
  page.set(field::accept, "text/html");
  EXPECT_EQ(to_string(handle_noted(r, page).note.route), "page");
  // A client's text never becomes a label.
  EXPECT_EQ(to_string(handle_noted(r, request{verb::get, "/\x1b[2J", 11}).note.route), "other");
}

TEST_F(RouterTest, TheNoteNamesTheAuthMethodAndTheMemberWhoProvedIt) {
  ASSERT_TRUE(club.domain.post("poster", "the secret"));
  // Basic: a password.
  const auto by_password =
      handle_noted(router_, with_basic(verb::get, "/", "reader:reader password"));
  EXPECT_EQ(by_password.res.result(), status::ok);
  EXPECT_EQ(by_password.note.method, auth_method::password);
  EXPECT_EQ(by_password.note.member, "reader");
  EXPECT_EQ(to_string(by_password.note.method), "password");

  // Bearer: a token.
  const auto token = auth::new_token().str();
  ASSERT_TRUE(club.store.add_token({"ci", "poster", 0, 0}, auth::token_hash(token)));
  request bearer{verb::get, "/", 11};
  bearer.set(field::authorization, "Bearer " + token);
  const auto by_token = handle_noted(router_, bearer);
  EXPECT_EQ(by_token.res.result(), status::ok);
  EXPECT_EQ(by_token.note.method, auth_method::token);
  EXPECT_EQ(by_token.note.member, "poster");

  // A cookie: a session, from logging in (itself a password, and the member it proved).
  request log_in{verb::post, "/api/v1/session", 11};
  log_in.set(field::content_type, "application/json");
  log_in.body() = R"({"name":"admin","password":"admin password"})";
  log_in.prepare_payload();
  const auto logged_in = handle_noted(router_, log_in);
  ASSERT_EQ(logged_in.res.result(), status::ok) << logged_in.res.body();
  EXPECT_EQ(logged_in.note.method, auth_method::password);
  EXPECT_EQ(logged_in.note.member, "admin");
  EXPECT_EQ(logged_in.note.route, route_name::session);
  const auto cookie = std::string(logged_in.res[field::set_cookie]);
  const auto session = cookie.substr(0, cookie.find(';'));
  ASSERT_EQ(session.rfind(std::string(auth::session_cookie_name) + "=", 0), 0U) << cookie;
  request with_cookie{verb::get, "/api/v1/messages", 11};
  with_cookie.set(field::cookie, session);
  const auto by_session = handle_noted(router_, with_cookie);
  EXPECT_EQ(by_session.res.result(), status::ok);
  EXPECT_EQ(by_session.note.method, auth_method::session);
  EXPECT_EQ(by_session.note.member, "admin");
  EXPECT_EQ(to_string(by_session.note.method), "session");
}

TEST_F(RouterTest, TheNoteNamesNoMemberUnlessOneWasProved) {
  ASSERT_TRUE(club.domain.post("poster", "the secret"));
  const auto nobody = handle_noted(router_, request{verb::get, "/", 11});
  EXPECT_EQ(nobody.res.result(), status::unauthorized);
  EXPECT_EQ(nobody.note.method, auth_method::none);
  EXPECT_EQ(nobody.note.member, "");
  EXPECT_EQ(to_string(nobody.note.method), "-");

  const auto wrong = handle_noted(router_, with_basic(verb::get, "/", "reader:not the password"));
  EXPECT_EQ(wrong.res.result(), status::unauthorized);
  EXPECT_EQ(wrong.note.method, auth_method::password);
  EXPECT_EQ(wrong.note.member, "");  // the name tried is not a member proved

  request bad_token{verb::get, "/", 11};
  bad_token.set(field::authorization, "Bearer " + auth::new_token().str());
  const auto by_bad_token = handle_noted(router_, bad_token);
  EXPECT_EQ(by_bad_token.res.result(), status::unauthorized);
  EXPECT_EQ(by_bad_token.note.method, auth_method::token);
  EXPECT_EQ(by_bad_token.note.member, "");

  request bad_cookie{verb::get, "/", 11};
  bad_cookie.set(field::cookie,
                 std::string(auth::session_cookie_name) + "=" + std::string(43, 'A'));
  const auto by_bad_cookie = handle_noted(router_, bad_cookie);
  EXPECT_EQ(by_bad_cookie.res.result(), status::unauthorized);
  EXPECT_EQ(by_bad_cookie.note.member, "");

  request_note cert_note;
  request_context cert_ctx{"198.51.100.4", "0abc", "reader"};
  cert_ctx.note = &cert_note;
  EXPECT_EQ(router_.handle(request{verb::get, "/", 11}, cert_ctx).result(), status::unauthorized);
  EXPECT_EQ(cert_note.method, auth_method::certificate);
  EXPECT_EQ(cert_note.member, "");  // the certificate's name is not proof without the store

  const auto login_failed = [&] {
    request req{verb::post, "/api/v1/session", 11};
    req.set(field::content_type, "application/json");
    req.body() = R"({"name":"admin","password":"wrong"})";
    req.prepare_payload();
    return handle_noted(router_, req);
  }();
  EXPECT_EQ(login_failed.res.result(), status::unauthorized);
  EXPECT_EQ(login_failed.note.method, auth_method::password);
  EXPECT_EQ(login_failed.note.member, "");

  // Public routes: nobody, by no method, even with credentials that would have worked.
  const auto health =
      handle_noted(router_, with_basic(verb::get, "/healthz", "reader:reader password"));
  EXPECT_EQ(health.res.result(), status::ok);
  EXPECT_EQ(health.note.method, auth_method::none);
  EXPECT_EQ(health.note.member, "");
}

TEST_F(RouterTest, HealthzAnswersGetAndHeadWithoutCredentials) {
  for (const auto method : {verb::get, verb::head}) {
    for (const char* target : {"/healthz", "/healthz?probe=1"}) {
      const auto res = router_.handle(request{method, target, 11}, {});
      EXPECT_EQ(res.result(), status::ok) << target;
      EXPECT_EQ(res.body(), "ok\n");
      EXPECT_EQ(res[field::content_length], "3");
      EXPECT_EQ(res[field::content_type], "text/plain; charset=utf-8");
      EXPECT_EQ(res[field::cache_control], "no-store");
      EXPECT_EQ(res[field::strict_transport_security], "max-age=31536000");
      EXPECT_EQ(res.find(field::www_authenticate), res.end());
    }
  }
  // Credentials, right or wrong, change nothing, and nothing is audited.
  EXPECT_EQ(send(verb::get, "/healthz", "reader:wrong").body(), "ok\n");
  EXPECT_TRUE(club.store.list_audit(10).value().empty());
  // Only /healthz itself.
  EXPECT_EQ(send(verb::get, "/healthz/").result(), status::not_found);
  EXPECT_EQ(send(verb::get, "/healthzz").result(), status::not_found);
}

TEST_F(RouterTest, HealthzRefusesOtherMethodsWithAllow) {
  for (const auto method : {verb::post, verb::put, verb::delete_, verb::patch, verb::options,
                            verb::trace, verb::connect}) {
    const auto res = send(method, "/healthz");
    EXPECT_EQ(res.result(), status::method_not_allowed) << method;
    EXPECT_EQ(res[field::allow], "GET, HEAD") << method;
    EXPECT_EQ(error_code_of(res), "method_not_allowed");
  }
}

TEST_F(RouterTest, HeadIsAnsweredWhereverGetIsWithGetsHeaders) {
  const auto id = club.domain.post("poster", "the secret").value();
  published_bytes crl;
  crl.set("DER bytes");
  router r{services{club.domain, club.auth, cfg, &crl}};
  for (const auto& target :
       {std::string("/"), std::string("/api/v1/messages"),
        "/api/v1/messages/" + std::to_string(id.value), std::string("/api/v1/messages/999"),
        std::string("/api/v1/session"), std::string("/api/v1/members"), std::string("/healthz"),
        std::string("/ca.crl"), std::string("/app.js"), std::string("/nowhere")}) {
    for (const char* who : {"admin:admin password", "reader:reader password", ""}) {
      auto get = std::string(who).empty() ? request{verb::get, target, 11}
                                          : with_basic(verb::get, target, who);
      auto head = get;
      head.method(verb::head);
      const auto got = r.handle(get, {"198.51.100.4"});
      const auto headed = r.handle(head, {"198.51.100.4"});
      EXPECT_EQ(headed.result(), got.result()) << target << " " << who;
      EXPECT_NE(headed.result(), status::method_not_allowed) << target;
      for (const auto f : {field::content_type, field::content_length, field::cache_control,
                           field::allow, field::www_authenticate}) {
        EXPECT_EQ(headed[f], got[f]) << target << " " << who << " " << f;
      }
    }
    // OPTIONS lists HEAD wherever it lists GET.
    const auto allow = std::string(r.handle(request{verb::options, target, 11}, {})[field::allow]);
    if (allow.find("GET") != std::string::npos) {
      EXPECT_NE(allow.find("GET, HEAD"), std::string::npos) << target << ": " << allow;
    }
  }
  // No GET, no HEAD.
  const auto member = send(verb::head, "/api/v1/members/reader", "admin:admin password");
  EXPECT_EQ(member.result(), status::method_not_allowed);
  EXPECT_EQ(member[field::allow], "DELETE");
  const auto password =
      send(verb::get, "/api/v1/members/reader/password", "reader:reader password");
  EXPECT_EQ(password.result(), status::method_not_allowed);
  EXPECT_EQ(password[field::allow], "PUT");
  EXPECT_EQ(send(verb::options, "/api/v1/session")[field::allow], "GET, HEAD, POST, DELETE");
  EXPECT_EQ(send(verb::options, "/api/v1/members")[field::allow], "GET, HEAD, POST");
  EXPECT_EQ(send(verb::post, "/ca.crl").result(), status::not_found);  // no CRL here
  request head_crl{verb::post, "/ca.crl", 11};
  EXPECT_EQ(r.handle(head_crl, {})[field::allow], "GET, HEAD");
  request post_page{verb::post, "/app.js", 11};
  EXPECT_EQ(r.handle(post_page, {})[field::allow], "GET, HEAD");
}

// A store whose reads can be made to fail, as a database that went away does (the in-memory fake
// is made to fail by a subclass, as tests/support/memory_store.hpp says).
class failing_store final : public testing::memory_store {
 public:
  result<std::vector<std::uint8_t>> club_meta(std::string_view name) override {
    if (fail) {
      return make_error_code(errc::io_failure);
    }
    return memory_store::club_meta(name);
  }
  bool fail = false;
};

// A club over the failing store; nothing else of it is used.
using failing_club = testing::club_over<failing_store>;

TEST(Healthz, AStoreThatFailsIs503UntilItAnswersAgain) {
  failing_club c;
  const config::config cfg;
  router r{services{c.domain, c.auth, cfg}};
  const request get{verb::get, "/healthz", 11};
  const request head{verb::head, "/healthz", 11};
  EXPECT_EQ(r.handle(get, {}).result(), status::ok);

  c.store.fail = true;
  for (const auto* req : {&get, &head}) {
    request_note note;
    request_context ctx{"198.51.100.4"};
    ctx.note = &note;
    const auto res = r.handle(*req, ctx);
    EXPECT_EQ(res.result(), status::service_unavailable);
    EXPECT_EQ(res.body(), "unavailable\n");
    EXPECT_EQ(res[field::content_length], "12");
    EXPECT_EQ(res[field::cache_control], "no-store");
    EXPECT_EQ(res.body().find("io"), std::string::npos);  // no detail for the caller
    EXPECT_EQ(note.route, route_name::healthz);
  }

  c.store.fail = false;
  EXPECT_EQ(r.handle(get, {}).result(), status::ok);
  EXPECT_EQ(r.handle(get, {}).body(), "ok\n");
}

}  // namespace
}  // namespace hush::http

namespace hush::http {
namespace {

std::string beast_bytes(const response& res) {
  std::ostringstream out;
  out << res;
  return out.str();
}

TEST(Serialize, SameBytesAsBeast) {
  request req{verb::get, "/", 11};
  std::vector<response> responses = {
      text_response(status::ok, "caf\xc3\xa9 secret", req),
      error_response(api_error::unauthorized, req),
      error_response(api_error::too_many_requests, req, std::chrono::seconds(8)),
      json_response(status::created, boost::json::object{{"id", 7}}, req),
  };
  request old{verb::get, "/", 10};
  old.keep_alive(false);
  responses.push_back(error_response(api_error::not_found, old));
  response empty{status::no_content, 11};
  apply_security_headers(empty);
  empty.prepare_payload();
  responses.push_back(empty);
  for (const auto& res : responses) {
    std::string ours;
    serialize(res, ours);
    EXPECT_EQ(ours, beast_bytes(res));
    // Sized exactly up front, so that the string never moves (and frees) what it holds.
    EXPECT_EQ(serialized_size(res), ours.size());
    EXPECT_EQ(serialized_size(res, false), ours.size() - res.body().size());
  }
}

TEST(RouterRateTest, AMemberOverTheirRateGets429AndOthersAreServed) {
  testing::test_club club;
  club.add("reader", store::role::reader, "reader password");
  club.add("other", store::role::reader, "other password");
  auth::rate_policy rates;
  rates.member_requests_per_second = 1;
  rates.member_request_burst = 3;
  auth::authenticator limited(club.domain, club.hasher, {}, std::chrono::seconds(300), rates);
  const config::config cfg;
  router r(services{club.domain, limited, cfg});
  const auto get = [&](const std::string& credentials) {
    request req{verb::get, "/api/v1/messages", 11};
    req.set(field::authorization, basic(credentials));
    req.prepare_payload();
    return r.handle(req, request_context{"198.51.100.4"});
  };
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(get("reader:reader password").result(), status::ok) << i;
  }
  const auto refused = get("reader:reader password");
  EXPECT_EQ(refused.result(), status::too_many_requests);
  EXPECT_FALSE(refused[field::retry_after].empty());
  EXPECT_EQ(get("other:other password").result(), status::ok);
}

}  // namespace
}  // namespace hush::http

namespace hush::http {
namespace {

// GET / answered from memory (router::serve_from_view) must be the answer route() gives, owing
// its audit as of the view, and nothing else may be answered that way.
class MemoryRouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    club.add("alice", store::role::reader, "alice password");
    ASSERT_TRUE(club.domain.post("alice", "kept in memory"));
    token = "Bearer " + std::string(club.domain.create_token("t", "alice", 0).value().value.view());
    ASSERT_TRUE(views.refresh());
  }

  request get(std::string target, std::string authorization) {
    request req{verb::get, target, 11};
    if (!authorization.empty()) {
      req.set(field::authorization, authorization);
    }
    req.prepare_payload();
    return req;
  }

  static std::string wire(const response& res) {
    std::ostringstream out;
    out << res;
    return out.str();
  }

  config::config cfg;
  testing::test_club club{100};
  club::read_views views{[this] { return club.domain.load_view(); }};
  router router_{services{club.domain, club.auth, cfg, nullptr, &views}};
  std::string token;
};

TEST_F(MemoryRouteTest, TheSameAnswerAsTheFullPathOwingItsAuditAsOfTheView) {
  // Basic is served from memory once the full path has verified it.
  ASSERT_EQ(router_.handle(get("/", basic("alice:alice password")), {"192.0.2.9"}).result(),
            status::ok);
  for (const auto& credential : {token, basic("alice:alice password")}) {
    for (const auto method : {verb::get, verb::head}) {
      auto req = get("/", credential);
      req.method(method);
      request_note note;
      request_context ctx{"192.0.2.9"};
      ctx.note = &note;
      auto fast = router_.serve_from_view(req, ctx);
      ASSERT_TRUE(fast) << credential;
      ASSERT_TRUE(fast->audit);
      EXPECT_EQ(fast->audit->as_of(), views.current()->generation());
      EXPECT_EQ(fast->audit->record().member, "alice");
      EXPECT_EQ(fast->audit->record().remote, "192.0.2.9");
      EXPECT_EQ(note.route, route_name::root);
      EXPECT_EQ(note.member, "alice");
      EXPECT_EQ(note.method, credential == token ? auth_method::token : auth_method::password);
      const auto full = router_.handle(req, {"192.0.2.9"});
      EXPECT_EQ(wire(fast->res), wire(full));
      EXPECT_TRUE(club.domain.commit_read_now(std::move(*fast->audit)));
    }
  }
}

TEST_F(MemoryRouteTest, EverythingElseIsLeftToTheFullPath) {
  const request_context ctx{"192.0.2.9"};
  EXPECT_TRUE(router_.serve_from_view(get("/", token), ctx));
  EXPECT_FALSE(router_.serve_from_view(get("/api/v1/messages", token), ctx));
  EXPECT_FALSE(router_.serve_from_view(get("/api/v1/messages/1", token), ctx));
  EXPECT_FALSE(router_.serve_from_view(get("/", ""), ctx));
  EXPECT_FALSE(router_.serve_from_view(get("/", "Bearer not-a-token"), ctx));
  EXPECT_FALSE(router_.serve_from_view(get("/", basic("alice:wrong password")), ctx));
  EXPECT_FALSE(
      router_.serve_from_view(get("/", basic("alice:alice password")), ctx));  // no hash yet
  EXPECT_FALSE(router_.serve_from_view(get("/?format=xml", token), ctx));
  EXPECT_FALSE(
      router_.serve_from_view(get("/?format=fernet", token), ctx));  // 406 on the full path
  EXPECT_FALSE(router_.serve_from_view(get("http://example.com/", token), ctx));
  auto post = get("/", token);
  post.method(verb::post);
  EXPECT_FALSE(router_.serve_from_view(post, ctx));
  auto browser = get("/", token);
  browser.set("Sec-Fetch-Site", "same-origin");
  EXPECT_FALSE(router_.serve_from_view(browser, ctx));

  // A view a commit found overtaken is not served until it is read again.
  club.add("bob", store::role::reader, "bob password");
  views.saw(club.store.snapshot(0).value().generation);
  EXPECT_FALSE(router_.serve_from_view(get("/", token), ctx));
  ASSERT_TRUE(views.refresh());
  EXPECT_TRUE(router_.serve_from_view(get("/", token), ctx));

  // Without views (a router for tests, the fuzzer, the CLI), nothing is served from memory.
  router plain{services{club.domain, club.auth, cfg}};
  EXPECT_FALSE(plain.serve_from_view(get("/", token), ctx));
}

// A token revoked after the view was read is still in the view, but the read's audit commit
// finds the change and nothing is written: the server then routes the request afresh, and the
// store refuses it.
TEST_F(MemoryRouteTest, ARevocationOvertakesTheViewAtTheAuditCommit) {
  auto fast = router_.serve_from_view(get("/", token), {"192.0.2.9"});
  ASSERT_TRUE(fast);
  ASSERT_TRUE(club.domain.revoke_token("t"));
  EXPECT_EQ(club.domain.commit_read_now(std::move(*fast->audit)).error(), errc::stale);
  EXPECT_TRUE(club.domain.audit_trail(10).value().empty());
  EXPECT_EQ(router_.handle(get("/", token), {"192.0.2.9"}).result(), status::unauthorized);
}

}  // namespace
}  // namespace hush::http

namespace hush::http {
namespace {

// The member's request allowance is spent once per request, whichever path answers it: a read
// from memory that a change overtook is routed afresh without paying again, and a request the
// fast path leaves to route() pays only there.
TEST(MemoryRouteAllowance, EachRequestPaysOnce) {
  testing::test_club c{100};
  auth::rate_policy rates;
  rates.member_requests_per_second = 0.001;  // no refill within the test
  rates.member_request_burst = 3;
  auth::authenticator limited(c.domain, c.hasher, {}, std::chrono::seconds(300), rates);
  c.add("alice", store::role::reader, "alice password");
  ASSERT_TRUE(c.domain.post("alice", "counted"));
  const auto bearer =
      "Bearer " + std::string(c.domain.create_token("t", "alice", 0).value().value.view());
  club::read_views views{[&c] { return c.domain.load_view(); }};
  ASSERT_TRUE(views.refresh());
  const config::config cfg;
  router r{services{c.domain, limited, cfg, nullptr, &views}};
  request req{verb::get, "/", 11};
  req.set(field::authorization, bearer);
  request odd{verb::get, "/?format=xml", 11};
  odd.set(field::authorization, bearer);

  // 1: answered from memory, then overtaken: routed afresh with the note the session keeps.
  request_note note;
  request_context ctx{"192.0.2.1"};
  ctx.note = &note;
  auto fast = r.serve_from_view(req, ctx);
  ASSERT_TRUE(fast);
  EXPECT_TRUE(note.allowance_spent);
  note = {};
  note.allowance_spent = true;
  EXPECT_EQ(r.handle(req, ctx).result(), status::ok);
  // 2: declined by the fast path (a bad format), so it pays in route() only: 400.
  request_note odd_note;
  request_context odd_ctx{"192.0.2.1"};
  odd_ctx.note = &odd_note;
  EXPECT_FALSE(r.serve_from_view(odd, odd_ctx));
  EXPECT_EQ(r.handle(odd, odd_ctx).result(), status::bad_request);
  // 3: the last of the burst.
  EXPECT_TRUE(r.serve_from_view(req, {"192.0.2.1"}));
  // 4: spent: the fast path declines, route() answers 429.
  EXPECT_FALSE(r.serve_from_view(req, {"192.0.2.1"}));
  EXPECT_EQ(r.handle(req, {"192.0.2.1"}).result(), status::too_many_requests);
}

}  // namespace
}  // namespace hush::http
