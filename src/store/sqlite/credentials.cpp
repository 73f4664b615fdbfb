// The store's credentials: API tokens, browser sessions and client certificates.
#include "core/error.hpp"
#include "store/sqlite/queries.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace hush::store {
using namespace sqlite_detail;  // NOLINT(google-build-using-namespace): our own helpers

result<void> sqlite_store::add_token(const token_record& token,
                                     std::span<const std::uint8_t> hash) {
  auto db = acquire();
  // INSERT ... SELECT: the member check and the insert are one statement, so that a member
  // removed meanwhile is not_found (not the foreign key's already_exists).
  auto stmt = db->prepare(
      "INSERT INTO tokens (name, member, hash, created_at, expires_at) "
      "SELECT ?1, name, ?3, ?4, ?5 FROM members WHERE name = ?2");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, token.name)
      .bind(2, token.member)
      .bind(3, hash)
      .bind(4, token.created_at)
      .bind(5, token.expires_at);
  if (auto done = stmt->run(); !done) {
    return done.error();
  }
  if (db->changes() == 0) {
    return make_error_code(errc::not_found);
  }
  return {};
}

result<member_record> sqlite_store::member_by_token(std::span<const std::uint8_t> hash,
                                                    std::int64_t now) {
  auto db = acquire();
  return query_one<member_record>(
      *db,
      "SELECT m.id, m.name, m.role, m.password_hash, m.created_at FROM tokens t "
      "JOIN members m ON m.name = t.member "
      "WHERE t.hash = ?1 AND (t.expires_at = 0 OR t.expires_at > ?2)",
      [&](sqlite_statement& s) { s.bind(1, hash).bind(2, now); }, read_member);
}

result<void> sqlite_store::add_session(std::span<const std::uint8_t> hash, std::string_view member,
                                       std::string_view password_hash, std::int64_t now,
                                       session_limits limits) {
  auto db = acquire();
  write_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  auto sweep =
      db->prepare("DELETE FROM sessions WHERE last_used_at <= ?1 - ?2 OR created_at <= ?1 - ?3");
  if (!sweep) {
    return sweep.error();
  }
  sweep->bind(1, now).bind(2, limits.idle).bind(3, limits.absolute);
  if (auto done = sweep->run(); !done) {
    return done;
  }
  // INSERT ... SELECT: the member and their password hash are checked in the insert itself, so
  // that a login that verified a password changed meanwhile (set_password_hash ended every
  // session) adds none, and a member removed meanwhile is not_found; nothing is committed.
  auto insert = db->prepare(
      "INSERT INTO sessions (hash, member, created_at, last_used_at) "
      "SELECT ?1, name, ?3, ?3 FROM members WHERE name = ?2 AND password_hash = ?4");
  if (!insert) {
    return insert.error();
  }
  insert->bind(1, hash).bind(2, member).bind(3, now).bind(4, password_hash);
  if (auto done = insert->run(); !done) {
    return done;
  }
  if (db->changes() == 0) {
    // Under the write lock still: which of the two it was cannot change before the rollback.
    auto exists = query_one<std::int64_t>(
        *db, "SELECT count(*) FROM members WHERE name = ?1",
        [&](sqlite_statement& s) { s.bind(1, member); },
        [](const sqlite_statement& s) { return s.column_int(0); });
    if (!exists) {
      return exists.error();
    }
    return make_error_code(*exists == 0 ? errc::not_found : errc::conflict);
  }
  if (limits.max_per_member > 0) {
    // One reader logging in in a loop must not grow the table without bound: beyond the cap,
    // their oldest sessions end (row ids grow with creation).
    auto capped = db->prepare(
        "DELETE FROM sessions WHERE member = ?1 AND id NOT IN "
        "(SELECT id FROM sessions WHERE member = ?1 ORDER BY id DESC LIMIT ?2)");
    if (!capped) {
      return capped.error();
    }
    capped->bind(1, member).bind(2, limits.max_per_member);
    if (auto done = capped->run(); !done) {
      return done;
    }
  }
  return tx.commit();
}

