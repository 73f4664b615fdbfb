#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "store/records.hpp"

namespace hush::store {

// Members' API tokens, kept only as a hash of the token (the token itself is never stored).
// Thread safety, atomicity and errors: as every store interface (store.hpp).
class token_store {
 public:
  virtual ~token_store() = default;

  // not_found if the member does not exist; already_exists for a token name (names are unique
  // across the club) or a hash already taken.
  virtual result<void> add_token(const token_record& token, std::span<const std::uint8_t> hash) = 0;
  // The member a token hash belongs to. not_found when no token has that hash or it has expired
  // (`expires_at` is not 0 and not after `now`).
  virtual result<member_record> member_by_token(std::span<const std::uint8_t> hash,
                                                std::int64_t now) = 0;
  // Every token, expired ones too, by member name, then token name (byte order).
  virtual result<std::vector<token_record>> list_tokens() = 0;
  // not_found for a name no token has.
  virtual result<void> remove_token(std::string_view name) = 0;
};

}  // namespace hush::store
