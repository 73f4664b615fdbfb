#pragma once

#include <string>
#include <system_error>

namespace hush::cli {

// Reads one line from standard input (a password), without its line ending.
std::string read_stdin_line();
// Reads all of standard input.
std::string read_stdin_all();

// A one-line explanation of a data-path error for the person at the terminal.
std::string explain(std::error_code ec, const std::string& subject);

}  // namespace hush::cli
