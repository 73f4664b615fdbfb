#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stop_token>
#include <vector>

#include "core/result.hpp"
#include "store/records.hpp"

namespace hush::store {

// An API token as a read from memory needs it: its hash, when it runs out, and its member.
struct token_entry {
  std::vector<std::uint8_t> hash;
  std::int64_t expires_at = 0;  // 0: never
  member_record member;
};

// What an authenticated read of the newest message needs, read in one consistent snapshot, and
// the change generation it was read at.
struct read_snapshot {
  std::uint64_t generation = 0;
  std::vector<token_entry> tokens;
  std::vector<member_record> members;
  // The newest message of all (no viewer) not expired at the snapshot's time, with its terms: a
  // server serves it from memory only when it has none (terms.any() false). One with terms may
  // be hidden from the reader, run out or count reads, which only the store can decide.
  std::optional<message_record> newest;
};

// An audit record, and the generation of the snapshot the read it records was served from
// (0: the read was served from the store itself).
struct audited_read {
  audit_record record;
  std::uint64_t as_of = 0;
};

// Reads served from memory, kept exact. The store keeps a change generation: a number that every
// committed change to members, tokens, messages (their terms and recipients included) or client
// certificates makes larger, whichever process or door made it (for SQLite, triggers), and that
// nothing else changes (sessions being used, audit records). A server may answer a read from a
// snapshot taken at generation G if, when the read's audit record commits, the generation is
// still G: the read then happened at that commit, after every change that committed before it.
// A read whose snapshot was overtaken is not audited, and must be served again from the store.
//
// A read counted by claim_read changes its message's row, and so moves the generation too.
// Nothing in a snapshot needs it to (a message with max_reads is never served from memory, and
// the read that ends one removes it, which must move it), but the rule stays "every change to a
// message row", which holds for a change made by hand too; such reads are few, and are served
// from the store anyway. A read that counts nothing changes nothing.
// Thread safety, atomicity and errors: as every store interface (store.hpp).
class view_store {
 public:
  virtual ~view_store() = default;

  // Tokens with their members, every member, the newest message not expired at `now`, and the
  // generation, all from one snapshot of the store.
  virtual result<read_snapshot> snapshot(std::int64_t now) = 0;
  // The change generation now: one cheap read, to notice a change when no read commits.
  virtual result<std::uint64_t> generation() = 0;
  // In one durable commit: adds each read's record whose `as_of` is 0 or the store's generation
  // at the commit, and leaves out the others. Returns that generation; `added[i]` says whether
  // reads[i] was added. None at all is a success.
  virtual result<std::uint64_t> add_audits_as_of(std::span<const audited_read> reads,
                                                 std::vector<bool>& added) = 0;
  // Runs until `stop` is requested, calling `on_change` soon after changes commit (from any
  // process or host) and whenever one may have been missed (a lost connection, once it is made
  // again), so that a server refreshes its views without waiting for its next look at
  // generation(). A backend without such a feed returns false at once (SQLite: the server's
  // look at generation() once a second is all there is). `on_change` must be cheap and thread
  // safe; it only says "look now".
  virtual bool follow_changes(const std::function<void()>& on_change, const std::stop_token& stop) {
    static_cast<void>(on_change);
    static_cast<void>(stop);
    return false;
  }
};

}  // namespace hush::store
