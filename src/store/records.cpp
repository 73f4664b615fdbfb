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

std::string_view to_string(message_format f) noexcept {
  switch (f) {
    case message_format::text:
      return "text";
    case message_format::fernet:
      return "fernet";
  }
  return "text";
}

bool parse_message_format(std::string_view text, message_format& out) noexcept {
  for (const message_format f : {message_format::text, message_format::fernet}) {
    if (text == to_string(f)) {
      out = f;
      return true;
    }
  }
  return false;
}

std::string_view to_string(cert_kind kind) noexcept {
  switch (kind) {
    case cert_kind::client:
      return "client";
    case cert_kind::server:
      return "server";
    case cert_kind::csr:
      return "csr";
  }
  return "client";
}

}  // namespace hush::store
