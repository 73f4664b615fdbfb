#include "cli/terminal.hpp"

#include <iostream>
#include <iterator>

#include <boost/json/serialize.hpp>

#include "core/error.hpp"

namespace hush::cli {

std::string read_stdin_line() {
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

std::string read_stdin_all() {
  return {std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
}

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  const auto print_row = [](const std::vector<std::string>& fields) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      std::cout << (i == 0 ? "" : "\t") << fields[i];
    }
    std::cout << "\n";
  };
  print_row(header);
  for (const auto& row : rows) {
    print_row(row);
  }
}

void print_json(const boost::json::value& document) {
  std::cout << boost::json::serialize(document) << "\n";
}

std::string explain(std::error_code ec, const std::string& subject) {
  if (ec == errc::not_found) {
    return subject + ": not found";
  }
  if (ec == errc::already_exists) {
    return subject + ": already exists";
  }
  if (ec == errc::storage_busy) {
    return "the database is busy; try again";
  }
  if (ec == errc::crypto_failure) {
    return subject + ": cannot be decrypted (wrong master key, or the data was altered)";
  }
  if (ec == errc::disk_full || ec == errc::read_only) {
    return ec.message();  // nothing was written: say why, whatever the subject
  }
  if (ec == errc::not_wiped) {
    return subject +
           ": removed, but not yet wiped from hush.db-wal (another process held a long "
           "read); the next removal, or the last process to close the database, wipes it";
  }
  if (ec == errc::conflict) {
    return subject + ": not allowed (the club's last admin stays)";
  }
  if (ec == errc::not_published) {
    return subject + ": done, but ca.crl could not be rewritten (see above); run hush ca crl";
  }
  return subject + ": " + ec.message();
}

}  // namespace hush::cli
