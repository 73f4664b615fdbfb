#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "core/process.hpp"

int main(int argc, char** argv) {
  hush::process::ensure_standard_descriptors();
  // Everything inside one try: building the command line can throw too (bad_alloc, CLI11's
  // definition errors), and an escaped exception would end in std::terminate, not one line.
  try {
    hush::process::forbid_core_dumps();
    hush::process::remember_args(argc, argv);
    CLI::App app{"hush: a club's secret messages, for members only, over HTTPS"};
    app.require_subcommand(1);
    hush::cli::add_init(app);
    hush::cli::add_serve(app);
    hush::cli::add_member(app);
    hush::cli::add_message(app);
    hush::cli::add_audit(app);
    hush::cli::add_token(app);
    hush::cli::add_ca(app);
    hush::cli::add_cert(app);
    hush::cli::add_doctor(app);
    hush::cli::add_fernet(app);
    hush::cli::add_backup(app);
    hush::cli::add_key(app);
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      // Usage errors follow the same one-line form as every other failure.
      std::cerr << "hush: " << e.what() << " (see hush --help)\n";
      return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << "hush: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
