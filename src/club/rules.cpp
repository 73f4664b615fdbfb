#include "club/rules.hpp"

#include <algorithm>
#include <cstdint>
#include <set>

#include "core/text.hpp"

namespace hush::club {

bool may_post(store::role r) noexcept {
  return r == store::role::poster || r == store::role::admin;
}

bool may_delete(store::role r, bool own) noexcept {
  return r == store::role::admin || (own && r == store::role::poster);
}

bool valid_member_name(std::string_view name) noexcept {
  constexpr std::size_t max_name_size = 64;
  if (name.empty() || name.size() > max_name_size) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto point = decode_utf8(text, i);
    if (!point) {
      return false;
    }
    i += point->size;
  }
  return true;
}

bool valid_password_size(std::string_view password) noexcept {
  return password.size() >= min_password_size && password.size() <= max_password_size;
}

std::optional<recipient_word> parse_recipient(std::string_view word) noexcept {
  constexpr std::string_view role_prefix = "role:";
  if (word.substr(0, role_prefix.size()) == role_prefix) {
    recipient_word out{true, {}, store::role::reader};
    if (!store::parse_role(word.substr(role_prefix.size()), out.member_role)) {
      return std::nullopt;
    }
    return out;
  }
  if (!valid_member_name(word)) {
    return std::nullopt;
  }
  return recipient_word{false, word, store::role::reader};
}

std::string recipient_text(const store::recipient& r) {
  if (r.type == store::recipient::kind::role) {
    return "role:" + std::string(store::to_string(r.member_role));
  }
  return r.name.empty() ? std::string("(former member)") : r.name;
}

std::uint32_t reads_left(const store::message_terms& terms, std::uint32_t reads) noexcept {
  return terms.max_reads > reads ? terms.max_reads - reads : 0;
}

std::string life_problem(const message_life& life) {
  if (life.expires_in < 0 || life.expires_in > max_expires_in_seconds) {
    return "an expiry must be from 1 second to " + std::to_string(max_expires_in_seconds) +
           " seconds (366 days) from now";
  }
  if (life.max_reads > max_reads_limit) {
    return "a read limit must be from 1 to " + std::to_string(max_reads_limit);
  }
  if (life.to.size() > store::max_recipients) {
    return "a message may name at most " + std::to_string(store::max_recipients) + " recipients";
  }
  std::set<std::string_view> seen;
  for (const auto& word : life.to) {
    if (!parse_recipient(word)) {
      return "a recipient is a member's name or role:reader, role:poster or role:admin";
    }
    if (!seen.insert(word).second) {
      return "a recipient is named twice";
    }
  }
  return {};
}

}  // namespace hush::club
