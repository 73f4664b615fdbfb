#include "crypto/encoding.hpp"

#include <algorithm>

#include <sodium.h>

#include "crypto/sodium.hpp"

namespace hush::crypto {
namespace {

std::string encode(std::span<const std::uint8_t> bytes, int variant) {
  init();
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// libsodium's decoder reads a byte with the high bit set as the ASCII character below it (0xdf
// decodes as '_'), so one value would have many spellings. Only the variant's own alphabet and
// '=' are let through.
bool in_alphabet(std::string_view text, int variant) {
  const bool urlsafe = variant == sodium_base64_VARIANT_URLSAFE;
  return std::all_of(text.begin(), text.end(), [urlsafe](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '=' ||
           (urlsafe ? (c == '-' || c == '_') : (c == '+' || c == '/'));
  });
}

std::optional<secret_bytes> decode(std::string_view text, int variant) {
  init();
  if (!in_alphabet(text, variant)) {
    return std::nullopt;
  }
  secret_bytes out(text.size() / 4 * 3 + 3);
  std::size_t size = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &size, &end,
                        variant) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  return secret_bytes(out.data(), size);
}

}  // namespace

std::string to_hex(std::span<const std::uint8_t> bytes) {
  init();
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.resize(out.size() - 1);
  return out;
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  return encode(bytes, sodium_base64_VARIANT_ORIGINAL);
}

std::optional<secret_bytes> base64_decode(std::string_view text) {
  return decode(text, sodium_base64_VARIANT_ORIGINAL);
}

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
  return encode(bytes, sodium_base64_VARIANT_URLSAFE);
}

std::optional<secret_bytes> base64url_decode(std::string_view text) {
  return decode(text, sodium_base64_VARIANT_URLSAFE);
}

}  // namespace hush::crypto
