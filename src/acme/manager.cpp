#include "acme/manager.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <sys/stat.h>
#include <thread>

#include "acme/https_transport.hpp"
#include "core/files.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "crypto/random.hpp"
#include "pki/pki.hpp"

namespace hush::acme {
namespace {

constexpr auto first_retry = std::chrono::seconds(3);
constexpr auto last_retry = std::chrono::hours(1);
constexpr double renew_at_fraction = 2.0 / 3.0;
constexpr double jitter_fraction = 1.0 / 20.0;
constexpr std::int64_t allowed_clock_skew = 300;
constexpr auto longest_wait = std::chrono::seconds(24 * 60 * 60);

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A fraction in [0, 1) from the CSPRNG.
double random_fraction() {
  const auto bytes = crypto::random_bytes(4);
  std::uint32_t value = 0;
  for (const auto b : bytes.span()) {
    value = (value << 8U) | b;
  }
  return static_cast<double>(value) / 4294967296.0;
}

// Host names compare without regard to case (CAs write them in lower case).
bool covers(const std::vector<std::string>& names, const std::vector<std::string>& hosts) {
  return std::all_of(hosts.begin(), hosts.end(), [&](const std::string& host) {
    return std::any_of(names.begin(), names.end(), [&](const std::string& name) {
      return ascii_lower(name) == ascii_lower(host);
    });
  });
}

}  // namespace

bool has_usable_certificate(const acme_paths& paths, const std::vector<std::string>& hosts,
                            std::int64_t now) {
  try {
    const auto chain = files::read_text(paths.certificate());
    const auto key = files::read_secret(paths.key());
    const auto info = pki::inspect_cert(chain);
    return pki::key_matches_cert(std::string_view(key.view()), chain) &&
           covers(info.hosts, hosts) && info.not_before <= now && now < info.not_after;
  } catch (const std::exception&) {
    return false;
  }
}

void install_pair(const acme_paths& paths, std::string_view key_pem, std::string_view chain_pem) {
  constexpr mode_t private_file = S_IRUSR | S_IWUSR;
  std::filesystem::remove(paths.pending_key());
  std::filesystem::remove(paths.pending_certificate());
  files::write_new(paths.pending_key(), key_pem, private_file);
  files::write_new(paths.pending_certificate(), chain_pem, private_file);
  std::filesystem::rename(paths.pending_key(), paths.key());
  // The key's rename reaches the disk before the certificate's: never the new certificate with
  // the old key, which nothing at start could mend.
  files::sync_directory(paths.dir);
  std::filesystem::rename(paths.pending_certificate(), paths.certificate());
  files::sync_directory(paths.dir);
}

void complete_pending_pair(const acme_paths& paths) {
  if (std::filesystem::exists(paths.pending_certificate()) &&
      !std::filesystem::exists(paths.pending_key())) {
    // The key was renamed into place: the certificate waiting is its own, if it matches.
    bool matches = false;
    try {
      matches = pki::key_matches_cert(std::string_view(files::read_secret(paths.key()).view()),
                                      files::read_text(paths.pending_certificate()));
    } catch (const std::exception&) {
      matches = false;
    }
    if (matches) {
      std::filesystem::rename(paths.pending_certificate(), paths.certificate());
      files::sync_directory(paths.dir);
      log::info("acme: finished installing the certificate an interrupted renewal left");
      return;
    }
  }
  std::filesystem::remove(paths.pending_key());
  std::filesystem::remove(paths.pending_certificate());
}

std::int64_t renewal_time(std::int64_t not_before, std::int64_t not_after, double jitter) {
  const auto lifetime = static_cast<double>(std::max<std::int64_t>(not_after - not_before, 0));
  return not_before + static_cast<std::int64_t>(lifetime * renew_at_fraction -
                                                lifetime * jitter_fraction * jitter);
}

struct certificate_manager::impl {
  impl(config::acme_settings settings_given, acme_paths paths_given,
       challenge_responder responder_given, std::function<void()> on_new)
      : settings(std::move(settings_given)),
        paths(std::move(paths_given)),
        responder(std::move(responder_given)),
        on_new_certificate(std::move(on_new)),
        thread([this](const std::stop_token& stop) { run(stop); }) {}

  // Sleeps for `how_long`; false when woken because the server is stopping.
  bool wait(const std::stop_token& stop, std::chrono::milliseconds how_long) {
    std::unique_lock lock(mutex);
    wake.wait_for(lock, stop, how_long, [] { return false; });
    return !stop.stop_requested();
  }

