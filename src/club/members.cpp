// The club's use cases about people and their credentials: members, API tokens, browser
// sessions, certificates, and the audit trail.
#include "club/club.hpp"
#include "club/credentials.hpp"
#include "core/error.hpp"
#include "crypto/credential.hpp"

namespace hush::club {

result<store::member_id> club::add_member(std::string_view name, store::role r,
                                          std::string_view password) {
  if (!valid_member_name(name) || !valid_password_size(password)) {
    return make_error_code(errc::invalid_argument);
  }
  auto hash = hasher_.hash(password);
  if (!hash) {
    return hash.error();
  }
  return store_.add_member(name, r, *hash, clock_.now_seconds());
}

result<std::vector<store::member_record>> club::list_members() {
  return store_.list_members();
}

result<store::member_record> club::find_member(std::string_view name) {
  return store_.find_member(name);
}

result<void> club::set_password(std::string_view name, std::string_view password) {
  if (!valid_password_size(password)) {
    return make_error_code(errc::invalid_argument);
  }
  auto hash = hasher_.hash(password);
  if (!hash) {
    return hash.error();
  }
  return store_.set_password_hash(name, *hash, {});
}

result<std::optional<secret_string>> club::change_password(
    std::string_view name, std::string_view verified_hash, std::string_view password,
    std::optional<store::session_limits> new_session) {
  if (!valid_password_size(password)) {
    return make_error_code(errc::invalid_argument);
  }
  auto hash = hasher_.hash(password);
  if (!hash) {
    return hash.error();
  }
  // Compare-and-swap on the verified hash: the Argon2id runs above take a while, and a change
  // (or an operator's reset) that came first must not be overwritten by one that checked the
  // password it replaced.
  if (auto changed = store_.set_password_hash(name, *hash, verified_hash); !changed) {
    return changed.error();
  }
  if (!new_session) {
    return std::optional<secret_string>{};
  }
  auto token = start_session(name, *hash, *new_session);
  if (!token) {
    return token.error();
  }
  return std::optional<secret_string>(std::move(*token));
}

result<void> club::remove_member(std::string_view name, std::optional<std::string_view> by) {
  // An admin removing themselves could leave the club with nobody to manage it. The last admin
  // is kept whoever asks (the CLI asks as nobody in particular): the store refuses it in the same
  // step as the removal (conflict), so that two removals at once cannot both pass.
  if (by && *by == name) {
    return make_error_code(errc::conflict);
  }
  // The store revokes the member's certificates in the same transaction that removes them; the
  // revocation list is then rewritten so that it says so too.
  if (auto removed = store_.remove_member(name, clock_.now_seconds()); !removed) {
    return removed.error();
  }
  return republish();
}

result<store::role> club::set_role(std::string_view name, store::role r) {
  // The last-admin rule is the store's to decide, in the same step as the change: a check here
  // first would let two demotions at once both pass it.
  return store_.set_member_role(name, r);
}

result<std::vector<store::issued_cert_record>> club::member_certs(std::string_view name) {
  auto all = store_.list_certs();
  if (!all) {
    return all.error();
  }
  std::vector<store::issued_cert_record> theirs;
  for (auto& cert : *all) {
    if (cert.kind == store::cert_kind::client && cert.names == name) {
      theirs.push_back(std::move(cert));
    }
  }
  if (theirs.empty()) {
    if (auto found = store_.find_member(name); !found) {
      return found.error();
    }
  }
  return theirs;
}

result<new_token> club::create_token(std::string_view name, std::string_view member,
                                     std::int64_t lifetime_seconds) {
  if (!valid_member_name(name) || lifetime_seconds < 0) {
    return make_error_code(errc::invalid_argument);
  }
  const auto now = clock_.now_seconds();
  new_token made{crypto::new_token(),
                 {std::string(name), std::string(member), now,
                  lifetime_seconds == 0 ? 0 : now + lifetime_seconds}};
  if (auto added = store_.add_token(made.record, token_hash(made.value.view())); !added) {
    return added.error();
  }
  return made;
}

result<std::vector<store::token_record>> club::list_tokens() {
  return store_.list_tokens();
}

result<void> club::revoke_token(std::string_view name) {
  return store_.remove_token(name);
}

result<store::member_record> club::member_by_token(std::string_view token) {
  return store_.member_by_token(token_hash(token), clock_.now_seconds());
}

result<store::member_record> club::member_by_session(std::string_view token,
                                                     store::session_limits limits) {
  return store_.member_by_session(session_hash(token), clock_.now_seconds(), limits);
}

result<store::member_record> club::member_by_certificate(std::string_view serial,
                                                         std::string_view common_name) {
  auto cert = store_.client_cert_status(serial);
  if (!cert) {
    return cert.error();
  }
  if (cert->revoked() || cert->member != common_name || cert->expires_at <= clock_.now_seconds()) {
    return make_error_code(errc::not_found);
  }
  return store_.find_member(cert->member);
}

result<void> club::upgrade_password_hash(std::string_view name, std::string_view expected,
                                         std::string_view replacement) {
  return store_.replace_password_hash(name, expected, replacement);
}

result<secret_string> club::start_session(std::string_view member, std::string_view verified_hash,
                                          store::session_limits limits) {
  secret_string token = crypto::new_token();
  if (auto added = store_.add_session(session_hash(token.view()), member, verified_hash,
                                      clock_.now_seconds(), limits);
      !added) {
    return added.error();
  }
  return token;
}

result<void> club::end_session(std::string_view token) {
  return store_.remove_session(session_hash(token));
}

result<issued_certificate> club::issue_client_cert(std::string_view member, int days) {
  if (auto found = store_.find_member(member); !found) {
    return found.error();
  }
  auto issued = ca_.issue_client(member, days);
  if (!issued) {
    return issued.error();
  }
  const store::client_cert_record record{issued->serial, std::string(member), clock_.now_seconds(),
                                         issued->not_after, 0};
  if (auto added = store_.add_client_cert(record); !added) {
    return added.error();
  }
  return issued;
}

result<void> club::record_server_cert(const store::issued_cert_record& cert) {
  return store_.add_server_cert(cert);
}

result<void> club::revoke_cert(std::string_view serial) {
  if (auto revoked = store_.revoke_cert(serial, clock_.now_seconds()); !revoked) {
    return revoked.error();
  }
  return republish();
}

result<std::vector<store::issued_cert_record>> club::list_certs() {
  return store_.list_certs();
}

result<void> club::publish_revocations(int days) {
  return ca_.publish_revocations(days);
}

result<void> club::republish() {
  if (auto published = ca_.publish_revocations(0); !published) {
    return make_error_code(errc::not_published);
  }
  return {};
}

result<std::vector<store::audit_record>> club::audit_trail(std::size_t limit) {
  return store_.list_audit(limit);
}

result<std::size_t> club::prune_audit(unsigned keep_days, std::size_t batch) {
  if (keep_days == 0) {
    return std::size_t{0};
  }
  constexpr std::int64_t seconds_per_day = 86'400;
  return store_.prune_audit(clock_.now_seconds() - keep_days * seconds_per_day, batch);
}

}  // namespace hush::club
