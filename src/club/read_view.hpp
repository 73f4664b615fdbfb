#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.hpp"
#include "store/view_store.hpp"

namespace hush::club {

// What an authenticated read of the newest message needs, held in memory so that the server can
// answer it without a query: the API tokens (by hash) with their members, the members, and the
// newest message still sealed (it is opened per read; no plaintext is kept). Immutable once made;
// made from one store snapshot and stamped with its change generation (store::view_store), which
// the read's audit commit checks: a read from a view that a change overtook is never audited, and
// is served again from the store. So a revoked token or a removed member is refused on the very
// next request, as without a view.
class read_view {
 public:
  explicit read_view(store::read_snapshot snapshot);
  // The sealed message and the password hashes are zeroed, as the store's removed rows are.
  ~read_view();
  read_view(const read_view&) = delete;
  read_view& operator=(const read_view&) = delete;

  std::uint64_t generation() const noexcept { return generation_; }
  // The member of the token whose hash is `hash`, if the token has not run out at `now` (unix
  // seconds); null otherwise.
  const store::member_record* member_by_token_hash(std::span<const std::uint8_t> hash,
                                                   std::int64_t now) const;
  const store::member_record* find_member(std::string_view name) const;
  const std::optional<store::message_record>& newest() const noexcept { return newest_; }

 private:
  using token_key = std::array<std::uint8_t, 32>;
  // The key is already a uniform hash: its first bytes are as good a bucket as any.
  struct token_key_hash {
    std::size_t operator()(const token_key& key) const noexcept;
  };
  struct token_entry {
    std::int64_t expires_at = 0;
    store::member_record member;
  };

  std::uint64_t generation_;
  std::unordered_map<token_key, token_entry, token_key_hash> tokens_;
  std::map<std::string, store::member_record, std::less<>> members_;
  std::optional<store::message_record> newest_;
};

// The server's current read_view, and what its audit commits have learned about the store's
// generation. Thread safe; current() never blocks, so I/O threads may call it.
class read_views {
 public:
  using loader = std::function<result<std::shared_ptr<const read_view>>()>;

  // `load` reads a fresh view from the store (it blocks: refresh() runs it on a worker).
  explicit read_views(loader load) : load_(std::move(load)) {}

  // The view if no commit has seen the store at another generation since it was read; null
  // otherwise, or before the first load.
  std::shared_ptr<const read_view> current() const;
  // A commit (or a look at the store) saw it at `generation`: a view of any other generation is
  // no longer served.
  void saw(std::uint64_t generation) noexcept;
  // Whether a fresh view is wanted (none yet, or the one held was overtaken).
  bool stale() const;
  // Loads a fresh view and serves it from now on. One load at a time: a call while another runs
  // returns at once. Blocks on the store; never on an I/O thread.
  result<void> refresh();

 private:
  loader load_;
  std::atomic<std::shared_ptr<const read_view>> view_;
  std::atomic<std::uint64_t> seen_{0};
  std::mutex loading_;
};

}  // namespace hush::club
