// The strict parse the handlers use: no duplicate keys, and buffers zeroed when freed.
#include "http/json.hpp"

#include <new>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>

#include "core/error.hpp"
#include "core/secret.hpp"

namespace hush::http {
namespace {

namespace json = boost::json;
using json::string_view;
using sys_error = boost::system::error_code;

// A basic_parser handler that builds nothing and fails on the first key an object repeats. Keys
// arrive unescaped, so "role" and "r\u006fle" are the same key here, as they are to the value.
class duplicate_key_finder {
 public:
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);

  bool on_document_begin(sys_error&) { return true; }
  bool on_document_end(sys_error&) { return true; }
  bool on_array_begin(sys_error&) { return true; }
  bool on_array_end(std::size_t, sys_error&) { return true; }
  bool on_object_begin(sys_error&) {
    open_objects_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, sys_error&) {
    open_objects_.pop_back();
    return true;
  }
  bool on_key_part(string_view s, std::size_t, sys_error&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, sys_error& ec) {
    key_.append(s.data(), s.size());
    if (!open_objects_.back().insert(std::move(key_)).second) {
      ec = json::error::syntax;
      return false;
    }
    key_.clear();
    return true;
  }
  bool on_string_part(string_view, std::size_t, sys_error&) { return true; }
  bool on_string(string_view, std::size_t, sys_error&) { return true; }
  bool on_number_part(string_view, sys_error&) { return true; }
  bool on_int64(std::int64_t, string_view, sys_error&) { return true; }
  bool on_uint64(std::uint64_t, string_view, sys_error&) { return true; }
  bool on_double(double, string_view, sys_error&) { return true; }
  bool on_bool(bool, sys_error&) { return true; }
  bool on_null(sys_error&) { return true; }
  bool on_comment_part(string_view, sys_error&) { return true; }
  bool on_comment(string_view, sys_error&) { return true; }

 private:
  std::vector<std::unordered_set<std::string>> open_objects_;
  std::string key_;
};

// Parsed values can hold a password or a message's plaintext: their memory is zeroed before it
// goes back to the allocator. Stateless, so one instance serves every thread.
class zeroing_resource final : public json::memory_resource {
  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    return ::operator new(bytes, std::align_val_t(alignment));
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override {
    secure_zero(p, bytes);
    ::operator delete(p, std::align_val_t(alignment));
  }
  bool do_is_equal(const json::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

zeroing_resource zeroing;

}  // namespace

result<json::value> parse_json(std::string_view text) {
  // Two passes over a body that is already within the body limit: one that only looks for
  // repeated keys, then Boost.JSON's own parse for the value (and for the errors it alone finds,
  // such as bytes after the document).
  json::basic_parser<duplicate_key_finder> finder{json::parse_options{}};
  sys_error ec;
  finder.write_some(false, text.data(), text.size(), ec);
  if (ec) {
    return make_error_code(errc::invalid_argument);
  }
  auto value = json::parse(text, ec, json::storage_ptr(&zeroing));
  if (ec) {
    return make_error_code(errc::invalid_argument);
  }
  return value;
}

}  // namespace hush::http
