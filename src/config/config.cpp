#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <sstream>
#include <vector>

#include <toml++/toml.h>

#include "config/settings.hpp"
#include "core/files.hpp"
#include "core/text.hpp"

namespace hush::config {
namespace {

using detail::setting;
using detail::settings;

std::string where(std::string_view source, const toml::source_region& region) {
  return std::string(source) + ":" + std::to_string(region.begin.line);
}

void validate_whole(const config& c, std::string_view source) {
  if (const auto floor = crypto::argon2_floor_memory_kib(c.argon2.iterations);
      c.argon2.memory_kib < floor) {
    throw config_error(std::string(source) + ": passwords.argon2_memory_kib must be at least " +
                       std::to_string(floor) + " with " + std::to_string(c.argon2.iterations) +
                       " argon2_iterations (OWASP's floor for Argon2id), not " +
                       std::to_string(c.argon2.memory_kib));
  }
  const auto clash = [&](const std::optional<listen_address>& other, std::string_view name) {
    if (other && other->port != 0 &&
        std::find(c.listen.begin(), c.listen.end(), *other) != c.listen.end()) {
      throw config_error(std::string(source) + ": " + format_listen(*other) +
                         " is both an HTTPS address (server.listen) and " + std::string(name));
    }
  };
  clash(c.redirect_http, "server.redirect_http");
  if (c.acme.enabled && c.acme.hosts.empty()) {
    throw config_error(std::string(source) +
                       ": acme.enabled needs at least one name in acme.hosts");
  }
  if (c.acme.enabled && c.acme.challenge == "http-01" && !c.redirect_http) {
    throw config_error(std::string(source) +
                       ": acme.challenge http-01 needs server.redirect_http (port 80, where the "
                       "CA fetches the answer)");
  }
  if (c.acme.enabled && c.acme.challenge == "tls-alpn-01") {
    for (const auto& host : c.acme.hosts) {
      if (parse_ip(host)) {
        throw config_error(std::string(source) +
                           ": acme.challenge tls-alpn-01 validates host "
                           "names only; " +
                           host + " is an address (use http-01)");
      }
    }
  }
  clash(c.metrics_listen, "metrics.listen");
  if (c.redirect_http && c.metrics_listen && c.redirect_http->port != 0 &&
      *c.redirect_http == *c.metrics_listen) {
    throw config_error(std::string(source) + ": " + format_listen(*c.redirect_http) +
                       " is both server.redirect_http and metrics.listen");
  }
  if (c.max_message_bytes > c.max_body_bytes) {
    throw config_error(std::string(source) +
                       ": limits.max_message_bytes must not exceed limits.max_body_bytes");
  }
  if (c.throttle_base_delay > c.throttle_max_delay) {
    throw config_error(std::string(source) +
                       ": throttle.base_delay_seconds must not exceed throttle.max_delay_seconds");
  }
  if (c.max_connections_per_address > c.max_connections) {
    throw config_error(
        std::string(source) +
        ": limits.max_connections_per_address must not exceed limits.max_connections");
  }
  if (c.max_connections_per_address > c.max_connections_per_network) {
    throw config_error(
        std::string(source) +
        ": limits.max_connections_per_address must not exceed limits.max_connections_per_network");
  }
  if (c.session_idle > c.session_absolute) {
    throw config_error(std::string(source) +
                       ": sessions.idle_seconds must not exceed sessions.absolute_seconds");
  }
  if (c.page_size > c.max_page_size) {
    throw config_error(std::string(source) + ": api.page_size must not exceed api.max_page_size");
  }
}

}  // namespace

std::optional<client_cert_mode> parse_client_cert_mode(std::string_view text) {
  if (text == "off") {
    return client_cert_mode::off;
  }
  if (text == "optional") {
    return client_cert_mode::optional;
  }
  if (text == "required") {
    return client_cert_mode::required;
  }
  return std::nullopt;
}

std::string_view to_string(client_cert_mode mode) {
  switch (mode) {
    case client_cert_mode::off:
      return "off";
    case client_cert_mode::optional:
      return "optional";
    case client_cert_mode::required:
      return "required";
  }
  return "off";
}

std::string format_listen(const listen_address& address) {
  return address.host.find(':') != std::string::npos
             ? "[" + address.host + "]:" + std::to_string(address.port)
             : address.host + ":" + std::to_string(address.port);
}

void check_listeners(const std::vector<listen_address>& listen, std::string_view what) {
  if (listen.empty()) {
    throw config_error(std::string(what) + ": at least one address is needed");
  }
  for (auto it = listen.begin(); it != listen.end(); ++it) {
    // Port 0 asks for any free port: two of them are two listeners.
    if (it->port != 0 && std::find(listen.begin(), it, *it) != it) {
      throw config_error(std::string(what) + ": " + format_listen(*it) + " is given twice");
    }
  }
}

listen_address parse_listen(std::string_view text, std::string_view what) {
  const auto fail = [&]() -> config_error {
    return config_error(std::string(what) + ": listen address \"" + std::string(text) +
                        "\" is not HOST:PORT or [IPv6]:PORT");
  };
  listen_address out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw fail();
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      throw fail();
    }
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  unsigned long port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  const bool all_digits = !port_text.empty() && end == port_text.data() + port_text.size();
  if (all_digits && !out.host.empty() && (ec == std::errc::result_out_of_range || port > 65535)) {
    throw config_error(std::string(what) + ": port " + std::string(port_text) +
                       " is out of range; a port is 0 to 65535 (0: any free port)");
  }
  if (out.host.empty() || port_text.empty() || ec != std::errc() || !all_digits) {
    throw fail();
  }
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

bool valid_store_url(std::string_view text) {
  if (text.empty()) {
    return true;
  }
  for (const char ch : text) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
      return false;
    }
  }
  return text.starts_with("postgresql://") || text.starts_with("postgres://") ||
         text.find('=') != std::string_view::npos;
}

