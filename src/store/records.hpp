#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace hush::store {

// Distinct id types, so a member id is never passed where a message id is wanted.
struct member_id {
  std::int64_t value = 0;
  auto operator<=>(const member_id&) const = default;
};
struct message_id {
  std::int64_t value = 0;
  auto operator<=>(const message_id&) const = default;
};

enum class role { reader, poster, admin };

std::string_view to_string(role r) noexcept;
// False for anything but "reader", "poster" or "admin".
bool parse_role(std::string_view text, role& out) noexcept;

// What a message's sealed body holds: text the club can read, or a Fernet token sealed around
// end-to-end encrypted text that only holders of the Fernet key can read.
enum class message_format { text, fernet };

std::string_view to_string(message_format f) noexcept;
// False for anything but "text" or "fernet".
bool parse_message_format(std::string_view text, message_format& out) noexcept;

struct member_record {
  member_id id;
  std::string name;
  role member_role = role::reader;
  std::string password_hash;  // PHC string
  std::int64_t created_at = 0;
};

// One addressee of a message: a member, by id (so that a member removed and another added under
// the same name never inherits what was addressed to the first), or every member of a role.
struct recipient {
  enum class kind : std::uint8_t { member, role };
  kind type = kind::member;
  member_id member;                 // kind::member; read back as 0 once they have left the club
  role member_role = role::reader;  // kind::role
  std::string name;                 // kind::member, read back: their name now ("" once they left)

  static recipient to_member(member_id id) { return recipient{kind::member, id, role::reader, {}}; }
  static recipient to_role(role r) { return recipient{kind::role, member_id{}, r, {}}; }
};

// How many recipients one message may name.
inline constexpr std::size_t max_recipients = 256;

// What a message's life is bound by, fixed when it is posted.
struct message_terms {
  std::int64_t expires_at = 0;  // unix seconds; 0: never. Gone for everyone from then on.
  std::uint32_t max_reads = 0;  // 0: unlimited; else removed at the read that makes it this many
  std::vector<recipient> to;    // empty: the whole club; else only these (and the author)
  // True when any term restricts the message (what a read from memory must refuse to serve).
  bool any() const noexcept { return expires_at != 0 || max_reads != 0 || !to.empty(); }
};

// invalid_argument when `terms` cannot hold for a message posted at `now`: expires_at not after
// now (but 0), more than max_recipients, the same member or role named twice, a member id that
// is not positive. Whether a member id names a member is the store's to check.
std::error_code check_terms(const message_terms& terms, std::int64_t now);

// Who is reading, for the queries that show only what they may see: the author, a message with
// no recipients, a recipient named by id, or a member of a recipient role; never one expired at
// `now`.
struct viewer {
  member_id id;
  role member_role = role::reader;
  std::int64_t now = 0;
};

struct message_record {
  message_id id;
  std::string author;
  std::int64_t created_at = 0;
  std::vector<std::uint8_t> sealed;  // crypto::envelope
  message_format format = message_format::text;
  // Default-initialised members, so that a record made from its first fields is whole.
  message_terms terms{};
  std::uint32_t reads = 0;  // reads counted so far (for max_reads; never the author's)
  // The member who posted it, as the store found the author's name when it was added; 0 for a
  // message older than this column, a name no member had, or an author who has left the club.
  member_id author_id{};
};

// A message as lists show it: a record without its sealed body.
struct message_summary {
  message_id id;
  std::string author;
  std::int64_t created_at = 0;
  message_format format = message_format::text;
  message_terms terms{};
  std::uint32_t reads = 0;
  member_id author_id{};
};

// What a list shows of a message: all of it but the sealed body.
message_summary summary_of(message_record&& m);
std::vector<message_summary> summaries_of(std::vector<message_record>&& records);

struct data_key_record {
  std::uint32_t id = 0;
  std::vector<std::uint8_t> wrapped;  // crypto::envelope under the master key
};

// One message's sealed body to replace (a data-key rotation re-seals it): only if the row still
// holds `expected`, so that a body changed or removed meanwhile is never overwritten.
struct resealed_message {
  message_id id;
  std::vector<std::uint8_t> expected;
  std::vector<std::uint8_t> replacement;
};

struct token_record {
  std::string name;
  std::string member;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;  // 0: never
};

// How long a browser session lives: `idle` seconds after its last use, `absolute` after login.
struct session_limits {
  std::int64_t idle = 0;
  std::int64_t absolute = 0;
  // Live sessions one member may hold; a new one beyond it ends their oldest. 0: no cap.
  std::int64_t max_per_member = 0;
};

// A client certificate issued by the club CA. `serial` is lowercase hex without leading zeros
// (pki::canonical_serial).
struct client_cert_record {
  std::string serial;
  std::string member;
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t revoked_at = 0;  // 0: not revoked
  bool revoked() const noexcept { return revoked_at != 0; }
};

// What a certificate the club CA issued is for: a member's client certificate (`hush member
// cert`), the server's own (`hush init`, `hush cert renew`), or a server certificate for a CSR
// (`hush ca sign`).
enum class cert_kind { client, server, csr };
std::string_view to_string(cert_kind kind) noexcept;

// A certificate the club CA issued, of any kind. `names` is the member's name for a client
// certificate, the subjectAltName hosts (comma-separated) for the others.
struct issued_cert_record {
  std::string serial;
  cert_kind kind = cert_kind::server;
  std::string names;
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t revoked_at = 0;  // 0: not revoked
  bool revoked() const noexcept { return revoked_at != 0; }
};

// One entry of the CA's revocation list.
struct revoked_cert {
  std::string serial;
  std::int64_t revoked_at = 0;
};

struct audit_record {
  std::int64_t at = 0;
  std::string member;
  message_id message;
  std::string remote;
};

}  // namespace hush::store
