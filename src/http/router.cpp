#include "http/router.hpp"

#include <array>
#include <charconv>
#include <optional>

#include "auth/sessions.hpp"
#include "auth/tokens.hpp"
#include "club/club.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/secret.hpp"
#include "http/observe.hpp"
#include "http/response.hpp"
#include "web/assets.hpp"

namespace hush::http {
namespace {

enum class resource {
  root,
  messages,
  message,
  session,
  members,
  member,
  member_password,
  message_reads,
  none
};

// In resource order, then the public files.
constexpr std::array<route_spec, 11> routes = {{
    {"/", "GET, HEAD"},
    {"/api/v1/messages", "GET, HEAD, POST"},
    {"/api/v1/messages/{id}", "GET, HEAD, DELETE"},
    {"/api/v1/session", "GET, HEAD, POST, DELETE"},
    {"/api/v1/members", "GET, HEAD, POST"},
    {"/api/v1/members/{name}", "DELETE"},
    {"/api/v1/members/{name}/password", "PUT"},
    {"/api/v1/messages/{id}/reads", "GET, HEAD"},
    {"/healthz", "GET, HEAD"},
    {"/ca.crl", "GET, HEAD"},
    {"/ca.pem", "GET, HEAD"},
}};
constexpr std::string_view public_file_allow = "GET, HEAD";
static_assert(routes[8].allow == public_file_allow && routes[9].allow == public_file_allow &&
              routes[10].allow == public_file_allow);

// "/api/v1/messages/42" -> 42 (and with suffix "/reads", "/api/v1/messages/42/reads" -> 42).
// Digits only: no signs, no encoded characters, nothing after but the suffix.
std::optional<store::message_id> message_id_in(std::string_view path,
                                               std::string_view suffix = {}) {
  constexpr std::string_view prefix = "/api/v1/messages/";
  constexpr std::size_t max_digits = 18;
  if (path.substr(0, prefix.size()) != prefix || path.size() < prefix.size() + suffix.size() ||
      path.substr(path.size() - suffix.size()) != suffix) {
    return std::nullopt;
  }
  const auto digits = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > max_digits || digits.front() == '0' ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  std::int64_t value = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return store::message_id{value};
}

// "/api/v1/members/alice" + suffix "" -> "alice" (and with suffix "/password",
// "/api/v1/members/alice/password" -> "alice"); a valid member name or nothing, so nothing
// encoded or nested can reach the handler.
std::optional<std::string_view> member_name_in(std::string_view path,
                                               std::string_view suffix = {}) {
  constexpr std::string_view prefix = "/api/v1/members/";
  if (path.substr(0, prefix.size()) != prefix || path.size() < prefix.size() + suffix.size() ||
      path.substr(path.size() - suffix.size()) != suffix) {
    return std::nullopt;
  }
  const auto name = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (!club::valid_member_name(name)) {
    return std::nullopt;
  }
  return name;
}

route_name route_of(resource r) {
  switch (r) {
    case resource::root:
      return route_name::root;
    case resource::messages:
      return route_name::messages;
    case resource::message:
      return route_name::message;
    case resource::session:
      return route_name::session;
    case resource::members:
      return route_name::members;
    case resource::member:
      return route_name::member;
    case resource::member_password:
      return route_name::member_password;
    case resource::message_reads:
      return route_name::message_reads;
    case resource::none:
      break;
  }
  return route_name::other;
}

struct route_entry {
  std::string_view allow;
  bool get = false;
  bool post = false;
  bool put = false;
  bool delete_ = false;
};

route_entry methods_of(resource r) {
  if (r == resource::none) {
    return {};
  }
  const auto allow = routes.at(static_cast<std::size_t>(r)).allow;
  const auto lists = [allow](std::string_view method) {
    return allow.find(method) != std::string_view::npos;
  };
  return {allow, lists("GET"), lists("POST"), lists("PUT"), lists("DELETE")};
}

// HEAD is answered wherever GET is, with GET's headers and no body.
bool allows(const route_entry& e, verb method) {
  return ((method == verb::get || method == verb::head) && e.get) ||
         (method == verb::post && e.post) || (method == verb::put && e.put) ||
         (method == verb::delete_ && e.delete_);
}

bool changes_state(verb method) {
  return method != verb::get && method != verb::head && method != verb::options;
}

response with_allow(response res, std::string_view allow) {
  res.set(field::allow, allow);
  return res;
}

response options_response(const request& req, std::string_view allow) {
  auto res = no_content_response(req);
  res.set(field::allow, allow);
  return res;
}

// A browser navigating to the club gets the members' page; curl and scripts, which do not ask
// for HTML, get the newest message as before.
bool wants_page(const request& req) {
  return req.find(field::authorization) == req.end() &&
         req[field::accept].find("text/html") != std::string_view::npos;
}

// A state-changing request that a browser says came from another site, or from a page of
// another origin, is refused whatever credentials it carries: a browser may attach a cached
// Basic login to it, and a cookie is only one of the ways in. Clients that are not browsers send
// neither header.
bool from_another_origin(const request& req) {
  const auto site = req["Sec-Fetch-Site"];
  if (site == "cross-site" || site == "same-site") {
    return true;
  }
  const auto origin = req[field::origin];
  if (origin.empty()) {
    return false;
  }
  const auto host = req[field::host];
  constexpr std::string_view scheme = "https://";
  return host.empty() || origin.size() != scheme.size() + host.size() ||
         origin.substr(0, scheme.size()) != scheme || origin.substr(scheme.size()) != host;
}

// Fetch-metadata resource isolation (https://web.dev/articles/fetch-metadata): a browser says
// where a request comes from, and another site's page can make a member's browser send one with
// a client certificate or a cached Basic login, which would be served, and audited as the
// member's read, even though that page cannot see the answer. A sibling subdomain ("same-site")
// is no better: the club's page is served from its own origin only. Allowed: no header (curl,
// scripts, old browsers), the club's own page ("same-origin"), the member's own doing ("none":
// the address bar, a bookmark), and a top-level navigation to the page itself, which is how a
// link to the club is followed.
bool isolated_from(const request& req, std::string_view path) {
  const auto site = req["Sec-Fetch-Site"];
  if (req.find("Sec-Fetch-Site") == req.end() || site == "same-origin" || site == "none") {
    return false;
  }
  const auto dest = req["Sec-Fetch-Dest"];
  const bool navigation_to_page = (req.method() == verb::get || req.method() == verb::head) &&
                                  req["Sec-Fetch-Mode"] == "navigate" &&
                                  (dest.empty() || dest == "document") && path == "/";
  return !navigation_to_page;
}

// A browser's own fetch() gets no Basic challenge: the page shows its own login form instead of
// the browser's password dialog.
response unauthorized_for(const request& req, api_error error) {
  auto res = error_response(error, req);
  const auto mode = req["Sec-Fetch-Mode"];
  if (!mode.empty() && mode != "navigate") {
    res.erase(field::www_authenticate);
  }
  return res;
}

// What the router matched, kept for the handler: the path, the resource and what the path names.
struct request_route {
  target t;
  resource r = resource::none;
  std::optional<store::message_id> id;
  std::optional<std::string_view> name;
  std::optional<std::string_view> session_token;
};

outcome serve_member(services& s, const request& req, const request_context& ctx,
                     const request_route& m, const auth::member& who) {
  // After authentication, so that one member's flood never slows another member down. Once per
  // request: a read answered from memory and then overtaken by a change has paid already.
  const bool paid = ctx.note != nullptr && ctx.note->allowance_spent;
  if (const auto wait = paid ? std::nullopt : s.auth.over_request_rate(who)) {
    note_rate_limited(ctx.remote, who.name(), *wait);
    return error_response(api_error::too_many_requests, req, *wait);
  }
  const bool get = req.method() == verb::get || req.method() == verb::head;
  switch (m.r) {
    case resource::root:
      return handlers::newest_text(req, m.t, ctx, s, who);
    case resource::messages:
      return get ? handlers::list_messages(req, m.t, s, who) : handlers::post_message(req, s, who);
    case resource::message:
      return get ? handlers::get_message(req, m.t, ctx, s, who, *m.id)
                 : handlers::delete_message(req, s, who, *m.id);
    case resource::session:
      return get ? handlers::whoami(req, s, who, m.session_token)
                 : handlers::log_out(req, s, m.session_token);
    case resource::members:
      return get ? handlers::list_members(req, s, who) : handlers::add_member(req, s, who);
    case resource::member:
      return handlers::remove_member(req, s, who, *m.name);
    case resource::member_password:
      return handlers::change_password(req, ctx, s, who, *m.name, m.session_token);
    case resource::message_reads:
      return handlers::message_reads(req, s, who, *m.id);
    case resource::none:
      break;
  }
  return error_response(api_error::not_found, req);
}

// The answer to a credential that proved nobody, and its warn line for the log (and fail2ban).
reply refusal(const request& req, const request_context& ctx, auth_method method,
              const auth::auth_failure& failure) {
  if (failure.error == errc::unauthorized) {
    note_auth_failure(ctx.remote, method, failure.tried);
    return unauthorized_for(req, api_error::unauthorized);
  }
  if (failure.error == errc::expired) {
    return unauthorized_for(req, api_error::session_expired);
  }
  if (failure.error == errc::throttled) {
    note_throttled(ctx.remote, method, failure.tried, failure.retry_after);
    return error_response(api_error::too_many_requests, req, failure.retry_after);
  }
  log::error("authentication: " + failure.error.message());
  return error_response(to_api_error(failure.error), req);
}

void note_route(const request_context& ctx, route_name r) {
  if (ctx.note != nullptr) {
    ctx.note->route = r;
  }
}

void note_member(const request_context& ctx, const auth::member& who) {
  if (ctx.note != nullptr) {
    ctx.note->member = who.name();
  }
}

// GET or HEAD /healthz: whether the store answers, and nothing else, for a load balancer or a
// supervisor; no login, no audit.
response health_response(services& s, const request& req) {
  const bool healthy = static_cast<bool>(s.club.check_store());
  response res{healthy ? status::ok : status::service_unavailable, req.version()};
  res.set(field::content_type, "text/plain; charset=utf-8");
  res.set(field::cache_control, "no-store");
  res.body() = healthy ? "ok\n" : "unavailable\n";
  res.keep_alive(req.keep_alive());
  apply_security_headers(res);
  res.prepare_payload();
  return res;
}

}  // namespace

std::span<const route_spec> route_table() {
  return routes;
}

outcome router::route(const request& req, const request_context& ctx) {
  // Only origin-form targets ("/path?query"): an absolute URI or CONNECT's authority-form is not
  // for this server.
  if (req.target().empty() || req.target().front() != '/') {
    return error_response(api_error::bad_request, req);
  }
  const auto t = split_target(req.target());
  const bool get_or_head = req.method() == verb::get || req.method() == verb::head;
  // Before anything else, public files included: nothing is looked up, authenticated, counted or
  // audited for a request the member's browser was made to send.
  if (isolated_from(req, t.path)) {
    note_cross_origin(ctx.remote, {}, "fetch-metadata");
    return error_response(api_error::cross_origin, req);
  }
  if (t.path == "/healthz") {
    note_route(ctx, route_name::healthz);
    if (!get_or_head) {
      return with_allow(error_response(api_error::method_not_allowed, req), public_file_allow);
    }
    return health_response(services_, req);
  }
  // Public by design: a CRL is for anyone who checks a certificate, the CA certificate is what a
  // member imports before they can trust the page at all, and the page and its files hold no
  // secret (everything a member sees comes through the API after login).
  const bool crl_path = services_.crl != nullptr && t.path == "/ca.crl";
  const bool ca_path = services_.ca_cert != nullptr && t.path == "/ca.pem";
  if (const auto published = crl_path  ? services_.crl->get()
                             : ca_path ? services_.ca_cert->get()
                                       : nullptr;
      published && !published->empty()) {
    note_route(ctx, crl_path ? route_name::crl : route_name::ca_cert);
    if (!get_or_head) {
      return with_allow(error_response(api_error::method_not_allowed, req), public_file_allow);
    }
    response res{status::ok, req.version()};
    // application/x-x509-ca-cert: Firefox offers to import it as a CA, Android to install it.
    res.set(field::content_type, crl_path ? "application/pkix-crl" : "application/x-x509-ca-cert");
    res.body() = *published;
    res.keep_alive(req.keep_alive());
    apply_security_headers(res);
    res.prepare_payload();
    return res;
  }
  if (const auto* file = web::find_asset(t.path);
      file != nullptr && (t.path != "/" || wants_page(req))) {
    note_route(ctx, route_name::page);
    if (!get_or_head) {
      return with_allow(error_response(api_error::method_not_allowed, req), public_file_allow);
    }
    return page_response(file->content_type, file->body, req);
  }

  std::optional<store::message_id> id;
  std::optional<std::string_view> name;
  resource r = resource::none;
  if (t.path == "/") {
    r = resource::root;
  } else if (t.path == "/api/v1/messages") {
    r = resource::messages;
  } else if (t.path == "/api/v1/session") {
    r = resource::session;
  } else if (t.path == "/api/v1/members") {
    r = resource::members;
  } else if ((id = message_id_in(t.path))) {
    r = resource::message;
  } else if ((name = member_name_in(t.path))) {
    r = resource::member;
  } else if ((name = member_name_in(t.path, "/password"))) {
    r = resource::member_password;
  } else if ((id = message_id_in(t.path, "/reads"))) {
    r = resource::message_reads;
  }

  if (r == resource::none) {
    return error_response(api_error::not_found, req);
  }
  note_route(ctx, route_of(r));
  const auto methods = methods_of(r);
  // No CORS headers: OPTIONS tells what the resource allows and grants no other origin anything.
  if (req.method() == verb::options) {
    return options_response(req, methods.allow);
  }
  if (!allows(methods, req.method())) {
    return with_allow(error_response(api_error::method_not_allowed, req), methods.allow);
  }
  if (changes_state(req.method()) && from_another_origin(req)) {
    note_cross_origin(ctx.remote, {}, "origin");
    return error_response(api_error::cross_origin, req);
  }
  // Logging in is the one route that takes a password instead of a proof of one.
  if (r == resource::session && req.method() == verb::post) {
    if (ctx.note != nullptr) {
      ctx.note->method = auth_method::password;
    }
    return handlers::log_in(req, ctx, services_);
  }

  // Every other route is for members only: authenticate before anything else is looked at. An
  // explicit Authorization header comes first, then the browser's session, then a client
  // certificate.
  auth::auth_failure failure;
  std::optional<auth::member> who;
  std::optional<std::string_view> session_token;
  auto method = auth_method::none;
  if (const auto header = req.find(field::authorization); header != req.end()) {
    method = auth::parse_bearer(header->value()) ? auth_method::token : auth_method::password;
    who =
        services_.auth.authenticate(header->value(), ctx.remote, auth::hashing::deferred, failure);
  } else if ((session_token = auth::session_from_cookies(req[field::cookie]))) {
    method = auth_method::session;
    who = services_.auth.authenticate_session(*session_token, ctx.remote,
                                              handlers::session_limits_of(services_.cfg), failure);
    // A cookie rides along with any request the browser makes, so a state change must also
    // prove it came from the club's page: the page alone can read the session's CSRF token.
    if (who && changes_state(req.method()) &&
        (req[field::origin].empty() || !auth::csrf_matches(*session_token, req["X-CSRF-Token"]))) {
      if (ctx.note != nullptr) {
        ctx.note->method = method;
      }
      note_cross_origin(ctx.remote, who->name(), "csrf");
      return error_response(api_error::cross_origin, req);
    }
  } else if (!ctx.client_cert_serial.empty()) {
    method = auth_method::certificate;
    who = services_.auth.authenticate_certificate(ctx.client_cert_serial, ctx.client_cert_name,
                                                  failure);
  } else {
    failure.error = make_error_code(errc::unauthorized);
  }
  const request_route matched{t, r, id, name, session_token};
  if (ctx.note != nullptr) {
    ctx.note->method = method;
  }
  if (!who && failure.error == errc::needs_hashing) {
    // A password to verify: everything above is decided; the hash and the rest run on the
    // hashing pool.
    return needs_hashing{[this, &req, &ctx, matched, pending = std::move(failure.pending)] {
      auth::auth_failure verified;
      const auto checked = services_.auth.finish(*pending, verified);
      if (!checked) {
        return refusal(req, ctx, auth_method::password, verified);
      }
      note_member(ctx, *checked);
      auto answer = serve_member(services_, req, ctx, matched, *checked);
      // Already on the hashing pool: a handler's own hashing runs here too.
      if (auto* more = std::get_if<needs_hashing>(&answer)) {
        return more->resume();
      }
      return std::get<reply>(std::move(answer));
    }};
  }
  if (!who) {
    return refusal(req, ctx, method, failure);
  }
  note_member(ctx, *who);
  return serve_member(services_, req, ctx, matched, *who);
}

std::optional<reply> router::serve_from_view(const request& req, const request_context& ctx) {
  if (services_.views == nullptr || (req.method() != verb::get && req.method() != verb::head) ||
      req.target().empty() || req.target().front() != '/') {
    return std::nullopt;
  }
  const auto t = split_target(req.target());
  // A browser's request (fetch metadata) or one without credentials takes the full path, which
  // decides isolation and the page.
  const auto header = req.find(field::authorization);
  if (t.path != "/" || header == req.end() || req.find("Sec-Fetch-Site") != req.end()) {
    return std::nullopt;
  }
  const auto view = services_.views->current();
  if (!view) {
    return std::nullopt;
  }
  const auto who = services_.auth.authenticate_from(*view, header->value(), ctx.remote);
  if (!who) {
    return std::nullopt;
  }
  auto answer = handlers::newest_text_from(req, t, ctx, services_, *who, *view);
  if (!answer) {
    return std::nullopt;
  }
  // Spent last, only for an answer that will be given: a request left to route() pays there.
  if (services_.auth.over_request_rate(*who)) {
    secure_zero(answer->res.body().data(), answer->res.body().size());
    return std::nullopt;  // route() answers the 429, and logs it
  }
  if (ctx.note != nullptr) {
    ctx.note->route = route_name::root;
    ctx.note->method =
        auth::parse_bearer(header->value()) ? auth_method::token : auth_method::password;
    ctx.note->member = who->name();
    ctx.note->allowance_spent = true;
  }
  return answer;
}

response router::handle(const request& req, const request_context& ctx) {
  auto routed = route(req, ctx);
  auto answer = std::holds_alternative<reply>(routed) ? std::get<reply>(std::move(routed))
                                                      : std::get<needs_hashing>(routed).resume();
  if (answer.audit) {
    if (auto audited = services_.club.commit_read_now(std::move(*answer.audit)); !audited) {
      log::error("audit: " + audited.error().message());
      secure_zero(answer.res.body().data(), answer.res.body().size());
      return error_response(to_api_error(audited.error()), req);
    }
  }
  return std::move(answer.res);
}

}  // namespace hush::http
