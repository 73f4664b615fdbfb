#pragma once

#include <cstddef>
#include <string>

#include "app/club_dir.hpp"
#include "app/master_key.hpp"

namespace hush::app {

// Where hush migrate --to copies a club: a PostgreSQL database (a postgresql:// URI or a libpq
// keyword=value string) or a new SQLite file (sqlite:PATH).
struct migration_target {
  std::string store_url;         // PostgreSQL; empty for SQLite
  std::filesystem::path sqlite;  // SQLite; empty for PostgreSQL
};

// Parses --to. Throws std::runtime_error saying what is accepted.
migration_target parse_migration_target(const std::string& text);

struct migration_report {
  std::size_t rows = 0;      // every row of every table copied
  std::size_t messages = 0;  // of which messages, each opened from the copy
};

// Copies the whole club (members, credentials, sessions, certificates, data keys, messages,
// audit trail, ids and counters) out of its store into `target`, in one transaction there, then
// verifies the copy: every row read back equal to the source's, every message opened from the
// copy with the club's keys, and the source unchanged meanwhile. The source is left as it was;
// the club's config is not changed (the caller says what to set). No server may serve this club
// directory meanwhile (its serve.lock is taken, or this refuses), nor a key rotation run (its
// keys.lock is held); servers elsewhere on a shared store must be stopped by the admin. Throws
// std::runtime_error: a target that is not empty or cannot be made, a copy that fails (nothing
// is written), a copy that does not verify (the message says it must not be used: a new SQLite
// file is removed, a database must be dropped by the admin).
migration_report migrate_club(const club_paths& paths, const migration_target& target,
                              passphrase_ptr passphrase);

}  // namespace hush::app