result<member_record> sqlite_store::member_by_session(std::span<const std::uint8_t> hash,
                                                      std::int64_t now, session_limits limits) {
  struct found_session {
    member_record member;
    std::int64_t created_at = 0;
    std::int64_t last_used_at = 0;
  };
  auto db = acquire();
  auto found = query_one<found_session>(
      *db,
      "SELECT m.id, m.name, m.role, m.password_hash, m.created_at, s.created_at, s.last_used_at "
      "FROM sessions s JOIN members m ON m.name = s.member WHERE s.hash = ?1",
      [&](sqlite_statement& s) { s.bind(1, hash); },
      [](const sqlite_statement& s) {
        return found_session{read_member(s), s.column_int(5), s.column_int(6)};
      });
  if (!found) {
    return found.error();
  }
  // An expired session stays expired (never touched again) until the next login sweeps it, so
  // every tab and every request in flight hears the same "expired", not a later "unknown".
  if (now - found->last_used_at >= limits.idle || now - found->created_at >= limits.absolute) {
    return make_error_code(errc::expired);
  }
  // Idle time is kept to the minute: one write a minute per session, not one per request.
  constexpr std::int64_t use_granularity = 60;
  if (now - found->last_used_at >= use_granularity) {
    if (auto touched = change_one(*db, "UPDATE sessions SET last_used_at = ?2 WHERE hash = ?1",
                                  [&](sqlite_statement& s) { s.bind(1, hash).bind(2, now); });
        !touched && touched.error() != errc::not_found && touched.error() != errc::disk_full &&
        touched.error() != errc::read_only) {
      // A disk that cannot be written must not log members out: the session stays valid, its
      // idle time just is not refreshed until the disk can be written again.
      return touched.error();
    }
  }
  return std::move(found->member);
}

result<void> sqlite_store::remove_session(std::span<const std::uint8_t> hash) {
  auto db = acquire();
  return change_one(*db, "DELETE FROM sessions WHERE hash = ?1",
                    [&](sqlite_statement& s) { s.bind(1, hash); });
}

result<std::vector<token_record>> sqlite_store::list_tokens() {
  auto db = acquire();
  return query_all<token_record>(
      *db, "SELECT name, member, created_at, expires_at FROM tokens ORDER BY member, name",
      [](sqlite_statement&) {},
      [](const sqlite_statement& s) {
        return token_record{s.column_text(0), s.column_text(1), s.column_int(2), s.column_int(3)};
      });
}

result<void> sqlite_store::remove_token(std::string_view name) {
  auto db = acquire();
  return change_one(*db, "DELETE FROM tokens WHERE name = ?1",
                    [&](sqlite_statement& s) { s.bind(1, name); });
}

result<void> sqlite_store::add_client_cert(const client_cert_record& cert) {
  auto db = acquire();
  // INSERT ... SELECT: the member check and the insert are one statement, so a member removed
  // meanwhile cannot end up with a certificate recorded after their removal.
  auto stmt = db->prepare(
      "INSERT INTO client_certs (serial, member, issued_at, expires_at, revoked_at) "
      "SELECT ?1, name, ?3, ?4, ?5 FROM members WHERE name = ?2");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, cert.serial)
      .bind(2, cert.member)
      .bind(3, cert.issued_at)
      .bind(4, cert.expires_at)
      .bind(5, cert.revoked_at);
  if (auto done = stmt->run(); !done) {
    return done.error();
  }
  if (db->changes() == 0) {
    return make_error_code(errc::not_found);
  }
  return {};
}

