#include "crypto/sodium.hpp"

#include <stdexcept>

#include <sodium.h>

namespace hush::crypto {

void init() {
  static const int status = sodium_init();
  if (status < 0) {
    throw std::runtime_error("libsodium failed to initialise");
  }
}

}  // namespace hush::crypto
