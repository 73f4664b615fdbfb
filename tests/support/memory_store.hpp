#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace hush::testing {

// The tables of one in-memory club, which the fakes of the store interfaces share under one
// mutex: a token, a session and a client certificate name a member, and remove_member reaches
// all three.
struct memory_tables {
  struct token_row {
    store::token_record record;
    std::vector<std::uint8_t> hash;
  };
  struct session_row {
    std::vector<std::uint8_t> hash;
    std::string member;
    std::int64_t created_at = 0;
    std::int64_t last_used_at = 0;
  };

  std::mutex mutex;
  std::map<std::string, store::member_record, std::less<>> members;
  std::int64_t last_member_id = 0;
  std::map<std::string, std::vector<std::uint8_t>, std::less<>> meta;
  std::vector<token_row> tokens;
  std::vector<session_row> sessions;  // in the order added
  std::map<std::uint32_t, store::data_key_record> data_keys;
  std::map<std::int64_t, store::message_record> messages;
  std::int64_t last_message_id = 0;
  std::vector<store::audit_record> audit;  // in the order added
  std::map<std::string, store::client_cert_record, std::less<>> client_certs;
  std::map<std::string, store::issued_cert_record, std::less<>> server_certs;
  std::int64_t crl_number = 0;
  // view_store's change generation: every change to members, tokens, messages or client
  // certificates makes it larger.
  std::uint64_t generation = 1;
};

// In-memory fakes of the store interfaces, for unit tests: they pass the same contract suites as
// the SQLite store (tests/unit/store/contract/) and touch no disk. Each is thread safe (the
// tables' mutex); a sealer runs under that mutex, so it must not call the store (as the
// interface says). Subclass one to make a method fail.
class memory_member_store : public store::member_store {
 public:
  explicit memory_member_store(memory_tables& tables) : tables_(tables) {}
  result<store::member_id> add_member(std::string_view name, store::role member_role,
                                      std::string_view password_hash, std::int64_t now) override;
  result<store::member_record> find_member(std::string_view name) override;
  result<std::vector<store::member_record>> list_members() override;
  result<void> remove_member(std::string_view name, std::int64_t now) override;
  result<store::role> set_member_role(std::string_view name, store::role new_role) override;
  result<void> replace_password_hash(std::string_view name, std::string_view expected,
                                     std::string_view replacement) override;
  result<void> set_password_hash(std::string_view name, std::string_view hash,
                                 std::optional<std::string_view> expected) override;

 private:
  memory_tables& tables_;
};

class memory_meta_store : public store::meta_store {
 public:
  explicit memory_meta_store(memory_tables& tables) : tables_(tables) {}
  result<std::vector<std::uint8_t>> club_meta(std::string_view name) override;
  result<void> set_club_meta_once(std::string_view name,
                                  std::span<const std::uint8_t> value) override;

 private:
  memory_tables& tables_;
};

class memory_token_store : public store::token_store {
 public:
  explicit memory_token_store(memory_tables& tables) : tables_(tables) {}
  result<void> add_token(const store::token_record& token,
                         std::span<const std::uint8_t> hash) override;
  result<store::member_record> member_by_token(std::span<const std::uint8_t> hash,
                                               std::int64_t now) override;
  result<std::vector<store::token_record>> list_tokens() override;
  result<void> remove_token(std::string_view name) override;

 private:
  memory_tables& tables_;
};

class memory_session_store : public store::session_store {
 public:
  explicit memory_session_store(memory_tables& tables) : tables_(tables) {}
  result<void> add_session(std::span<const std::uint8_t> hash, std::string_view member,
                           std::string_view password_hash, std::int64_t now,
                           store::session_limits limits) override;
  result<store::member_record> member_by_session(std::span<const std::uint8_t> hash,
                                                 std::int64_t now,
                                                 store::session_limits limits) override;
  result<void> remove_session(std::span<const std::uint8_t> hash) override;

 private:
  memory_tables& tables_;
};

