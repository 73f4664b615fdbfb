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

// Seals a value once its id is known, so that the id can be bound into the envelope.
using sealer = std::function<result<std::vector<std::uint8_t>>(std::int64_t id)>;

// Persistent state of a club. Concurrency contract: every method is thread safe and may be called
// from several processes at once (the server and the CLI); every method may block on disk, so never
// call one from an I/O thread. A method either commits all it changes or nothing. Errors:
// not_found, already_exists, storage_busy (another writer held the lock too long), disk_full and
// read_only (nothing was written; reads still work), storage_failure.
class store {
 public:
  virtual ~store() = default;

  virtual result<member_id> add_member(std::string_view name, role member_role,
                                       std::string_view password_hash, std::int64_t now) = 0;
  virtual result<member_record> find_member(std::string_view name) = 0;
  virtual result<std::vector<member_record>> list_members() = 0;
  // Removes the member and every token and session of theirs, and revokes (at `now`) every client
  // certificate of theirs that is not revoked yet, in one transaction.
  virtual result<void> remove_member(std::string_view name, std::int64_t now) = 0;
  // Replaces the hash only if it is still `expected` (compare-and-swap), so that a rehash on login
  // can never undo a password change that raced with it. not_found if the member is gone or the
  // hash changed meanwhile.
  virtual result<void> replace_password_hash(std::string_view name, std::string_view expected,
                                             std::string_view replacement) = 0;
  // Sets a new password and ends every session of the member, in one transaction.
  virtual result<void> set_password_hash(std::string_view name, std::string_view hash) = 0;

  virtual result<std::uint32_t> add_data_key(const sealer& wrap, std::int64_t now) = 0;
  virtual result<data_key_record> newest_data_key() = 0;
  virtual result<data_key_record> data_key(std::uint32_t id) = 0;

  virtual result<message_id> add_message(std::string_view author, std::int64_t now,
                                         message_format format, const sealer& seal) = 0;
  // A text message.
  result<message_id> add_message(std::string_view author, std::int64_t now, const sealer& seal) {
    return add_message(author, now, message_format::text, seal);
  }
  virtual result<message_record> newest_message() = 0;
  virtual result<message_record> message(message_id id) = 0;
  // Newest first; only ids below `before` when it is set.
  virtual result<std::vector<message_summary>> list_messages(std::optional<message_id> before,
                                                             std::size_t limit) = 0;
  // Removes the message and wipes its bytes from every file of the store (secure_delete for the
  // database, then a checkpoint that empties the write-ahead log) before returning. not_wiped if
  // the row is gone but the log could not be emptied in time (a long reader held it): the bytes
  // stay there until a later removal or the last connection's close wipes them.
  virtual result<void> remove_message(message_id id) = 0;

  // API tokens are stored only as a hash of the token. already_exists for a taken name;
  // not_found if the member does not exist.
  virtual result<void> add_token(const token_record& token, std::span<const std::uint8_t> hash) = 0;
  // The member a token hash belongs to, if the token exists and has not expired at `now`.
  virtual result<member_record> member_by_token(std::span<const std::uint8_t> hash,
                                                std::int64_t now) = 0;
  virtual result<std::vector<token_record>> list_tokens() = 0;
  virtual result<void> remove_token(std::string_view name) = 0;

  // Browser sessions, stored only as a hash of their token. Adding one also sweeps away sessions
  // that ran out under `limits`. not_found if the member does not exist.
  virtual result<void> add_session(std::span<const std::uint8_t> hash, std::string_view member,
                                   std::int64_t now, session_limits limits) = 0;
  // The member of a live session, which is marked as used at `now` (at most once a minute, so
  // that reads stay reads). `expired` when the session exists but ran out (it stays, expired,
  // until add_session sweeps it); not_found when there is no such session.
  virtual result<member_record> member_by_session(std::span<const std::uint8_t> hash,
                                                  std::int64_t now, session_limits limits) = 0;
  // not_found if there is no such session.
  virtual result<void> remove_session(std::span<const std::uint8_t> hash) = 0;

  // Client certificates. `serial` is pki::canonical_serial's form. add: not_found if the member
  // does not exist, already_exists for a serial already recorded.
  virtual result<void> add_client_cert(const client_cert_record& cert) = 0;
  // Server certificates (kind server or csr): recorded when the CA issues them, so that they can
  // be revoked. already_exists for a serial already recorded; invalid kind client is a
  // storage_failure (a client certificate belongs to a member: add_client_cert).
  virtual result<void> add_server_cert(const issued_cert_record& cert) = 0;
  // Marks the certificate revoked at `at`, whatever its kind; a certificate already revoked keeps
  // its first revocation time. not_found for a serial the CA never recorded.
  virtual result<void> revoke_cert(std::string_view serial, std::int64_t at) = 0;
  // Every certificate the CA recorded, of every kind, oldest first.
  virtual result<std::vector<issued_cert_record>> list_certs() = 0;
  // Revokes at `at` every certificate of the member not revoked yet; returns how many.
  virtual result<std::size_t> revoke_member_certs(std::string_view member, std::int64_t at) = 0;
  // Every revoked certificate of every kind, for the CRL, oldest revocation first.
  virtual result<std::vector<revoked_cert>> list_revoked_certs() = 0;
  // The record of one certificate (member, expiry, revocation), for the server's check of a
  // client certificate; not_found for a serial the CA never recorded.
  virtual result<client_cert_record> client_cert_status(std::string_view serial) = 0;
  // The CRL number for the next list: one more than the last one handed out, counted in the
  // database in the same transaction that hands it out, so that it only ever grows, whichever
  // process writes the list and whatever the clock says.
  virtual result<std::int64_t> next_crl_number() = 0;

  // Small named values about the club itself (e.g. the master key's check). club_meta:
  // not_found for a name never set. set_club_meta_once: the first value set stays; setting a
  // name again changes nothing and is not an error.
  virtual result<std::vector<std::uint8_t>> club_meta(std::string_view name) = 0;
  virtual result<void> set_club_meta_once(std::string_view name,
                                          std::span<const std::uint8_t> value) = 0;

  virtual result<void> add_audit(const audit_record& record) = 0;
  // All of them in one transaction: one durable commit for many reads.
  virtual result<void> add_audits(std::span<const audit_record> records) = 0;
  // Oldest first, the last `limit` records.
  virtual result<std::vector<audit_record>> list_audit(std::size_t limit) = 0;
  // Deletes at most `limit` records made before `before`, oldest first, in one short transaction;
  // returns how many. Callers loop while it returns `limit`, so writers never wait long.
  virtual result<std::size_t> prune_audit(std::int64_t before, std::size_t limit) = 0;
};

}  // namespace hush::store
