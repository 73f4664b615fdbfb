#include <iostream>
#include <memory>
#include <stdexcept>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "app/club_dir.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/terminal.hpp"
#include "core/clock.hpp"

namespace hush::cli {
namespace {

struct audit_options {
  std::string dir;
  std::size_t limit = 100;
  bool json = false;
};

void run_audit(const audit_options& options) {
  auto club = app::open_club(club_dir(options.dir));
  auto records = club->domain->audit_trail(options.limit);
  if (!records) {
    throw std::runtime_error(explain(records.error(), "audit"));
  }
  if (options.json) {
    boost::json::array items;
    for (const auto& r : *records) {
      items.push_back({{"time", format_utc(r.at)},
                       {"member", r.member},
                       {"message", r.message.value},
                       {"remote", r.remote}});
    }
    print_json({{"audit", std::move(items)}});
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : *records) {
    rows.push_back({format_utc(r.at), r.member, std::to_string(r.message.value), r.remote});
  }
  print_table({"TIME", "MEMBER", "MESSAGE", "REMOTE"}, rows);
}

}  // namespace

void add_audit(CLI::App& app) {
  auto options = std::make_shared<audit_options>();
  auto* cmd = app.add_subcommand("audit", "Print who read which message, when and from where");
  add_dir_option(*cmd, options->dir);
  cmd->add_option("--limit", options->limit, "The last N records (default 100)")
      ->check(CLI::Range(1, 10000000));
  add_json_flag(*cmd, options->json);
  cmd->callback([options] { run_audit(*options); });
}

}  // namespace hush::cli
