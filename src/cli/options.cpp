#include "cli/options.hpp"

#include "cli/usage.hpp"
#include "club/club.hpp"

namespace hush::cli {
namespace {

// The root's --dir. One command line per process: written while CLI11 parses, read by the
// command's callback, which CLI11 runs once parsing is over.
std::string& root_dir() {
  static std::string dir;
  return dir;
}

constexpr const char* dir_help = "Club directory (default $HUSH_DIR or ./hush-data)";

}  // namespace

void add_root_dir_option(CLI::App& root) {
  root.add_option("--dir", root_dir(), std::string(dir_help) + "; also after the command");
  // Subcommands made from now on inherit it: an option a command does not know is tried on its
  // parents, so the root's --dir is found from anywhere on the line.
  root.fallthrough();
}

void add_dir_option(CLI::App& command, std::string& dir) {
  command.add_option("--dir", dir, dir_help);
}

app::club_paths club_dir(const std::string& command_dir) {
  const auto& before = root_dir();
  if (!command_dir.empty() && !before.empty() && command_dir != before) {
    throw usage_error("--dir is given twice, as \"" + before + "\" and \"" + command_dir +
                      "\"; give it once");
  }
  return app::resolve_dir(command_dir.empty() ? before : command_dir);
}

void add_json_flag(CLI::App& command, bool& json) {
  command.add_flag("--json", json,
                   "One JSON document instead of the table, for scripts (docs/operations.md)");
}

CLI::Validator role_validator() {
  return {[](std::string& value) -> std::string {
            store::role r{};
            if (store::parse_role(value, r)) {
              return {};
            }
            return "a role is reader, poster or admin, not \"" + value + "\"" +
                   did_you_mean(value, {"reader", "poster", "admin"});
          },
          "reader|poster|admin"};
}

}  // namespace hush::cli
