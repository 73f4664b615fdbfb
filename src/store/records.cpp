#include "store/records.hpp"

namespace hush::store {

std::string_view to_string(role r) noexcept {
  switch (r) {
    case role::reader:
      return "reader";
    case role::poster:
      return "poster";
    case role::admin:
      return "admin";
  }
  return "reader";
}

bool parse_role(std::string_view text, role& out) noexcept {
  for (const role r : {role::reader, role::poster, role::admin}) {
    if (text == to_string(r)) {
      out = r;
      return true;
    }
  }
  return false;
}

}  // namespace hush::store
