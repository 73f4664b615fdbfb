#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/cidr.hpp"
#include "crypto/password.hpp"

namespace hush::config {

// The port of the original club server, kept so that members' scripts keep working.
inline constexpr std::uint16_t default_port = 5684;

struct listen_address {
  std::string host = "127.0.0.1";
  std::uint16_t port = default_port;

  bool operator==(const listen_address&) const = default;
};

// Client certificates from the club CA: not asked for; asked for and, when one is presented,
// authenticating the member without a password; or demanded in the handshake.
enum class client_cert_mode { off, optional, required };

// "off", "optional" or "required"; nullopt for anything else.
std::optional<client_cert_mode> parse_client_cert_mode(std::string_view text);
std::string_view to_string(client_cert_mode mode);

// Certificates from an ACME CA (RFC 8555) for the server's public names.
struct acme_settings {
  bool enabled = false;
  std::string directory = "https://acme-v02.api.letsencrypt.org/directory";
  std::string email;               // the account's contact; may be empty
  std::vector<std::string> hosts;  // the public names the certificate is for
  std::string challenge = "http-01";
  std::string ca_bundle;  // an extra CA file to trust for the directory; empty: the system's only
};

// Every setting of a club, with its default. Loaded once at startup; read-only afterwards, so it
// may be shared between threads freely.
struct config {
  // Where HTTPS is served: one or more addresses, IPv4 and IPv6.
  std::vector<listen_address> listen{listen_address{}};
  // A plain-HTTP listener that sends every request to HTTPS (301) and answers ACME HTTP-01
  // challenges; off when empty.
  std::optional<listen_address> redirect_http;
  client_cert_mode client_certs = client_cert_mode::off;
  unsigned io_threads = 0;      // 0: one per core
  unsigned worker_threads = 0;  // 0: two per core; handlers and disk work (never Argon2id)

  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 256 * 1024;
  std::size_t max_message_bytes = 64 * 1024;
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds request_timeout{10};
  std::chrono::seconds idle_timeout{30};
  std::chrono::seconds shutdown_grace{10};
  std::size_t max_connections = 10'000;
  std::size_t max_connections_per_address = 64;
  std::size_t max_connections_per_network = 256;  // an IPv4 /24, an IPv6 /56
  // Per member, a token bucket: generous, so that only a runaway script or a stolen credential
  // used for flooding meets it.
  unsigned member_requests_per_second = 100;
  unsigned member_request_burst = 1000;

  std::size_t page_size = 50;
  std::size_t max_page_size = 200;

  crypto::argon2_params argon2;
  unsigned argon2_threads = 0;  // 0: one per core
  std::size_t argon2_queue = 64;
  std::chrono::seconds credential_cache{300};

  unsigned member_free_failures = 3;
  unsigned address_free_failures = 10;
  std::chrono::seconds throttle_base_delay{2};
  std::chrono::seconds throttle_max_delay{900};

  // Browser sessions: ended after this long unused, and this long after login whatever happens.
  std::chrono::seconds session_idle{30 * 60};
  std::chrono::seconds session_absolute{12 * 60 * 60};
  std::size_t max_sessions_per_member = 20;

  // Where the master key lives: empty for master.key in the data directory; else an absolute
  // path, or "$CREDENTIALS_DIRECTORY/NAME" (a systemd credential). The file may hold the raw key
  // or the key sealed under a passphrase (`hush key seal`).
  std::string master_key_file;

  // Where the club's data lives: empty for SQLite (hush.db in the data directory), else a libpq
  // connection string or postgresql:// URI for PostgreSQL (several hosts and
  // target_session_attrs=read-write included). It may hold a password: never logged or echoed.
  std::string store_url;

  // The CRL distribution point named in the certificates the club CA issues from now on (server,
  // members', signed CSRs): an http:// or https:// URL. Empty: the one the current server
  // certificate names (hush init chose https://<first --host, else localhost>:5684/ca.crl).
  std::string crl_url;

  // Audit records older than this are pruned in the background; 0 keeps them forever.
  unsigned audit_keep_days = 365;

  // Prometheus's scrape endpoint (plain HTTP): off when empty.
  std::optional<listen_address> metrics_listen;

  // Peers whose X-Forwarded-For or PROXY protocol v2 header names the client (reverse proxies):
  // networks in CIDR form. Empty: every peer is the client.
  std::vector<cidr> trusted_proxies;

  std::string log_level = "info";
  std::string log_format = "text";

  acme_settings acme;

  // The club's name, which the members' page shows in its header and title, and only to members
  // after login (GET /api/v1/session): a secret club's name is not for strangers.
  std::string club_name = "The club";
};

// A config that cannot be used: the message names the file, the line and the setting.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses TOML text. Missing settings take their defaults; an unknown table or key, a value of the
// wrong type, or one out of range is an error, never silently replaced. Throws config_error.
config parse(std::string_view toml_text, std::string_view source_name);

// Reads and parses the file; throws config_error naming it.
config load(const std::filesystem::path& path);

// The config file `hush init` writes: every setting with its default value, each commented.
std::string default_toml();

// "127.0.0.1:5684", "[::1]:5684", "localhost:0". Throws config_error (naming `what`) when the form
// or the port is wrong.
listen_address parse_listen(std::string_view text, std::string_view what);

// "127.0.0.1:5684", "[::1]:5684": the form parse_listen reads.
std::string format_listen(const listen_address& address);

// The HTTPS listeners: refuses (config_error naming `what`) an empty list and an address given
// twice, since a second bind of it would fail with a less helpful message.
void check_listeners(const std::vector<listen_address>& listen, std::string_view what);

// True when `text` can be a store URL: empty, a postgresql:// or postgres:// URI, or a libpq
// keyword=value string; no control characters. libpq itself judges the rest when the store opens.
bool valid_store_url(std::string_view text);

// True when `text` can be a CRL distribution point: http:// or https://, a host, and no space,
// comma, quote or control character (a comma would smuggle in a second distribution point).
bool valid_crl_url(std::string_view text);

// The longest club name, in characters (Unicode code points).
inline constexpr std::size_t max_club_name_chars = 64;
// A club name: well-formed UTF-8, 1 to max_club_name_chars characters, none of them a control
// character (C0, DEL or C1), which would rewrite a terminal or a log line when shown.
bool valid_club_name(std::string_view text);

}  // namespace hush::config
