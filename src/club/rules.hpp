#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/records.hpp"

namespace hush::club {

// What each role may do. Readers read; posters also post and delete their own messages; admins
// also delete any message and manage members.
bool may_post(store::role r) noexcept;
// Whether a member of role `r` may delete a message; `own`: they are its author.
bool may_delete(store::role r, bool own) noexcept;

// Member names are 1 to 64 of [A-Za-z0-9._-]: no ':' (HTTP Basic splits on it), no spaces or
// control characters (they would be shown in terminals and logs). Token names follow the same
// rule.
bool valid_member_name(std::string_view name) noexcept;

inline constexpr std::size_t min_password_size = 12;
inline constexpr std::size_t max_password_size = 1024;

bool valid_password_size(std::string_view password) noexcept;

// True if the bytes are well-formed UTF-8 (no overlongs, no surrogates).
bool valid_utf8(std::string_view text) noexcept;

// What an author asks of a new message's life, in the doors' words (the API's JSON, the CLI's
// flags); club::post turns it into the store's terms at the moment it posts.
struct message_life {
  std::int64_t expires_in = 0;  // seconds from posting; 0: never
  std::uint32_t max_reads = 0;  // reads by others than the author; 0: unlimited
  std::vector<std::string> to;  // member names and "role:NAME"; empty: the whole club
};

// The longest life an expiry may give: a secret meant to outlive a year needs no expiry.
inline constexpr std::int64_t max_expires_in_seconds = 366LL * 24 * 60 * 60;
inline constexpr std::uint32_t max_reads_limit = 1'000'000;

// One word of `to`: a member by name, or every member of a role ("role:admin").
struct recipient_word {
  bool is_role = false;
  std::string_view name;  // the member's name, when !is_role
  store::role member_role = store::role::reader;
};
std::optional<recipient_word> parse_recipient(std::string_view word) noexcept;
// A stored recipient as the doors show it, parse_recipient's words: a member's name, "role:NAME",
// or "(former member)" for one who has left the club (no member name can look like it).
std::string recipient_text(const store::recipient& r);
// How many reads of a message limited to `terms.max_reads` are left after `reads` (0 without a
// limit).
std::uint32_t reads_left(const store::message_terms& terms, std::uint32_t reads) noexcept;

// Why `life` cannot be (for the doors to show), or empty when it can: an expiry or a read limit
// out of range, a recipient that is neither a valid name nor "role:" and a role, the same one
// twice, too many.
std::string life_problem(const message_life& life);

}  // namespace hush::club