  account_key load_account_key() {
    std::filesystem::create_directories(paths.dir);
    std::filesystem::permissions(paths.dir, std::filesystem::perms::owner_all);
    if (std::filesystem::exists(paths.account_key())) {
      const auto pem = files::read_secret(paths.account_key());
      return account_key::from_pem(std::string_view(pem.view()));
    }
    auto key = account_key::generate();
    // Atomically: a crash or a full disk mid-write leaves no half key behind to trip on.
    files::replace(paths.account_key(), key.pem().view(), S_IRUSR | S_IWUSR);
    return key;
  }

  // Seconds from now until the certificate on disk is due for renewal; 0 when there is none
  // usable.
  std::int64_t seconds_until_due() {
    const auto now = now_seconds();
    if (!has_usable_certificate(paths, settings.hosts, now)) {
      return 0;
    }
    const auto info = pki::inspect_cert(files::read_text(paths.certificate()));
    return std::max<std::int64_t>(
        renewal_time(info.not_before, info.not_after, random_fraction()) - now, 0);
  }

  void renew(const std::stop_token& stop) {
    const auto key = load_account_key();
    https_transport net(settings.ca_bundle, stop);
    client acme(net, key, settings.directory,
                [this, &stop](std::chrono::milliseconds how_long) { return wait(stop, how_long); });
    auto issued = acme.obtain({settings.hosts, settings.email, settings.challenge}, responder);
    const auto info = pki::inspect_cert(issued.chain_pem);
    // Nothing the CA sends replaces a working pair unless it is one: a certificate that is not
    // for our key, misses a name, or is not valid now fails like any error (and backs off),
    // rather than being written and ordered again at once.
    const auto now = now_seconds();
    if (!pki::key_matches_cert(issued.key_pem.view(), issued.chain_pem)) {
      throw acme_error("the CA's certificate is not for the key we sent");
    }
    if (!covers(info.hosts, settings.hosts)) {
      throw acme_error("the CA's certificate does not name every one of acme.hosts");
    }
    if (info.not_before > now + allowed_clock_skew || now >= info.not_after) {
      throw acme_error("the CA's certificate is not valid now (check the clock)");
    }
    install_pair(paths, issued.key_pem.view(), issued.chain_pem);
    log::info("acme: a certificate for " + settings.hosts.front() +
              (settings.hosts.size() > 1
                   ? " and " + std::to_string(settings.hosts.size() - 1) + " more names"
                   : std::string()) +
              ", valid until " + std::to_string(info.not_after) + " (Unix time)");
    on_new_certificate();
  }

  void run(const std::stop_token& stop) {
    int failures = 0;
    while (!stop.stop_requested()) {
      std::int64_t due = 0;
      try {
        due = seconds_until_due();
      } catch (const std::exception& e) {
        log::warn(std::string("acme: ") + e.what());
      }
      if (due > 0) {
        // At most a day at a time, then looked at afresh: a clock that jumped, a certificate
        // replaced by hand, and no overflow for a certificate valid for centuries.
        if (!wait(stop, std::chrono::seconds(std::min(due, longest_wait.count())))) {
          return;
        }
        continue;
      }
      try {
        renew(stop);
        failures = 0;
      } catch (const std::exception& e) {
        if (stop.stop_requested()) {
          return;
        }
        ++failures;
        const auto backoff = std::min<std::chrono::milliseconds>(
            first_retry * (1LL << std::min(failures - 1, 20)), last_retry);
        log::warn(std::string("acme: ") + e.what() + "; trying again in " +
                  std::to_string(backoff.count() / 1000) + " s");
        if (!wait(stop, backoff)) {
          return;
        }
      }
    }
  }

  config::acme_settings settings;
  acme_paths paths;
  challenge_responder responder;
  std::function<void()> on_new_certificate;
  std::mutex mutex;
  std::condition_variable_any wake;
  // Last: started once everything it uses exists, and joined (by its destructor, after a stop
  // request) before any of it goes.
  std::jthread thread;
};

certificate_manager::certificate_manager(config::acme_settings settings, acme_paths paths,
                                         challenge_responder responder,
                                         std::function<void()> on_new_certificate)
    : impl_(std::make_unique<impl>(std::move(settings), std::move(paths), std::move(responder),
                                   std::move(on_new_certificate))) {}

certificate_manager::~certificate_manager() = default;

}  // namespace hush::acme
