#include "core/secret.hpp"

#include <cstring>

#include <sodium.h>

namespace hush {

secret_bytes::secret_bytes(std::size_t size) : bytes_(size) {}

secret_bytes::secret_bytes(const std::uint8_t* data, std::size_t size)
    : bytes_(data, data + size) {}

secret_bytes secret_bytes::from_string(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

secret_bytes::secret_bytes(const secret_bytes& other) = default;

secret_bytes& secret_bytes::operator=(const secret_bytes& other) {
  if (this != &other) {
    clear();
    bytes_ = other.bytes_;
  }
  return *this;
}

secret_bytes::secret_bytes(secret_bytes&& other) noexcept : bytes_(std::move(other.bytes_)) {
  other.bytes_.clear();
}

secret_bytes& secret_bytes::operator=(secret_bytes&& other) noexcept {
  if (this != &other) {
    clear();
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

secret_bytes::~secret_bytes() {
  clear();
}

void secret_bytes::clear() noexcept {
  secure_zero(bytes_.data(), bytes_.size());
  bytes_.clear();
}

secret_string& secret_string::operator=(secret_string&& other) noexcept {
  if (this != &other) {
    wipe();
    value_ = std::move(other.value_);
    other.wipe();
  }
  return *this;
}

void secret_string::wipe() noexcept {
  // The whole capacity, since a short string may have been written into the inline buffer and
  // then grown out of it.
  secure_zero(value_.data(), value_.capacity());
  value_.clear();
}

void secure_zero(void* data, std::size_t size) noexcept {
  if (data != nullptr && size > 0) {
    sodium_memzero(data, size);
  }
}

bool constant_time_equal(std::span<const std::uint8_t> a,
                         std::span<const std::uint8_t> b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  if (a.empty()) {
    return true;
  }
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  return constant_time_equal(std::span(reinterpret_cast<const std::uint8_t*>(a.data()), a.size()),
                             std::span(reinterpret_cast<const std::uint8_t*>(b.data()), b.size()));
}

}  // namespace hush
