#include "app/backup.hpp"

#include <ctime>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/files.hpp"
#include "crypto/passphrase.hpp"
#include "store/sqlite/backup_file.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace hush::app {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view format_name = "format";
constexpr std::string_view format_value = "hush-backup/1";
constexpr std::string_view keys_name = "keys";
// The sealed keys open as nothing but a backup's keys.
constexpr std::string_view keys_context = "hush/backup-keys/v1";
constexpr mode_t private_dir = 0700;
constexpr mode_t private_file = 0600;
constexpr mode_t public_file = 0644;
// The master key file's own bytes in a backup's keys when it was sealed (hush key seal).
constexpr std::string_view sealed_key_entry = "master.key.sealed";
// Where restore keeps a backup's master key when the path keys.master_key_file names is taken.
constexpr std::string_view restored_key_name = "master.key.restored";

std::vector<std::uint8_t> to_bytes(std::string_view text) {
  return {text.begin(), text.end()};
}

std::string_view as_text(const std::vector<std::uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The keys as one secret: for each, its file name's length (1 byte), the name, the content's
// length (4 bytes, big-endian) and the content.
void append_key(secret_bytes& out, std::string_view name, const secret_bytes& content) {
  secret_bytes grown(out.size() + 1 + name.size() + 4 + content.size());
  std::copy(out.span().begin(), out.span().end(), grown.data());
  std::uint8_t* at = grown.data() + out.size();
  *at++ = static_cast<std::uint8_t>(name.size());
  at = std::copy(name.begin(), name.end(), at);
  const auto size = static_cast<std::uint32_t>(content.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    *at++ = static_cast<std::uint8_t>(size >> shift);
  }
  std::copy(content.span().begin(), content.span().end(), at);
  out = std::move(grown);
}

std::map<std::string, secret_bytes> parse_keys(const secret_bytes& bundle) {
  std::map<std::string, secret_bytes> keys;
  const auto bytes = bundle.span();
  std::size_t at = 0;
  while (at < bytes.size()) {
    const std::size_t name_size = bytes[at++];
    if (at + name_size + 4 > bytes.size()) {
      throw std::runtime_error("the backup's keys are malformed");
    }
    std::string name(reinterpret_cast<const char*>(bytes.data() + at), name_size);
    at += name_size;
    std::size_t size = 0;
    for (int i = 0; i < 4; ++i) {
      size = (size << 8) | bytes[at++];
    }
    if (at + size > bytes.size()) {
      throw std::runtime_error("the backup's keys are malformed");
    }
    keys.emplace(std::move(name), secret_bytes(bytes.data() + at, size));
    at += size;
  }
  return keys;
}

fs::path sibling(const fs::path& path, std::string_view what) {
  const fs::path parent = fs::absolute(path).parent_path();
  // Appended, not concatenated: gcc 12 at -O3 sees a false overlap in "." + string (-Wrestrict),
  // which HUSH_WERROR makes an error.
  std::string name = ".";
  name.append(path.filename().string()).append(".").append(what).append("-");
  name.append(std::to_string(::getpid()));
  return parent / name;
}

bool present(const fs::path& path) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

void write_attachment(const store::backup_file::attachments& files, std::string_view name,
                      const fs::path& to, mode_t mode, bool required) {
  const auto found = files.find(name);
  if (found == files.end()) {
    if (required) {
      throw std::runtime_error("the backup holds no " + std::string(name));
    }
    return;
  }
  files::write_new(to, as_text(found->second), mode);
}

}  // namespace

