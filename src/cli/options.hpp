#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "app/club_dir.hpp"

namespace hush::cli {

// --dir on the root: the club directory for every command, given before the command
// (hush --dir D member list). The root falls through to it, so it may also come between a group
// and its command (hush member --dir D list). Call once, before the commands are added.
void add_root_dir_option(CLI::App& root);
// --dir on a command (hush member list --dir D), shown in the command's help.
void add_dir_option(CLI::App& command, std::string& dir);
// The club a command works on: its own --dir, else the root's, else $HUSH_DIR, else ./hush-data.
// usage_error if both --dir are given and differ. Call from a command's callback (after parsing).
app::club_paths club_dir(const std::string& command_dir);

// --json on a list command: one JSON document for scripts instead of the table.
void add_json_flag(CLI::App& command, bool& json);

// Checks a --role value (or a ROLE argument): reader, poster or admin, with the nearest one when
// it is not.
CLI::Validator role_validator();

}  // namespace hush::cli
