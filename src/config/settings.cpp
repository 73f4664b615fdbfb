#include "config/settings.hpp"

#include <chrono>

#include "core/text.hpp"

namespace hush::config::detail {
namespace {

constexpr std::size_t max_host_name = 253;

bool looks_like_host(const std::string& host) {
  return !host.empty() && host.find_first_of(",/ \t\r\n@:") == std::string::npos;
}

template <class Member>
setting number(std::string_view table, std::string_view key, std::string_view help,
               std::int64_t min, std::int64_t max, Member config::*field) {
  return {table,
          key,
          help,
          false,
          min,
          max,
          [field](const config& c) { return static_cast<std::int64_t>(c.*field); },
          [field](config& c, std::int64_t v) { c.*field = static_cast<Member>(v); },
          {},
          {}};
}

setting seconds(std::string_view table, std::string_view key, std::string_view help,
                std::int64_t min, std::int64_t max, std::chrono::seconds config::*field) {
  return {table,
          key,
          help,
          false,
          min,
          max,
          [field](const config& c) { return static_cast<std::int64_t>((c.*field).count()); },
          [field](config& c, std::int64_t v) { c.*field = std::chrono::seconds(v); },
          {},
          {}};
}

}  // namespace

const std::vector<setting>& settings() {
  static const std::vector<setting> all = {
      {"server", "listen",
       "Addresses and ports to serve HTTPS on (IPv4 \"127.0.0.1:5684\", IPv6 \"[::1]:5684\"): a "
       "list, or one address as a string. Only TLS is ever served.",
       false, 0, 0, nullptr, nullptr, nullptr, nullptr, true,
       [](const config& c) {
         std::vector<std::string> out;
         for (const auto& address : c.listen) {
           out.push_back(format_listen(address));
         }
         return out;
       },
       [](config& c, const std::vector<std::string>& v, const std::string& where) {
         c.listen.clear();
         for (const auto& text : v) {
           c.listen.push_back(parse_listen(text, where + ": server.listen"));
         }
         check_listeners(c.listen, where + ": server.listen");
       },
       true},
      {"server", "redirect_http",
       "A plain-HTTP address (\"0.0.0.0:80\") answering every request with a redirect to HTTPS, "
       "and ACME HTTP-01 challenges; it never serves a secret or asks for a login. Empty: off.",
       true, 0, 0, nullptr, nullptr,
       [](const config& c) { return c.redirect_http ? format_listen(*c.redirect_http) : ""; },
       [](config& c, const std::string& v, const std::string& where) {
         if (v.empty()) {
           c.redirect_http.reset();
         } else {
           c.redirect_http = parse_listen(v, where + ": server.redirect_http");
         }
       }},
      {"server", "client_certs",
       "Client certificates from the club CA: off, optional (a valid one logs the member in "
       "without a password) or required (the handshake fails without one).",
       true, 0, 0, nullptr, nullptr,
       [](const config& c) { return std::string(to_string(c.client_certs)); },
       [](config& c, const std::string& v, const std::string& where) {
         const auto mode = parse_client_cert_mode(v);
         if (!mode) {
           throw config_error(where +
                              ": server.client_certs must be off, optional or required, "
                              "not \"" +
                              v + "\"");
         }
         c.client_certs = *mode;
       }},
      {"server", "trusted_proxies",
       "Reverse proxies (CIDR networks) whose X-Forwarded-For header (rightmost untrusted hop) or "
       "PROXY protocol v2 header names the client. From any other peer both are ignored. Empty: "
       "every peer is the client.",
       false, 0, 0, nullptr, nullptr, nullptr, nullptr, true,
       [](const config& c) {
         std::vector<std::string> out;
         for (const auto& n : c.trusted_proxies) {
           out.push_back(n.to_string());
         }
         return out;
       },
       [](config& c, const std::vector<std::string>& v, const std::string& where) {
         c.trusted_proxies.clear();
         for (const auto& text : v) {
           const auto network = parse_cidr(text);
           if (!network) {
             throw config_error(
                 where + ": server.trusted_proxies: \"" + text +
                 "\" is not an address or a network in CIDR form "
                 "(\"10.0.0.0/8\", \"2001:db8::/32\", no host bits past the prefix)");
           }
           c.trusted_proxies.push_back(*network);
         }
       }},
      number("server", "io_threads", "Threads serving connections; 0 means one per core.", 0, 256,
             &config::io_threads),
      number("server", "worker_threads",
             "Threads for handlers and disk work (Argon2id has its own); 0 means two per core.", 0,
             256, &config::worker_threads),
      number("limits", "max_header_bytes",
             "Largest request head (request line and headers); larger gets 431.", 1024, 1024 * 1024,
             &config::max_header_bytes),
      number("limits", "max_body_bytes", "Largest request body, refused (413) before it is parsed.",
             1024, 64 * 1024 * 1024, &config::max_body_bytes),
      number("limits", "max_message_bytes", "Largest message text, in bytes of UTF-8.", 1,
             16 * 1024 * 1024, &config::max_message_bytes),
      seconds("limits", "handshake_timeout_seconds", "Time allowed for the TLS handshake.", 1, 300,
              &config::handshake_timeout),
      seconds("limits", "request_timeout_seconds",
              "Time allowed to receive one request, head and body (on a keep-alive connection, "
              "from its first byte).",
              1, 300, &config::request_timeout),
      seconds("limits", "idle_timeout_seconds",
              "How long a keep-alive connection may wait for the first byte of the next request.",
              1, 3600, &config::idle_timeout),
      seconds("limits", "shutdown_grace_seconds",
              "On SIGINT/SIGTERM, how long in-flight requests may take to finish.", 0, 600,
              &config::shutdown_grace),
      number("limits", "max_connections",
             "Most connections open at once. At the cap, the oldest that has not sent a whole "
             "request (then the longest idle) is closed to make room; if all are busy, the "
             "newcomer is.",
             1, 1'000'000, &config::max_connections),
      number("limits", "member_requests_per_second",
             "Requests one member may make per second, on average, before 429; 0 means no limit.",
             0, 1'000'000, &config::member_requests_per_second),
      number("limits", "member_request_burst",
             "Requests one member may make at once above that rate before 429.", 1, 10'000'000,
             &config::member_request_burst),
      number("limits", "max_connections_per_address",
             "Most connections open at once from one client address (an IPv6 /64).", 1, 1'000'000,
             &config::max_connections_per_address),
      number("limits", "max_connections_per_network",
             "Most connections open at once from one client network (an IPv4 /24, an IPv6 /56).", 1,
             1'000'000, &config::max_connections_per_network),
      number("api", "page_size", "Messages per page of the list when the client asks for none.", 1,
             10000, &config::page_size),
      number("api", "max_page_size", "Most messages a client may ask for in one page.", 1, 10000,
             &config::max_page_size),
      {"passwords",
       "argon2_iterations",
       "Argon2id passes. Hashes made with other costs are redone at the member's next login.",
       false,
       static_cast<std::int64_t>(crypto::argon2_min_iterations),
       static_cast<std::int64_t>(crypto::argon2_max_iterations),
       [](const config& c) { return static_cast<std::int64_t>(c.argon2.iterations); },
       [](config& c, std::int64_t v) { c.argon2.iterations = static_cast<std::uint64_t>(v); },
       {},
       {}},
      {"passwords",
       "argon2_memory_kib",
       "Argon2id memory per hash, in KiB.",
       false,
       static_cast<std::int64_t>(crypto::argon2_min_memory_kib),
       static_cast<std::int64_t>(crypto::argon2_max_memory_kib),
       [](const config& c) { return static_cast<std::int64_t>(c.argon2.memory_kib); },
       [](config& c, std::int64_t v) { c.argon2.memory_kib = static_cast<std::uint64_t>(v); },
       {},
       {}},
      number("passwords", "argon2_threads",
             "Threads that run Argon2id, bounding its CPU and memory; 0 means one per core.", 0,
             256, &config::argon2_threads),
      number("passwords", "argon2_queue",
             "Password checks that may wait for those threads; beyond it, 503 with Retry-After.", 1,
             100'000, &config::argon2_queue),
      seconds("passwords", "cache_seconds",
              "How long a verified name and password are remembered (as a keyed hash); 0 disables.",
              0, 3600, &config::credential_cache),
      number("throttle", "member_free_failures",
             "Failed logins for one member from one address before delays start.", 1, 1'000'000,
             &config::member_free_failures),
      number("throttle", "address_free_failures",
             "Failed logins from one address (any member) before delays start.", 1, 1'000'000,
             &config::address_free_failures),
      seconds("throttle", "base_delay_seconds",
              "First delay after the free failures; each further failure doubles it.", 1, 3600,
              &config::throttle_base_delay),
      seconds("throttle", "max_delay_seconds",
              "Longest delay; a key quiet for this long is forgotten.", 1, 86400,
              &config::throttle_max_delay),
      seconds("sessions", "idle_seconds",
              "A browser session unused for this long is over; the member logs in again.", 60,
              7 * 86400, &config::session_idle),
      seconds("sessions", "absolute_seconds",
              "A browser session ends this long after login, however busy it is.", 300, 30 * 86400,
              &config::session_absolute),
      number("sessions", "max_per_member",
             "Live browser sessions one member may have; a new login beyond it ends their oldest.",
             1, 10'000, &config::max_sessions_per_member),
      {"keys", "master_key_file",
       "The master key's file: empty for master.key in the data directory, else an absolute "
       "path or \"$CREDENTIALS_DIRECTORY/NAME\" (a systemd credential). Must be 0600 or 0400.",
       true, 0, 0, nullptr, nullptr, [](const config& c) { return c.master_key_file; },
       [](config& c, const std::string& v, const std::string& where) {
         if (!v.empty() && v.front() != '/' && !v.starts_with("$CREDENTIALS_DIRECTORY/")) {
           throw config_error(where +
                              ": keys.master_key_file must be empty, an absolute path or "
                              "\"$CREDENTIALS_DIRECTORY/NAME\", not \"" +
                              v + "\"");
         }
         c.master_key_file = v;
       }},
      {"store", "url",
       "Where the club's data lives. Empty: SQLite, hush.db in the data directory. Else "
       "PostgreSQL: a libpq URI (\"postgresql://hush@db1,db2/hush?target_session_attrs="
       "read-write\") or keyword=value string; keep its password in ~/.pgpass or PGPASSWORD.",
       true, 0, 0, nullptr, nullptr, [](const config& c) { return c.store_url; },
       [](config& c, const std::string& v, const std::string& where) {
         // The value is not echoed: it may hold a password.
         if (!valid_store_url(v)) {
           throw config_error(where +
                              ": store.url must be empty, a postgresql:// URI or a libpq "
                              "keyword=value string, without control characters");
         }
         c.store_url = v;
       }},
      {"pki", "crl_url",
       "Where the certificates the club CA issues from now on say its revocation list is (an "
       "http:// or https:// URL; hush serves it at /ca.crl). Empty: the URL the server "
       "certificate names now. Run hush cert renew after changing it.",
       true, 0, 0, nullptr, nullptr, [](const config& c) { return c.crl_url; },
       [](config& c, const std::string& v, const std::string& where) {
         if (!v.empty() && !valid_crl_url(v)) {
           throw config_error(where +
                              ": pki.crl_url must be empty or an http:// or https:// URL without "
                              "spaces, commas or quotes, not \"" +
                              v + "\"");
         }
         c.crl_url = v;
       }},
      number("audit", "keep_days",
             "Days an audit record is kept; older ones are pruned in the background. 0 keeps all.",
             0, 100 * 366, &config::audit_keep_days),
      {"metrics", "listen",
       "Address and port for Prometheus to scrape GET /metrics (plain HTTP): keep it on loopback "
       "or a private network. Empty: no metrics listener.",
       true, 0, 0, nullptr, nullptr,
       [](const config& c) {
         return c.metrics_listen ? format_listen(*c.metrics_listen) : std::string();
       },
       [](config& c, const std::string& v, const std::string& where) {
         if (v.empty()) {
           c.metrics_listen.reset();
         } else {
           c.metrics_listen = parse_listen(v, where + ": metrics.listen");
         }
       }},
      {"log", "level", "One of debug, info, warn, error. Secrets are never logged at any level.",
       true, 0, 0, nullptr, nullptr, [](const config& c) { return c.log_level; },
       [](config& c, const std::string& v, const std::string& where) {
         if (v != "debug" && v != "info" && v != "warn" && v != "error") {
           throw config_error(where + ": log.level must be debug, info, warn or error, not \"" + v +
                              "\"");
         }
         c.log_level = v;
       }},
      {"log", "format",
       "text (one line per event, for people and fail2ban) or json (one object per line, for log "
       "pipelines). Both go to stderr, which journald keeps under systemd.",
       true, 0, 0, nullptr, nullptr, [](const config& c) { return c.log_format; },
       [](config& c, const std::string& v, const std::string& where) {
         if (v != "text" && v != "json") {
           throw config_error(where + ": log.format must be text or json, not \"" + v + "\"");
         }
         c.log_format = v;
       }},
      {.table = "acme",
       .key = "enabled",
       .help = "Get and renew the server certificate for acme.hosts from an ACME CA (Let's "
               "Encrypt, say). Until the first one arrives the club's own certificate is served; "
               "members' client certificates and the CRL stay with the club CA.",
       .get_number = [](const config& c) { return static_cast<std::int64_t>(c.acme.enabled); },
       .set_number = [](config& c, std::int64_t v) { c.acme.enabled = v != 0; },
       .is_bool = true},
      {"acme", "directory", "The ACME CA's directory URL (https://).", true, 0, 0, nullptr, nullptr,
       [](const config& c) { return c.acme.directory; },
       [](config& c, const std::string& v, const std::string& where) {
         if (!v.starts_with("https://") || v.find_first_of(" \t\r\n") != std::string::npos) {
           throw config_error(where + ": acme.directory must be an https:// URL, not \"" + v +
                              "\"");
         }
         c.acme.directory = v;
       }},
      {"acme", "email", "Contact address for the ACME account; may be empty.", true, 0, 0, nullptr,
       nullptr, [](const config& c) { return c.acme.email; },
       [](config& c, const std::string& v, const std::string& where) {
         const auto at = v.find('@');
         if (!v.empty() && (at == 0 || at == std::string::npos || at + 1 == v.size() ||
                            v.find_first_of(" \t\r\n,<>") != std::string::npos)) {
           throw config_error(where + ": acme.email \"" + v + "\" is not an email address");
         }
         c.acme.email = v;
       }},
      {"acme", "hosts", "The public names the certificate is for (\"club.example.org\").", false, 0,
       0, nullptr, nullptr, nullptr, nullptr, true, [](const config& c) { return c.acme.hosts; },
       [](config& c, const std::vector<std::string>& v, const std::string& where) {
         c.acme.hosts.clear();
         for (const auto& given : v) {
           const std::string host = ascii_lower(given);
           // No wildcard: HTTP-01 cannot validate one.
           if (!looks_like_host(host) || host.find('*') != std::string::npos ||
               host.size() > max_host_name) {
             throw config_error(where + ": acme.hosts: \"" + given + "\" is not a host name");
           }
           if (std::find(c.acme.hosts.begin(), c.acme.hosts.end(), host) != c.acme.hosts.end()) {
             throw config_error(where + ": acme.hosts: \"" + given + "\" is given twice");
           }
           c.acme.hosts.push_back(host);
         }
       }},
      {"acme", "challenge",
       "How the CA checks that the hosts are ours: http-01 (needs server.redirect_http on port "
       "80) or tls-alpn-01 (answered on the HTTPS port, which must be the one the CA reaches: "
       "443; host names only).",
       true, 0, 0, nullptr, nullptr, [](const config& c) { return c.acme.challenge; },
       [](config& c, const std::string& v, const std::string& where) {
         if (v != "http-01" && v != "tls-alpn-01") {
           throw config_error(where + ": acme.challenge must be http-01 or tls-alpn-01, not \"" +
                              v + "\"");
         }
         c.acme.challenge = v;
       }},
      {"acme", "ca_bundle",
       "An extra CA file (PEM) to trust for the directory, besides the system's; empty: none.",
       true, 0, 0, nullptr, nullptr, [](const config& c) { return c.acme.ca_bundle; },
       [](config& c, const std::string& v, const std::string&) { c.acme.ca_bundle = v; }},
      {"club", "name",
       "The club's name, in the members' page's header and title after login (never shown to "
       "strangers): 1 to 64 characters, no control characters.",
       true, 0, 0, nullptr, nullptr, [](const config& c) { return c.club_name; },
       [](config& c, const std::string& v, const std::string& where) {
         // Not echoed: it may hold control characters.
         if (!valid_club_name(v)) {
           throw config_error(where + ": club.name must be 1 to " +
                              std::to_string(max_club_name_chars) +
                              " characters of UTF-8, without control characters");
         }
         c.club_name = v;
       }},
  };
  return all;
}

}  // namespace hush::config::detail
