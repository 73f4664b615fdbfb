#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

// A hush backup is one SQLite file: a consistent copy of the club's database
// (sqlite_store::copy_to) plus one table, hush_backup (name TEXT PRIMARY KEY, content BLOB), which
// carries the club's other files (config, certificates, CRL) and, if asked for, its keys sealed
// under a passphrase. `sqlite3 FILE 'PRAGMA integrity_check'` checks it as it is.
namespace hush::store::backup_file {

using attachments = std::map<std::string, std::vector<std::uint8_t>, std::less<>>;

// Adds the attachments to a copy made by sqlite_store::copy_to, then checks the whole file
// (PRAGMA integrity_check). Throws std::runtime_error naming the file.
void attach(const std::filesystem::path& copy, const attachments& files);

// The attachments of a backup, read without writing to it. Throws std::runtime_error naming the
// file when it is not a database with a hush_backup table, or fails the integrity check.
attachments read(const std::filesystem::path& backup);

// Writes the club's database out of a backup to `target` (which must not exist; created 0600):
// the backup without its hush_backup table. Throws std::runtime_error naming the file.
void extract_database(const std::filesystem::path& backup, const std::filesystem::path& target);

}  // namespace hush::store::backup_file
