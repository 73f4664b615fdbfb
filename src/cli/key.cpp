#include <chrono>
#include <iostream>
#include <memory>
#include <stdexcept>

#include "app/club_dir.hpp"
#include "app/keys.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"

namespace hush::cli {
namespace {

// Re-sealing batches: small enough that one commit never holds the server's writers for long.
constexpr std::size_t default_batch = 500;
constexpr std::size_t max_batch = 10'000;
constexpr unsigned max_pause_ms = 60'000;

struct key_options {
  std::string dir;
  bool data = false;
  bool unseal_stdin = false;
  std::size_t batch = default_batch;
  unsigned pause_ms = 0;
};

app::passphrase_ptr unseal(const key_options& options) {
  return options.unseal_stdin ? app::passphrase_from_stdin("--unseal-stdin") : nullptr;
}

void run_rotate(const key_options& options) {
  const auto paths = club_dir(options.dir);
  if (!options.data) {
    app::rotate_master_key(paths, unseal(options));
    std::cout << "Rotated the master key: every data key is rewrapped under a new one, and the "
                 "old one is gone\n";
    return;
  }
  app::rotate_data_key(
      paths, unseal(options), options.batch, std::chrono::milliseconds(options.pause_ms),
      [](const app::data_rotation_progress& p) {
        if (p.done) {
          std::cout << "Rotated the data key: every message is sealed under "
                       "data key "
                    << p.key << "; " << p.retired << " old key(s) removed\n";
        } else if (p.resealed == 0) {
          std::cout << (p.resumed ? "Resuming the rotation to data key " : "New data key ") << p.key
                    << "; re-sealing messages\n";
        } else {
          std::cout << "re-sealed " << p.resealed << " messages\n";
        }
        std::cout.flush();
      });
}

}  // namespace

void add_key(CLI::App& app) {
  auto* group = app.add_subcommand("key", "Rotate and seal the club's keys");
  group->require_subcommand(1);

  auto rotate = std::make_shared<key_options>();
  auto* cmd = group->add_subcommand(
      "rotate",
      "A new master key (every data key rewrapped), or with --data a new data key "
      "(every message re-sealed); online");
  add_dir_option(*cmd, rotate->dir);
  cmd->add_flag("--data", rotate->data,
                "Rotate the data key instead: re-seal every message in batches; run it again "
                "to resume after an interruption");
  cmd->add_option("--batch", rotate->batch, "Messages per commit with --data")
      ->check(CLI::Range(std::size_t{1}, max_batch));
  cmd->add_option("--pause-ms", rotate->pause_ms, "Pause between batches with --data")
      ->check(CLI::Range(0U, max_pause_ms));
  cmd->add_flag("--unseal-stdin", rotate->unseal_stdin,
                "The sealed master key's passphrase is one line on stdin");
  cmd->callback([rotate] { run_rotate(*rotate); });

  auto seal = std::make_shared<key_options>();
  auto* scmd = group->add_subcommand(
      "seal", "Seal the master key file under a passphrase read from stdin (one line)");
  add_dir_option(*scmd, seal->dir);
  scmd->callback([seal] {
    const auto paths = club_dir(seal->dir);
    app::seal_master_key(paths, app::passphrase_from_stdin("hush key seal"));
    std::cout << "Sealed the master key under your passphrase; start the server with hush serve "
                 "--unseal-stdin\n";
  });

  auto unseal_opts = std::make_shared<key_options>();
  auto* ucmd = group->add_subcommand(
      "unseal", "Store the master key unsealed again (its passphrase read from stdin)");
  add_dir_option(*ucmd, unseal_opts->dir);
  ucmd->callback([unseal_opts] {
    const auto paths = club_dir(unseal_opts->dir);
    app::unseal_master_key(paths, app::passphrase_from_stdin("hush key unseal"));
    std::cout << "The master key is stored unsealed again\n";
  });
}

}  // namespace hush::cli
