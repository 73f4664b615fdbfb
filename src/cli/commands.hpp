#pragma once

// The whole of CLI11, not App.hpp alone: its classes' virtual functions are defined inline in the
// rest of it, so every file of the cli layer carries what it uses and none depends on main.cpp.
#include <CLI/CLI.hpp>

namespace hush::cli {

// The whole command line: registers every command, parses argv and runs the command named.
// Returns the exit status: 0 done, 2 a usage error (an unknown command or option, a bad value, a
// group without its command: nothing was done), each with one line on stderr that says what to
// do. A runtime failure throws std::exception with a one-line reason (main prints it, exit 1).
int run(int argc, char** argv);

// Each adds one command (or command group) to the application. Commands report failure by
// throwing cli::usage_error (cli/usage.hpp) for a command line that is wrong, std::runtime_error
// with a one-line reason for anything else.
void add_init(CLI::App& app);
void add_serve(CLI::App& app);
void add_member(CLI::App& app);
void add_message(CLI::App& app);
void add_audit(CLI::App& app);
void add_token(CLI::App& app);
void add_ca(CLI::App& app);
void add_cert(CLI::App& app);
void add_doctor(CLI::App& app);
void add_fernet(CLI::App& app);
void add_backup(CLI::App& app);  // backup and restore
void add_key(CLI::App& app);
void add_migrate(CLI::App& app);

// The command behind `hush ca revoke SERIAL` and `hush member cert --revoke SERIAL`: revokes the
// certificate with this serial (any form pki::canonical_serial accepts; any kind the CA
// recorded), rewrites ca.crl, and says so on stdout.
void revoke_certificate(const std::string& dir, const std::string& serial_text);

}  // namespace hush::cli
