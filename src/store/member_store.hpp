#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "store/records.hpp"

namespace hush::store {

// The club's members and their password hashes.
// Thread safety, atomicity and errors: as every store interface (store.hpp).
class member_store {
 public:
  virtual ~member_store() = default;

  // already_exists for a name taken. The id differs from every other member's.
  virtual result<member_id> add_member(std::string_view name, role member_role,
                                       std::string_view password_hash, std::int64_t now) = 0;
  // not_found for a name no member has.
  virtual result<member_record> find_member(std::string_view name) = 0;
  // Every member, by name (byte order).
  virtual result<std::vector<member_record>> list_members() = 0;
  // Removes the member, every API token and browser session of theirs, and revokes at `now` every
  // client certificate of theirs not revoked yet (keeping its record, for the revocation list),
  // all at once: no moment exists where the member is gone and a credential of theirs still
  // works. Their messages and the audit trail stay. not_found (and nothing changed) for a name
  // no member has; conflict (and nothing changed) for the club's only admin, decided in the same
  // step as the removal, so that two removals racing can never leave the club without one.
  virtual result<void> remove_member(std::string_view name, std::int64_t now) = 0;
  // Gives the member `new_role` and returns the role they had (the same role again is a success
  // that changes nothing). not_found (and nothing changed) for a name no member has; conflict (and
  // nothing changed) when it would take the role of admin from the club's only admin, decided in
  // the same step as the change, so that two demotions (or a demotion and a removal) racing can
  // never leave the club without one.
  virtual result<role> set_member_role(std::string_view name, role new_role) = 0;
  // Replaces the hash only if it is still `expected` (compare-and-swap), so that a rehash on login
  // can never undo a password change that raced with it. Sessions stay. not_found if the member
  // is gone or the hash changed meanwhile.
  virtual result<void> replace_password_hash(std::string_view name, std::string_view expected,
                                             std::string_view replacement) = 0;
  // Sets a new password hash and ends every browser session of the member, at once (API tokens
  // and client certificates stay). With `expected`, only if the member's hash is still that one
  // (compare-and-swap: the hash a change verified the current password against), so that of two
  // changes racing, the one that checked a password no longer the member's changes nothing.
  // not_found (and nothing changed) for a name no member has; conflict (and nothing changed) when
  // the hash is no longer `expected`.
  virtual result<void> set_password_hash(std::string_view name, std::string_view hash,
                                         std::optional<std::string_view> expected) = 0;
};

}  // namespace hush::store
