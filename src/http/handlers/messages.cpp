#include <charconv>
#include <optional>

#include <boost/beast/core/string.hpp>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/response.hpp"

namespace hush::http {

target split_target(std::string_view raw) noexcept {
  const auto question = raw.find('?');
  if (question == std::string_view::npos) {
    return {raw, {}};
  }
  return {raw.substr(0, question), raw.substr(question + 1)};
}

namespace handlers {
namespace {

using detail::fail;

// What the log says when a sealed body does not open. A generic 500 for the reader: whether a
// row was altered in the database (body, author, time or format) or the key is wrong is the
// operator's business.
constexpr const char* sealed_body_refused =
    "its sealed body does not open (the row was altered, or the key is wrong)";

std::optional<std::int64_t> parse_positive(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value <= 0) {
    return std::nullopt;
  }
  return value;
}

// Finds `name` in a query string of name=value pairs; values are integers here, so there is
// nothing to percent-decode.
std::optional<std::string_view> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) {
      break;
    }
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

boost::json::object summary_json(store::message_id id, const std::string& author,
                                 std::int64_t created_at, store::message_format format) {
  return {{"id", id.value},
          {"created", format_utc(created_at)},
          {"author", author},
          {"format", store::to_string(format)}};
}

// True if one of the Accept header's media ranges is exactly the Fernet type (parameters, q
// included, are not weighed: a client that names the type wants it).
bool accept_names_fernet(std::string_view accept) {
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    auto range = accept.substr(0, comma);
    range = range.substr(0, range.find(';'));
    const auto first = range.find_first_not_of(" \t");
    const auto last = range.find_last_not_of(" \t");
    if (first != std::string_view::npos &&
        boost::beast::iequals(range.substr(first, last - first + 1), fernet_media_type)) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    accept.remove_prefix(comma + 1);
  }
  return false;
}

enum class wanted { default_format, fernet, invalid };

constexpr std::string_view format_rule =
    "\"format\" must be fernet (or leave it out); Accept: application/vnd.fernet asks the same";

// ?format=fernet or Accept: application/vnd.fernet. Any other format value is a bad request.
wanted wanted_format(const request& req, const target& t) {
  if (const auto format = query_value(t.query, "format")) {
    return *format == "fernet" ? wanted::fernet : wanted::invalid;
  }
  return accept_names_fernet(req[field::accept]) ? wanted::fernet : wanted::default_format;
}

response fernet_response(const club::message& m, const request& req) {
  auto res = text_response(status::ok, std::string(m.body.view()), req);
  res.set(field::content_type, fernet_media_type);
  return res;
}

}  // namespace

std::optional<reply> newest_text_from(const request& req, const target& t,
                                      const request_context& ctx, services& s,
                                      const auth::member& who, const club::read_view& view) {
  const auto want = wanted_format(req, t);
  if (want == wanted::invalid) {
    return std::nullopt;
  }
  auto newest = s.club.read_newest(view, who.name(), ctx.remote);
  if (!newest) {
    return std::nullopt;
  }
  if (newest->format == store::message_format::fernet) {
    return reply{fernet_response(*newest, req), std::move(newest->audit)};
  }
  if (want == wanted::fernet) {
    return std::nullopt;
  }
  return reply{text_response(status::ok, std::string(newest->body.view()), req),
               std::move(newest->audit)};
}

reply newest_text(const request& req, const target& t, const request_context& ctx, services& s,
                  const auth::member& who) {
  const auto want = wanted_format(req, t);
  if (want == wanted::invalid) {
    return error_response(api_error::bad_request, req, format_rule);
  }
  auto newest = s.club.read_newest(who.name(), ctx.remote);
  if (!newest) {
    return fail(newest.error(), req,
                newest.error() == errc::crypto_failure ? sealed_body_refused : "GET /");
  }
  if (newest->format == store::message_format::fernet) {
    return {fernet_response(*newest, req), std::move(newest->audit)};
  }
  // Nothing is shown, so nothing is audited.
  if (want == wanted::fernet) {
    return error_response(api_error::not_acceptable, req);
  }
  return {text_response(status::ok, std::string(newest->body.view()), req),
          std::move(newest->audit)};
}

