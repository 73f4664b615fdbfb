// The in-memory fakes of the club's data (meta, messages and keys, audit), and the aggregate that
// puts every fake together.
#include "support/memory_store.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/secret.hpp"

namespace hush::testing {

using namespace store;  // NOLINT(google-build-using-namespace): the records this file fakes

result<std::vector<std::uint8_t>> memory_meta_store::club_meta(std::string_view name) {
  std::lock_guard lock(tables_.mutex);
  const auto found = tables_.meta.find(name);
  if (found == tables_.meta.end()) {
    return make_error_code(errc::not_found);
  }
  return found->second;
}

result<void> memory_meta_store::set_club_meta_once(std::string_view name,
                                                   std::span<const std::uint8_t> value) {
  std::lock_guard lock(tables_.mutex);
  tables_.meta.try_emplace(std::string(name), value.begin(), value.end());
  return {};
}

namespace {

// meta_guard's rule, with the tables' mutex held.
bool guard_holds(const memory_tables& tables, const meta_guard& guard) {
  if (guard.name.empty()) {
    return true;
  }
  const auto found = tables.meta.find(std::string(guard.name));
  return found == tables.meta.end() ||
         constant_time_equal(std::span<const std::uint8_t>(found->second), guard.expected);
}

}  // namespace

result<std::uint32_t> memory_message_store::add_data_key(const sealer& wrap, std::int64_t,
                                                         const meta_guard& guard) {
  std::lock_guard lock(tables_.mutex);
  if (!guard_holds(tables_, guard)) {
    return make_error_code(errc::conflict);
  }
  const std::uint32_t id = tables_.data_keys.empty() ? 1 : tables_.data_keys.rbegin()->first + 1;
  auto wrapped = wrap(id);
  if (!wrapped) {
    return wrapped.error();
  }
  tables_.data_keys.emplace(id, data_key_record{id, std::move(*wrapped)});
  return id;
}

result<data_key_record> memory_message_store::newest_data_key() {
  std::lock_guard lock(tables_.mutex);
  if (tables_.data_keys.empty()) {
    return make_error_code(errc::not_found);
  }
  return tables_.data_keys.rbegin()->second;
}

result<data_key_record> memory_message_store::data_key(std::uint32_t id) {
  std::lock_guard lock(tables_.mutex);
  const auto found = tables_.data_keys.find(id);
  if (found == tables_.data_keys.end()) {
    return make_error_code(errc::not_found);
  }
  return found->second;
}

result<std::vector<data_key_record>> memory_message_store::list_data_keys() {
  std::lock_guard lock(tables_.mutex);
  std::vector<data_key_record> keys;
  for (const auto& [id, key] : tables_.data_keys) {
    keys.push_back(key);
  }
  return keys;
}

result<void> memory_message_store::rewrap_data_keys(std::span<const data_key_record> rewrapped,
                                                    std::string_view meta_name,
                                                    std::span<const std::uint8_t> expected,
                                                    std::span<const std::uint8_t> meta_value) {
  std::lock_guard lock(tables_.mutex);
  if (!guard_holds(tables_, meta_guard{meta_name, expected})) {
    return make_error_code(errc::conflict);
  }
  if (rewrapped.size() != tables_.data_keys.size()) {
    return make_error_code(errc::conflict);
  }
  for (const auto& key : rewrapped) {
    if (!tables_.data_keys.contains(key.id)) {
      return make_error_code(errc::conflict);
    }
  }
  for (const auto& key : rewrapped) {
    tables_.data_keys[key.id].wrapped = key.wrapped;
  }
  tables_.meta.insert_or_assign(std::string(meta_name),
                                std::vector<std::uint8_t>(meta_value.begin(), meta_value.end()));
  return {};
}

result<void> memory_message_store::remove_data_key(std::uint32_t id) {
  std::lock_guard lock(tables_.mutex);
  const auto found = tables_.data_keys.find(id);
  if (found == tables_.data_keys.end()) {
    return make_error_code(errc::not_found);
  }
  if (id == tables_.data_keys.rbegin()->first) {
    return make_error_code(errc::conflict);
  }
  tables_.data_keys.erase(found);
  return {};
}

namespace {

// message_store's rule of who sees what, with the tables' mutex held.
bool visible(const message_record& m, std::int64_t now, const viewer* who) {
  if (m.terms.expires_at != 0 && m.terms.expires_at <= now) {
    return false;
  }
  if (who == nullptr || m.terms.to.empty() || (who->id.value > 0 && m.author_id == who->id)) {
    return true;
  }
  return std::ranges::any_of(m.terms.to, [&](const recipient& r) {
    return r.type == recipient::kind::role ? r.member_role == who->member_role
                                           : who->id.value > 0 && r.member == who->id;
  });
}

// A stored record as a read returns it: member recipients under their name now.
message_record shown(const memory_tables& tables, message_record m) {
  for (auto& r : m.terms.to) {
    if (r.type != recipient::kind::member) {
      continue;
    }
    r.name.clear();
    for (const auto& [name, member] : tables.members) {
      if (r.member.value != 0 && member.id == r.member) {
        r.name = name;
      }
    }
  }
  return m;
}

}  // namespace

result<message_id> memory_message_store::add_message(std::string_view author, std::int64_t now,
                                                     message_format format, const sealer& seal,
                                                     const message_terms& terms) {
  if (const auto bad = check_terms(terms, now)) {
    return bad;
  }
  std::lock_guard lock(tables_.mutex);
  for (const auto& r : terms.to) {
    if (r.type == recipient::kind::member &&
        std::ranges::none_of(tables_.members,
                             [&](const auto& m) { return m.second.id == r.member; })) {
      return make_error_code(errc::not_found);
    }
  }
  const message_id id{tables_.last_message_id + 1};
  auto sealed = seal(id.value);
  if (!sealed) {
    return sealed.error();
  }
  tables_.last_message_id = id.value;
  message_record row;
  row.id = id;
  row.author = author;
  row.created_at = now;
  row.sealed = std::move(*sealed);
  row.format = format;
  row.terms = terms;
  for (auto& r : row.terms.to) {
    r.name.clear();
  }
  const auto by = tables_.members.find(author);
  row.author_id = by == tables_.members.end() ? member_id{} : by->second.id;
  tables_.messages.emplace(id.value, std::move(row));
  ++tables_.generation;
  return id;
}

result<message_record> memory_message_store::newest_visible(std::int64_t now, const viewer* who) {
  std::lock_guard lock(tables_.mutex);
  for (auto it = tables_.messages.rbegin(); it != tables_.messages.rend(); ++it) {
    if (visible(it->second, now, who)) {
      return shown(tables_, it->second);
    }
  }
  return make_error_code(errc::not_found);
}

result<message_record> memory_message_store::one_visible(message_id id, std::int64_t now,
                                                         const viewer* who) {
  std::lock_guard lock(tables_.mutex);
  const auto found = tables_.messages.find(id.value);
  if (found == tables_.messages.end() || !visible(found->second, now, who)) {
    return make_error_code(errc::not_found);
  }
  return shown(tables_, found->second);
}

result<std::vector<message_summary>> memory_message_store::page_visible(
    std::optional<message_id> before, std::size_t limit, std::int64_t now, const viewer* who) {
  std::lock_guard lock(tables_.mutex);
  std::vector<message_summary> page;
  auto end = before ? tables_.messages.lower_bound(before->value) : tables_.messages.end();
  for (auto it = std::make_reverse_iterator(end);
       it != tables_.messages.rend() && page.size() < limit; ++it) {
    if (visible(it->second, now, who)) {
      page.push_back(summary_of(shown(tables_, it->second)));
    }
  }
  return page;
}

result<message_record> memory_message_store::newest_message(std::int64_t now) {
  return newest_visible(now, nullptr);
}
result<message_record> memory_message_store::newest_message(const viewer& who) {
  return newest_visible(who.now, &who);
}
result<message_record> memory_message_store::message(message_id id, std::int64_t now) {
  return one_visible(id, now, nullptr);
}
result<message_record> memory_message_store::message(message_id id, const viewer& who) {
  return one_visible(id, who.now, &who);
}
result<std::vector<message_summary>> memory_message_store::list_messages(
    std::optional<message_id> before, std::size_t limit, std::int64_t now) {
  return page_visible(before, limit, now, nullptr);
}
result<std::vector<message_summary>> memory_message_store::list_messages(
    std::optional<message_id> before, std::size_t limit, const viewer& who) {
  return page_visible(before, limit, who.now, &who);
}

result<message_record> memory_message_store::claim_read(message_id id, const viewer& who) {
  std::lock_guard lock(tables_.mutex);
  const auto found = tables_.messages.find(id.value);
  if (found == tables_.messages.end() || !visible(found->second, who.now, &who)) {
    return make_error_code(errc::not_found);
  }
  auto& row = found->second;
  if (row.terms.max_reads == 0 || (who.id.value > 0 && row.author_id == who.id)) {
    return shown(tables_, row);
  }
  if (row.reads >= row.terms.max_reads) {
    return make_error_code(errc::not_found);
  }
  ++row.reads;
  auto claimed = shown(tables_, row);
  if (row.reads >= row.terms.max_reads) {
    tables_.messages.erase(found);  // nothing is kept anywhere else: erasing is the whole wipe
  }
  ++tables_.generation;
  return claimed;
}

result<void> memory_message_store::remove_message(message_id id) {
  std::lock_guard lock(tables_.mutex);
  // Nothing is kept anywhere else, so erasing the row is the whole wipe.
  if (tables_.messages.erase(id.value) == 0) {
    return make_error_code(errc::not_found);
  }
  ++tables_.generation;
  return {};
}

result<std::size_t> memory_message_store::remove_expired(std::int64_t now, std::size_t limit) {
  std::lock_guard lock(tables_.mutex);
  std::size_t removed = 0;
  for (auto it = tables_.messages.begin(); it != tables_.messages.end() && removed < limit;) {
    const auto expires = it->second.terms.expires_at;
    if (expires != 0 && expires <= now) {
      it = tables_.messages.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  tables_.generation += removed;
  return removed;
}

result<std::vector<message_record>> memory_message_store::sealed_messages(
    std::optional<message_id> after, std::size_t limit) {
  std::lock_guard lock(tables_.mutex);
  std::vector<message_record> page;
  for (auto it = after ? tables_.messages.upper_bound(after->value) : tables_.messages.begin();
       it != tables_.messages.end() && page.size() < limit; ++it) {
    page.push_back(shown(tables_, it->second));
  }
  return page;
}

result<std::size_t> memory_message_store::reseal_messages(std::span<const resealed_message> batch) {
  std::lock_guard lock(tables_.mutex);
  std::size_t replaced = 0;
  for (const auto& row : batch) {
    const auto found = tables_.messages.find(row.id.value);
    if (found != tables_.messages.end() && found->second.sealed == row.expected) {
      found->second.sealed = row.replacement;
      ++replaced;
    }
  }
  tables_.generation += replaced;
  return replaced;
}

result<void> memory_audit_store::add_audit(const audit_record& record) {
  return add_audits(std::span(&record, 1));
}

result<void> memory_audit_store::add_audits(std::span<const audit_record> records) {
  std::lock_guard lock(tables_.mutex);
  tables_.audit.insert(tables_.audit.end(), records.begin(), records.end());
  return {};
}

result<read_snapshot> memory_view_store::snapshot(std::int64_t now) {
  std::lock_guard lock(tables_.mutex);
  read_snapshot view;
  view.generation = tables_.generation;
  for (const auto& t : tables_.tokens) {
    view.tokens.push_back({t.hash, t.record.expires_at, tables_.members.at(t.record.member)});
  }
  for (const auto& [name, member] : tables_.members) {
    view.members.push_back(member);
  }
  for (auto it = tables_.messages.rbegin(); it != tables_.messages.rend(); ++it) {
    if (visible(it->second, now, nullptr)) {
      view.newest = shown(tables_, it->second);
      break;
    }
  }
  return view;
}

result<std::uint64_t> memory_view_store::generation() {
  std::lock_guard lock(tables_.mutex);
  return tables_.generation;
}

result<std::uint64_t> memory_view_store::add_audits_as_of(std::span<const audited_read> reads,
                                                          std::vector<bool>& added) {
  std::lock_guard lock(tables_.mutex);
  added.assign(reads.size(), false);
  for (std::size_t i = 0; i < reads.size(); ++i) {
    if (reads[i].as_of == 0 || reads[i].as_of == tables_.generation) {
      tables_.audit.push_back(reads[i].record);
      added[i] = true;
    }
  }
  return tables_.generation;
}

result<std::vector<audit_record>> memory_audit_store::list_audit(std::size_t limit) {
  std::lock_guard lock(tables_.mutex);
  const auto skip = tables_.audit.size() - std::min(limit, tables_.audit.size());
  return std::vector<audit_record>(tables_.audit.begin() + static_cast<std::ptrdiff_t>(skip),
                                   tables_.audit.end());
}

result<std::vector<audit_record>> memory_audit_store::reads_of(message_id id, std::size_t limit) {
  std::lock_guard lock(tables_.mutex);
  std::vector<audit_record> out;
  for (const auto& record : tables_.audit) {
    if (out.size() < limit && record.message == id) {
      out.push_back(record);
    }
  }
  return out;
}

result<std::size_t> memory_audit_store::prune_audit(std::int64_t before, std::size_t limit) {
  std::lock_guard lock(tables_.mutex);
  auto& audit = tables_.audit;
  std::vector<std::size_t> old;
  for (std::size_t i = 0; i < audit.size(); ++i) {
    if (audit[i].at < before) {
      old.push_back(i);
    }
  }
  std::ranges::stable_sort(old, {}, [&](std::size_t i) { return audit[i].at; });
  old.resize(std::min(limit, old.size()));
  std::vector<bool> doomed(audit.size());
  for (const auto i : old) {
    doomed[i] = true;
  }
  std::vector<audit_record> kept;
  for (std::size_t i = 0; i < audit.size(); ++i) {
    if (!doomed[i]) {
      kept.push_back(std::move(audit[i]));
    }
  }
  audit = std::move(kept);
  return old.size();
}

result<member_id> memory_store::add_member(std::string_view name, role member_role,
                                           std::string_view password_hash, std::int64_t now) {
  return members_.add_member(name, member_role, password_hash, now);
}
result<member_record> memory_store::find_member(std::string_view name) {
  return members_.find_member(name);
}
result<std::vector<member_record>> memory_store::list_members() {
  return members_.list_members();
}
result<void> memory_store::remove_member(std::string_view name, std::int64_t now) {
  return members_.remove_member(name, now);
}
result<role> memory_store::set_member_role(std::string_view name, role new_role) {
  return members_.set_member_role(name, new_role);
}
result<void> memory_store::replace_password_hash(std::string_view name, std::string_view expected,
                                                 std::string_view replacement) {
  return members_.replace_password_hash(name, expected, replacement);
}
result<void> memory_store::set_password_hash(std::string_view name, std::string_view hash,
                                             std::optional<std::string_view> expected) {
  return members_.set_password_hash(name, hash, expected);
}

result<std::vector<std::uint8_t>> memory_store::club_meta(std::string_view name) {
  return meta_.club_meta(name);
}
result<void> memory_store::set_club_meta_once(std::string_view name,
                                              std::span<const std::uint8_t> value) {
  return meta_.set_club_meta_once(name, value);
}

result<void> memory_store::add_token(const token_record& token,
                                     std::span<const std::uint8_t> hash) {
  return tokens_.add_token(token, hash);
}
result<member_record> memory_store::member_by_token(std::span<const std::uint8_t> hash,
                                                    std::int64_t now) {
  return tokens_.member_by_token(hash, now);
}
result<std::vector<token_record>> memory_store::list_tokens() {
  return tokens_.list_tokens();
}
result<void> memory_store::remove_token(std::string_view name) {
  return tokens_.remove_token(name);
}

result<void> memory_store::add_session(std::span<const std::uint8_t> hash, std::string_view member,
                                       std::string_view password_hash, std::int64_t now,
                                       session_limits limits) {
  return sessions_.add_session(hash, member, password_hash, now, limits);
}
result<member_record> memory_store::member_by_session(std::span<const std::uint8_t> hash,
                                                      std::int64_t now, session_limits limits) {
  return sessions_.member_by_session(hash, now, limits);
}
result<void> memory_store::remove_session(std::span<const std::uint8_t> hash) {
  return sessions_.remove_session(hash);
}

result<std::uint32_t> memory_store::add_data_key(const sealer& wrap, std::int64_t now,
                                                 const meta_guard& guard) {
  return messages_.add_data_key(wrap, now, guard);
}
result<data_key_record> memory_store::newest_data_key() {
  return messages_.newest_data_key();
}
result<data_key_record> memory_store::data_key(std::uint32_t id) {
  return messages_.data_key(id);
}
result<std::vector<data_key_record>> memory_store::list_data_keys() {
  return messages_.list_data_keys();
}
result<void> memory_store::rewrap_data_keys(std::span<const data_key_record> rewrapped,
                                            std::string_view meta_name,
                                            std::span<const std::uint8_t> expected,
                                            std::span<const std::uint8_t> meta_value) {
  return messages_.rewrap_data_keys(rewrapped, meta_name, expected, meta_value);
}
result<void> memory_store::remove_data_key(std::uint32_t id) {
  return messages_.remove_data_key(id);
}
result<message_id> memory_store::add_message(std::string_view author, std::int64_t now,
                                             message_format format, const sealer& seal,
                                             const message_terms& terms) {
  return messages_.add_message(author, now, format, seal, terms);
}
result<message_record> memory_store::newest_message(std::int64_t now) {
  return messages_.newest_message(now);
}
result<message_record> memory_store::newest_message(const viewer& who) {
  return messages_.newest_message(who);
}
result<message_record> memory_store::message(message_id id, std::int64_t now) {
  return messages_.message(id, now);
}
result<message_record> memory_store::message(message_id id, const viewer& who) {
  return messages_.message(id, who);
}
result<std::vector<message_summary>> memory_store::list_messages(std::optional<message_id> before,
                                                                 std::size_t limit,
                                                                 std::int64_t now) {
  return messages_.list_messages(before, limit, now);
}
result<std::vector<message_summary>> memory_store::list_messages(std::optional<message_id> before,
                                                                 std::size_t limit,
                                                                 const viewer& who) {
  return messages_.list_messages(before, limit, who);
}
result<message_record> memory_store::claim_read(message_id id, const viewer& who) {
  return messages_.claim_read(id, who);
}
result<void> memory_store::remove_message(message_id id) {
  return messages_.remove_message(id);
}
result<std::size_t> memory_store::remove_expired(std::int64_t now, std::size_t limit) {
  return messages_.remove_expired(now, limit);
}

result<std::vector<message_record>> memory_store::sealed_messages(std::optional<message_id> after,
                                                                  std::size_t limit) {
  return messages_.sealed_messages(after, limit);
}
result<std::size_t> memory_store::reseal_messages(std::span<const resealed_message> batch) {
  return messages_.reseal_messages(batch);
}
result<void> memory_store::add_audit(const audit_record& record) {
  return audit_.add_audit(record);
}
result<void> memory_store::add_audits(std::span<const audit_record> records) {
  return audit_.add_audits(records);
}
result<std::vector<audit_record>> memory_store::list_audit(std::size_t limit) {
  return audit_.list_audit(limit);
}
result<std::vector<audit_record>> memory_store::reads_of(message_id id, std::size_t limit) {
  return audit_.reads_of(id, limit);
}
result<std::size_t> memory_store::prune_audit(std::int64_t before, std::size_t limit) {
  return audit_.prune_audit(before, limit);
}

result<void> memory_store::add_client_cert(const client_cert_record& cert) {
  return certs_.add_client_cert(cert);
}
result<void> memory_store::add_server_cert(const issued_cert_record& cert) {
  return certs_.add_server_cert(cert);
}
result<void> memory_store::revoke_cert(std::string_view serial, std::int64_t at) {
  return certs_.revoke_cert(serial, at);
}
result<std::vector<issued_cert_record>> memory_store::list_certs() {
  return certs_.list_certs();
}
result<std::size_t> memory_store::revoke_member_certs(std::string_view member, std::int64_t at) {
  return certs_.revoke_member_certs(member, at);
}
result<std::vector<revoked_cert>> memory_store::list_revoked_certs() {
  return certs_.list_revoked_certs();
}
result<client_cert_record> memory_store::client_cert_status(std::string_view serial) {
  return certs_.client_cert_status(serial);
}
result<std::int64_t> memory_store::next_crl_number() {
  return certs_.next_crl_number();
}

result<read_snapshot> memory_store::snapshot(std::int64_t now) {
  return views_.snapshot(now);
}

result<std::uint64_t> memory_store::generation() {
  return views_.generation();
}

result<std::uint64_t> memory_store::add_audits_as_of(std::span<const audited_read> reads,
                                                     std::vector<bool>& added) {
  return views_.add_audits_as_of(reads, added);
}

}  // namespace hush::testing
