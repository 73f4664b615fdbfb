// The in-memory fakes of the credential interfaces: members, tokens, sessions, certificates.
#include <algorithm>
#include <tuple>

#include "core/error.hpp"
#include "support/memory_store.hpp"

namespace hush::testing {

using namespace store;  // NOLINT(google-build-using-namespace): the records this file fakes

namespace {

bool same_bytes(const std::vector<std::uint8_t>& a, std::span<const std::uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

bool ran_out(const memory_tables::session_row& s, std::int64_t now, session_limits limits) {
  return now - s.last_used_at >= limits.idle || now - s.created_at >= limits.absolute;
}

// Idle time is kept to the minute, as the interface promises.
constexpr std::int64_t use_granularity = 60;

std::size_t revoke_certs_of(memory_tables& tables, std::string_view member, std::int64_t at) {
  std::size_t revoked = 0;
  for (auto& [serial, cert] : tables.client_certs) {
    if (cert.member == member && !cert.revoked()) {
      cert.revoked_at = at;
      ++revoked;
    }
  }
  return revoked;
}

void end_sessions_of(memory_tables& tables, std::string_view member) {
  std::erase_if(tables.sessions, [&](const auto& s) { return s.member == member; });
}

}  // namespace

result<member_id> memory_member_store::add_member(std::string_view name, role member_role,
                                                  std::string_view password_hash,
                                                  std::int64_t now) {
  std::lock_guard lock(tables_.mutex);
  if (tables_.members.contains(name)) {
    return make_error_code(errc::already_exists);
  }
  const member_id id{++tables_.last_member_id};
  tables_.members.emplace(std::string(name), member_record{id, std::string(name), member_role,
                                                           std::string(password_hash), now});
  ++tables_.generation;
  return id;
}

result<member_record> memory_member_store::find_member(std::string_view name) {
  std::lock_guard lock(tables_.mutex);
  const auto found = tables_.members.find(name);
  if (found == tables_.members.end()) {
    return make_error_code(errc::not_found);
  }
  return found->second;
}

result<std::vector<member_record>> memory_member_store::list_members() {
  std::lock_guard lock(tables_.mutex);
  std::vector<member_record> all;
  for (const auto& [name, member] : tables_.members) {
    all.push_back(member);  // std::string orders bytes as unsigned: byte order
  }
  return all;
}

result<void> memory_member_store::remove_member(std::string_view name, std::int64_t now) {
  std::lock_guard lock(tables_.mutex);
  const auto found = tables_.members.find(name);
  if (found == tables_.members.end()) {
    return make_error_code(errc::not_found);
  }
  const auto is_admin = [](const auto& m) { return m.second.member_role == role::admin; };
  if (is_admin(*found) &&
      std::count_if(tables_.members.begin(), tables_.members.end(), is_admin) == 1) {
    return make_error_code(errc::conflict);
  }
  revoke_certs_of(tables_, name, now);
  std::erase_if(tables_.tokens, [&](const auto& t) { return t.record.member == name; });
  end_sessions_of(tables_, name);
  // As the stores do: the member's id leaves the messages addressed to them and those they
  // wrote, so that nobody inherits them by id.
  const auto id = found->second.id;
  for (auto& [key, message] : tables_.messages) {
    if (message.author_id == id) {
      message.author_id = member_id{};
    }
    for (auto& r : message.terms.to) {
      if (r.type == recipient::kind::member && r.member == id) {
        r.member = member_id{};
      }
    }
  }
  tables_.members.erase(found);
  ++tables_.generation;
  return {};
}

result<role> memory_member_store::set_member_role(std::string_view name, role new_role) {
  std::lock_guard lock(tables_.mutex);
  const auto found = tables_.members.find(name);
  if (found == tables_.members.end()) {
    return make_error_code(errc::not_found);
  }
  const auto is_admin = [](const auto& m) { return m.second.member_role == role::admin; };
  const auto old_role = found->second.member_role;
  if (old_role == role::admin && new_role != role::admin &&
      std::count_if(tables_.members.begin(), tables_.members.end(), is_admin) == 1) {
    return make_error_code(errc::conflict);
  }
  found->second.member_role = new_role;
  ++tables_.generation;
  return old_role;
}

result<void> memory_member_store::replace_password_hash(std::string_view name,
                                                        std::string_view expected,
                                                        std::string_view replacement) {
  std::lock_guard lock(tables_.mutex);
  const auto found = tables_.members.find(name);
  if (found == tables_.members.end() || found->second.password_hash != expected) {
    return make_error_code(errc::not_found);
  }
  found->second.password_hash = replacement;
  ++tables_.generation;
  return {};
}

result<void> memory_member_store::set_password_hash(std::string_view name, std::string_view hash,
                                                    std::optional<std::string_view> expected) {
  std::lock_guard lock(tables_.mutex);
  const auto found = tables_.members.find(name);
  if (found == tables_.members.end()) {
    return make_error_code(errc::not_found);
  }
  if (expected && found->second.password_hash != *expected) {
    return make_error_code(errc::conflict);
  }
  found->second.password_hash = hash;
  std::erase_if(tables_.sessions, [&](const auto& s) { return s.member == name; });
  ++tables_.generation;
  return {};
}

result<void> memory_token_store::add_token(const token_record& token,
                                           std::span<const std::uint8_t> hash) {
  std::lock_guard lock(tables_.mutex);
  if (!tables_.members.contains(token.member)) {
    return make_error_code(errc::not_found);
  }
  if (std::ranges::any_of(tables_.tokens, [&](const auto& t) {
        return t.record.name == token.name || same_bytes(t.hash, hash);
      })) {
    return make_error_code(errc::already_exists);
  }
  tables_.tokens.push_back({token, {hash.begin(), hash.end()}});
  ++tables_.generation;
  return {};
}

result<member_record> memory_token_store::member_by_token(std::span<const std::uint8_t> hash,
                                                          std::int64_t now) {
  std::lock_guard lock(tables_.mutex);
  const auto found =
      std::ranges::find_if(tables_.tokens, [&](const auto& t) { return same_bytes(t.hash, hash); });
  if (found == tables_.tokens.end() ||
      (found->record.expires_at != 0 && found->record.expires_at <= now)) {
    return make_error_code(errc::not_found);
  }
  return tables_.members.at(found->record.member);
}

result<std::vector<token_record>> memory_token_store::list_tokens() {
  std::lock_guard lock(tables_.mutex);
  std::vector<token_record> all;
  for (const auto& t : tables_.tokens) {
    all.push_back(t.record);
  }
  std::ranges::sort(all, [](const auto& a, const auto& b) {
    return std::tie(a.member, a.name) < std::tie(b.member, b.name);
  });
  return all;
}

result<void> memory_token_store::remove_token(std::string_view name) {
  std::lock_guard lock(tables_.mutex);
  if (std::erase_if(tables_.tokens, [&](const auto& t) { return t.record.name == name; }) == 0) {
    return make_error_code(errc::not_found);
  }
  ++tables_.generation;
  return {};
}

result<void> memory_session_store::add_session(std::span<const std::uint8_t> hash,
                                               std::string_view member,
                                               std::string_view password_hash, std::int64_t now,
                                               session_limits limits) {
  std::lock_guard lock(tables_.mutex);
  const auto found = tables_.members.find(member);
  if (found == tables_.members.end()) {
    return make_error_code(errc::not_found);
  }
  if (found->second.password_hash != password_hash) {
    return make_error_code(errc::conflict);
  }
  // Refused before anything changes (all or nothing); a session the sweep would take frees its
  // hash.
  if (std::ranges::any_of(tables_.sessions, [&](const auto& s) {
        return same_bytes(s.hash, hash) && !ran_out(s, now, limits);
      })) {
    return make_error_code(errc::already_exists);
  }
  std::erase_if(tables_.sessions, [&](const auto& s) { return ran_out(s, now, limits); });
  tables_.sessions.push_back({{hash.begin(), hash.end()}, std::string(member), now, now});
  if (limits.max_per_member > 0) {
    // Beyond the cap, their oldest go: the vector is in the order added.
    auto beyond =
        std::ranges::count_if(tables_.sessions, [&](const auto& s) { return s.member == member; }) -
        limits.max_per_member;
    for (auto it = tables_.sessions.begin(); it != tables_.sessions.end() && beyond > 0;) {
      if (it->member == member) {
        it = tables_.sessions.erase(it);
        --beyond;
      } else {
        ++it;
      }
    }
  }
  return {};
}

result<member_record> memory_session_store::member_by_session(std::span<const std::uint8_t> hash,
                                                              std::int64_t now,
                                                              session_limits limits) {
  std::lock_guard lock(tables_.mutex);
  const auto found = std::ranges::find_if(tables_.sessions,
                                          [&](const auto& s) { return same_bytes(s.hash, hash); });
  if (found == tables_.sessions.end()) {
    return make_error_code(errc::not_found);
  }
  if (ran_out(*found, now, limits)) {
    return make_error_code(errc::expired);
  }
  if (now - found->last_used_at >= use_granularity) {
    found->last_used_at = now;
  }
  return tables_.members.at(found->member);
}

result<void> memory_session_store::remove_session(std::span<const std::uint8_t> hash) {
  std::lock_guard lock(tables_.mutex);
  if (std::erase_if(tables_.sessions, [&](const auto& s) { return same_bytes(s.hash, hash); }) ==
      0) {
    return make_error_code(errc::not_found);
  }
  return {};
}

result<void> memory_cert_store::add_client_cert(const client_cert_record& cert) {
  std::lock_guard lock(tables_.mutex);
  if (!tables_.members.contains(cert.member)) {
    return make_error_code(errc::not_found);
  }
  if (!tables_.client_certs.emplace(cert.serial, cert).second) {
    return make_error_code(errc::already_exists);
  }
  ++tables_.generation;
  return {};
}

result<void> memory_cert_store::add_server_cert(const issued_cert_record& cert) {
  if (cert.kind == cert_kind::client) {
    return make_error_code(errc::storage_failure);
  }
  std::lock_guard lock(tables_.mutex);
  if (!tables_.server_certs.emplace(cert.serial, cert).second) {
    return make_error_code(errc::already_exists);
  }
  return {};
}

result<void> memory_cert_store::revoke_cert(std::string_view serial, std::int64_t at) {
  std::lock_guard lock(tables_.mutex);
  bool found = false;
  const auto revoke = [&](auto& certs) {
    if (auto cert = certs.find(serial); cert != certs.end()) {
      found = true;
      if (!cert->second.revoked()) {
        cert->second.revoked_at = at;
      }
    }
  };
  revoke(tables_.client_certs);
  revoke(tables_.server_certs);
  if (!found) {
    return make_error_code(errc::not_found);
  }
  ++tables_.generation;
  return {};
}

result<std::vector<issued_cert_record>> memory_cert_store::list_certs() {
  std::lock_guard lock(tables_.mutex);
  std::vector<issued_cert_record> all;
  for (const auto& [serial, c] : tables_.client_certs) {
    all.push_back({serial, cert_kind::client, c.member, c.issued_at, c.expires_at, c.revoked_at});
  }
  for (const auto& [serial, c] : tables_.server_certs) {
    all.push_back(c);
  }
  std::ranges::sort(all, [](const auto& a, const auto& b) {
    return std::tie(a.issued_at, a.serial) < std::tie(b.issued_at, b.serial);
  });
  return all;
}

result<std::size_t> memory_cert_store::revoke_member_certs(std::string_view member,
                                                           std::int64_t at) {
  std::lock_guard lock(tables_.mutex);
  const auto revoked = revoke_certs_of(tables_, member, at);
  tables_.generation += revoked;
  return revoked;
}

result<std::vector<revoked_cert>> memory_cert_store::list_revoked_certs() {
  std::lock_guard lock(tables_.mutex);
  std::vector<revoked_cert> all;
  for (const auto& [serial, c] : tables_.client_certs) {
    if (c.revoked()) {
      all.push_back({serial, c.revoked_at});
    }
  }
  for (const auto& [serial, c] : tables_.server_certs) {
    if (c.revoked()) {
      all.push_back({serial, c.revoked_at});
    }
  }
  std::ranges::sort(all, [](const auto& a, const auto& b) {
    return std::tie(a.revoked_at, a.serial) < std::tie(b.revoked_at, b.serial);
  });
  return all;
}

result<client_cert_record> memory_cert_store::client_cert_status(std::string_view serial) {
  std::lock_guard lock(tables_.mutex);
  const auto found = tables_.client_certs.find(serial);
  if (found == tables_.client_certs.end()) {
    return make_error_code(errc::not_found);
  }
  return found->second;
}

result<std::int64_t> memory_cert_store::next_crl_number() {
  std::lock_guard lock(tables_.mutex);
  return ++tables_.crl_number;
}

}  // namespace hush::testing
