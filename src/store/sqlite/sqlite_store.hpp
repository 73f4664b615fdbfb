#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "store/store.hpp"

namespace hush::store {

class sqlite_connection;

// The embedded store: one SQLite file in WAL mode, synchronous=FULL (an acknowledged write
// survives a crash or power loss), secure_delete (removed rows are overwritten), a pool of
// connections so that readers never wait for each other. Thread safe, and safe beside other
// processes on the same file (SQLite's locks, with a busy timeout: storage_busy when it runs
// out). Each change is one SQLite transaction (BEGIN IMMEDIATE when it spans statements).
//
// How it keeps the interfaces' promises:
// - remove_message: secure_delete zeroes the row in the database pages the deletion writes, then
//   a checkpoint copies the write-ahead log into the database and truncates it (the log still
//   held the pages as they were). not_wiped when a long reader keeps the log from being emptied:
//   the bytes stay in the log until a later removal or the last connection's close wipes it.
// - next_crl_number: a one-row counter table, bumped and read in one write transaction; it
//   started at the time of the migration that made it, above every number the lists written
//   before it (which used the time) carried.
// - the change generation: a one-row table that triggers on members, tokens, messages,
//   message_recipients and client_certs bump in the same transaction as the change (migrations
//   9 and 10).
// - claim_read: the visibility check, the count and the last read's removal in one BEGIN
//   IMMEDIATE transaction (a read that counts nothing takes no write lock); the removal is
//   wiped as remove_message's.
// - recipients name members by id; a trigger zeroes a member's id out of them (and out of the
//   messages they wrote) when the member goes, since SQLite hands the largest rowid out again.
// - tokens and sessions name their member by a foreign key with ON DELETE CASCADE; client
//   certificates do not (their rows stay, revoked, after the member goes).
class sqlite_store : public store, public club_copy {
 public:
  // Opens an existing database file and brings its schema up to date; writes only when a
  // migration is due, so a club on a read-only file system or a full disk still opens for
  // reading. Throws std::runtime_error naming the file when it cannot (startup only).
  explicit sqlite_store(std::filesystem::path path);
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  // member_store
  result<member_id> add_member(std::string_view name, role member_role,
                               std::string_view password_hash, std::int64_t now) override;
  result<member_record> find_member(std::string_view name) override;
  result<std::vector<member_record>> list_members() override;
  result<void> remove_member(std::string_view name, std::int64_t now) override;
  result<role> set_member_role(std::string_view name, role new_role) override;
  result<void> replace_password_hash(std::string_view name, std::string_view expected,
                                     std::string_view replacement) override;
  result<void> set_password_hash(std::string_view name, std::string_view hash,
                                 std::optional<std::string_view> expected) override;

  // message_store
  using message_store::add_data_key;
  result<std::uint32_t> add_data_key(const sealer& wrap, std::int64_t now,
                                     const meta_guard& guard) override;
  result<data_key_record> newest_data_key() override;
  result<data_key_record> data_key(std::uint32_t id) override;
  result<std::vector<data_key_record>> list_data_keys() override;
  result<void> rewrap_data_keys(std::span<const data_key_record> rewrapped,
                                std::string_view meta_name, std::span<const std::uint8_t> expected,
                                std::span<const std::uint8_t> meta_value) override;
  result<void> remove_data_key(std::uint32_t id) override;

  // messages.cpp
  using message_store::add_message;
  result<message_id> add_message(std::string_view author, std::int64_t now, message_format format,
                                 const sealer& seal, const message_terms& terms) override;
  result<message_record> newest_message(std::int64_t now) override;
  result<message_record> newest_message(const viewer& who) override;
  result<message_record> message(message_id id, std::int64_t now) override;
  result<message_record> message(message_id id, const viewer& who) override;
  result<std::vector<message_summary>> list_messages(std::optional<message_id> before,
                                                     std::size_t limit, std::int64_t now) override;
  result<std::vector<message_summary>> list_messages(std::optional<message_id> before,
                                                     std::size_t limit, const viewer& who) override;
  result<message_record> claim_read(message_id id, const viewer& who) override;
  result<void> remove_message(message_id id) override;
  result<std::size_t> remove_expired(std::int64_t now, std::size_t limit) override;
  result<std::vector<message_record>> sealed_messages(std::optional<message_id> after,
                                                      std::size_t limit) override;
  result<std::size_t> reseal_messages(std::span<const resealed_message> batch) override;

  // token_store
  result<void> add_token(const token_record& token, std::span<const std::uint8_t> hash) override;
  result<member_record> member_by_token(std::span<const std::uint8_t> hash,
                                        std::int64_t now) override;
  result<std::vector<token_record>> list_tokens() override;
  result<void> remove_token(std::string_view name) override;

  // session_store
  result<void> add_session(std::span<const std::uint8_t> hash, std::string_view member,
                           std::string_view password_hash, std::int64_t now,
                           session_limits limits) override;
  result<member_record> member_by_session(std::span<const std::uint8_t> hash, std::int64_t now,
                                          session_limits limits) override;
  result<void> remove_session(std::span<const std::uint8_t> hash) override;

  // cert_store
  result<void> add_client_cert(const client_cert_record& cert) override;
  result<void> add_server_cert(const issued_cert_record& cert) override;
  result<void> revoke_cert(std::string_view serial, std::int64_t at) override;
  result<std::vector<issued_cert_record>> list_certs() override;
  result<std::size_t> revoke_member_certs(std::string_view member, std::int64_t at) override;
  result<std::vector<revoked_cert>> list_revoked_certs() override;
  result<client_cert_record> client_cert_status(std::string_view serial) override;
  result<std::int64_t> next_crl_number() override;

  // meta_store
  result<std::vector<std::uint8_t>> club_meta(std::string_view name) override;
  result<void> set_club_meta_once(std::string_view name,
                                  std::span<const std::uint8_t> value) override;

  // audit_store
  result<void> add_audit(const audit_record& record) override;
  result<void> add_audits(std::span<const audit_record> records) override;
  result<std::vector<audit_record>> list_audit(std::size_t limit) override;
  result<std::vector<audit_record>> reads_of(message_id id, std::size_t limit) override;
  result<std::size_t> prune_audit(std::int64_t before, std::size_t limit) override;

  // view_store
  result<read_snapshot> snapshot(std::int64_t now) override;
  result<std::uint64_t> generation() override;
  result<std::uint64_t> add_audits_as_of(std::span<const audited_read> reads,
                                         std::vector<bool>& added) override;

  // Runs PRAGMA integrity_check; true when SQLite answers "ok".
  bool integrity_ok();

  // Writes a consistent copy of the whole database to `target` while others go on reading and
  // writing (VACUUM INTO: one read transaction, so the copy is one moment of the database, never
  // a torn one; free pages, and with them removed rows, are left behind). `target` must not
  // exist; it is created 0600. Throws std::runtime_error naming the file (CLI only).
  void copy_to(const std::filesystem::path& target);

  // club_copy (copy.cpp)
  club_copy* copier() override { return this; }
  result<copy_marks> export_club(copy_sink& sink) override;
  result<void> import_club(const std::function<result<copy_marks>(copy_sink&)>& fill) override;

 private:
  class lease;
  lease acquire();
  // Brings the schema up to date under the write lock; throws, naming the file, when it cannot.
  void migrate(sqlite_connection& db);

  std::filesystem::path path_;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<sqlite_connection>> idle_;
};

}  // namespace hush::store