response list_messages(const request& req, const target& t, services& s) {
  std::size_t limit = s.cfg.page_size;
  if (const auto text = query_value(t.query, "limit")) {
    const auto value = parse_positive(*text);
    if (!value || static_cast<std::size_t>(*value) > s.cfg.max_page_size) {
      return error_response(api_error::bad_request, req,
                            "\"limit\" must be a whole number from 1 to " +
                                std::to_string(s.cfg.max_page_size) + " (api.max_page_size)");
    }
    limit = static_cast<std::size_t>(*value);
  }
  std::optional<store::message_id> before;
  if (const auto text = query_value(t.query, "before")) {
    const auto value = parse_positive(*text);
    if (!value) {
      return error_response(api_error::bad_request, req,
                            "\"before\" must be a message id, a whole number from 1 (the "
                            "\"next_before\" of the page before)");
    }
    before = store::message_id{*value};
  }
  // One more than the page holds: whether there is a next page is then known, so the last page
  // says null even when it is full (a client offers "older" only while there is something).
  auto page = s.club.list(before, limit + 1);
  if (!page) {
    return fail(page.error(), req, "GET /api/v1/messages");
  }
  const bool more = page->size() > limit;
  if (more) {
    page->pop_back();  // the store gives at most limit + 1
  }
  boost::json::array items;
  for (const auto& m : *page) {
    items.push_back(summary_json(m.id, m.author, m.created_at, m.format));
  }
  boost::json::object body{{"messages", std::move(items)}};
  if (more) {
    body["next_before"] = page->back().id.value;
  } else {
    body["next_before"] = nullptr;
  }
  return json_response(status::ok, body, req);
}

reply get_message(const request& req, const target& t, const request_context& ctx, services& s,
                  const auth::member& who, store::message_id id) {
  const auto want = wanted_format(req, t);
  if (want == wanted::invalid) {
    return error_response(api_error::bad_request, req, format_rule);
  }
  auto found = s.club.read(id, who.name(), ctx.remote);
  if (!found) {
    if (found.error() == errc::crypto_failure) {
      const auto where = "message " + std::to_string(id.value) + ": " + sealed_body_refused;
      return fail(found.error(), req, where);
    }
    return fail(found.error(), req, "GET /api/v1/messages/{id}");
  }
  if (want == wanted::fernet) {
    if (found->format != store::message_format::fernet) {
      return error_response(api_error::not_acceptable, req);
    }
    return {fernet_response(*found, req), std::move(found->audit)};
  }
  auto body = summary_json(found->id, found->author, found->created_at, found->format);
  body["body"] = found->body.view();
  return {json_response(status::ok, body, req), std::move(found->audit)};
}

response post_message(const request& req, services& s, const auth::member& who) {
  if (!club::may_post(who.role())) {
    return error_response(api_error::forbidden, req);
  }
  auto parsed = detail::read_json_object(req, s);
  if (parsed.error) {
    return std::move(*parsed.error);
  }
  const auto body_rule = "\"body\" must be a string of at most " +
                         std::to_string(s.cfg.max_message_bytes) +
                         " bytes of UTF-8, not empty (limits.max_message_bytes)";
  if (auto other = detail::only_keys(*parsed.object, {"body"}); !other.empty()) {
    return error_response(api_error::bad_request, req, other);
  }
  const auto body = detail::string_member(*parsed.object, "body");
  if (!body) {
    return error_response(api_error::bad_request, req, body_rule);
  }
  auto id = s.club.post(who.name(), *body);
  if (!id) {
    if (id.error() == errc::too_large) {
      return error_response(api_error::payload_too_large, req, body_rule);
    }
    if (id.error() == errc::invalid_argument) {
      return error_response(api_error::bad_request, req, body_rule);
    }
    return fail(id.error(), req, "POST /api/v1/messages");
  }
  auto res = json_response(status::created, {{"id", id->value}, {"author", who.name()}}, req);
  res.set(field::location, "/api/v1/messages/" + std::to_string(id->value));
  return res;
}

response delete_message(const request& req, services& s, const auth::member& who,
                        store::message_id id) {
  // A role that may delete no message at all is refused before anything is looked up, as before.
  if (!club::may_delete(who.role(), true)) {
    return error_response(api_error::forbidden, req);
  }
  // Whose message it is, and what the member's role allows, is the club's rule to apply.
  if (auto removed = s.club.remove(id, who.name()); !removed) {
    return fail(removed.error(), req, "DELETE /api/v1/messages/{id}");
  }
  return no_content_response(req);
}

}  // namespace handlers
}  // namespace hush::http
