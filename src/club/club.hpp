#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "club/keyring.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"
#include "crypto/password.hpp"
#include "store/store.hpp"

namespace hush::club {

// What each role may do. Readers read; posters also post; admins also delete and manage members.
bool may_post(store::role r) noexcept;
bool may_delete(store::role r) noexcept;

// Member names are 1 to 64 of [A-Za-z0-9._-]: no ':' (HTTP Basic splits on it), no spaces or
// control characters (they would be shown in terminals and logs).
bool valid_member_name(std::string_view name) noexcept;

inline constexpr std::size_t min_password_size = 12;
inline constexpr std::size_t max_password_size = 1024;

struct message {
  store::message_id id;
  std::string author;
  std::int64_t created_at = 0;
  secret_bytes body;  // for a fernet message, the token: the club cannot open it
  store::message_format format = store::message_format::text;
  // The audit record this read owes. The caller commits it before the body is shown to anyone;
  // the server does so in batches (store::audit_batcher), the CLI one at a time.
  store::audit_record audit;
};

// The club's use cases over a store, a keyring and a clock, shared by the server and the CLI.
// Thread safe as its parts are; every call may block (disk, Argon2), so never on an I/O thread.
class club {
 public:
  club(store::store& store, keyring& keys, const crypto::password_hasher& hasher,
       const clock& clock, std::size_t max_message_bytes);

  // invalid_argument for an empty body or one that is not UTF-8; too_large above the limit;
  // not_found when the author is not a member.
  result<store::message_id> post(std::string_view author, std::string_view body);
  // An end-to-end message: a Fernet token made by the client, stored (sealed like any body) as
  // it came. invalid_argument unless it has a Fernet token's shape; too_large if it holds more
  // than max_message_bytes of plaintext.
  result<store::message_id> post_fernet(std::string_view author, std::string_view token);
  // Opens a body for `reader`. The returned message carries its audit record (reader, message,
  // time, remote), which the caller must commit before it shows the body.
  result<message> read_newest(std::string_view reader, std::string_view remote);
  result<message> read(store::message_id id, std::string_view reader, std::string_view remote);
  result<std::vector<store::message_summary>> list(std::optional<store::message_id> before,
                                                   std::size_t limit);
  result<void> remove(store::message_id id);

  // invalid_argument for a bad name or a password outside the size limits.
  result<store::member_id> add_member(std::string_view name, store::role r,
                                      std::string_view password);
  result<void> set_password(std::string_view name, std::string_view password);
  // Removes the member with their tokens and sessions, and revokes their client certificates now.
  result<void> remove_member(std::string_view name);

  // A new browser session for a member whose password was just verified: its token, which only
  // the member's cookie will ever hold (the store keeps a hash).
  result<secret_string> start_session(std::string_view member, store::session_limits limits);
  // not_found if the session is already gone.
  result<void> end_session(std::string_view token);

  // Deletes up to `batch` audit records older than `keep_days` days; returns how many. 0 days
  // keeps everything. Call it in a loop while it returns `batch`.
  result<std::size_t> prune_audit(unsigned keep_days, std::size_t batch);

  std::size_t max_message_bytes() const noexcept { return max_message_bytes_; }
  store::store& members() noexcept { return store_; }

 private:
  result<store::message_id> add_sealed(std::string_view author, store::message_format format,
                                       std::span<const std::uint8_t> plain);
  result<message> open_for(store::message_record record, std::string_view reader,
                           std::string_view remote);

  store::store& store_;
  keyring& keys_;
  const crypto::password_hasher& hasher_;
  const clock& clock_;
  std::size_t max_message_bytes_;
};

// Associated data that binds a sealed body to its row. Version 1 (envelope::version_1, bodies
// sealed before hush bound the metadata) binds the message id alone; version 2 binds the id, the
// author, the time and the format, each in a fixed or length-prefixed field, so that no two rows
// share an encoding. New bodies are sealed with version 2; re-sealing old ones belongs with the
// rotation of data keys.
std::string message_context(store::message_id id);
std::string message_context(const store::message_summary& row);

// True if the bytes are well-formed UTF-8 (no overlongs, no surrogates).
bool valid_utf8(std::string_view text) noexcept;

}  // namespace hush::club
