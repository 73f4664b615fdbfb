#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "crypto/random.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
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

}  // namespace hush::http::handlers
