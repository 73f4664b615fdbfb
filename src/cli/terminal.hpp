#pragma once

#include <string>
#include <system_error>
#include <vector>

#include <boost/json/value.hpp>

namespace hush::cli {

// Reads one line from standard input (a password), without its line ending.
std::string read_stdin_line();
// Reads all of standard input.
std::string read_stdin_all();

// A list for people on standard output: a header row, then one row per item, the fields
// separated by tabs (so that cut -f and awk -F'\t' take them apart). The fields must hold no tab
// or line break (names, times and addresses that hush has checked).
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);
// A list for scripts: one JSON document on one line of standard output.
void print_json(const boost::json::value& document);

// A one-line explanation of a data-path error for the person at the terminal.
std::string explain(std::error_code ec, const std::string& subject);

}  // namespace hush::cli
