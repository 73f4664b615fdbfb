#include "config/config.hpp"

#include <gtest/gtest.h>

namespace hush::config {
namespace {

std::string error_of(std::string_view text) {
  try {
    parse(text, "club.toml");
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, EmptyFileGivesDefaults) {
  const auto c = parse("", "club.toml");
  EXPECT_EQ(c.listen, (std::vector<listen_address>{{"127.0.0.1", 5684}}));
  EXPECT_FALSE(c.redirect_http);
  EXPECT_EQ(c.max_message_bytes, 64U * 1024U);
  EXPECT_EQ(c.argon2, crypto::argon2_params{});
}

TEST(Config, DefaultFileParsesToDefaults) {
  const auto text = default_toml();
  const auto c = parse(text, "hush.toml");
  const config defaults;
  EXPECT_EQ(c.listen, defaults.listen);
  EXPECT_EQ(c.io_threads, defaults.io_threads);
  EXPECT_EQ(c.max_header_bytes, defaults.max_header_bytes);
  EXPECT_EQ(c.max_body_bytes, defaults.max_body_bytes);
  EXPECT_EQ(c.idle_timeout, defaults.idle_timeout);
  EXPECT_EQ(c.page_size, defaults.page_size);
  EXPECT_EQ(c.argon2, defaults.argon2);
  EXPECT_EQ(c.log_level, defaults.log_level);
  EXPECT_EQ(c.log_format, defaults.log_format);
  EXPECT_EQ(c.metrics_listen, defaults.metrics_listen);
  EXPECT_EQ(c.trusted_proxies, defaults.trusted_proxies);
  EXPECT_EQ(c.redirect_http, defaults.redirect_http);
  EXPECT_NE(text.find("\nlisten = [\"127.0.0.1:5684\"]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nredirect_http = \"\"\n"), std::string::npos) << text;
  // Every setting is written out with a comment above it.
  EXPECT_NE(text.find("\nformat = \"text\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntrusted_proxies = []\n"), std::string::npos) << text;
  EXPECT_NE(text.find("[metrics]\n# Address and port for Prometheus"), std::string::npos) << text;
  EXPECT_NE(text.find("GET /metrics (plain HTTP): keep it on loopback or a private network. Empty: "
                      "no metrics listener.\nlisten = \"\"\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("argon2_memory_kib = 65536"), std::string::npos);
  EXPECT_NE(text.find("# Largest message text"), std::string::npos);
}

TEST(Config, ReadsValues) {
  const auto c = parse(R"(
[server]
listen = "[::1]:8443"
io_threads = 3
[limits]
max_message_bytes = 100
idle_timeout_seconds = 5
[passwords]
argon2_memory_kib = 20480
)",
                       "club.toml");
  EXPECT_EQ(c.listen, (std::vector<listen_address>{{"::1", 8443}}));
  EXPECT_EQ(c.io_threads, 3U);
  EXPECT_EQ(c.max_message_bytes, 100U);
  EXPECT_EQ(c.idle_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.argon2.memory_kib, 20480U);
}

TEST(Config, ArgonBelowOwaspFloorIsRefused) {
  // One pass over 8 MiB was accepted before: far below OWASP's table.
  const auto error = error_of("[passwords]\nargon2_iterations = 1\nargon2_memory_kib = 8192\n");
  EXPECT_NE(error.find("argon2_memory_kib must be at least 47104"), std::string::npos) << error;
  EXPECT_NE(error_of("[passwords]\nargon2_iterations = 2\nargon2_memory_kib = 19455\n")
                .find("at least 19456"),
            std::string::npos);
  EXPECT_NO_THROW(parse("[passwords]\nargon2_iterations = 5\nargon2_memory_kib = 7168\n", "t"));
  EXPECT_NO_THROW(parse("[passwords]\nargon2_iterations = 1\nargon2_memory_kib = 47104\n", "t"));
}

TEST(Config, NewLimitsHaveTheirContractNames) {
  const auto c = parse(R"(
[sessions]
max_per_member = 3
[audit]
keep_days = 7
[limits]
member_requests_per_second = 5
member_request_burst = 9
)",
                       "club.toml");
  EXPECT_EQ(c.max_sessions_per_member, 3U);
  EXPECT_EQ(c.audit_keep_days, 7U);
  EXPECT_EQ(c.member_requests_per_second, 5U);
  EXPECT_EQ(c.member_request_burst, 9U);
  const auto defaults = default_toml();
  EXPECT_NE(defaults.find("max_per_member = 20"), std::string::npos);
  EXPECT_NE(defaults.find("keep_days = "), std::string::npos);
}

TEST(Config, CrlUrlIsAnHttpUrlOrEmpty) {
  EXPECT_EQ(parse("", "club.toml").crl_url, "");
  EXPECT_NE(default_toml().find("[pki]\n"), std::string::npos);
  EXPECT_EQ(parse("[pki]\ncrl_url = \"https://club.example/ca.crl\"\n", "club.toml").crl_url,
            "https://club.example/ca.crl");
  EXPECT_EQ(parse("[pki]\ncrl_url = \"http://[::1]:8080/ca.crl\"\n", "club.toml").crl_url,
            "http://[::1]:8080/ca.crl");
  for (const char* bad : {"ftp://club.example/ca.crl", "club.example/ca.crl", "https://",
                          "https:///ca.crl", "https://a b/ca.crl", "https://a/x,URI:https://b/",
                          "https://a/\\u0001", "https://a/\\\"x"}) {
    const auto error = error_of(std::string("\n[pki]\ncrl_url = \"") + bad + "\"\n");
    EXPECT_NE(error.find("club.toml:3: pki.crl_url must be"), std::string::npos) << bad << error;
  }
}

TEST(Config, ClubNameIsShortPrintableText) {
  EXPECT_EQ(parse("", "club.toml").club_name, "The club");
  EXPECT_NE(default_toml().find("[club]\n"), std::string::npos);
  EXPECT_NE(default_toml().find("\nname = \"The club\"\n"), std::string::npos);
  EXPECT_EQ(parse("[club]\nname = \"The Oak Society\"\n", "club.toml").club_name,
            "The Oak Society");
  // 64 characters, not bytes: each of these is two bytes of UTF-8.
  std::string sixty_four;
  for (int i = 0; i < 64; ++i) {
    sixty_four += "\u00e9";
  }
  EXPECT_EQ(parse("[club]\nname = \"" + sixty_four + "\"\n", "club.toml").club_name.size(), 128U);
  EXPECT_TRUE(valid_club_name("Les \xc3\xa9toiles \xe2\x98\x85"));
  EXPECT_TRUE(valid_club_name(std::string(64, 'x')));
  EXPECT_FALSE(valid_club_name(std::string(65, 'x')));
  EXPECT_FALSE(valid_club_name(""));
  EXPECT_FALSE(valid_club_name("tab\there"));
  EXPECT_FALSE(valid_club_name("del\x7f"));
  EXPECT_FALSE(valid_club_name("c1 \xc2\x9b control"));  // U+009B, a terminal's CSI
  EXPECT_FALSE(valid_club_name("\xc3"));                 // cut short
  EXPECT_FALSE(valid_club_name("\xc0\xaf"));             // overlong
  for (const auto& bad :
       {std::string(""), std::string(65, 'x'), sixty_four + "x", std::string("line\\nbreak"),
        std::string("esc\\u001b[2J"), std::string("c1\\u0085")}) {
    const auto error = error_of("\n[club]\nname = \"" + bad + "\"\n");
    EXPECT_NE(error.find("club.toml:3: club.name must be 1 to 64 characters"), std::string::npos)
        << bad << error;
    // Never echoed: a control character would reach the terminal.
    EXPECT_EQ(error.find("break"), std::string::npos) << error;
  }
}

TEST(Config, StoreUrlIsEmptyOrAPostgresConnectionString) {
  EXPECT_EQ(parse("", "club.toml").store_url, "");
  EXPECT_NE(default_toml().find("[store]\n"), std::string::npos);
  for (const char* good : {"postgresql://hush@db1,db2/hush?target_session_attrs=read-write",
                           "postgres:///hush?host=/run/postgresql", "host=db dbname=hush"}) {
    EXPECT_EQ(parse(std::string("[store]\nurl = \"") + good + "\"\n", "club.toml").store_url, good);
  }
  // The refusal names file, line and key, never the value: it may hold a password.
  for (const char* bad : {"mysql://u:Secret1@db/hush", "Secret1", "host=db password=Secret1\\n"}) {
    const auto error = error_of(std::string("\n[store]\nurl = \"") + bad + "\"\n");
    EXPECT_NE(error.find("club.toml:3: store.url must be"), std::string::npos) << bad << error;
    EXPECT_EQ(error.find("Secret1"), std::string::npos) << error;
  }
}

TEST(Config, UnknownKeyIsRefusedWithFileAndLine) {
  const auto error = error_of("[server]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n");
  EXPECT_NE(error.find("club.toml:3"), std::string::npos) << error;
  EXPECT_NE(error.find("server.lisen"), std::string::npos) << error;
}

TEST(Config, UnknownTableAndTopLevelKeyAreRefused) {
  EXPECT_NE(error_of("[serverr]\nx = 1\n").find("unknown setting"), std::string::npos);
  EXPECT_NE(error_of("bogus = 1\n").find("unknown setting"), std::string::npos);
}

TEST(Config, WrongTypeIsRefused) {
  EXPECT_NE(error_of("[limits]\nmax_body_bytes = \"big\"\n").find("must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of("[server]\nlisten = 5684\n").find("must be a string or a list of strings"),
            std::string::npos);
  EXPECT_NE(error_of("[server]\nlisten = [5684]\n").find("must be a string or a list of strings"),
            std::string::npos);
  EXPECT_NE(error_of("[server]\nredirect_http = 80\n").find("must be a string"), std::string::npos);
}

TEST(Config, ListenIsOneAddressOrAList) {
  EXPECT_EQ(parse("[server]\nlisten = \"0.0.0.0:443\"\n", "club.toml").listen,
            (std::vector<listen_address>{{"0.0.0.0", 443}}));
  EXPECT_EQ(parse("[server]\nlisten = [\"0.0.0.0:443\", \"[::]:443\"]\n", "club.toml").listen,
            (std::vector<listen_address>{{"0.0.0.0", 443}, {"::", 443}}));
  // Two asks for a free port are two listeners.
  EXPECT_EQ(
      parse("[server]\nlisten = [\"127.0.0.1:0\", \"127.0.0.1:0\"]\n", "club.toml").listen.size(),
      2U);
  auto error = error_of("[server]\nlisten = []\n");
  EXPECT_NE(error.find("club.toml:2: server.listen: at least one address"), std::string::npos)
      << error;
  error = error_of("[server]\nlisten = [\"127.0.0.1:443\", \"[::1]:443\", \"127.0.0.1:443\"]\n");
  EXPECT_NE(error.find("club.toml:2: server.listen: 127.0.0.1:443 is given twice"),
            std::string::npos)
      << error;
  error = error_of("[server]\nlisten = [\"127.0.0.1:443\", \"nonsense\"]\n");
  EXPECT_NE(error.find("club.toml:2: server.listen: listen address \"nonsense\""),
            std::string::npos)
      << error;
  EXPECT_NO_THROW(check_listeners({{"127.0.0.1", 1}, {"::1", 1}}, "--listen"));
  EXPECT_THROW(check_listeners({}, "--listen"), config_error);
}

TEST(Config, RedirectHttpIsOffOrAnAddressOfItsOwn) {
  EXPECT_FALSE(parse("[server]\nredirect_http = \"\"\n", "club.toml").redirect_http);
  EXPECT_EQ(parse("[server]\nredirect_http = \"[::]:80\"\n", "club.toml").redirect_http,
            (listen_address{"::", 80}));
  auto error = error_of("[server]\nredirect_http = \"80\"\n");
  EXPECT_NE(error.find("club.toml:2: server.redirect_http: listen address \"80\""),
            std::string::npos)
      << error;
  error = error_of("[server]\nlisten = [\"127.0.0.1:8443\"]\nredirect_http = \"127.0.0.1:8443\"\n");
  EXPECT_NE(error.find("127.0.0.1:8443 is both an HTTPS address (server.listen) and "
                       "server.redirect_http"),
            std::string::npos)
      << error;
  error =
      error_of("[server]\nlisten = \"127.0.0.1:8443\"\n[metrics]\nlisten = \"127.0.0.1:8443\"\n");
  EXPECT_NE(error.find("is both an HTTPS address (server.listen) and metrics.listen"),
            std::string::npos)
      << error;
}

TEST(Config, OutOfRangeIsRefusedNotClamped) {
  const auto error = error_of("[limits]\nmax_body_bytes = 1\n");
  EXPECT_NE(error.find("must be between"), std::string::npos) << error;
  EXPECT_NE(error_of("[passwords]\nargon2_memory_kib = 64\n").find("must be between"),
            std::string::npos);
  EXPECT_NE(error_of("[server]\nio_threads = -1\n").find("must be between"), std::string::npos);
}

TEST(Config, InconsistentValuesAreRefused) {
  EXPECT_NE(error_of("[limits]\nmax_body_bytes = 2048\nmax_message_bytes = 4096\n")
                .find("max_message_bytes"),
            std::string::npos);
  EXPECT_NE(error_of("[api]\npage_size = 20\nmax_page_size = 10\n").find("page_size"),
            std::string::npos);
}

TEST(Config, ThrottleAndHashingSettings) {
  const auto c = parse(R"(
[passwords]
argon2_threads = 2
argon2_queue = 8
cache_seconds = 0
[throttle]
member_free_failures = 5
base_delay_seconds = 1
max_delay_seconds = 60
[limits]
max_connections = 100
max_connections_per_address = 10
)",
                       "club.toml");
  EXPECT_EQ(c.argon2_threads, 2U);
  EXPECT_EQ(c.argon2_queue, 8U);
  EXPECT_EQ(c.credential_cache, std::chrono::seconds(0));
  EXPECT_EQ(c.member_free_failures, 5U);
  EXPECT_EQ(c.address_free_failures, 10U);
  EXPECT_EQ(c.throttle_base_delay, std::chrono::seconds(1));
  EXPECT_EQ(c.throttle_max_delay, std::chrono::seconds(60));
  EXPECT_EQ(c.max_connections, 100U);
  EXPECT_EQ(c.max_connections_per_address, 10U);
  EXPECT_NE(error_of("[throttle]\nbase_delay_seconds = 100\nmax_delay_seconds = 10\n")
                .find("base_delay_seconds"),
            std::string::npos);
  EXPECT_NE(error_of("[limits]\nmax_connections = 10\nmax_connections_per_address = 20\n")
                .find("max_connections_per_address"),
            std::string::npos);
  EXPECT_NE(error_of("[passwords]\nargon2_queue = 0\n").find("must be between"), std::string::npos);
}

TEST(Config, ConnectionsPerNetwork) {
  EXPECT_EQ(parse("", "club.toml").max_connections_per_network, 256U);
  EXPECT_EQ(parse("[limits]\nmax_connections_per_network = 1000\n", "club.toml")
                .max_connections_per_network,
            1000U);
  EXPECT_NE(error_of("[limits]\nmax_connections_per_network = 0\n").find("must be between"),
            std::string::npos);
  EXPECT_NE(error_of("[limits]\nmax_connections_per_address = 300\n")
                .find("must not exceed limits.max_connections_per_network"),
            std::string::npos);
  EXPECT_NE(default_toml().find("max_connections_per_network = 256"), std::string::npos);
}

TEST(Config, BadLogLevelIsRefused) {
  EXPECT_NE(error_of("[log]\nlevel = \"loud\"\n").find("log.level"), std::string::npos);
}

TEST(Config, SyntaxErrorNamesTheLine) {
  const auto error = error_of("[server]\nlisten = \n");
  EXPECT_NE(error.find("club.toml:2"), std::string::npos) << error;
}

TEST(Config, LogFormatIsTextOrJson) {
  EXPECT_EQ(parse("", "club.toml").log_format, "text");
  EXPECT_EQ(parse("[log]\nformat = \"json\"\n", "club.toml").log_format, "json");
  EXPECT_EQ(parse("[log]\nformat = \"text\"\n", "club.toml").log_format, "text");
  for (const char* bad : {"JSON", "Text", "logfmt", "", " json", "json "}) {
    const auto error = error_of("[log]\nformat = \"" + std::string(bad) + "\"\n");
    EXPECT_NE(error.find("club.toml:2: log.format must be text or json"), std::string::npos)
        << error;
  }
  EXPECT_NE(error_of("[log]\nformat = 1\n").find("log.format must be a string"), std::string::npos);
}

TEST(Config, MetricsListen) {
  EXPECT_FALSE(parse("", "club.toml").metrics_listen);
  EXPECT_FALSE(parse("[metrics]\nlisten = \"\"\n", "club.toml").metrics_listen);
  EXPECT_EQ(parse("[metrics]\nlisten = \"127.0.0.1:9100\"\n", "club.toml").metrics_listen,
            (listen_address{"127.0.0.1", 9100}));
  EXPECT_EQ(parse("[metrics]\nlisten = \"[::1]:9100\"\n", "club.toml").metrics_listen,
            (listen_address{"::1", 9100}));
  EXPECT_EQ(parse("[metrics]\nlisten = \"10.0.0.5:0\"\n", "club.toml").metrics_listen,
            (listen_address{"10.0.0.5", 0}));
  // The HTTPS listener is a setting of its own.
  EXPECT_EQ(parse("[metrics]\nlisten = \"127.0.0.1:9100\"\n", "club.toml").listen, config{}.listen);
  for (const char* bad : {"9100", "127.0.0.1", "127.0.0.1:", ":9100", "127.0.0.1:65536",
                          "[::1]9100", "::1:9100", "127.0.0.1:91OO", " "}) {
    const auto error = error_of("[metrics]\nlisten = \"" + std::string(bad) + "\"\n");
    EXPECT_NE(error.find("club.toml:2: metrics.listen"), std::string::npos) << bad << ": " << error;
    // The value, or for a port out of range the port and the range.
    EXPECT_TRUE(error.find(bad) != std::string::npos ||
                error.find("port 65536 is out of range") != std::string::npos)
        << error;
  }
  EXPECT_NE(error_of("[metrics]\nlisten = 9100\n").find("metrics.listen must be a string"),
            std::string::npos);
  EXPECT_NE(error_of("[metrics]\nport = 9100\n").find("unknown setting \"metrics.port\""),
            std::string::npos);
}

TEST(Config, TrustedProxies) {
  EXPECT_TRUE(parse("", "club.toml").trusted_proxies.empty());
  EXPECT_TRUE(parse("[server]\ntrusted_proxies = []\n", "club.toml").trusted_proxies.empty());
  const auto c =
      parse("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"2001:db8::/32\", \"192.0.2.7\"]\n",
            "club.toml");
  ASSERT_EQ(c.trusted_proxies.size(), 3U);
  EXPECT_EQ(c.trusted_proxies[0], *parse_cidr("10.0.0.0/8"));
  EXPECT_EQ(c.trusted_proxies[1], *parse_cidr("2001:db8::/32"));
  EXPECT_EQ(c.trusted_proxies[2], *parse_cidr("192.0.2.7/32"));
  EXPECT_TRUE(c.trusted_proxies[0].contains("10.1.2.3"));
  // Written over several lines, as a long list would be.
  EXPECT_EQ(parse("[server]\ntrusted_proxies = [\n  \"10.0.0.0/8\",\n  \"::1\",\n]\n", "club.toml")
                .trusted_proxies.size(),
            2U);
}

TEST(Config, BadTrustedProxiesAreRefusedByName) {
  for (const char* bad : {"10.0.0.1/8", "garbage", "10.0.0.0/33", "", "10.0.0.0/08", "[::1]",
                          "10.0.0.1:80", "localhost"}) {
    const auto error = error_of(
        "[server]\nlisten = \"127.0.0.1:5684\"\ntrusted_proxies = "
        "[\"192.0.2.1\", \"" +
        std::string(bad) + "\"]\n");
    EXPECT_NE(error.find("club.toml:3: server.trusted_proxies: \"" + std::string(bad) + "\""),
              std::string::npos)
        << bad << ": " << error;
  }
  for (const char* not_strings :
       {"\"10.0.0.0/8\"", "8", "[8]", "[\"10.0.0.0/8\", 8]", "[[\"10.0.0.0/8\"]]", "{}", "true"}) {
    const auto error = error_of("[server]\ntrusted_proxies = " + std::string(not_strings) + "\n");
    EXPECT_NE(error.find("club.toml:2: server.trusted_proxies must be a list of strings"),
              std::string::npos)
        << not_strings << ": " << error;
  }
}

TEST(ParseListen, Forms) {
  EXPECT_EQ(parse_listen("127.0.0.1:5684", "x"), (listen_address{"127.0.0.1", 5684}));
  EXPECT_EQ(parse_listen("[::1]:0", "x"), (listen_address{"::1", 0}));
  EXPECT_EQ(parse_listen("localhost:80", "x"), (listen_address{"localhost", 80}));
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536", "::1:80",
                          "[::1]80", "[::1]:x", "host:80x", "host:-1"}) {
    EXPECT_THROW(parse_listen(bad, "x"), config_error) << bad;
  }
}

TEST(ParseListen, APortOutOfRangeSaysTheRange) {
  for (const char* bad : {"127.0.0.1:65536", "[::1]:70000", "host:99999999999999999999"}) {
    try {
      parse_listen(bad, "--listen");
      ADD_FAILURE() << bad << " was accepted";
    } catch (const config_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("out of range"), std::string::npos) << what;
      EXPECT_NE(what.find("0 to 65535"), std::string::npos) << what;
      EXPECT_EQ(what.rfind("--listen: ", 0), 0U) << what;
    }
  }
}

}  // namespace
}  // namespace hush::config