backup_summary make_backup(const club_paths& paths, const fs::path& file,
                           const passphrase_ptr& keys_passphrase) {
  if (!fs::is_directory(paths.dir)) {
    throw std::runtime_error(paths.dir.string() + ": no club here (run hush init first)");
  }
  if (present(file)) {
    throw std::runtime_error(file.string() + " already exists; refusing to overwrite it");
  }
  for (const auto& path : {paths.dir, paths.database()}) {
    files::require_private(path);
  }
  const auto cfg = config::load(paths.config());

  store::backup_file::attachments attached;
  attached.emplace(format_name, to_bytes(format_value));
  attached.emplace("created", to_bytes(std::to_string(std::time(nullptr))));
  attached.emplace("hush.toml", to_bytes(files::read_text(paths.config())));
  attached.emplace("ca.pem", to_bytes(files::read_text(paths.ca_cert())));
  attached.emplace("server.pem", to_bytes(files::read_text(paths.server_cert())));
  if (present(paths.ca_crl())) {
    attached.emplace("ca.crl", to_bytes(files::read_text(paths.ca_crl())));
  }

  std::unique_ptr<opened_club> club;
  // With the keys: no key command may replace the master key between its read here and the
  // database's copy below, or the backup's key would not open the backup's data keys.
  std::optional<files::exclusive_lock> keys_lock;
  if (keys_passphrase) {
    keys_lock.emplace(files::exclusive_lock::on_file(paths.keys_lock()));
    // Opened as a command would be: the master key is checked against the club before it goes
    // into the backup, and a sealed one is unsealed (HUSH_UNSEAL_FD) and stored raw inside the
    // backup's own seal.
    club = open_club(paths);
    secret_bytes bundle;
    // The file read once: the raw key and, for a sealed one, the sealed bytes are the same key.
    const auto key_file_bytes = files::read_secret(club->master_key_file);
    const auto master =
        open_master_key(key_file_bytes.span(), club->passphrase, club->master_key_file.string());
    append_key(bundle, "master.key", secret_bytes(master.data(), master.size()));
    if (crypto::passphrase::looks_sealed(key_file_bytes.span())) {
      // So that restore gives the key back sealed, as it was, under the passphrase it had.
      append_key(bundle, sealed_key_entry, key_file_bytes);
    }
    append_key(bundle, "ca.key", files::read_secret(paths.ca_key()));
    append_key(bundle, "server.key", files::read_secret(paths.server_key()));
    auto sealed = crypto::passphrase::seal(keys_passphrase->view(), bundle.span(), keys_context);
    if (!sealed) {
      throw std::runtime_error("cannot seal the keys: " + sealed.error().message());
    }
    attached.emplace(keys_name, std::move(*sealed));
  }

  const auto partial = sibling(file, "partial");
  std::error_code ignored;
  fs::remove(partial, ignored);  // left by a crashed run of this same pid, if ever
  files::scratch cleanup(partial);
  if (club) {
    auto* sqlite = dynamic_cast<store::sqlite_store*>(club->store.get());
    if (sqlite == nullptr) {
      // Not yet: a PostgreSQL club's data is the server's to back up (pg_dump, base backups).
      throw std::runtime_error(
          "hush backup copies a SQLite club; this club's data is in PostgreSQL ([store] url)");
    }
    sqlite->copy_to(partial);
  } else {
    store::sqlite_store db(paths.database());
    db.copy_to(partial);
  }
  store::backup_file::attach(partial, attached);
  // link() fails if the name appeared meanwhile: never overwrite.
  if (::link(partial.c_str(), file.c_str()) != 0) {
    throw std::runtime_error(file.string() + ": cannot create (it must not exist yet)");
  }
  files::sync_directory(fs::absolute(file).parent_path());
  backup_summary summary;
  summary.with_keys = static_cast<bool>(keys_passphrase);
  summary.bytes = static_cast<std::size_t>(fs::file_size(file));
  return summary;
}

bool backup_has_keys(const fs::path& file) {
  const auto files = store::backup_file::read(file);
  const auto format = files.find(format_name);
  if (format == files.end() || as_text(format->second) != format_value) {
    throw std::runtime_error(file.string() + ": not a hush backup this version can read");
  }
  return files.contains(keys_name);
}

