#include "app/serve.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <ctime>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stop_token>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include <openssl/err.h>

#include "acme/manager.hpp"
#include "acme/tls_alpn.hpp"
#include "app/club_dir.hpp"
#include "app/housekeeping.hpp"
#include "app/service_notify.hpp"
#include "app/spawned_ca.hpp"
#include "core/files.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "http/challenge_tokens.hpp"
#include "http/published_bytes.hpp"
#include "net/metrics_listener.hpp"
#include "net/redirect_listener.hpp"
#include "net/server.hpp"
#include "net/tls.hpp"
#include "net/tls_alpn.hpp"
#include "pki/pki.hpp"

namespace hush::app {
namespace {

// What identifies a file's current contents cheaply: a renamed-in replacement (how hush writes
// every file) changes the inode, an edit in place changes the time or size.
struct file_stamp {
  std::uintmax_t inode = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t size = -1;
  bool operator==(const file_stamp&) const = default;
};

file_stamp stamp_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return {};
  }
  return {static_cast<std::uintmax_t>(st.st_ino),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<std::int64_t>(st.st_size)};
}

// The families must exist (and be scraped as zero) before anything is counted, so they are
// statics; the allocation failure that could throw here would end the process at start anyway.
// NOLINTBEGIN(cert-err58-cpp)
metrics::gauge certificate_expiry(
    "hush_certificate_expiry_timestamp_seconds",
    "When the served certificate and the club CA's expire, in Unix seconds.",
    {"certificate", {"server", "ca"}});
// NOLINTEND(cert-err58-cpp)

// The expiry of the first certificate in a PEM file, for the gauge; a file that cannot be read
// leaves the gauge as it was (the reload that failed says why).
void note_expiry(const std::filesystem::path& pem, std::size_t slot) {
  try {
    certificate_expiry.set(static_cast<double>(pki::inspect_cert(files::read_text(pem)).not_after),
                           slot);
  } catch (const std::exception&) {
  }
}

// Picks up a renewed server certificate and a rewritten CRL while the server runs: on SIGHUP at
// once, and otherwise within a second by watching the files. A new TLS context is built whole
// and swapped in for new connections; open connections keep theirs, so none is dropped. If the
// new files do not make a working context (a key that does not match its certificate halfway
// through `hush cert renew`, say), the old one stays and the next change is tried again.
class reloader {
 public:
  reloader(net::tls_files files, net::tls_context_holder& tls, http::published_bytes& crl,
           http::published_bytes& ca_cert)
      : files_(std::move(files)), tls_(tls), crl_(crl), ca_cert_(ca_cert), seen_(stamps()) {
    note_expiries();
  }

  // Serves from other files from now on (the ACME certificate in place of the club's own), at
  // once, as a SIGHUP would.
  // Files that do not make a working context are not switched to: the previous ones are still
  // served and watched.
  void use(net::tls_files files) {
    std::lock_guard lock(mutex_);
    auto previous = std::exchange(files_, std::move(files));
    if (!reload(true)) {
      files_ = std::move(previous);
    }
  }

  void note_expiries() const {
    note_expiry(files_.cert_chain, 0);
    note_expiry(files_.client_ca, 1);
  }

  void check(bool forced) {
    std::lock_guard lock(mutex_);
    reload(forced);
  }

 private:
  // With mutex_ held. True when a new context is in place (or nothing changed).
  bool reload(bool forced) {
    const auto now = stamps();
    if (!forced && now == seen_) {
      return true;
    }
    try {
      auto next = net::make_server_context(files_);
      std::string crl;
      if (std::filesystem::exists(files_.client_crl)) {
        crl = files::read_text(files_.client_crl);
      }
      auto ca_cert = files::read_text(files_.client_ca);
      tls_.replace(std::move(next));
      crl_.set(std::move(crl));
      ca_cert_.set(std::move(ca_cert));
      seen_ = now;
      failed_ = {};
      note_expiries();
      log::info("reloaded the server certificate, its key and the CA's revocation list");
      return true;
    } catch (const std::exception& e) {
      ERR_clear_error();
      if (forced || now != failed_) {
        log::warn(std::string("reload refused, still serving the previous certificate: ") +
                  e.what());
      }
      failed_ = now;
      return false;
    }
  }

  using stamp_set = std::array<file_stamp, 4>;
  stamp_set stamps() const {
    return {stamp_of(files_.cert_chain), stamp_of(files_.private_key), stamp_of(files_.client_ca),
            stamp_of(files_.client_crl)};
  }

  net::tls_files files_;
  net::tls_context_holder& tls_;
  http::published_bytes& crl_;
  http::published_bytes& ca_cert_;
  std::mutex mutex_;
  stamp_set seen_;
  stamp_set failed_{};
};

