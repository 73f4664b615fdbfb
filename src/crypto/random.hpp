#pragma once

#include <cstddef>
#include <string>

#include "core/secret.hpp"

namespace hush::crypto {

// Bytes from the operating system's CSPRNG (libsodium). Thread safe.
secret_bytes random_bytes(std::size_t size);

// A password a person can type: `groups` groups of 5 characters from an alphabet without look-alike
// characters, joined by '-'. Four groups carry about 113 bits. Zeroed when dropped.
secret_string random_password(std::size_t groups = 4);

}  // namespace hush::crypto