class memory_message_store : public store::message_store {
 public:
  explicit memory_message_store(memory_tables& tables) : tables_(tables) {}
  using store::message_store::add_data_key;
  result<std::uint32_t> add_data_key(const store::sealer& wrap, std::int64_t now,
                                     const store::meta_guard& guard) override;
  result<store::data_key_record> newest_data_key() override;
  result<store::data_key_record> data_key(std::uint32_t id) override;
  result<std::vector<store::data_key_record>> list_data_keys() override;
  result<void> rewrap_data_keys(std::span<const store::data_key_record> rewrapped,
                                std::string_view meta_name, std::span<const std::uint8_t> expected,
                                std::span<const std::uint8_t> meta_value) override;
  result<void> remove_data_key(std::uint32_t id) override;
  using store::message_store::add_message;
  result<store::message_id> add_message(std::string_view author, std::int64_t now,
                                        store::message_format format, const store::sealer& seal,
                                        const store::message_terms& terms) override;
  result<store::message_record> newest_message(std::int64_t now) override;
  result<store::message_record> newest_message(const store::viewer& who) override;
  result<store::message_record> message(store::message_id id, std::int64_t now) override;
  result<store::message_record> message(store::message_id id, const store::viewer& who) override;
  result<std::vector<store::message_summary>> list_messages(std::optional<store::message_id> before,
                                                            std::size_t limit,
                                                            std::int64_t now) override;
  result<std::vector<store::message_summary>> list_messages(std::optional<store::message_id> before,
                                                            std::size_t limit,
                                                            const store::viewer& who) override;
  result<store::message_record> claim_read(store::message_id id, const store::viewer& who) override;
  result<void> remove_message(store::message_id id) override;
  result<std::size_t> remove_expired(std::int64_t now, std::size_t limit) override;
  result<std::vector<store::message_record>> sealed_messages(std::optional<store::message_id> after,
                                                             std::size_t limit) override;
  result<std::size_t> reseal_messages(std::span<const store::resealed_message> batch) override;

 private:
  // The reads above, with `who` null for the club's own tools (every message).
  result<store::message_record> newest_visible(std::int64_t now, const store::viewer* who);
  result<store::message_record> one_visible(store::message_id id, std::int64_t now,
                                            const store::viewer* who);
  result<std::vector<store::message_summary>> page_visible(std::optional<store::message_id> before,
                                                           std::size_t limit, std::int64_t now,
                                                           const store::viewer* who);

  memory_tables& tables_;
};

class memory_audit_store : public store::audit_store {
 public:
  explicit memory_audit_store(memory_tables& tables) : tables_(tables) {}
  result<void> add_audit(const store::audit_record& record) override;
  result<void> add_audits(std::span<const store::audit_record> records) override;
  result<std::vector<store::audit_record>> list_audit(std::size_t limit) override;
  result<std::vector<store::audit_record>> reads_of(store::message_id id,
                                                    std::size_t limit) override;
  result<std::size_t> prune_audit(std::int64_t before, std::size_t limit) override;

 private:
  memory_tables& tables_;
};

class memory_cert_store : public store::cert_store {
 public:
  explicit memory_cert_store(memory_tables& tables) : tables_(tables) {}
  result<void> add_client_cert(const store::client_cert_record& cert) override;
  result<void> add_server_cert(const store::issued_cert_record& cert) override;
  result<void> revoke_cert(std::string_view serial, std::int64_t at) override;
  result<std::vector<store::issued_cert_record>> list_certs() override;
  result<std::size_t> revoke_member_certs(std::string_view member, std::int64_t at) override;
  result<std::vector<store::revoked_cert>> list_revoked_certs() override;
  result<store::client_cert_record> client_cert_status(std::string_view serial) override;
  result<std::int64_t> next_crl_number() override;

 private:
  memory_tables& tables_;
};

class memory_view_store : public store::view_store {
 public:
  explicit memory_view_store(memory_tables& tables) : tables_(tables) {}
  result<store::read_snapshot> snapshot(std::int64_t now) override;
  result<std::uint64_t> generation() override;
  result<std::uint64_t> add_audits_as_of(std::span<const store::audited_read> reads,
                                         std::vector<bool>& added) override;

 private:
  memory_tables& tables_;
};

// A whole club's store in memory: every interface's fake over one set of tables.
class memory_store : public store::store {
 public:
  memory_store() = default;
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;

  result<hush::store::member_id> add_member(std::string_view name, hush::store::role member_role,
                                            std::string_view password_hash,
                                            std::int64_t now) override;
  result<hush::store::member_record> find_member(std::string_view name) override;
  result<std::vector<hush::store::member_record>> list_members() override;
  result<void> remove_member(std::string_view name, std::int64_t now) override;
  result<hush::store::role> set_member_role(std::string_view name,
                                            hush::store::role new_role) override;
  result<void> replace_password_hash(std::string_view name, std::string_view expected,
                                     std::string_view replacement) override;
  result<void> set_password_hash(std::string_view name, std::string_view hash,
                                 std::optional<std::string_view> expected) override;

  result<std::vector<std::uint8_t>> club_meta(std::string_view name) override;
  result<void> set_club_meta_once(std::string_view name,
                                  std::span<const std::uint8_t> value) override;