// A change that no read's audit commit has seen yet (a message removed, a token revoked, with no
// read since) is noticed within a second: the view it overtook is dropped and a fresh one read,
// so that a removed message's sealed bytes do not linger in memory, and the next reads are
// served from memory again.
void follow_changes(opened_club& club) {
  if (auto now = club.store->generation(); now) {
    club.views->saw(*now);
  }
  if (club.views->stale()) {
    if (auto refreshed = club.views->refresh(); !refreshed) {
      log::debug("read view not refreshed: " + refreshed.error().message());
    }
  }
}

// With a store several instances share, a certificate revoked through another instance (or the
// CLI on another host) is in the store but not in this directory's ca.crl. When the change feed
// reports a change, the revoked serials are compared with what this instance saw last, and
// ca.crl is written again when they differ (by `hush ca crl`, as the server always does: it never
// reads the CA key); the reloader then serves the new file. Whatever the file says, the store
// refuses a revoked certificate on every request, on every instance.
class crl_follower {
 public:
  explicit crl_follower(opened_club& club) : club_(club), seen_(revoked()) {}

  void changed() {
    auto now = revoked();
    if (!now || now == seen_) {
      return;
    }
    if (auto published = club_.domain->publish_revocations(); !published) {
      log::warn("ca.crl not rewritten after a revocation elsewhere: " +
                published.error().message());
      return;
    }
    seen_ = std::move(now);
  }

 private:
  std::optional<std::vector<std::string>> revoked() {
    auto listed = club_.store->list_revoked_certs();
    if (!listed) {
      return std::nullopt;
    }
    std::vector<std::string> serials;
    serials.reserve(listed->size());
    for (const auto& cert : *listed) {
      serials.push_back(cert.serial);
    }
    std::sort(serials.begin(), serials.end());
    return serials;
  }

  opened_club& club_;
  std::optional<std::vector<std::string>> seen_;
};

// Every connection is a file descriptor: lift the soft limit to the hard one. When even that is
// below what the config allows, the connection cap is lowered to fit, and the log says so: the
// limiter must reach its cap (and make room there) before accept runs out of descriptors, or a
// flood of silent connections would lock members out at the accept.
void fit_connections_to_file_limit(config::config& cfg) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return;
  }
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  // Room for the database, the logs, the listeners and the reserve descriptor besides the
  // connections, and for the plain-HTTP listeners' own connections: a flood on port 80 must not
  // run HTTPS's accept out of descriptors before its limiter reaches its cap.
  const rlim_t reserve = 64 + (cfg.redirect_http ? net::max_redirect_connections : 0) +
                         (cfg.metrics_listen ? net::max_metrics_connections : 0);
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= cfg.max_connections + reserve) {
    return;
  }
  const auto fitted = limit.rlim_cur > 2 * reserve ? limit.rlim_cur - reserve : limit.rlim_cur / 2;
  log::warn("open file limit " + std::to_string(limit.rlim_cur) +
            " is below limits.max_connections (" + std::to_string(cfg.max_connections) +
            "); serving at most " + std::to_string(fitted) + " connections");
  cfg.max_connections = static_cast<std::size_t>(fitted);
}

// "https://127.0.0.1:5684/", "https://[::1]:5684/". Streamed rather than concatenated: gcc 12
// at -O3 sees a false overlap in "[" + string (-Wrestrict), which HUSH_WERROR makes an error.
std::string url_of(const boost::asio::ip::tcp::endpoint& endpoint, std::string_view scheme,
                   std::string_view path) {
  std::ostringstream out;
  const bool bracketed = endpoint.address().is_v6();
  out << scheme << "://" << (bracketed ? "[" : "") << endpoint.address().to_string()
      << (bracketed ? "]" : "") << ":" << endpoint.port() << path;
  return out.str();
}

// ACME HTTP-01 answers: the plain-HTTP listener serves each token's key authorization.
acme::challenge_responder http_responder(http::challenge_tokens& tokens) {
  return {[&tokens](const acme::challenge_answer& answer) {
            tokens.set(answer.token, answer.key_authorization);
          },
          [&tokens](const acme::challenge_answer& answer) { tokens.erase(answer.token); }};
}

// ACME tls-alpn-01 answers: the HTTPS listeners serve a challenge certificate for the host.
acme::challenge_responder tls_alpn_responder(net::tls_alpn_challenges& challenges) {
  return {[&challenges](const acme::challenge_answer& answer) {
            const auto made =
                acme::make_tls_alpn_certificate(answer.host, answer.key_authorization);
            challenges.set(answer.host, made.cert_pem, made.key_pem.view());
          },
          [&challenges](const acme::challenge_answer& answer) { challenges.erase(answer.host); }};
}

}  // namespace

