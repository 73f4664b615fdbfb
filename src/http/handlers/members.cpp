#include <memory>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "crypto/random.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/observe.hpp"
#include "http/response.hpp"

namespace hush::http::handlers {

response list_members(const request& req, services& s, const auth::member& who) {
  if (who.role() != store::role::admin) {
    return error_response(api_error::forbidden, req);
  }
  auto all = s.club.list_members();
  if (!all) {
    return detail::fail(all.error(), req, "GET /api/v1/members");
  }
  boost::json::array items;
  for (const auto& m : *all) {
    items.push_back({{"name", m.name},
                     {"role", store::to_string(m.member_role)},
                     {"created", format_utc(m.created_at)}});
  }
  return json_response(status::ok, {{"members", std::move(items)}}, req);
}

outcome add_member(const request& req, services& s, const auth::member& who) {
  if (who.role() != store::role::admin) {
    return error_response(api_error::forbidden, req);
  }
  auto parsed = detail::read_json_object(req, s);
  if (parsed.error) {
    return std::move(*parsed.error);
  }
  if (auto other = detail::only_keys(*parsed.object, {"name", "role"}); !other.empty()) {
    return error_response(api_error::bad_request, req, other);
  }
  const auto name = detail::string_member(*parsed.object, "name");
  const auto role_name = detail::string_member(*parsed.object, "role");
  if (!name || !club::valid_member_name(*name)) {
    return error_response(api_error::bad_request, req,
                          "\"name\" must be a string of 1 to 64 of the characters A-Z a-z 0-9 "
                          ". _ -");
  }
  store::role r{};
  if (!role_name || !store::parse_role(*role_name, r)) {
    return error_response(api_error::bad_request, req,
                          "\"role\" must be \"reader\", \"poster\" or \"admin\"");
  }
  // Hashing the new password is Argon2id work: it belongs on the hashing pool.
  return needs_hashing{[&req, &s, admin = who.name(), name = std::string(*name), r]() -> reply {
    const auto password = crypto::random_password();
    if (auto added = s.club.add_member(name, r, password.view()); !added) {
      return detail::fail(added.error(), req, "POST /api/v1/members");
    }
    log::info("member " + name + " added by " + admin);
    auto res = json_response(
        status::created,
        {{"name", name}, {"role", store::to_string(r)}, {"password", password.view()}}, req);
    res.set(field::location, "/api/v1/members/" + name);
    return res;
  }};
}

response remove_member(const request& req, services& s, const auth::member& who,
                       std::string_view name) {
  if (who.role() != store::role::admin) {
    return error_response(api_error::forbidden, req);
  }
  // The member is gone even when the revocation list could not be rewritten (the log says why):
  // the server refuses their certificates by the store's record, at once.
  if (auto removed = s.club.remove_member(name, who.name());
      !removed && removed.error() != errc::not_published) {
    return detail::fail(removed.error(), req, "DELETE /api/v1/members/{name}");
  }
  log::info("member " + std::string(name) + " removed by " + who.name());
  return no_content_response(req);
}

namespace {

// The answer to a current password that did not prove the member: 403, not 401, since the
// request itself did prove them (a 401 would read as a lost session); the throttle counted it.
reply current_password_refused(const request& req, const request_context& ctx,
                               const auth::auth_failure& failure) {
  if (failure.error == errc::throttled) {
    note_throttled(ctx.remote, auth_method::password, failure.tried, failure.retry_after);
    return error_response(api_error::too_many_requests, req, failure.retry_after);
  }
  if (failure.error == errc::unauthorized) {
    note_auth_failure(ctx.remote, auth_method::password, failure.tried);
    return error_response(api_error::forbidden, req,
                          "\"current_password\" is not the member's password");
  }
  return detail::fail(failure.error, req, "PUT /api/v1/members/{name}/password");
}

}  // namespace

outcome change_password(const request& req, const request_context& ctx, services& s,
                        const auth::member& who, std::string_view name,
                        std::optional<std::string_view> session_token) {
  // One's own only: an admin resets another member's password with hush member passwd.
  if (name != who.name()) {
    return error_response(api_error::forbidden, req);
  }
  auto parsed = detail::read_json_object(req, s);
  if (parsed.error) {
    return std::move(*parsed.error);
  }
  if (auto other = detail::only_keys(*parsed.object, {"current_password", "new_password"});
      !other.empty()) {
    return error_response(api_error::bad_request, req, other);
  }
  const auto current = detail::string_member(*parsed.object, "current_password");
  const auto fresh = detail::string_member(*parsed.object, "new_password");
  if (!current || !fresh) {
    return error_response(api_error::bad_request, req,
                          "\"current_password\" and \"new_password\" must both be strings");
  }
  // The rule hush member passwd applies (club::set_password enforces it too).
  if (!club::valid_password_size(*fresh)) {
    return error_response(api_error::bad_request, req,
                          "\"new_password\" must be " + std::to_string(club::min_password_size) +
                              " to " + std::to_string(club::max_password_size) + " bytes long");
  }
  // No password is that long: refused as a wrong one, before it costs a hash (as a login does).
  if (current->size() > club::max_password_size) {
    return current_password_refused(req, ctx,
                                    {make_error_code(errc::unauthorized), {}, {}, who.name()});
  }
  // The same door as a login: the throttle first, then the verified-credential cache, then
  // Argon2id, so that a stolen session cannot guess the password here any faster than at login.
  auth::auth_failure failure;
  auto checked = s.auth.authenticate_password(who.name(), *current, ctx.remote,
                                              auth::hashing::deferred, failure);
  if (!checked && failure.error != errc::needs_hashing) {
    return current_password_refused(req, ctx, failure);
  }
  // Hashing the new password is Argon2id work, whether or not the current one needed a run.
  auto new_password = std::make_shared<secret_string>(*fresh);
  return needs_hashing{[&req, &ctx, &s, session_token, checked, new_password,
                        pending = std::move(failure.pending)]() -> reply {
    auto verified = checked;
    auth::auth_failure why;
    if (!verified) {
      verified = s.auth.finish(*pending, why);
    }
    if (!verified) {
      return current_password_refused(req, ctx, why);
    }
    // A browser's session ends with every other one and a new one replaces it: a cookie stolen
    // before the change must not outlive it.
    const auto limits = session_limits_of(s.cfg);
    auto changed =
        s.club.change_password(verified->name(), verified->verified_hash(), new_password->view(),
                               session_token ? std::optional(limits) : std::nullopt);
    if (!changed) {
      if (changed.error() == errc::conflict) {
        log::info("password change by " + verified->name() +
                  " refused: the password changed meanwhile");
      }
      return detail::fail(changed.error(), req, "PUT /api/v1/members/{name}/password");
    }
    note_password_changed(ctx.remote, ctx.note != nullptr ? ctx.note->method : auth_method::none,
                          verified->name(), changed->has_value());
    if (!*changed) {
      return no_content_response(req);
    }
    return detail::session_started(req, {}, (*changed)->view(), limits);
  }};
}

}  // namespace hush::http::handlers
