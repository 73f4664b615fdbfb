#pragma once

// The settings table: one row per key of hush.toml, the single source of the defaults file, the
// parser and the validation (config.cpp). Internal to config/.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace hush::config::detail {

// One setting: where it lives in the file, what it means, its bounds, and how to move it in and
// out of the struct. The table is the single source of the defaults file, the parser and the
// validation, so the three cannot drift apart.
struct setting {
  std::string_view table;
  std::string_view key;
  std::string_view help;
  bool is_text = false;
  std::int64_t min = 0;
  std::int64_t max = 0;
  std::function<std::int64_t(const config&)> get_number;
  std::function<void(config&, std::int64_t)> set_number;
  std::function<std::string(const config&)> get_text{};
  // Throws config_error for a bad value; `where` names the file and line.
  std::function<void(config&, const std::string&, const std::string& where)> set_text{};
  // A list of strings (is_text is false then): its own getter and setter.
  bool is_list = false;
  std::function<std::vector<std::string>(const config&)> get_list{};
  std::function<void(config&, const std::vector<std::string>&, const std::string& where)>
      set_list{};
  // A list that may also be written as one string (server.listen, which was a string first).
  bool one_or_list = false;
  // true or false, moved in and out through get_number and set_number as 1 or 0.
  bool is_bool = false;
};

// Every setting, in the order the defaults file lists them.
const std::vector<setting>& settings();

}  // namespace hush::config::detail