void serve(const serve_options& options) {
  const auto paths = resolve_dir(options.dir);
  passphrase_ptr passphrase;
  if (options.unseal_stdin) {
    const auto key_file = master_key_path(paths, config::load(paths.config()));
    if (!is_sealed(key_file)) {
      throw std::runtime_error(key_file.string() +
                               ": not sealed under a passphrase; start without --unseal-stdin");
    }
    passphrase = passphrase_from_stdin("--unseal-stdin");
  }
  // Held shared while this serves: hush migrate takes it exclusively, and so never copies a club
  // that a server here is still changing. A club on a read-only file system, where no lock file
  // can be made, has nothing to lock either.
  std::optional<files::exclusive_lock> serving;
  if (std::filesystem::exists(paths.serve_lock()) || ::access(paths.dir.c_str(), W_OK) == 0) {
    serving = files::exclusive_lock::try_on_file(
        paths.serve_lock(), files::exclusive_lock::mode::shared, club_paths::serve_lock_mode);
    if (!serving) {
      throw std::runtime_error(paths.dir.string() +
                               ": hush migrate is copying this club; start the server after it");
    }
  }
  auto club = open_club(paths, opened_for::serving, std::move(passphrase));
  if (!options.listen.empty()) {
    club->cfg.listen.clear();
    for (const auto& text : options.listen) {
      club->cfg.listen.push_back(config::parse_listen(text, "--listen"));
    }
    config::check_listeners(club->cfg.listen, "--listen");
  }
  if (!options.client_certs.empty()) {
    const auto mode = config::parse_client_cert_mode(options.client_certs);
    if (!mode) {
      throw std::runtime_error("--client-certs must be off, optional or required, not \"" +
                               options.client_certs + "\"");
    }
    club->cfg.client_certs = *mode;
  }
  club->hasher->prepare();
  fit_connections_to_file_limit(club->cfg);
  const auto& acme = club->cfg.acme;
  if (acme.enabled && !acme.ca_bundle.empty() && !std::filesystem::exists(acme.ca_bundle)) {
    throw std::runtime_error("acme.ca_bundle: " + acme.ca_bundle + ": no such file");
  }
  const acme::acme_paths acme_files{paths.dir / "acme"};
  // tls-alpn-01 is answered on the HTTPS listeners themselves, by every context they are given;
  // declared before them, it outlives them all.
  net::tls_alpn_challenges alpn_challenges;
  const bool tls_alpn = acme.enabled && acme.challenge == "tls-alpn-01";
  // The club's own certificate until the CA's arrives; the club CA still vouches for members'
  // client certificates and signs the CRL.
  const net::tls_files own_files{paths.server_cert(),    paths.server_key(),
                                 paths.ca_cert(),        paths.ca_crl(),
                                 club->cfg.client_certs, tls_alpn ? &alpn_challenges : nullptr};
  const net::tls_files acme_tls_files{
      acme_files.certificate(), acme_files.key(),       paths.ca_cert(),
      paths.ca_crl(),           club->cfg.client_certs, tls_alpn ? &alpn_challenges : nullptr};
  if (acme.enabled && std::filesystem::exists(acme_files.dir)) {
    acme::complete_pending_pair(acme_files);
  }
  const bool acme_ready =
      acme.enabled && acme::has_usable_certificate(acme_files, acme.hosts, std::time(nullptr));
  const net::tls_files& tls_files = acme_ready ? acme_tls_files : own_files;
  net::tls_context_holder tls(net::make_server_context(tls_files));
  http::published_bytes crl;
  if (std::filesystem::exists(paths.ca_crl())) {
    crl.set(files::read_text(paths.ca_crl()));
  }
  // ca.pem, served at /ca.pem for members to import.
  http::published_bytes ca_cert;
  ca_cert.set(files::read_text(paths.ca_cert()));
  reloader reload(tls_files, tls, crl, ca_cert);
  // A revocation made here (a member removed through the API) is served at once.
  static_cast<spawned_ca&>(*club->ca).on_published([&reload] { reload.check(true); });
  // The club (and its batched audit sink) outlives the server: pending audits are committed and
  // their callbacks run before the sink goes.
  // The first view read now, so that the first reads are already served from memory.
  if (auto loaded = club->views->refresh(); !loaded) {
    log::warn("read view: " + loaded.error().message() + "; reads are served from the store");
  }
  net::server server(club->cfg, tls, *club->domain, *club->auth, &crl, club->views.get(), &ca_cert);
  server.on_hangup([&reload] {
    notify_service("RELOADING=1");
    reload.check(true);
    notify_service("READY=1");
  });
  server.on_shutdown([] { notify_service("STOPPING=1"); });
  audit_pruner pruner(*club->domain, club->cfg.audit_keep_days);
  message_sweeper sweeper(*club->domain);
  // Housekeeping on a thread of its own: the file watch (a stat of four files a second), the
  // audit retention, the expired messages' sweep, and, once a minute, the TLS sessions past their
  // lifetime wiped from the cache.
  // A change another instance (or the CLI) committed, as the store's change feed reports it
  // (PostgreSQL's LISTEN/NOTIFY): the watcher looks at the generation at once rather than at its
  // next second.
  struct change_signal {
    std::mutex mutex;
    std::condition_variable_any wake;
    bool changed = false;
  } changes;
  crl_follower crl_follow(*club);
  std::jthread watcher(
      [&reload, &pruner, &sweeper, &tls, &club, &changes, &crl_follow](std::stop_token stop) {
        constexpr auto second = std::chrono::seconds(1);
        constexpr int seconds_between_session_flushes = 60;
        auto next_tick = std::chrono::steady_clock::now() + second;
        int ticks = 0;
        while (!stop.stop_requested()) {
          bool changed = false;
          {
            std::unique_lock lock(changes.mutex);
            changes.wake.wait_until(lock, stop, next_tick, [&changes] { return changes.changed; });
            changed = std::exchange(changes.changed, false);
          }
          if (stop.stop_requested()) {
            break;
          }
          if (changed) {
            follow_changes(*club);
            crl_follow.changed();
          }
          if (std::chrono::steady_clock::now() < next_tick) {
            continue;
          }
          next_tick = std::chrono::steady_clock::now() + second;
          reload.check(false);
          pruner.tick(stop);
          sweeper.tick(stop);
          follow_changes(*club);
          log::flush();
          if (++ticks % seconds_between_session_flushes == 0) {
            net::flush_expired_sessions(*tls.current());
          }
        }
      });
  // Declared after the watcher, so stopped (and joined) before it.
  std::jthread change_feed([&club, &changes](const std::stop_token& stop) {
    club->store->follow_changes(
        [&changes] {
          {
            std::lock_guard lock(changes.mutex);
            changes.changed = true;
          }
          changes.wake.notify_one();
        },
        stop);
  });

  // The access log is buffered like nginx's (buffer=64k), flushed every second below and
  // whenever serving ends, by return or by exception.
  struct buffered_log {
    buffered_log() { log::set_buffered(true); }
    ~buffered_log() { log::set_buffered(false); }
    buffered_log(const buffered_log&) = delete;
    buffered_log& operator=(const buffered_log&) = delete;
  } buffered;
  std::unique_ptr<net::metrics_listener> metrics;
  if (club->cfg.metrics_listen) {
    metrics = std::make_unique<net::metrics_listener>(*club->cfg.metrics_listen,
                                                      [] { return metrics::render_all(); });
  }

  // Port 80's listener, for browsers that type the bare name and for ACME HTTP-01.
  http::challenge_tokens challenges;
  std::unique_ptr<net::redirect_listener> redirect;
  if (club->cfg.redirect_http) {
    redirect =
        std::make_unique<net::redirect_listener>(club->cfg, server.local_endpoints(), challenges);
  }
  const auto metrics_url =
      metrics ? url_of(metrics->local_endpoint(), "http", "/metrics") : std::string("-");
  for (const auto& endpoint : server.local_endpoints()) {
    const auto url = url_of(endpoint, "https", "/");
    log::event(log::level::info, "serving", {{"url", url}, {"metrics", metrics_url}});
    // Tests and scripts read these lines to learn the ports when they asked for port 0.
    std::cout << "hush: serving " << url << std::endl;
  }
  if (metrics) {
    std::cout << "hush: metrics " << metrics_url << std::endl;
  }
  std::unique_ptr<acme::certificate_manager> certificates;
  if (acme.enabled) {
    certificates = std::make_unique<acme::certificate_manager>(
        acme, acme_files,
        tls_alpn ? tls_alpn_responder(alpn_challenges) : http_responder(challenges),
        [&reload, acme_tls_files] { reload.use(acme_tls_files); });
  }
  if (redirect) {
    const auto redirect_url = url_of(redirect->local_endpoint(), "http", "/");
    log::event(log::level::info, "redirecting", {{"url", redirect_url}});
    std::cout << "hush: redirect " << redirect_url << std::endl;
  }
  // Listening since the server was made: a connection made now waits in the backlog until run()
  // accepts it, so systemd may start what depends on hush.
  notify_service("READY=1");
  server.run();
  log::info("stopped");
}

}  // namespace hush::app