namespace hush::config {
namespace {

TEST(ConfigAcme, DefaultsAreOffAndLetsEncrypt) {
  const auto c = parse("", "club.toml");
  EXPECT_FALSE(c.acme.enabled);
  EXPECT_EQ(c.acme.directory, "https://acme-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(c.acme.challenge, "http-01");
  EXPECT_TRUE(c.acme.hosts.empty());
  const auto text = default_toml();
  for (const char* line :
       {"\n[acme]\n", "\nenabled = false\n",
        "\ndirectory = \"https://acme-v02.api.letsencrypt.org/directory\"\n", "\nemail = \"\"\n",
        "\nhosts = []\n", "\nchallenge = \"http-01\"\n", "\nca_bundle = \"\"\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  EXPECT_FALSE(parse(text, "hush.toml").acme.enabled);
}

TEST(ConfigAcme, ReadsEveryKey) {
  const auto c = parse(R"([server]
redirect_http = "0.0.0.0:80"
[acme]
enabled = true
directory = "https://127.0.0.1:14000/dir"
email = "admin@club.example"
hosts = ["club.example.org", "www.club.example.org"]
challenge = "http-01"
ca_bundle = "/etc/pebble/minica.pem"
)",
                       "club.toml");
  EXPECT_TRUE(c.acme.enabled);
  EXPECT_EQ(c.acme.directory, "https://127.0.0.1:14000/dir");
  EXPECT_EQ(c.acme.email, "admin@club.example");
  EXPECT_EQ(c.acme.hosts, (std::vector<std::string>{"club.example.org", "www.club.example.org"}));
  EXPECT_EQ(c.acme.ca_bundle, "/etc/pebble/minica.pem");
  EXPECT_EQ(parse("[acme]\nchallenge = \"tls-alpn-01\"\n", "club.toml").acme.challenge,
            "tls-alpn-01");
}

TEST(ConfigAcme, BadValuesAreRefused) {
  EXPECT_NE(error_of("[acme]\nenabled = 1\n").find("acme.enabled must be true or false"),
            std::string::npos);
  EXPECT_NE(error_of("[acme]\ndirectory = \"http://ca.example/dir\"\n")
                .find("club.toml:2: acme.directory must be an https:// URL"),
            std::string::npos);
  EXPECT_NE(error_of("[acme]\nemail = \"nobody\"\n").find("is not an email address"),
            std::string::npos);
  EXPECT_NE(error_of("[acme]\nhosts = [\"a b\"]\n").find("is not a host name"), std::string::npos);
  EXPECT_NE(error_of("[acme]\nhosts = [\"*.club.example\"]\n").find("is not a host name"),
            std::string::npos);
  EXPECT_NE(
      error_of("[acme]\nhosts = [\"" + std::string(254, 'a') + "\"]\n").find("is not a host name"),
      std::string::npos);
  EXPECT_NE(error_of("[acme]\nhosts = [\"club.example\", \"Club.Example\"]\n")
                .find("\"Club.Example\" is given twice"),
            std::string::npos);
  // Names are compared as a CA writes them: in lower case.
  EXPECT_EQ(parse("[acme]\nhosts = [\"Club.Example.ORG\"]\n", "club.toml").acme.hosts,
            std::vector<std::string>{"club.example.org"});
  EXPECT_NE(error_of("[server]\nredirect_http = \"127.0.0.1:9100\"\n[metrics]\nlisten = "
                     "\"127.0.0.1:9100\"\n")
                .find("is both server.redirect_http and metrics.listen"),
            std::string::npos);
  EXPECT_NE(error_of("[acme]\nchallenge = \"dns-01\"\n")
                .find("acme.challenge must be http-01 or tls-alpn-01"),
            std::string::npos);
  EXPECT_NE(error_of("[acme]\nenabled = true\n").find("needs at least one name in acme.hosts"),
            std::string::npos);
  EXPECT_NE(error_of("[acme]\nenabled = true\nhosts = [\"club.example.org\"]\n")
                .find("acme.challenge http-01 needs server.redirect_http"),
            std::string::npos);
  // tls-alpn-01 is answered on the HTTPS port: no redirect port needed, but host names only.
  EXPECT_EQ(parse("[acme]\nenabled = true\nchallenge = \"tls-alpn-01\"\nhosts = "
                  "[\"club.example.org\"]\n",
                  "club.toml")
                .acme.hosts.size(),
            1U);
  EXPECT_NE(error_of("[acme]\nenabled = true\nchallenge = \"tls-alpn-01\"\nhosts = "
                     "[\"club.example.org\", \"192.0.2.7\"]\n")
                .find("tls-alpn-01 validates host names only; 192.0.2.7 is an address"),
            std::string::npos);
}

}  // namespace
}  // namespace hush::config
