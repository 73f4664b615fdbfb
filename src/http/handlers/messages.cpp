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

// What applies to a message, for its card: "expires" (UTC), "max_reads" and "reads_left", "to".
// Absent keys: it applies not (no expiry, no limit, the whole club).
void add_terms(boost::json::object& out, const store::message_terms& terms, std::uint32_t reads) {
  if (terms.expires_at != 0) {
    out["expires"] = format_utc(terms.expires_at);
  }
  if (terms.max_reads != 0) {
    out["max_reads"] = terms.max_reads;
    out["reads_left"] = club::reads_left(terms, reads);
  }
  if (!terms.to.empty()) {
    boost::json::array to;
    for (const auto& r : terms.to) {
      to.emplace_back(club::recipient_text(r));
    }
    out["to"] = std::move(to);
  }
}

boost::json::object summary_json(const store::message_summary& m) {
  boost::json::object out{{"id", m.id.value},
                          {"created", format_utc(m.created_at)},
                          {"author", m.author},
                          {"format", store::to_string(m.format)}};
  add_terms(out, m.terms, m.reads);
  return out;
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

// What a read will show: a Fernet token only, or (HEAD) nothing but headers. Either way a read
// that shows no body uses none of a message's limited reads.
club::read_options read_options_for(const request& req, wanted want) {
  return {want == wanted::fernet, req.method() == verb::head};
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
  auto newest = s.club.read_newest(who.name(), ctx.remote, read_options_for(req, want));
  // A text message asked for as a Fernet token: nothing is shown, so nothing is audited (or
  // used up).
  if (!newest && newest.error() == errc::invalid_argument) {
    return error_response(api_error::not_acceptable, req);
  }
  if (!newest) {
    return fail(newest.error(), req,
                newest.error() == errc::crypto_failure ? sealed_body_refused : "GET /");
  }
  if (newest->format == store::message_format::fernet) {
    return {fernet_response(*newest, req), std::move(newest->audit)};
  }
  return {text_response(status::ok, std::string(newest->body.view()), req),
          std::move(newest->audit)};
}

response list_messages(const request& req, const target& t, services& s, const auth::member& who) {
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
  auto page = s.club.list(before, limit + 1, who.name());
  if (!page) {
    return fail(page.error(), req, "GET /api/v1/messages");
  }
  const bool more = page->size() > limit;
  if (more) {
    page->pop_back();  // the store gives at most limit + 1
  }
  boost::json::array items;
  for (const auto& m : *page) {
    items.push_back(summary_json(m));
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
  auto found = s.club.read(id, who.name(), ctx.remote, read_options_for(req, want));
  if (!found && found.error() == errc::invalid_argument) {
    return error_response(api_error::not_acceptable, req);
  }
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
  auto body = summary_json(store::message_summary{
      found->id, found->author, found->created_at, found->format, found->terms, found->reads, {}});
  body["body"] = found->body.view();
  return {json_response(status::ok, body, req), std::move(found->audit)};
}

namespace {

// A whole JSON number from `low` to `high`, given as an integer (1.0 or "1" is not one).
std::optional<std::int64_t> whole_number(const boost::json::value& v, std::int64_t low,
                                         std::int64_t high) {
  std::int64_t value = 0;
  if (v.is_int64()) {
    value = v.get_int64();
  } else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(high)) {
    value = static_cast<std::int64_t>(v.get_uint64());
  } else {
    return std::nullopt;
  }
  if (value < low || value > high) {
    return std::nullopt;
  }
  return value;
}

// The message's life from the POST body: "expires_in" (seconds), "max_reads", "to" (names and
// "role:NAME"); each optional. The error text for the client when one is malformed.
struct parsed_life {
  club::message_life life;
  std::string problem;
};

parsed_life life_from(const boost::json::object& object) {
  parsed_life out;
  if (const auto* v = object.if_contains("expires_in")) {
    const auto value = whole_number(*v, 1, club::max_expires_in_seconds);
    if (!value) {
      out.problem = "\"expires_in\" must be a whole number of seconds from 1 to " +
                    std::to_string(club::max_expires_in_seconds) + " (366 days)";
      return out;
    }
    out.life.expires_in = *value;
  }
  if (const auto* v = object.if_contains("max_reads")) {
    const auto value = whole_number(*v, 1, club::max_reads_limit);
    if (!value) {
      out.problem =
          "\"max_reads\" must be a whole number from 1 to " + std::to_string(club::max_reads_limit);
      return out;
    }
    out.life.max_reads = static_cast<std::uint32_t>(*value);
  }
  if (const auto* v = object.if_contains("to")) {
    const auto* names = v->if_array();
    if (names == nullptr || names->empty()) {
      out.problem =
          "\"to\" must be a non-empty array of member names and roles "
          "(\"role:reader\", \"role:poster\", \"role:admin\"); leave it out for the "
          "whole club";
      return out;
    }
    for (const auto& name : *names) {
      if (!name.is_string()) {
        out.problem = "\"to\" must hold strings: member names and roles (\"role:admin\")";
        return out;
      }
      out.life.to.emplace_back(name.get_string().data(), name.get_string().size());
    }
  }
  if (auto problem = club::life_problem(out.life); !problem.empty()) {
    out.problem = std::move(problem);
  }
  return out;
}

}  // namespace

response post_message(const request& req, services& s, const auth::member& who) {
  if (!club::may_post(who.role())) {
    return error_response(api_error::forbidden, req);
  }
  auto parsed = detail::read_json_object(req, s);
  if (parsed.error) {
    return std::move(*parsed.error);
  }
  auto body_rule = "\"body\" must be a string of at most " +
                   std::to_string(s.cfg.max_message_bytes) +
                   " bytes of UTF-8, not empty (limits.max_message_bytes)";
  if (auto other =
          detail::only_keys(*parsed.object, {"body", "format", "expires_in", "max_reads", "to"});
      !other.empty()) {
    return error_response(api_error::bad_request, req, other);
  }
  const auto body = detail::string_member(*parsed.object, "body");
  if (!body) {
    return error_response(api_error::bad_request, req, body_rule);
  }
  bool fernet = false;
  if (parsed.object->contains("format")) {
    const auto format = detail::string_member(*parsed.object, "format");
    if (!format || (*format != "text" && *format != "fernet")) {
      return error_response(api_error::bad_request, req,
                            "\"format\" must be \"text\" (the default) or \"fernet\" (an "
                            "end-to-end message: a Fernet token the club cannot open)");
    }
    fernet = *format == "fernet";
    if (fernet) {
      body_rule = "with \"format\": \"fernet\", \"body\" must be a Fernet token holding at most " +
                  std::to_string(s.cfg.max_message_bytes) + " bytes (limits.max_message_bytes)";
    }
  }
  const auto life = life_from(*parsed.object);
  if (!life.problem.empty()) {
    return error_response(api_error::bad_request, req, life.problem);
  }
  auto id = fernet ? s.club.post_fernet(who.name(), *body, life.life)
                   : s.club.post(who.name(), *body, life.life);
  if (!id) {
    if (id.error() == errc::too_large) {
      return error_response(api_error::payload_too_large, req, body_rule);
    }
    if (id.error() == errc::invalid_argument) {
      return error_response(api_error::bad_request, req, body_rule);
    }
    if (id.error() == errc::not_found) {
      if (auto unknown = s.club.unknown_recipient(life.life)) {
        return error_response(api_error::bad_request, req,
                              "\"to\" names \"" + *unknown + "\", who is not a member");
      }
    }
    return fail(id.error(), req, "POST /api/v1/messages");
  }
  auto res = json_response(status::created, {{"id", id->value}, {"author", who.name()}}, req);
  res.set(field::location, "/api/v1/messages/" + std::to_string(id->value));
  return res;
}

// GET /api/v1/messages/{id}/reads
response message_reads(const request& req, services& s, const auth::member& who,
                       store::message_id id) {
  constexpr std::size_t max_receipts = 1000;
  auto reads = s.club.reads_of(id, who.name(), max_receipts);
  if (!reads) {
    return fail(reads.error(), req, "GET /api/v1/messages/{id}/reads");
  }
  boost::json::array items;
  for (const auto& r : *reads) {
    items.push_back({{"reader", r.member}, {"at", format_utc(r.at)}});
  }
  return json_response(status::ok, {{"reads", std::move(items)}}, req);
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
