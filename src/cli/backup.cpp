#include "app/backup.hpp"

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

#include "app/club_dir.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"

namespace hush::cli {
namespace {

namespace fs = std::filesystem;

struct backup_options {
  std::string dir;
  std::string file;
  bool with_keys = false;
};

struct restore_options {
  std::string dir;
  std::string file;
  std::string keys_dir;
};

void run_backup(const backup_options& options) {
  const auto paths = club_dir(options.dir);
  app::passphrase_ptr passphrase;
  if (options.with_keys) {
    passphrase = app::passphrase_from_stdin("hush backup --with-keys");
  }
  const auto made = app::make_backup(paths, options.file, passphrase);
  std::cout << "Backed up the club in " << fs::absolute(paths.dir).lexically_normal().string()
            << " to " << options.file << " (" << made.bytes << " bytes)\n";
  if (made.with_keys) {
    std::cout << "This backup holds the keys (master.key, ca.key, server.key), sealed under "
                 "your passphrase; restore it with: hush restore "
              << options.file << " --dir NEW_DIR (the passphrase on stdin)\n";
  } else {
    std::cout << "This backup holds no keys: keep a copy of master.key, ca.key and server.key "
                 "apart from it; restore it with: hush restore "
              << options.file << " --dir NEW_DIR --keys DIR_WITH_THOSE_KEYS\n";
  }
}

void run_restore(const restore_options& options) {
  const auto target = club_dir(options.dir);
  app::restore_keys keys;
  if (!options.keys_dir.empty()) {
    keys.keys_dir = fs::path(options.keys_dir);
  } else if (app::backup_has_keys(options.file)) {
    keys.backup_passphrase = app::passphrase_from_stdin("hush restore");
  }
  const auto made = app::restore_backup(options.file, target, keys);
  std::cout << "Restored " << options.file << " into a new club in "
            << fs::absolute(made.dir).lexically_normal().string() << "\n";
  if (made.master_key_sealed) {
    std::cout << "The master key is restored sealed, under the passphrase it was sealed with when "
                 "the backup was made (not the backup's, unless they are the same): start hush "
                 "serve with --unseal-stdin\n";
  }
  if (made.master_key_written && made.master_key_written == made.master_key_elsewhere) {
    std::cout << "hush.toml names keys.master_key_file: the master key was written there, to "
              << made.master_key_written->string() << " (0600)\n";
  } else if (made.master_key_written) {
    std::cout << "hush.toml names keys.master_key_file"
              << (made.master_key_elsewhere ? " = " + made.master_key_elsewhere->string() : "")
              << ", which is taken or cannot be written here: the backup's master key was "
                 "written to "
              << made.master_key_written->string()
              << " (0600) instead; move it there (it is the only copy besides the backup) "
                 "before hush serve\n";
  } else if (made.master_key_elsewhere) {
    std::cout << "The master key stays where hush.toml's keys.master_key_file names it: "
              << made.master_key_elsewhere->string() << "\n";
  }
}

}  // namespace

void add_backup(CLI::App& app) {
  auto options = std::make_shared<backup_options>();
  auto* cmd = app.add_subcommand(
      "backup", "Write a consistent copy of the club to FILE, while the server may be running");
  cmd->add_option("FILE", options->file, "The backup file to write (must not exist)")->required();
  add_dir_option(*cmd, options->dir);
  cmd->add_flag("--with-keys", options->with_keys,
                "Also hold the keys, sealed under a passphrase read from stdin (one line)");
  cmd->callback([options] { run_backup(*options); });

  auto restore = std::make_shared<restore_options>();
  auto* rcmd = app.add_subcommand("restore", "Make a new club from a backup FILE");
  rcmd->add_option("FILE", restore->file, "The backup file (from hush backup)")->required();
  // The new club's directory, which must not exist or be empty.
  add_dir_option(*rcmd, restore->dir);
  rcmd->add_option("--keys", restore->keys_dir,
                   "For a backup without keys: a directory with the club's master.key, ca.key "
                   "and server.key");
  rcmd->callback([restore] { run_restore(*restore); });
}

}  // namespace hush::cli