bool valid_crl_url(std::string_view text) {
  constexpr std::size_t max_url = 2048;
  std::string_view rest;
  if (text.starts_with("https://")) {
    rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else {
    return false;
  }
  const bool clean = std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != ',' && c != '"' && c != '\\' && c != '<' && c != '>';
  });
  // A host must follow the scheme: "https:///ca.crl" names none.
  return clean && text.size() <= max_url && !rest.empty() && rest.front() != '/' &&
         rest.front() != '?' && rest.front() != '#';
}

config parse(std::string_view toml_text, std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    throw config_error(std::string(source_name) + ":" + std::to_string(e.source().begin.line) +
                       ": " + std::string(e.description()));
  }

  config out;
  for (const auto& [table_key, table_node] : root) {
    const auto* table = table_node.as_table();
    // A plain variable, not the binding: clang before 16 cannot capture structured bindings.
    const std::string_view table_name = table_key.str();
    const bool known_table = std::any_of(settings().begin(), settings().end(),
                                         [&](const setting& s) { return s.table == table_name; });
    if (table == nullptr || !known_table) {
      throw config_error(where(source_name, table_node.source()) + ": unknown setting \"" +
                         std::string(table_key.str()) + "\"");
    }
    for (const auto& [key, node] : *table) {
      const std::string_view key_name = key.str();
      const auto found = std::find_if(settings().begin(), settings().end(), [&](const setting& s) {
        return s.table == table_name && s.key == key_name;
      });
      const std::string name = std::string(table_key.str()) + "." + std::string(key.str());
      const std::string at = where(source_name, node.source());
      if (found == settings().end()) {
        throw config_error(at + ": unknown setting \"" + name + "\"");
      }
      if (found->is_list && found->one_or_list && node.is_string()) {
        found->set_list(out, {node.as_string()->get()}, at);
      } else if (found->is_list) {
        const auto* values = node.as_array();
        std::vector<std::string> texts;
        if (values != nullptr) {
          for (const auto& element : *values) {
            if (const auto* text = element.as_string()) {
              texts.push_back(text->get());
            } else {
              values = nullptr;
              break;
            }
          }
        }
        if (values == nullptr) {
          throw config_error(at + ": " + name +
                             (found->one_or_list ? " must be a string or a list of strings"
                                                 : " must be a list of strings"));
        }
        found->set_list(out, texts, at);
      } else if (found->is_bool) {
        const auto* value = node.as_boolean();
        if (value == nullptr) {
          throw config_error(at + ": " + name + " must be true or false");
        }
        found->set_number(out, value->get() ? 1 : 0);
      } else if (found->is_text) {
        const auto* value = node.as_string();
        if (value == nullptr) {
          throw config_error(at + ": " + name + " must be a string");
        }
        found->set_text(out, value->get(), at);
      } else {
        const auto* value = node.as_integer();
        if (value == nullptr) {
          throw config_error(at + ": " + name + " must be an integer");
        }
        if (value->get() < found->min || value->get() > found->max) {
          throw config_error(at + ": " + name + " must be between " + std::to_string(found->min) +
                             " and " + std::to_string(found->max) + ", not " +
                             std::to_string(value->get()));
        }
        found->set_number(out, value->get());
      }
    }
  }
  validate_whole(out, source_name);
  return out;
}

config load(const std::filesystem::path& path) {
  std::string text;
  try {
    text = files::read_text(path);
  } catch (const std::exception& e) {
    throw config_error(e.what());
  }
  return parse(text, path.string());
}

std::string default_toml() {
  const config defaults;
  std::ostringstream out;
  out << "# hush club configuration. Every setting is shown with its default value.\n"
         "# Unknown settings and out-of-range values make hush refuse to start.\n";
  std::string_view current_table;
  for (const auto& s : settings()) {
    if (s.table != current_table) {
      out << "\n[" << s.table << "]\n";
      current_table = s.table;
    }
    out << "# " << s.help;
    if (s.is_list) {
      out << "\n" << s.key << " = [";
      const auto values = s.get_list(defaults);
      for (std::size_t i = 0; i < values.size(); ++i) {
        out << (i == 0 ? "\"" : ", \"") << values[i] << '"';
      }
      out << "]\n";
      continue;
    }
    if (s.is_bool) {
      out << "\n" << s.key << " = " << (s.get_number(defaults) != 0 ? "true" : "false") << "\n";
      continue;
    }
    if (!s.is_text) {
      out << " (" << s.min << " to " << s.max << ")";
    }
    out << "\n" << s.key << " = ";
    if (s.is_text) {
      out << '"' << s.get_text(defaults) << '"';
    } else {
      out << s.get_number(defaults);
    }
    out << "\n";
  }
  return out.str();
}

bool valid_club_name(std::string_view text) {
  std::size_t chars = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto point = decode_utf8(text, i);
    // C0 controls, DEL and C1 controls: never in a name shown in a title and a header.
    if (!point || point->value < 0x20 || (point->value >= 0x7f && point->value <= 0x9f)) {
      return false;
    }
    i += point->size;
    ++chars;
  }
  return chars >= 1 && chars <= max_club_name_chars;
}

}  // namespace hush::config
