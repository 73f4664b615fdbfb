#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "core/result.hpp"
#include "core/secret.hpp"

namespace hush::files {

// Reads a whole file. Throws std::runtime_error naming the path; for startup and the CLI.
std::string read_text(const std::filesystem::path& path);
secret_bytes read_secret(const std::filesystem::path& path);

// Creates the file exclusively (fails if it exists) with the given mode, writes, fsyncs it and its
// directory. Throws std::runtime_error naming the path.
void write_new(const std::filesystem::path& path, std::string_view contents, mode_t mode);

// Replaces the file atomically: writes a temporary file beside it (write_new), then renames it
// over `path`, so that a reader sees the old contents or the new, never a mix. Throws
// std::runtime_error naming the path; the old file is then untouched.
void replace(const std::filesystem::path& path, std::string_view contents, mode_t mode);

// Throws std::runtime_error if the path is readable, writable or executable by group or others,
// or is not owned by the current user: a secret that others can read is already lost.
void require_private(const std::filesystem::path& path);

}  // namespace hush::files
