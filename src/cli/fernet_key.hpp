#pragma once

#include <filesystem>
#include <string_view>

#include "core/secret.hpp"

namespace hush::cli {

// The 32 bytes of a Fernet key file (44 characters of urlsafe base64, surrounding whitespace
// allowed). Throws std::runtime_error naming the file if it is readable by group or others, not
// ours, unreadable, or not a key.
secret_bytes read_fernet_key(const std::filesystem::path& path);

// `text` without leading and trailing spaces, tabs and line ends.
std::string_view trimmed(std::string_view text);

}  // namespace hush::cli
