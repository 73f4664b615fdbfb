#include "acme/client.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <openssl/x509v3.h>

#include "acme/url.hpp"
#include "core/text.hpp"

namespace hush::acme {
namespace {

namespace json = boost::json;

constexpr std::string_view jose = "application/jose+json";
constexpr int bad_nonce_retries = 5;
// The CA's Retry-After is followed within these bounds; a poll gives up after max_polls.
constexpr auto default_poll = std::chrono::milliseconds(1000);
constexpr auto longest_poll = std::chrono::milliseconds(10'000);
constexpr int max_polls = 60;
constexpr unsigned http_ok = 200;
constexpr unsigned http_created = 201;
constexpr unsigned first_error_status = 400;

json::object parse_object(const std::string& body, std::string_view step) {
  json::error_code ec;
  auto value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    throw acme_error(std::string(step) + ": the CA's reply is not a JSON object");
  }
  return std::move(value.as_object());
}

json::object parse_object(const http_response& res, std::string_view step) {
  return parse_object(res.body, step);
}

std::string text_of(const json::object& object, std::string_view key) {
  const auto* found = object.if_contains(key);
  return found != nullptr && found->is_string() ? std::string(found->as_string()) : std::string();
}

std::string problem_type(const http_response& res) {
  json::error_code ec;
  const auto value = json::parse(res.body, ec);
  return !ec && value.is_object() ? text_of(value.as_object(), "type") : std::string();
}

[[noreturn]] void fail_with(const http_response& res, std::string_view step) {
  json::error_code ec;
  const auto value = json::parse(res.body, ec);
  std::string what = std::string(step) + ": the CA answered HTTP " + std::to_string(res.status);
  if (!ec && value.is_object()) {
    const auto type = text_of(value.as_object(), "type");
    const auto detail = text_of(value.as_object(), "detail");
    if (!type.empty()) {
      what += " " + type;
    }
    if (!detail.empty()) {
      what += ": " + detail;
    }
  }
  throw acme_error(what);
}

std::chrono::milliseconds retry_after(const http_response& res) {
  if (res.retry_after.empty() ||
      !std::all_of(res.retry_after.begin(), res.retry_after.end(),
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      res.retry_after.size() > 4) {
    return default_poll;
  }
  return std::clamp(std::chrono::milliseconds(std::stoi(res.retry_after) * 1000), default_poll,
                    longest_poll);
}

// "host:port" of an https URL, the same for every spelling of one origin; "" for anything the
// transport would not follow.
std::string origin_of(std::string_view url) {
  try {
    return parse_https_url(url).origin();
  } catch (const std::runtime_error&) {
    return {};
  }
}

}  // namespace

client::client(transport& net, const account_key& key, std::string directory_url, waiter wait)
    : net_(net), key_(key), directory_url_(std::move(directory_url)), wait_(std::move(wait)) {}

void client::load_directory() {
  const auto res = net_.exchange("GET", directory_url_, "", "");
  if (res.status != http_ok) {
    fail_with(res, "reading the directory");
  }
  const auto object = parse_object(res, "reading the directory");
  directory_ = {text_of(object, "newNonce"), text_of(object, "newAccount"),
                text_of(object, "newOrder")};
  if (directory_.new_nonce.empty() || directory_.new_account.empty() ||
      directory_.new_order.empty()) {
    throw acme_error("reading the directory: " + directory_url_ +
                     " is not an ACME directory (no newNonce, newAccount or newOrder)");
  }
  for (const auto* url : {&directory_.new_nonce, &directory_.new_account, &directory_.new_order}) {
    require_same_origin(*url, "reading the directory");
  }
}

// Every URL the CA hands out stays on the directory's origin (Let's Encrypt's, ZeroSSL's and
// Pebble's all do): a directory that sent the client elsewhere could make the server connect to
// hosts and ports of its choosing, behind whatever firewall the server sits.
void client::require_same_origin(const std::string& url, std::string_view step) const {
  const auto origin = origin_of(url);
  if (origin.empty() || origin != origin_of(directory_url_)) {
    throw acme_error(std::string(step) + ": the CA sent the client to " +
                     (origin.empty() ? "\"" + url + "\"" : origin) +
                     ", away from the directory's " + origin_of(directory_url_));
  }
}

std::string client::nonce() {
  if (!nonce_.empty()) {
    return std::exchange(nonce_, {});
  }
  const auto res = net_.exchange("HEAD", directory_.new_nonce, "", "");
  if (res.replay_nonce.empty()) {
    fail_with(res, "getting a nonce");
  }
  return res.replay_nonce;
}

http_response client::post(const std::string& url, const std::string& payload,
                           std::string_view step) {
  require_same_origin(url, step);
  for (int attempt = 0;; ++attempt) {
    json::object header;
    header["alg"] = "ES256";
    if (account_url_.empty()) {
      header["jwk"] = json::parse(key_.jwk());
    } else {
      header["kid"] = account_url_;
    }
    header["nonce"] = nonce();
    header["url"] = url;
    auto res = net_.exchange("POST", url, key_.sign(json::serialize(header), payload), jose);
    nonce_ = res.replay_nonce;
    if (res.status >= first_error_status && attempt < bad_nonce_retries &&
        problem_type(res) == "urn:ietf:params:acme:error:badNonce") {
      continue;
    }
    if (res.status >= first_error_status) {
      fail_with(res, step);
    }
    return res;
  }
}

void client::ensure_account(const std::string& email) {
  json::object payload;
  payload["termsOfServiceAgreed"] = true;
  if (!email.empty()) {
    payload["contact"] = json::array{json::value("mailto:" + email)};
  }
  const auto res = post(directory_.new_account, json::serialize(payload), "creating the account");
  if ((res.status != http_ok && res.status != http_created) || res.location.empty()) {
    fail_with(res, "creating the account");
  }
  account_url_ = res.location;
}

std::string client::poll(const std::string& url, const std::vector<std::string_view>& pending,
                         std::string_view step) {
  for (int round = 0; round < max_polls; ++round) {
    const auto res = post(url, "", step);
    const auto status = text_of(parse_object(res, step), "status");
    if (std::find(pending.begin(), pending.end(), status) == pending.end()) {
      return res.body;
    }
    if (!wait_(retry_after(res))) {
      throw acme_error(std::string(step) + ": stopped while waiting for the CA");
    }
  }
  throw acme_error(std::string(step) + ": the CA did not finish in " + std::to_string(max_polls) +
                   " polls");
}

std::string client::authorize(const std::string& authorization_url, const certificate_order& order,
                              const challenge_responder& responder) {
  const std::string step = "authorizing";
  const auto res = post(authorization_url, "", step);
  const auto authorization = parse_object(res, step);
  const auto status = text_of(authorization, "status");
  std::string host;
  if (const auto* identifier = authorization.if_contains("identifier");
      identifier != nullptr && identifier->is_object()) {
    host = text_of(identifier->as_object(), "value");
  }
  host = ascii_lower(host);
  // Only the names we ordered (in lower case, as the config keeps them): a CA that asked for
  // others would have the server answer for them.
  if (std::find(order.hosts.begin(), order.hosts.end(), host) == order.hosts.end()) {
    throw acme_error(step + ": the CA asks to authorize \"" + host + "\", which was not ordered");
  }
  if (status == "valid") {
    return host;  // validated recently, for this account: reused
  }
  const auto* challenges = authorization.if_contains("challenges");
  std::string token;
  std::string challenge_url;
  if (challenges != nullptr && challenges->is_array()) {
    for (const auto& challenge : challenges->as_array()) {
      if (challenge.is_object() && text_of(challenge.as_object(), "type") == order.challenge) {
        token = text_of(challenge.as_object(), "token");
        challenge_url = text_of(challenge.as_object(), "url");
      }
    }
  }
  if (status != "pending" || token.empty() || challenge_url.empty()) {
    throw acme_error(step + " " + host + ": the authorization is " + status + " and offers no " +
                     order.challenge + " challenge");
  }
  const challenge_answer answer{host, token, token + "." + key_.thumbprint()};
  responder.publish(answer);
  struct withdraw_at_exit {
    withdraw_at_exit(const challenge_responder& r, const challenge_answer& a)
        : responder(r), answer(a) {}
    const challenge_responder& responder;
    const challenge_answer& answer;
    ~withdraw_at_exit() { responder.withdraw(answer); }
    withdraw_at_exit(const withdraw_at_exit&) = delete;
    withdraw_at_exit& operator=(const withdraw_at_exit&) = delete;
  } withdraw{responder, answer};
  post(challenge_url, "{}", step + " " + host);
  const auto final_state =
      parse_object(poll(authorization_url, {"pending", "processing"}, step + " " + host), step);
  if (text_of(final_state, "status") != "valid") {
    std::string why;
    if (const auto* list = final_state.if_contains("challenges"); list && list->is_array()) {
      for (const auto& challenge : list->as_array()) {
        if (const auto* error =
                challenge.is_object() ? challenge.as_object().if_contains("error") : nullptr;
            error != nullptr && error->is_object()) {
          why = ": " + text_of(error->as_object(), "detail");
        }
      }
    }
    throw acme_error(step + " " + host + ": the CA could not validate it" + why);
  }
  return host;
}

issued_certificate client::obtain(const certificate_order& order,
                                  const challenge_responder& responder) {
  load_directory();
  ensure_account(order.email);

  json::array identifiers;
  for (const auto& host : order.hosts) {
    identifiers.push_back(
        json::object{{"type", is_ip_address(host) ? "ip" : "dns"}, {"value", host}});
  }
  const auto created =
      post(directory_.new_order, json::serialize(json::object{{"identifiers", identifiers}}),
           "placing the order");
  if (created.status != http_created || created.location.empty()) {
    fail_with(created, "placing the order");
  }
  const std::string order_url = created.location;
  const auto placed = parse_object(created, "placing the order");
  if (const auto* authorizations = placed.if_contains("authorizations");
      authorizations != nullptr && authorizations->is_array()) {
    // One per ordered name (RFC 8555 §7.1.3); more is not an order we placed.
    if (authorizations->as_array().size() > order.hosts.size()) {
      throw acme_error("placing the order: the CA asks for " +
                       std::to_string(authorizations->as_array().size()) + " authorizations for " +
                       std::to_string(order.hosts.size()) + " names");
    }
    std::vector<std::string> authorized;
    for (const auto& url : authorizations->as_array()) {
      if (url.is_string()) {
        auto host = authorize(std::string(url.as_string()), order, responder);
        if (std::find(authorized.begin(), authorized.end(), host) != authorized.end()) {
          throw acme_error("placing the order: the CA asks to authorize " + host + " twice");
        }
        authorized.push_back(std::move(host));
      }
    }
  }
  const auto finalize_url = text_of(placed, "finalize");
  const auto ready =
      parse_object(poll(order_url, {"pending"}, "waiting for the order"), "waiting for the order");
  if (text_of(ready, "status") != "ready" || finalize_url.empty()) {
    throw acme_error("waiting for the order: it is " + text_of(ready, "status") +
                     ", not ready to finalize");
  }

  auto request = make_csr(order.hosts);
  post(finalize_url, json::serialize(json::object{{"csr", base64url(request.csr_der)}}),
       "finalizing the order");
  const auto done =
      parse_object(poll(order_url, {"ready", "processing"}, "waiting for the certificate"),
                   "waiting for the certificate");
  const auto certificate_url = text_of(done, "certificate");
  if (text_of(done, "status") != "valid" || certificate_url.empty()) {
    throw acme_error("waiting for the certificate: the order is " + text_of(done, "status"));
  }
  auto chain = post(certificate_url, "", "downloading the certificate");
  if (chain.body.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    throw acme_error("downloading the certificate: the CA's reply holds no PEM certificate");
  }
  return {std::move(request.key_pem), std::move(chain.body)};
}

}  // namespace hush::acme
