#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hush {

// Bytes that must not outlive their use: zeroed (in a way the optimiser keeps) when resized or
// destroyed. Not thread safe; move rather than copy where a copy is not needed.
class secret_bytes {
 public:
  secret_bytes() = default;
  explicit secret_bytes(std::size_t size);
  secret_bytes(const std::uint8_t* data, std::size_t size);
  static secret_bytes from_string(std::string_view text);
  secret_bytes(const secret_bytes& other);
  secret_bytes& operator=(const secret_bytes& other);
  secret_bytes(secret_bytes&& other) noexcept;
  secret_bytes& operator=(secret_bytes&& other) noexcept;
  ~secret_bytes();

  std::uint8_t* data() noexcept { return bytes_.data(); }
  const std::uint8_t* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return bytes_.size(); }
  bool empty() const noexcept { return bytes_.empty(); }
  std::span<const std::uint8_t> span() const noexcept { return bytes_; }
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  void clear() noexcept;

 private:
  std::vector<std::uint8_t> bytes_;
};

// A std::string that is zeroed when destroyed; for passwords and plaintext on their way through.
class secret_string {
 public:
  secret_string() = default;
  explicit secret_string(std::string value) : value_(std::move(value)) {}
  // A copy made straight into this string (no temporary std::string left unwiped).
  explicit secret_string(std::string_view value) : value_(value) {}
  secret_string(const secret_string&) = delete;
  secret_string& operator=(const secret_string&) = delete;
  secret_string(secret_string&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
  secret_string& operator=(secret_string&& other) noexcept;
  ~secret_string() { wipe(); }

  const std::string& str() const noexcept { return value_; }
  std::string_view view() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }

 private:
  void wipe() noexcept;
  std::string value_;
};

// Zeroes a buffer so that the compiler cannot elide the write.
void secure_zero(void* data, std::size_t size) noexcept;

// std::allocator, but what it gives back is zeroed first: for a container that grows by moving to
// a larger block (Beast's flat_buffer of a connection's raw request bytes), whose old blocks would
// otherwise be freed with what they held. Stateless; thread safe as std::allocator is.
template <class T>
struct zeroing_allocator {
  using value_type = T;

  constexpr zeroing_allocator() noexcept = default;
  // Implicit, as an allocator's conversion to another value type must be.
  template <class U>
  constexpr zeroing_allocator(const zeroing_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    secure_zero(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
};

template <class T, class U>
constexpr bool operator==(const zeroing_allocator<T>&, const zeroing_allocator<U>&) noexcept {
  return true;
}

// Compares in time that depends only on the lengths, never on where the inputs differ.
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept;
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace hush
