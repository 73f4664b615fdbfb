#pragma once

#include <cstddef>
#include <string_view>

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

}  // namespace hush::club
