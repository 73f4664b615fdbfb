// postgres_store: API tokens, browser sessions and certificates.
#include "core/error.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/postgres/queries.hpp"

namespace hush::store {

using namespace postgres_detail;  // NOLINT(google-build-using-namespace): our own helpers

result<void> postgres_store::add_token(const token_record& token,
                                       std::span<const std::uint8_t> hash) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  // INSERT ... SELECT: the member check and the insert are one statement; a member removed
  // between the two is caught by the foreign key, whose violation is not_found too.
  auto done = (*db)->run(
      "INSERT INTO tokens (name, member, hash, created_at, expires_at) "
      "SELECT $1::text, name, $3::bytea, $4::bigint, $5::bigint FROM members "
      "WHERE name = $2::text",
      pg_params{}
          .add(token.name)
          .add(token.member)
          .add(hash)
          .add(token.created_at)
          .add(token.expires_at));
  if (!done) {
    return done.error();
  }
  if (done->changed() == 0) {
    return make_error_code(errc::not_found);
  }
  return {};
}

result<member_record> postgres_store::member_by_token(std::span<const std::uint8_t> hash,
                                                      std::int64_t now) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_one<member_record>(
      **db,
      "SELECT m.id, m.name, m.role, m.password_hash, m.created_at FROM tokens t "
      "JOIN members m ON m.name = t.member "
      "WHERE t.hash = $1::bytea AND (t.expires_at = 0 OR t.expires_at > $2::bigint)",
      pg_params{}.add(hash).add(now),
      [](const pg_rows& rows, std::size_t r) { return read_member(rows, r); });
}

result<std::vector<token_record>> postgres_store::list_tokens() {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_all<token_record>(
      **db, "SELECT name, member, created_at, expires_at FROM tokens ORDER BY member, name", {},
      [](const pg_rows& rows, std::size_t r) {
        return token_record{rows.column_text(r, 0), rows.column_text(r, 1), rows.column_int(r, 2),
                            rows.column_int(r, 3)};
      });
}

result<void> postgres_store::remove_token(std::string_view name) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return change_one(**db, "DELETE FROM tokens WHERE name = $1::text", pg_params{}.add(name));
}

result<void> postgres_store::add_session(std::span<const std::uint8_t> hash,
                                         std::string_view member, std::string_view password_hash,
                                         std::int64_t now, session_limits limits) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return retried(**db, [&]() -> result<void> {
    transaction tx(**db);
    if (auto begun = tx.begin(); !begun) {
      return begun;
    }
    // The member's row, locked: their logins add one at a time, so the cap below counts every
    // session of theirs, and a removal or a password change waits for this one (then ends it
    // with the others). Read under that lock, the hash is the one the session is added for: a
    // login that verified a password changed meanwhile adds nothing.
    auto locked = query_one<std::string>(
        **db, "SELECT password_hash FROM members WHERE name = $1::text FOR NO KEY UPDATE",
        pg_params{}.add(member),
        [](const pg_rows& rows, std::size_t r) { return rows.column_text(r, 0); });
    if (!locked) {
      return locked.error();
    }
    if (*locked != password_hash) {
      return make_error_code(errc::conflict);
    }
    if (auto swept =
            (*db)->run("DELETE FROM sessions WHERE last_used_at <= $1::bigint - $2::bigint "
                       "OR created_at <= $1::bigint - $3::bigint",
                       pg_params{}.add(now).add(limits.idle).add(limits.absolute));
        !swept) {
      return swept.error();
    }
    auto inserted = (*db)->run(
        "INSERT INTO sessions (hash, member, created_at, last_used_at) "
        "SELECT $1::bytea, name, $3::bigint, $3::bigint FROM members WHERE name = $2::text",
        pg_params{}.add(hash).add(member).add(now));
    if (!inserted) {
      return inserted.error();
    }
    if (inserted->changed() == 0) {
      return make_error_code(errc::not_found);
    }
    if (limits.max_per_member > 0) {
      // One reader logging in in a loop must not grow the table without bound: beyond the cap,
      // their oldest sessions end (ids grow with creation).
      if (auto capped =
              (*db)->run("DELETE FROM sessions WHERE member = $1::text AND id NOT IN "
                         "(SELECT id FROM sessions WHERE member = $1::text ORDER BY id DESC "
                         "LIMIT $2::bigint)",
                         pg_params{}.add(member).add(limits.max_per_member));
          !capped) {
        return capped.error();
      }
    }
    return tx.commit();
  });
}

result<member_record> postgres_store::member_by_session(std::span<const std::uint8_t> hash,
                                                        std::int64_t now, session_limits limits) {
  struct found_session {
    member_record member;
    std::int64_t created_at = 0;
    std::int64_t last_used_at = 0;
  };
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  auto found = query_one<found_session>(
      **db,
      "SELECT m.id, m.name, m.role, m.password_hash, m.created_at, s.created_at, s.last_used_at "
      "FROM sessions s JOIN members m ON m.name = s.member WHERE s.hash = $1::bytea",
      pg_params{}.add(hash), [](const pg_rows& rows, std::size_t r) {
        return found_session{read_member(rows, r), rows.column_int(r, 5), rows.column_int(r, 6)};
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
    if (auto touched =
            change_one(**db, "UPDATE sessions SET last_used_at = $2::bigint WHERE hash = $1::bytea",
                       pg_params{}.add(hash).add(now));
        !touched && touched.error() != errc::not_found && touched.error() != errc::disk_full &&
        touched.error() != errc::read_only) {
      // A server that cannot be written must not log members out: the session stays valid, its
      // idle time just is not refreshed until writes work again.
      return touched.error();
    }
  }
  return std::move(found->member);
}

result<void> postgres_store::remove_session(std::span<const std::uint8_t> hash) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return change_one(**db, "DELETE FROM sessions WHERE hash = $1::bytea", pg_params{}.add(hash));
}