  result<void> add_token(const hush::store::token_record& token,
                         std::span<const std::uint8_t> hash) override;
  result<hush::store::member_record> member_by_token(std::span<const std::uint8_t> hash,
                                                     std::int64_t now) override;
  result<std::vector<hush::store::token_record>> list_tokens() override;
  result<void> remove_token(std::string_view name) override;

  result<void> add_session(std::span<const std::uint8_t> hash, std::string_view member,
                           std::string_view password_hash, std::int64_t now,
                           hush::store::session_limits limits) override;
  result<hush::store::member_record> member_by_session(std::span<const std::uint8_t> hash,
                                                       std::int64_t now,
                                                       hush::store::session_limits limits) override;
  result<void> remove_session(std::span<const std::uint8_t> hash) override;

  using hush::store::message_store::add_data_key;
  result<std::uint32_t> add_data_key(const hush::store::sealer& wrap, std::int64_t now,
                                     const hush::store::meta_guard& guard) override;
  result<hush::store::data_key_record> newest_data_key() override;
  result<hush::store::data_key_record> data_key(std::uint32_t id) override;
  result<std::vector<hush::store::data_key_record>> list_data_keys() override;
  result<void> rewrap_data_keys(std::span<const hush::store::data_key_record> rewrapped,
                                std::string_view meta_name, std::span<const std::uint8_t> expected,
                                std::span<const std::uint8_t> meta_value) override;
  result<void> remove_data_key(std::uint32_t id) override;
  using hush::store::message_store::add_message;
  result<hush::store::message_id> add_message(std::string_view author, std::int64_t now,
                                              hush::store::message_format format,
                                              const hush::store::sealer& seal,
                                              const hush::store::message_terms& terms) override;
  result<hush::store::message_record> newest_message(std::int64_t now) override;
  result<hush::store::message_record> newest_message(const hush::store::viewer& who) override;
  result<hush::store::message_record> message(hush::store::message_id id,
                                              std::int64_t now) override;
  result<hush::store::message_record> message(hush::store::message_id id,
                                              const hush::store::viewer& who) override;
  result<std::vector<hush::store::message_summary>> list_messages(
      std::optional<hush::store::message_id> before, std::size_t limit, std::int64_t now) override;
  result<std::vector<hush::store::message_summary>> list_messages(
      std::optional<hush::store::message_id> before, std::size_t limit,
      const hush::store::viewer& who) override;
  result<hush::store::message_record> claim_read(hush::store::message_id id,
                                                 const hush::store::viewer& who) override;
  result<void> remove_message(hush::store::message_id id) override;
  result<std::size_t> remove_expired(std::int64_t now, std::size_t limit) override;
  result<std::vector<hush::store::message_record>> sealed_messages(
      std::optional<hush::store::message_id> after, std::size_t limit) override;
  result<std::size_t> reseal_messages(
      std::span<const hush::store::resealed_message> batch) override;

  result<void> add_audit(const hush::store::audit_record& record) override;
  result<void> add_audits(std::span<const hush::store::audit_record> records) override;
  result<std::vector<hush::store::audit_record>> list_audit(std::size_t limit) override;
  result<std::vector<hush::store::audit_record>> reads_of(hush::store::message_id id,
                                                          std::size_t limit) override;
  result<std::size_t> prune_audit(std::int64_t before, std::size_t limit) override;

  result<void> add_client_cert(const hush::store::client_cert_record& cert) override;
  result<void> add_server_cert(const hush::store::issued_cert_record& cert) override;
  result<void> revoke_cert(std::string_view serial, std::int64_t at) override;
  result<std::vector<hush::store::issued_cert_record>> list_certs() override;
  result<std::size_t> revoke_member_certs(std::string_view member, std::int64_t at) override;
  result<std::vector<hush::store::revoked_cert>> list_revoked_certs() override;
  result<hush::store::client_cert_record> client_cert_status(std::string_view serial) override;
  result<std::int64_t> next_crl_number() override;

  result<hush::store::read_snapshot> snapshot(std::int64_t now) override;
  result<std::uint64_t> generation() override;
  result<std::uint64_t> add_audits_as_of(std::span<const hush::store::audited_read> reads,
                                         std::vector<bool>& added) override;

 private:
  memory_tables tables_;
  memory_member_store members_{tables_};
  memory_meta_store meta_{tables_};
  memory_token_store tokens_{tables_};
  memory_session_store sessions_{tables_};
  memory_message_store messages_{tables_};
  memory_audit_store audit_{tables_};
  memory_cert_store certs_{tables_};
  memory_view_store views_{tables_};
};

}  // namespace hush::testing
