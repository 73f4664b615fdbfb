// libFuzzer target: config::parse (hush.toml) and config::parse_listen.
//
// A bad config must be refused with config_error, which names the file and line; any other
// exception escaping is a bug, so it is not caught here and the fuzzer reports it as a crash.
#include <cstdint>
#include <string_view>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto cfg = hush::config::parse(text, "fuzz.toml");
    (void)cfg;
  } catch (const hush::config::config_error&) {
  }
  // The --listen option and the listen setting share this parser; a line of input is enough.
  try {
    (void)hush::config::parse_listen(text.substr(0, text.find('\n')), "fuzz");
  } catch (const hush::config::config_error&) {
  }
  return 0;
}
