#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/postgres/connection.hpp"
#include "store/store.hpp"

namespace hush::store {

// The shared store: every interface on a PostgreSQL database, through libpq, for several hush
// instances (and the CLI) on one club. Thread safe, and safe beside other processes and other
// hosts: PostgreSQL's transactions and locks. A small bounded pool of connections, each with its
// prepared statements, a statement and a lock timeout (storage_busy when they run out), and the
// server's own synchronous_commit (never lowered: an acknowledged change is as durable as the
// server is set to make it). A connection the server dropped is noticed when it is taken from
// the pool and replaced; a call that loses its connection midway fails with storage_unavailable
// and the next call connects again. Changes that a concurrent one may deadlock with or serialize
// against are retried a few times, then answer storage_busy.
//
// How it keeps the interfaces' promises:
// - the change generation: a one-row table that triggers on members, tokens, messages,
//   message_recipients and client_certs bump in the same transaction as the change (and NOTIFY
//   hush_changes, for instances that listen). A statement-level trigger locks the row before the
//   statement touches any other, so changes queue on it in one order and never deadlock over it.
// - add_audits_as_of reads the generation FOR SHARE: a change that has bumped it but not
//   committed makes the read wait and then see its value; once read, no change can bump it
//   until the audits commit. The generation read is thus the one at the commit.
// - the last admin (remove_member, set_member_role), the data keys and their guard, and the
//   order of message ids are each decided under a transaction-scoped advisory lock, so the check
//   and the change are one step across every process, as SQLite's write lock makes them.
// - claim_read counts a read with one UPDATE ... WHERE reads < max_reads RETURNING, which checks
//   the visibility again under the row's lock (a concurrent claim's new version is re-checked),
//   and the read that makes the count removes the row in the same transaction: exactly
//   max_reads claims succeed, whichever instance or connection makes them. A read that counts
//   nothing is one plain SELECT. The last read's removal keeps what remove_message keeps (below).
// - remove_message DELETEs the row in a durable commit: no query, snapshot started afterwards or
//   instance sees it again. PostgreSQL cannot do what SQLite's secure_delete and log wipe do:
//   the dead row version (and its TOAST chunks) stays in the table's files until VACUUM
//   (autovacuum) reclaims it, and even then its bytes may stay in the page's free space until
//   overwritten; the WAL keeps the body until its segments are recycled, and WAL archives,
//   base backups and standbys keep their copies. It answers success all the same (as the
//   contract suites require), which departs from message_store's "not_wiped, never success"
//   rule (PostgreSQL could never meet it); docs/security.md ("At rest") says so. The body is
//   sealed: what stays is ciphertext under a data key that the master key, outside the database,
//   wraps.
// - schema migrations: a hush_schema_version table, checked and migrated under
//   pg_advisory_xact_lock in one transaction (DDL is transactional), so instances starting
//   together migrate once; a schema newer than this binary is refused.
class postgres_store : public store, public guess_store, public club_copy {
 public:
  // Connects to `conninfo` (a libpq keyword=value string or postgresql:// URI, several hosts and
  // target_session_attrs included: passed to libpq as it is) and brings the schema up to date.
  // Throws std::runtime_error with libpq's reason, every password scrubbed, when it cannot
  // (startup only).
  explicit postgres_store(std::string conninfo, pg_timeouts timeouts = {});
  ~postgres_store() override;
  postgres_store(const postgres_store&) = delete;
  postgres_store& operator=(const postgres_store&) = delete;

  // At most this many connections at once; a caller beyond them waits for one (up to the
  // statement timeout, then storage_busy).
  static constexpr std::size_t max_connections = 8;

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
  // LISTEN hush_changes on a connection of its own (not the pool's), which the triggers NOTIFY
  // in every changing transaction; `on_change` also runs each time the connection is made (again),
  // since notifications sent while nobody listened are lost.
  bool follow_changes(const std::function<void()>& on_change, const std::stop_token& stop) override;

  // guess_store: the table `guesses`, keyed by the throttle's keys, on the server's clock.
  guess_store* shared_guesses() override { return this; }
  result<std::array<guess_count, 2>> guess_counts(std::string_view first,
                                                  std::string_view second) override;
  result<std::array<guess_count, 2>> add_guess_failures(std::string_view first,
                                                        std::string_view second,
                                                        std::int64_t afresh_seconds) override;
  result<void> forgive_guess(std::string_view first, std::string_view second) override;

  // club_copy (copy.cpp)
  club_copy* copier() override { return this; }
  result<copy_marks> export_club(copy_sink& sink) override;
  result<void> import_club(const std::function<result<copy_marks>(copy_sink&)>& fill) override;

  class lease;

 private:
  result<lease> acquire();
  void give_back(std::unique_ptr<pg_connection> connection);
  void forget_one();
  void migrate(pg_connection& db);

  std::string conninfo_;
  pg_timeouts timeouts_;
  std::mutex pool_mutex_;
  std::condition_variable pool_freed_;
  std::vector<std::unique_ptr<pg_connection>> idle_;
  std::size_t open_ = 0;  // idle, leased and being connected
};

}  // namespace hush::store
