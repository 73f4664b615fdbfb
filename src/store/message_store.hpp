#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "store/records.hpp"

namespace hush::store {

// Seals a value once its id is known, so that the id can be bound into the envelope. Called at
// most once per add, before the row can be seen; it may run while the store holds its write
// lock, so it must not call the store.
using sealer = std::function<result<std::vector<std::uint8_t>>(std::int64_t id)>;

// A club value (meta_store) that a write requires to hold `expected` when it commits, checked
// inside the write's own transaction (compare and swap; the master key's check, so that a key
// wrapped under a master key another process has just rotated away is never stored). The write
// answers conflict, changing nothing, when `name` is stored with another value. A value not
// stored passes (a club made before key checks), and so does an empty name.
struct meta_guard {
  std::string_view name;
  std::span<const std::uint8_t> expected;
};

// Sealed messages and the wrapped data keys that seal them. The store never sees a plaintext or
// an unwrapped key. An add stores what the sealer returns under the new id, or, when the sealer
// fails, stores nothing and returns the sealer's error.
// Thread safety, atomicity and errors: as every store interface (store.hpp).
class message_store {
 public:
  virtual ~message_store() = default;

  // The new key's id, larger than every data key's before it. conflict, storing nothing, when
  // `guard` fails.
  virtual result<std::uint32_t> add_data_key(const sealer& wrap, std::int64_t now,
                                             const meta_guard& guard) = 0;
  // Unguarded.
  result<std::uint32_t> add_data_key(const sealer& wrap, std::int64_t now) {
    return add_data_key(wrap, now, meta_guard{});
  }
  // The key with the largest id; not_found when there is none.
  virtual result<data_key_record> newest_data_key() = 0;
  // not_found for an id no key has.
  virtual result<data_key_record> data_key(std::uint32_t id) = 0;
  // Every data key, by id ascending.
  virtual result<std::vector<data_key_record>> list_data_keys() = 0;
  // Master-key rotation: in one commit, replaces the wrapped bytes of every data key with those
  // of `rewrapped` (by id) and sets the club value `meta_name` to `meta_value` (meta_store; the
  // new master key's check). conflict, changing nothing, unless `rewrapped` names exactly the data
  // keys there are (one was added meanwhile) and `meta_name` still holds `expected` (the old
  // master key's check: another rotation did not commit meanwhile; see meta_guard, whose rule
  // for a value not stored applies).
  virtual result<void> rewrap_data_keys(std::span<const data_key_record> rewrapped,
                                        std::string_view meta_name,
                                        std::span<const std::uint8_t> expected,
                                        std::span<const std::uint8_t> meta_value) = 0;
  // Removes a data key no message needs any more (the caller's to know: the store cannot look
  // inside a sealed body). not_found for an id no key has; conflict for the newest, which seals.
  virtual result<void> remove_data_key(std::uint32_t id) = 0;

  // The new message's id, larger than every id handed out before, removed messages' included:
  // an id never names two messages. The row records the member named `author` now, by id (the
  // author a viewer is recognised as), and `terms`. invalid_argument, storing nothing, for terms
  // that cannot hold: expires_at not after `now` (but 0), more than max_recipients, a member or
  // a role named twice; not_found for a recipient member id no member has.
  virtual result<message_id> add_message(std::string_view author, std::int64_t now,
                                         message_format format, const sealer& seal,
                                         const message_terms& terms) = 0;
  // No terms: for the whole club, for ever.
  result<message_id> add_message(std::string_view author, std::int64_t now, message_format format,
                                 const sealer& seal) {
    return add_message(author, now, format, seal, message_terms{});
  }
  // A text message, no terms.
  result<message_id> add_message(std::string_view author, std::int64_t now, const sealer& seal) {
    return add_message(author, now, message_format::text, seal, message_terms{});
  }

  // The reads below come in two kinds. With a viewer: only what that member may see (the
  // author, a message without recipients, a recipient by id or by role); a message they may not
  // see is not_found exactly as one that does not exist, and keyset pages are filled from what
  // they may see. Without one (the club's own tools: the CLI, admins, rotation checks): every
  // message. Either way, never a message expired at `now` (expires_at != 0 && expires_at <=
  // now): expired is gone for everyone, swept or not. Records carry their terms (recipients in
  // the order given, members under their name now) and their count of reads.

  // The message with the largest id; not_found when there is none.
  virtual result<message_record> newest_message(std::int64_t now) = 0;
  virtual result<message_record> newest_message(const viewer& who) = 0;
  // not_found for an id no message has.
  virtual result<message_record> message(message_id id, std::int64_t now) = 0;
  virtual result<message_record> message(message_id id, const viewer& who) = 0;
  // At most `limit` messages, newest (largest id) first; only ids below `before` when it is set,
  // so that the last id of one page asks for the next (keyset paging, stable under additions).
  virtual result<std::vector<message_summary>> list_messages(std::optional<message_id> before,
                                                             std::size_t limit,
                                                             std::int64_t now) = 0;
  virtual result<std::vector<message_summary>> list_messages(std::optional<message_id> before,
                                                             std::size_t limit,
                                                             const viewer& who) = 0;
  // A member's read of one message, in one transaction: not_found unless they may see it (as
  // message(id, who)). When max_reads > 0 and `who` is not its author, the read is counted, and
  // the read that makes reads == max_reads removes the message in the same transaction, which
  // is then wiped as remove_message wipes; exactly max_reads claims succeed however many race,
  // the others are not_found. Returns the record as this read left it (reads counted, sealed
  // body included, also to the last reader). Should that wipe not finish in time, the read
  // succeeds all the same (the reader gets the body; the message is gone for every query) and
  // the store logs it: the bytes stay only until a later removal or the store's closing wipes
  // them, as after remove_message's not_wiped.
  virtual result<message_record> claim_read(message_id id, const viewer& who) = 0;
  // Removes the message and, before returning, wipes its sealed bytes from everything the store
  // keeps, so that no copy outlives the call. not_found for an id no message has. not_wiped when
  // the message is gone but a copy of its bytes may remain for a while (the store could not wipe
  // it in time); a later removal, or the store's closing, wipes it. A backend that could wipe but
  // did not answers not_wiped, never success. One whose storage keeps copies no call can reach
  // (PostgreSQL: dead row versions until VACUUM, its WAL, standbys and backups) answers success
  // once no query can see the message again, and docs/security.md says what stays where.
  virtual result<void> remove_message(message_id id) = 0;
  // The sweeper's step: removes at most `limit` messages expired at `now`, oldest (smallest id)
  // first, and wipes them as remove_message does; returns how many it removed. Callers loop
  // while it returns `limit`. not_wiped as remove_message (they are gone all the same).
  virtual result<std::size_t> remove_expired(std::int64_t now, std::size_t limit) = 0;

  // At most `limit` whole messages (sealed bodies included), oldest (smallest id) first, only ids
  // above `after` when it is set: the pages a data-key rotation walks. Expired ones included
  // (until swept they are rows sealed under a data key like any other).
  virtual result<std::vector<message_record>> sealed_messages(std::optional<message_id> after,
                                                              std::size_t limit) = 0;
  // Replaces the sealed bodies of `batch` in one commit, each only where the row still holds its
  // `expected` bytes (a removed message is skipped, never brought back). Returns how many rows
  // were replaced.
  virtual result<std::size_t> reseal_messages(std::span<const resealed_message> batch) = 0;
};

}  // namespace hush::store
