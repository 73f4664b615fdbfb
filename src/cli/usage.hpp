#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace hush::cli {

// A command line that asks for something hush cannot do as written (a value out of range, a name
// no member can have, an option missing): nothing was done. run() prints the reason in one line
// and exits with usage_exit_status; every other exception is a runtime failure (exit 1).
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr int usage_exit_status = 2;
inline constexpr int runtime_exit_status = 1;

// The candidate nearest `word` (edit distance, a swap of two neighbours counting as one, or a
// prefix of a candidate), if it is near enough to be what was meant; nullopt otherwise. Pure.
std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& names);

// "; did you mean X?" when a candidate is near `word`, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& names);

// "hush member add": the command's words, from the root.
std::string command_path(const CLI::App& command);

// What went wrong with a command line CLI11 refused, found by walking it again through the tree
// of commands and options (`args` without the program name). Pure; reads the tree only.
struct refusal {
  // The deepest command the words named (the root if none).
  CLI::App* command = nullptr;
  // One line naming the unknown command, flag or extra argument, with the nearest valid one;
  // empty when the words are all known (then CLI11's own reason stands).
  std::string reason;
  // The words stop at a group of commands (hush member): it needs one of them.
  bool needs_subcommand = false;
};
refusal diagnose(CLI::App& root, const std::vector<std::string>& args);

}  // namespace hush::cli
