#include "auth/sessions.hpp"
#include "club/club.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/observe.hpp"
#include "http/response.hpp"

namespace hush::http::handlers {
namespace {

// Who is logged in, and the club's name: only a member learns it (club.name).
boost::json::object member_json(std::string_view name, store::role r, const config::config& cfg) {
  return {{"name", name}, {"role", store::to_string(r)}, {"club", cfg.club_name}};
}

// The login form's own 401: no Basic challenge, which would open the browser's password dialog.
response wrong_credentials(const request& req) {
  auto res = error_response(api_error::unauthorized, req);
  res.erase(field::www_authenticate);
  return res;
}

}  // namespace

store::session_limits session_limits_of(const config::config& cfg) noexcept {
  return {cfg.session_idle.count(), cfg.session_absolute.count(),
          static_cast<std::int64_t>(cfg.max_sessions_per_member)};
}

namespace {

// The end of a login, once the password check is done (at once, or on the hashing pool).
reply finish_log_in(const request& req, const request_context& ctx, services& s,
                    const std::optional<auth::member>& who, const auth::auth_failure& failure) {
  if (!who) {
    if (failure.error == errc::throttled) {
      note_throttled(ctx.remote, auth_method::password, failure.tried, failure.retry_after);
      return error_response(api_error::too_many_requests, req, failure.retry_after);
    }
    if (failure.error == errc::unauthorized) {
      note_auth_failure(ctx.remote, auth_method::password, failure.tried);
      return wrong_credentials(req);
    }
    return detail::fail(failure.error, req, "POST /api/v1/session");
  }
  // A login over a live session ends that one: on a shared browser, the previous member's
  // session must not linger on the server.
  if (const auto previous = auth::session_from_cookies(req[field::cookie])) {
    [[maybe_unused]] auto ended = s.club.end_session(*previous);
  }
  const auto limits = session_limits_of(s.cfg);
  auto token = s.club.start_session(who->name(), who->verified_hash(), limits);
  if (!token) {
    // The password was the member's when it was checked, and a change replaced it before the
    // session could be added: it proves nobody now, so the answer is a wrong password's.
    if (token.error() == errc::conflict) {
      note_auth_failure(ctx.remote, auth_method::password, who->name());
      return wrong_credentials(req);
    }
    return detail::fail(token.error(), req, "POST /api/v1/session");
  }
  if (ctx.note != nullptr) {
    ctx.note->member = who->name();
  }
  auto res = detail::session_started(req, member_json(who->name(), who->role(), s.cfg),
                                     token->view(), limits);
  log::info("session started for " + who->name() + " from " + ctx.remote);
  return res;
}

}  // namespace

outcome log_in(const request& req, const request_context& ctx, services& s) {
  auto parsed = detail::read_json_object(req, s);
  if (parsed.error) {
    return std::move(*parsed.error);
  }
  const auto name = detail::string_member(*parsed.object, "name");
  const auto password = detail::string_member(*parsed.object, "password");
  if (auto other = detail::only_keys(*parsed.object, {"name", "password"}); !other.empty()) {
    return error_response(api_error::bad_request, req, other);
  }
  if (!name || !password) {
    return error_response(api_error::bad_request, req,
                          "\"name\" and \"password\" must both be strings");
  }
  // A name no member can have is refused before it becomes a throttle key (the syntax of names
  // is public, so this tells nobody anything).
  if (!club::valid_member_name(*name) || password->size() > club::max_password_size) {
    note_auth_failure(ctx.remote, auth_method::password, {});  // not a name: never logged
    return wrong_credentials(req);
  }
  // The same door as HTTP Basic: throttle first, then the verified-credential cache, then
  // Argon2id, with the same answer for an unknown member and a wrong password.
  auth::auth_failure failure;
  const auto who =
      s.auth.authenticate_password(*name, *password, ctx.remote, auth::hashing::deferred, failure);
  if (!who && failure.error == errc::needs_hashing) {
    return needs_hashing{[&req, &ctx, &s, pending = std::move(failure.pending)] {
      auth::auth_failure verified;
      const auto checked = s.auth.finish(*pending, verified);
      return finish_log_in(req, ctx, s, checked, verified);
    }};
  }
  return finish_log_in(req, ctx, s, who, failure);
}

response whoami(const request& req, const services& s, const auth::member& who,
                std::optional<std::string_view> session_token) {
  auto body = member_json(who.name(), who.role(), s.cfg);
  if (session_token) {
    body["csrf"] = auth::csrf_token(*session_token);
  }
  return json_response(status::ok, body, req);
}

response log_out(const request& req, services& s, std::optional<std::string_view> session_token) {
  // Basic and Bearer have no session to end; only the cookie's owner can log it out.
  if (!session_token) {
    return error_response(api_error::bad_request, req,
                          "only a browser session (its cookie) can be ended; Basic and Bearer "
                          "credentials have no session");
  }
  if (auto ended = s.club.end_session(*session_token); !ended && ended.error() != errc::not_found) {
    return detail::fail(ended.error(), req, "DELETE /api/v1/session");
  }
  auto res = no_content_response(req);
  res.set(field::set_cookie, auth::cleared_session_cookie());
  return res;
}

}  // namespace hush::http::handlers
