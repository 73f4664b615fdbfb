#include "app/migrate.hpp"

#include <array>
#include <optional>
#include <stdexcept>
#include <unistd.h>
#include <utility>

#include <sodium.h>

#include "club/keyring.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "store/club_copy.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace hush::app {

namespace {

constexpr std::string_view sqlite_scheme = "sqlite:";

// A running BLAKE2b-256 of every row a sink is given, table by table, each value with its kind
// and length: two exports with equal digests hold the same rows in the same order.
class digest_sink final : public store::copy_sink {
 public:
  digest_sink() { crypto_generichash_init(&state_, nullptr, 0, crypto_generichash_BYTES); }

  // Hands every batch on to `next` too.
  void forward_to(store::copy_sink* next) { next_ = next; }

  result<void> rows(const store::copy_table& table,
                    std::span<const store::copy_row> rows) override {
    add(std::string_view(table.name));
    for (const auto& row : rows) {
      for (const auto& value : row) {
        add_value(value);
      }
      ++rows_;
      if (std::string_view(table.name) == "messages") {
        ++messages_;
      }
    }
    return next_ != nullptr ? next_->rows(table, rows) : result<void>();
  }

  // Ends the hash at the first call (no row may follow); the same value at every call.
  const std::array<unsigned char, crypto_generichash_BYTES>& digest() {
    if (!final_) {
      final_.emplace();
      crypto_generichash_final(&state_, final_->data(), final_->size());
    }
    return *final_;
  }
  std::size_t row_count() const { return rows_; }
  std::size_t message_count() const { return messages_; }

 private:
  void add_bytes(const void* data, std::size_t size) {
    const std::uint64_t length = size;
    crypto_generichash_update(&state_, reinterpret_cast<const unsigned char*>(&length),
                              sizeof length);
    crypto_generichash_update(&state_, static_cast<const unsigned char*>(data), size);
  }
  void add(std::string_view text) { add_bytes(text.data(), text.size()); }
  void add_value(const store::copy_value& value) {
    const auto kind = static_cast<unsigned char>(value.index());
    crypto_generichash_update(&state_, &kind, 1);
    if (const auto* number = std::get_if<std::int64_t>(&value)) {
      add_bytes(number, sizeof *number);
    } else if (const auto* text = std::get_if<std::string>(&value)) {
      add(*text);
    } else {
      const auto& bytes = std::get<std::vector<std::uint8_t>>(value);
      add_bytes(bytes.data(), bytes.size());
    }
  }

  store::copy_sink* next_ = nullptr;
  crypto_generichash_state state_{};
  std::optional<std::array<unsigned char, crypto_generichash_BYTES>> final_;
  std::size_t rows_ = 0;
  std::size_t messages_ = 0;
};

std::string describe(const migration_target& target) {
  return target.store_url.empty() ? "sqlite:" + target.sqlite.string() : "the PostgreSQL database";
}

std::unique_ptr<store::store> open_target(const migration_target& target) {
  if (!target.store_url.empty()) {
    return std::make_unique<store::postgres_store>(target.store_url);
  }
  return std::make_unique<store::sqlite_store>(target.sqlite);
}

}  // namespace

migration_target parse_migration_target(const std::string& text) {
  migration_target target;
  if (text.starts_with(sqlite_scheme)) {
    target.sqlite = text.substr(sqlite_scheme.size());
    if (target.sqlite.empty()) {
      throw std::runtime_error("--to sqlite:PATH: the path is missing");
    }
    if (std::filesystem::exists(target.sqlite) || std::filesystem::is_symlink(target.sqlite)) {
      throw std::runtime_error("--to: " + target.sqlite.string() +
                               " exists; give the path of a new file");
    }
    return target;
  }
  const bool url = text.starts_with("postgresql://") || text.starts_with("postgres://");
  const bool keywords = text.find('=') != std::string::npos;
  if ((!url && !keywords) || !config::valid_store_url(text)) {
    throw std::runtime_error(
        "--to: give a postgresql:// URI, a libpq keyword=value string, or sqlite:PATH");
  }
  target.store_url = text;
  return target;
}

