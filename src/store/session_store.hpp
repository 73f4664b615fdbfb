#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/result.hpp"
#include "store/records.hpp"

namespace hush::store {

// Browser sessions, kept only as a hash of their token. A session has run out under `limits`
// at `now` once `now - last use >= limits.idle` or `now - creation >= limits.absolute`.
// Thread safety, atomicity and errors: as every store interface (store.hpp).
class session_store {
 public:
  virtual ~session_store() = default;

  // Adds a session created (and last used) at `now` for a member whose password was verified
  // against `password_hash`, only if that is still the member's hash, decided in the same step
  // as the insert: a login that checked the old password while a change ended every session must
  // not add one after it. At once, it sweeps away every session that ran out under `limits` at
  // `now`, and, when `limits.max_per_member` is set, ends the member's sessions beyond that many,
  // the first added first. not_found if the member does not exist; conflict (nothing changed)
  // when their hash is no longer `password_hash`; already_exists for a hash a live session has.
  virtual result<void> add_session(std::span<const std::uint8_t> hash, std::string_view member,
                                   std::string_view password_hash, std::int64_t now,
                                   session_limits limits) = 0;
  // The member of a live session. A use marks the session as used at `now` only when its last
  // mark is a minute old or more (one write a minute per session, not one per request); a mark
  // that cannot be written because the store is full or read-only is skipped, not an error, so
  // that a full disk logs no one out. `expired` when the session exists but ran out (it stays
  // expired, never marked again, until add_session sweeps it); not_found when there is no such
  // session.
  virtual result<member_record> member_by_session(std::span<const std::uint8_t> hash,
                                                  std::int64_t now, session_limits limits) = 0;
  // not_found if there is no such session.
  virtual result<void> remove_session(std::span<const std::uint8_t> hash) = 0;
};

}  // namespace hush::store
