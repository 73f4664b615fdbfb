#include "store/records.hpp"

#include <set>

#include "core/error.hpp"

namespace hush::store {

std::string_view to_string(role r) noexcept {
  switch (r) {
    case role::reader:
      return "reader";
    case role::poster:
      return "poster";
    case role::admin:
      return "admin";
  }
  return "reader";
}

bool parse_role(std::string_view text, role& out) noexcept {
  for (const role r : {role::reader, role::poster, role::admin}) {
    if (text == to_string(r)) {
      out = r;
      return true;
    }
  }
  return false;
}

std::string_view to_string(message_format f) noexcept {
  switch (f) {
    case message_format::text:
      return "text";
    case message_format::fernet:
      return "fernet";
  }
  return "text";
}

bool parse_message_format(std::string_view text, message_format& out) noexcept {
  for (const message_format f : {message_format::text, message_format::fernet}) {
    if (text == to_string(f)) {
      out = f;
      return true;
    }
  }
  return false;
}

std::error_code check_terms(const message_terms& terms, std::int64_t now) {
  if (terms.expires_at < 0 || (terms.expires_at != 0 && terms.expires_at <= now) ||
      terms.to.size() > max_recipients) {
    return make_error_code(errc::invalid_argument);
  }
  std::set<std::int64_t> members;
  std::set<role> roles;
  for (const auto& r : terms.to) {
    const bool fresh = r.type == recipient::kind::role
                           ? roles.insert(r.member_role).second
                           : r.member.value > 0 && members.insert(r.member.value).second;
    if (!fresh) {
      return make_error_code(errc::invalid_argument);
    }
  }
  return {};
}

std::string_view to_string(cert_kind kind) noexcept {
  switch (kind) {
    case cert_kind::client:
      return "client";
    case cert_kind::server:
      return "server";
    case cert_kind::csr:
      return "csr";
  }
  return "client";
}

message_summary summary_of(message_record&& m) {
  message_summary out;
  out.id = m.id;
  out.author = std::move(m.author);
  out.created_at = m.created_at;
  out.format = m.format;
  out.terms = std::move(m.terms);
  out.reads = m.reads;
  out.author_id = m.author_id;
  return out;
}

std::vector<message_summary> summaries_of(std::vector<message_record>&& records) {
  std::vector<message_summary> out;
  out.reserve(records.size());
  for (auto& record : records) {
    out.push_back(summary_of(std::move(record)));
  }
  return out;
}

}  // namespace hush::store