migration_report migrate_club(const club_paths& paths, const migration_target& target,
                              passphrase_ptr passphrase) {
  const auto serving = files::exclusive_lock::try_on_file(
      paths.serve_lock(), files::exclusive_lock::mode::exclusive, club_paths::serve_lock_mode);
  if (!serving) {
    throw std::runtime_error(paths.dir.string() +
                             ": a server is serving this club (or another hush migrate is "
                             "copying it); stop it (and every other instance on its store) "
                             "first: a copy would miss what it writes afterwards");
  }
  // No key rotation meanwhile: the copy's data keys and the master key it is verified with must
  // be the pair the club goes on with (hush backup holds it for the same reason).
  const auto keys_held = files::exclusive_lock::on_file(paths.keys_lock());
  auto club = open_club(paths, opened_for::command, std::move(passphrase));
  if (!target.store_url.empty() && target.store_url == club->cfg.store_url) {
    throw std::runtime_error("--to: that is the store this club is in already");
  }
  auto* source = club->store->copier();
  // A new SQLite file, private from the start (O_EXCL: never one that appeared meanwhile), is
  // ours once made, and removed unless the copy in it verifies (declared before the store, so
  // that the store has closed it first).
  std::optional<files::scratch> new_file;
  if (target.store_url.empty()) {
    constexpr mode_t private_file = 0600;
    files::write_new(target.sqlite, "", private_file);
    new_file.emplace(target.sqlite);
  }
  const auto made = open_target(target);
  auto* copy = made->copier();
  if (source == nullptr || copy == nullptr) {
    throw std::runtime_error("this store cannot be copied");
  }

  digest_sink sent;
  store::copy_marks marks;
  auto imported = copy->import_club([&](store::copy_sink& into) -> result<store::copy_marks> {
    sent.forward_to(&into);
    auto exported = source->export_club(sent);
    if (exported) {
      marks = *exported;
    }
    return exported;
  });
  if (!imported) {
    if (imported.error() == errc::already_exists) {
      throw std::runtime_error("--to: " + describe(target) +
                               " already holds a club; give an empty one");
    }
    throw std::runtime_error("copying into " + describe(target) + ": " +
                             imported.error().message());
  }

  // From here the copy is committed: a check that fails says it must not be used (a new SQLite
  // file is removed; a database must be emptied by the admin).
  const auto unusable = [&](const std::string& why) {
    return std::runtime_error(
        why + "; do not use the copy" +
        (target.store_url.empty()
             ? std::string(" (the new file is removed)")
             : std::string(": drop that database and make it again before another hush migrate")));
  };
  // Read back: every row as the source gave it, in the same order, and marks as high.
  digest_sink read_back;
  const auto copied_marks = copy->export_club(read_back);
  if (!copied_marks) {
    throw unusable("reading the copy back: " + copied_marks.error().message());
  }
  if (read_back.digest() != sent.digest() || read_back.row_count() != sent.row_count() ||
      copied_marks->message_ids < marks.message_ids ||
      copied_marks->crl_number < marks.crl_number) {
    throw unusable("the copy in " + describe(target) + " does not match the club's store");
  }
  // And every message opens from the copy, with the club's master key and the copy's data keys.
  club::keyring keys(read_master_key(club->master_key_file, club->passphrase), *made);
  auto opened = club::open_every_message(*made, keys);
  if (!opened) {
    throw unusable("a message in the copy does not open: " + opened.error().message());
  }
  if (*opened != sent.message_count()) {
    throw unusable("the copy holds " + std::to_string(*opened) + " messages, not " +
                   std::to_string(sent.message_count()));
  }
  // A command (not a server: serve.lock keeps those out) that wrote to the club while it was
  // copied would be missing from the copy: the source must still be what was copied.
  digest_sink again;
  if (auto exported = source->export_club(again); !exported) {
    throw unusable("reading the club's store again: " + exported.error().message());
  }
  if (again.digest() != sent.digest()) {
    throw unusable("the club changed while it was copied (a hush command wrote to it)");
  }
  if (new_file) {
    new_file->keep();
  }
  return {sent.row_count(), *opened};
}

}  // namespace hush::app