result<void> sqlite_store::add_server_cert(const issued_cert_record& cert) {
  if (cert.kind == cert_kind::client) {
    return make_error_code(errc::storage_failure);
  }
  auto db = acquire();
  auto stmt = db->prepare(
      "INSERT INTO server_certs (serial, kind, names, issued_at, expires_at, revoked_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, cert.serial)
      .bind(2, to_string(cert.kind))
      .bind(3, cert.names)
      .bind(4, cert.issued_at)
      .bind(5, cert.expires_at)
      .bind(6, cert.revoked_at);
  return stmt->run();
}

result<void> sqlite_store::revoke_cert(std::string_view serial, std::int64_t at) {
  auto db = acquire();
  write_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  // A second revocation keeps the first date: the CRL must not move a revocation later. A serial
  // is in one table or the other (159 random bits); both are asked, in one transaction.
  int changed = 0;
  for (const char* sql :
       {"UPDATE client_certs SET revoked_at = "
        "CASE WHEN revoked_at = 0 THEN ?2 ELSE revoked_at END WHERE serial = ?1",
        "UPDATE server_certs SET revoked_at = "
        "CASE WHEN revoked_at = 0 THEN ?2 ELSE revoked_at END WHERE serial = ?1"}) {
    auto stmt = db->prepare(sql);
    if (!stmt) {
      return stmt.error();
    }
    stmt->bind(1, serial).bind(2, at);
    if (auto done = stmt->run(); !done) {
      return done.error();
    }
    changed += db->changes();
  }
  if (changed == 0) {
    return make_error_code(errc::not_found);
  }
  return tx.commit();
}

result<std::vector<issued_cert_record>> sqlite_store::list_certs() {
  auto db = acquire();
  return query_all<issued_cert_record>(
      *db,
      "SELECT serial, 'client', member, issued_at, expires_at, revoked_at FROM client_certs "
      "UNION ALL "
      "SELECT serial, kind, names, issued_at, expires_at, revoked_at FROM server_certs "
      "ORDER BY 4, 1",
      [](sqlite_statement&) {},
      [](const sqlite_statement& s) {
        const auto kind = s.column_text(1);
        return issued_cert_record{s.column_text(0),
                                  kind == "client"   ? cert_kind::client
                                  : kind == "server" ? cert_kind::server
                                                     : cert_kind::csr,
                                  s.column_text(2),
                                  s.column_int(3),
                                  s.column_int(4),
                                  s.column_int(5)};
      });
}

result<std::size_t> sqlite_store::revoke_member_certs(std::string_view member, std::int64_t at) {
  auto db = acquire();
  return revoke_certs_of(*db, member, at);
}

result<std::vector<revoked_cert>> sqlite_store::list_revoked_certs() {
  auto db = acquire();
  return query_all<revoked_cert>(
      *db,
      "SELECT serial, revoked_at FROM client_certs WHERE revoked_at != 0 "
      "UNION ALL SELECT serial, revoked_at FROM server_certs WHERE revoked_at != 0 "
      "ORDER BY 2, 1",
      [](sqlite_statement&) {},
      [](const sqlite_statement& s) {
        return revoked_cert{s.column_text(0), s.column_int(1)};
      });
}

result<client_cert_record> sqlite_store::client_cert_status(std::string_view serial) {
  auto db = acquire();
  return query_one<client_cert_record>(
      *db,
      "SELECT serial, member, issued_at, expires_at, revoked_at FROM client_certs "
      "WHERE serial = ?1",
      [&](sqlite_statement& s) { s.bind(1, serial); }, read_client_cert);
}

result<std::int64_t> sqlite_store::next_crl_number() {
  auto db = acquire();
  write_transaction tx(*db);
  if (auto begun = tx.begin(); !begun) {
    return begun.error();
  }
  if (auto bumped = change_one(*db, "UPDATE crl_counter SET number = number + 1 WHERE id = 1",
                               [](sqlite_statement&) {});
      !bumped) {
    return bumped.error();
  }
  auto number = query_one<std::int64_t>(
      *db, "SELECT number FROM crl_counter WHERE id = 1", [](sqlite_statement&) {},
      [](const sqlite_statement& s) { return s.column_int(0); });
  if (!number) {
    return number.error();
  }
  if (auto committed = tx.commit(); !committed) {
    return committed.error();
  }
  return *number;
}

}  // namespace hush::store
