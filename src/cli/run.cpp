#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/usage.hpp"

#ifndef HUSH_VERSION
#error "HUSH_VERSION must be defined (the CMake project's version, src/CMakeLists.txt)"
#endif

namespace hush::cli {
namespace {

constexpr const char* version_line = "hush " HUSH_VERSION;

// The command that was running when a callback refused: the deepest one parsed.
const CLI::App& deepest_parsed(const CLI::App& root) {
  const CLI::App* at = &root;
  for (auto subs = at->get_subcommands(); !subs.empty(); subs = at->get_subcommands()) {
    at = subs.front();
  }
  return *at;
}

std::string see_help(const CLI::App& command) {
  return " (see " + command_path(command) + " --help)";
}

// A command line CLI11 refused: name what is wrong, or show the group's help when the words stop
// at a group. Always a usage error.
int refuse(CLI::App& root, int argc, char** argv, const CLI::ParseError& error) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const auto found = diagnose(root, args);
  const CLI::App& command = *found.command;
  if (!found.reason.empty()) {
    std::cerr << "hush: " << found.reason << see_help(command) << "\n";
    return usage_exit_status;
  }
  if (found.needs_subcommand && dynamic_cast<const CLI::RequiredError*>(&error) != nullptr) {
    // The usage line names the whole command (hush member ...), not the group alone.
    const auto* parent = command.get_parent();
    std::cout << command.help(parent == nullptr ? std::string() : command_path(*parent));
    std::string names;
    for (const auto* sub : command.get_subcommands({})) {
      if (!sub->get_name().empty()) {
        names += (names.empty() ? "" : ", ") + sub->get_name();
      }
    }
    std::cerr << "hush: "
              << (parent == nullptr ? std::string("name a command")
                                    : command.get_name() + " needs one of its commands")
              << ": " << names << " (see the help above)\n";
    return usage_exit_status;
  }
  std::cerr << "hush: " << error.what() << see_help(command) << "\n";
  return usage_exit_status;
}

void add_version(CLI::App& app) {
  app.set_version_flag("--version", version_line, "Print hush's version and exit");
  app.add_subcommand("version", "Print hush's version")->callback([] {
    std::cout << version_line << "\n";
  });
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"hush: a club's secret messages, for members only, over HTTPS", "hush"};
  app.require_subcommand(1);
  add_root_dir_option(app);
  add_version(app);
  add_init(app);
  add_serve(app);
  add_member(app);
  add_message(app);
  add_audit(app);
  add_token(app);
  add_ca(app);
  add_cert(app);
  add_doctor(app);
  add_fernet(app);
  add_backup(app);
  add_migrate(app);
  add_key(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return refuse(app, argc, argv, e);
  } catch (const usage_error& e) {
    std::cerr << "hush: " << e.what() << see_help(deepest_parsed(app)) << "\n";
    return usage_exit_status;
  }
  return 0;
}

}  // namespace hush::cli
