#include <iostream>
#include <memory>
#include <stdexcept>

#include "app/club_dir.hpp"
#include "cli/commands.hpp"
#include "cli/terminal.hpp"
#include "core/clock.hpp"

namespace hush::cli {
namespace {

struct audit_options {
  std::string dir;
  std::size_t limit = 100;
};

void run_audit(const audit_options& options) {
  auto club = app::open_club(app::resolve_dir(options.dir));
  auto records = club->domain->audit_trail(options.limit);
  if (!records) {
    throw std::runtime_error(explain(records.error(), "audit"));
  }
  for (const auto& r : *records) {
    std::cout << format_utc(r.at) << "\t" << r.member << "\tmessage " << r.message.value << "\t"
              << r.remote << "\n";
  }
}

}  // namespace

void add_audit(CLI::App& app) {
  auto options = std::make_shared<audit_options>();
  auto* cmd = app.add_subcommand("audit", "Print who read which message, when and from where");
  cmd->add_option("--dir", options->dir, "Club directory (default $HUSH_DIR or ./hush-data)");
  cmd->add_option("--limit", options->limit, "The last N records (default 100)")
      ->check(CLI::Range(1, 10000000));
  cmd->callback([options] { run_audit(*options); });
}

}  // namespace hush::cli
