#include "crypto/random.hpp"

#include <string_view>

#include <sodium.h>

#include "crypto/sodium.hpp"

namespace hush::crypto {

secret_bytes random_bytes(std::size_t size) {
  init();
  secret_bytes out(size);
  randombytes_buf(out.data(), out.size());
  return out;
}

secret_string random_password(std::size_t groups) {
  init();
  // 50 symbols: no 0/O, 1/l/I, to be read aloud or copied by hand.
  constexpr std::string_view alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string out;
  // Room for all of it at once: a reallocation would leave a copy of the first part behind.
  out.reserve(groups * 6);
  for (std::size_t g = 0; g < groups; ++g) {
    if (g > 0) {
      out.push_back('-');
    }
    for (int i = 0; i < 5; ++i) {
      // randombytes_uniform is unbiased.
      out.push_back(alphabet[randombytes_uniform(static_cast<std::uint32_t>(alphabet.size()))]);
    }
  }
  return secret_string(std::move(out));
}

}  // namespace hush::crypto