result<void> postgres_store::add_client_cert(const client_cert_record& cert) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  // One statement; the row lock on the member (FOR KEY SHARE), taken after the generation's lock
  // that a removal holds, finds a member removed meanwhile gone: they never get a certificate
  // recorded after their removal.
  auto done = (*db)->run(
      "INSERT INTO client_certs (serial, member, issued_at, expires_at, revoked_at) "
      "SELECT $1::text, name, $3::bigint, $4::bigint, $5::bigint FROM members "
      "WHERE name = $2::text FOR KEY SHARE",
      pg_params{}
          .add(cert.serial)
          .add(cert.member)
          .add(cert.issued_at)
          .add(cert.expires_at)
          .add(cert.revoked_at));
  if (!done) {
    return done.error();
  }
  if (done->changed() == 0) {
    return make_error_code(errc::not_found);
  }
  return {};
}

result<void> postgres_store::add_server_cert(const issued_cert_record& cert) {
  if (cert.kind == cert_kind::client) {
    return make_error_code(errc::storage_failure);
  }
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  auto done = (*db)->run(
      "INSERT INTO server_certs (serial, kind, names, issued_at, expires_at, revoked_at) "
      "VALUES ($1::text, $2::text, $3::text, $4::bigint, $5::bigint, $6::bigint)",
      pg_params{}
          .add(cert.serial)
          .add(to_string(cert.kind))
          .add(cert.names)
          .add(cert.issued_at)
          .add(cert.expires_at)
          .add(cert.revoked_at));
  if (!done) {
    return done.error();
  }
  return {};
}

result<void> postgres_store::revoke_cert(std::string_view serial, std::int64_t at) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return retried(**db, [&]() -> result<void> {
    transaction tx(**db);
    if (auto begun = tx.begin(); !begun) {
      return begun;
    }
    // A second revocation keeps the first date: the CRL must not move a revocation later. A
    // serial is in one table or the other (159 random bits); both are asked, in one transaction.
    std::size_t changed = 0;
    for (const char* sql :
         {"UPDATE client_certs SET revoked_at = "
          "CASE WHEN revoked_at = 0 THEN $2::bigint ELSE revoked_at END WHERE serial = $1::text",
          "UPDATE server_certs SET revoked_at = "
          "CASE WHEN revoked_at = 0 THEN $2::bigint ELSE revoked_at END WHERE serial = $1::text"}) {
      auto done = (*db)->run(sql, pg_params{}.add(serial).add(at));
      if (!done) {
        return done.error();
      }
      changed += done->changed();
    }
    if (changed == 0) {
      return make_error_code(errc::not_found);
    }
    return tx.commit();
  });
}

result<std::vector<issued_cert_record>> postgres_store::list_certs() {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_all<issued_cert_record>(
      **db,
      "SELECT serial, 'client' COLLATE \"C\", member, issued_at, expires_at, revoked_at "
      "FROM client_certs UNION ALL "
      "SELECT serial, kind, names, issued_at, expires_at, revoked_at FROM server_certs "
      "ORDER BY 4, 1",
      {}, [](const pg_rows& rows, std::size_t r) {
        const auto kind = rows.column_text(r, 1);
        return issued_cert_record{rows.column_text(r, 0),
                                  kind == "client"   ? cert_kind::client
                                  : kind == "server" ? cert_kind::server
                                                     : cert_kind::csr,
                                  rows.column_text(r, 2),
                                  rows.column_int(r, 3),
                                  rows.column_int(r, 4),
                                  rows.column_int(r, 5)};
      });
}

result<std::size_t> postgres_store::revoke_member_certs(std::string_view member, std::int64_t at) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return revoke_certs_of(**db, member, at);
}

result<std::vector<revoked_cert>> postgres_store::list_revoked_certs() {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_all<revoked_cert>(
      **db,
      "SELECT serial, revoked_at FROM client_certs WHERE revoked_at <> 0 "
      "UNION ALL SELECT serial, revoked_at FROM server_certs WHERE revoked_at <> 0 "
      "ORDER BY 2, 1",
      {}, [](const pg_rows& rows, std::size_t r) {
        return revoked_cert{rows.column_text(r, 0), rows.column_int(r, 1)};
      });
}

result<client_cert_record> postgres_store::client_cert_status(std::string_view serial) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  return query_one<client_cert_record>(
      **db,
      "SELECT serial, member, issued_at, expires_at, revoked_at FROM client_certs "
      "WHERE serial = $1::text",
      pg_params{}.add(serial), read_client_cert);
}

result<std::int64_t> postgres_store::next_crl_number() {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  // One statement: the bump and the read are one atomic step, whichever process asks.
  return query_one<std::int64_t>(
      **db, "UPDATE crl_counter SET number = number + 1 WHERE id = 1 RETURNING number", {},
      [](const pg_rows& rows, std::size_t r) { return rows.column_int(r, 0); });
}

}  // namespace hush::store
