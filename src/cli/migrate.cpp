#include "app/migrate.hpp"

#include <iostream>
#include <memory>

#include "app/club_dir.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"

namespace hush::cli {
namespace {

struct migrate_options {
  std::string dir;
  std::string to;
};

void run_migrate(const migrate_options& options) {
  const auto paths = club_dir(options.dir);
  const auto target = app::parse_migration_target(options.to);
  const auto passphrase = app::passphrase_from_environment();
  const auto report = app::migrate_club(paths, target, passphrase);
  std::cout << "Copied the club in " << paths.dir.string() << " (" << report.rows << " rows, "
            << report.messages
            << " messages) and verified the copy: every row read back equal, every message "
               "opened with the club's keys. The club still uses its old store; to move it:\n";
  if (!target.store_url.empty()) {
    std::cout << "  set in " << paths.config().string()
              << ":\n    [store]\n    url = \"...\"   (the URL given to --to)\n";
  } else {
    std::cout << "  move " << target.sqlite.string() << " to " << paths.database().string()
              << " (0600) and remove [store] url from " << paths.config().string() << "\n";
  }
  std::cout << "  then start the server(s). Until then the old store is unchanged; keep it until "
               "the new one has served.\n";
}

}  // namespace

void add_migrate(CLI::App& app) {
  auto options = std::make_shared<migrate_options>();
  auto* cmd = app.add_subcommand(
      "migrate",
      "Copy the club into another store (PostgreSQL, or a new SQLite file), verified; "
      "stop the server first");
  cmd->add_option("--to", options->to,
                  "A postgresql:// URI or libpq keyword=value string of an empty database, or "
                  "sqlite:PATH for a new SQLite file")
      ->required();
  add_dir_option(*cmd, options->dir);
  cmd->callback([options] { run_migrate(*options); });
}

}  // namespace hush::cli