restore_summary restore_backup(const fs::path& file, const club_paths& target,
                               const restore_keys& keys) {
  if (present(target.dir) && (!fs::is_directory(target.dir) || !fs::is_empty(target.dir))) {
    throw std::runtime_error(target.dir.string() +
                             " already exists and is not empty; refusing "
                             "to overwrite it");
  }
  const auto files = store::backup_file::read(file);
  const auto format = files.find(format_name);
  if (format == files.end() || as_text(format->second) != format_value) {
    throw std::runtime_error(file.string() + ": not a hush backup this version can read");
  }
  const bool has_keys = files.contains(keys_name);
  if (has_keys && keys.keys_dir) {
    throw std::runtime_error(file.string() +
                             ": holds its own keys; restore it without --keys (the passphrase "
                             "on stdin opens them)");
  }
  if (!has_keys && !keys.keys_dir) {
    throw std::runtime_error(file.string() +
                             ": holds no keys (made without --with-keys); give --keys DIR, a "
                             "directory with the club's master.key, ca.key and server.key");
  }

  fs::create_directories(fs::absolute(target.dir).parent_path());
  const auto build_path = sibling(target.dir, "restore");
  fs::remove_all(build_path);
  if (::mkdir(build_path.c_str(), private_dir) != 0 || ::chmod(build_path.c_str(), private_dir)) {
    throw std::runtime_error(build_path.string() + ": cannot create directory");
  }
  files::scratch build(build_path);
  const club_paths made{build.path()};
  write_attachment(files, "hush.toml", made.config(), private_file, true);
  write_attachment(files, "ca.pem", made.ca_cert(), public_file, true);
  write_attachment(files, "server.pem", made.server_cert(), public_file, true);
  write_attachment(files, "ca.crl", made.ca_crl(), public_file, false);
  store::backup_file::extract_database(file, made.database());
  const auto cfg = config::load(made.config());

  // The keys, as files' contents, and the master key itself to check against the database.
  std::map<std::string, secret_bytes> key_files;
  passphrase_ptr master_passphrase;
  if (has_keys) {
    if (!keys.backup_passphrase) {
      throw std::runtime_error(file.string() + ": its keys need the backup's passphrase");
    }
    auto opened = crypto::passphrase::open(keys.backup_passphrase->view(),
                                           files.find(keys_name)->second, keys_context);
    if (!opened) {
      throw std::runtime_error(file.string() + (opened.error() == errc::crypto_failure
                                                    ? ": wrong passphrase (or the backup was "
                                                      "altered)"
                                                    : ": its keys cannot be read"));
    }
    key_files = parse_keys(*opened);
  } else {
    for (const char* name : {"ca.key", "server.key"}) {
      key_files.emplace(name, files::read_secret(*keys.keys_dir / name));
    }
    const auto master_file =
        cfg.master_key_file.empty() ? *keys.keys_dir / "master.key" : master_key_path(made, cfg);
    if (is_sealed(master_file)) {
      master_passphrase = passphrase_from_environment();
    }
    const auto master = read_master_key(master_file, master_passphrase);
    // Kept as the file was (a sealed key stays sealed).
    key_files.emplace("master.key", files::read_secret(master_file));
  }
  for (const char* name : {"master.key", "ca.key", "server.key"}) {
    if (!key_files.contains(name)) {
      throw std::runtime_error(file.string() + ": its keys lack " + std::string(name));
    }
  }
  files::write_new(made.ca_key(), key_files.at("ca.key").view(), private_file);
  files::write_new(made.server_key(), key_files.at("server.key").view(), private_file);

  {
    // The restored club must open: integrity, the master key's check, every data key. Checked
    // with the key in memory: no scratch copy of it on disk.
    store::sqlite_store db(made.database());
    if (!db.integrity_ok()) {
      throw std::runtime_error(made.database().string() + ": fails SQLite's integrity check");
    }
    club::keyring ring(
        open_master_key(key_files.at("master.key").span(), master_passphrase, "master.key"), db);
    if (auto verified = ring.verify_master_key(); !verified) {
      throw std::runtime_error("the master key does not match this backup's database");
    }
    if (auto loaded = ring.load_all(); !loaded) {
      throw std::runtime_error("a data key in the backup does not unwrap with the master key");
    }
  }

  restore_summary summary;
  summary.dir = target.dir;
  // A key that was sealed is written back sealed, as it was (its passphrase unchanged); the raw
  // key beside it in the backup is what was checked above.
  const bool sealed_in_backup = key_files.contains(std::string(sealed_key_entry));
  const auto master_bytes =
      key_files.at(sealed_in_backup ? std::string(sealed_key_entry) : std::string("master.key"))
          .view();
  summary.master_key_sealed =
      sealed_in_backup || crypto::passphrase::looks_sealed(key_files.at("master.key").span());
  if (cfg.master_key_file.empty()) {
    files::write_new(made.master_key(), master_bytes, private_file);
  } else if (has_keys) {
    // The key belongs where hush.toml says: written there if nothing is (never over a file,
    // which may be another club's key), else kept in the new club as master.key.restored for
    // the administrator to move. Never only checked and dropped: the backup may be the last
    // copy.
    try {
      summary.master_key_elsewhere = master_key_path(made, cfg);
    } catch (const std::exception&) {
      // $CREDENTIALS_DIRECTORY named but not set here: the key goes beside the club.
    }
    if (summary.master_key_elsewhere && !present(*summary.master_key_elsewhere)) {
      try {
        files::write_new(*summary.master_key_elsewhere, master_bytes, private_file);
        summary.master_key_written = *summary.master_key_elsewhere;
      } catch (const std::exception&) {
        // Its directory is missing or not ours to write: beside the club, below.
      }
    }
    if (!summary.master_key_written) {
      files::write_new(made.dir / restored_key_name, master_bytes, private_file);
      summary.master_key_written = target.dir / restored_key_name;
    }
  } else {
    // --keys with keys.master_key_file: the key was read from where hush.toml says, and stays.
    summary.master_key_elsewhere = master_key_path(made, cfg);
  }

  std::error_code ec;
  fs::rename(build.path(), target.dir, ec);
  if (ec) {
    throw std::runtime_error(target.dir.string() + ": cannot create club: " + ec.message());
  }
  build.keep();
  files::sync_directory(fs::absolute(target.dir).parent_path());
  return summary;
}

}  // namespace hush::app
