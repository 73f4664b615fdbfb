#include "http/observe.hpp"

#include <array>
#include <random>
#include <string>

#include "core/log.hpp"
#include "core/metrics.hpp"

namespace hush::http {
namespace {

constexpr std::array<std::string_view, 14> route_labels = {"/",
                                                           "/api/v1/messages",
                                                           "/api/v1/messages/{id}",
                                                           "/api/v1/session",
                                                           "/api/v1/members",
                                                           "/api/v1/members/{name}",
                                                           "/api/v1/members/{name}/password",
                                                           "/api/v1/messages/{id}/reads",
                                                           "/healthz",
                                                           "/ca.crl",
                                                           "/ca.pem",
                                                           "page",
                                                           "other",
                                                           "refused"};

constexpr std::array<std::string_view, 5> method_labels = {"-", "password", "token", "session",
                                                           "certificate"};

metrics::label_set routes() {
  return {"route", {route_labels.begin(), route_labels.end()}};
}

metrics::label_set methods() {
  // Failures have a method: a request that offered no credential at all is not counted.
  return {"method", {method_labels.begin() + 1, method_labels.end()}};
}

// The families must exist (and be scraped as zero) before anything is counted, so they are
// statics; the allocation failure that could throw here would end the process at start anyway.
// NOLINTBEGIN(cert-err58-cpp)
metrics::status_counter requests_total("hush_http_requests_total",
                                       "Requests answered, by route and status.", routes());
// From the first byte of the request to the last byte of the answer handed to TLS.
metrics::histogram request_duration(
    "hush_http_request_duration_seconds",
    "Time from a request's first byte to its answer written, by route.",
    {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}, routes());
metrics::counter auth_failures("hush_auth_failures_total",
                               "Credentials that failed to prove a member, by method.", methods());
metrics::counter throttled_total("hush_throttled_requests_total",
                                 "Requests refused with 429 by the guessing throttle or a rate "
                                 "limit, by method.",
                                 methods());
// NOLINTEND(cert-err58-cpp)

std::size_t slot_of(auth_method m) {
  return static_cast<std::size_t>(m) - 1;
}

}  // namespace

std::string_view to_string(route_name r) {
  return route_labels[static_cast<std::size_t>(r)];
}

std::string_view to_string(auth_method m) {
  return method_labels[static_cast<std::size_t>(m)];
}

void record(const exchange& e) {
  const auto route = e.note != nullptr ? e.note->route : route_name::refused;
  const auto slot = static_cast<std::size_t>(route);
  requests_total.add(slot, e.status);
  request_duration.observe(static_cast<double>(e.duration.count()) / 1e6, slot);
  if (!log::enabled(log::level::info)) {
    return;
  }
  const auto path = e.target.substr(0, e.target.find('?'));
  const bool known = e.note != nullptr && !e.note->member.empty();
  log::event(log::level::info, "access",
             {{"request_id", e.request_id},
              {"client", e.client},
              {"member", known ? std::string_view(e.note->member) : std::string_view("-")},
              {"auth", to_string(e.note != nullptr ? e.note->method : auth_method::none)},
              {"method", e.method.empty() ? std::string_view("-") : e.method},
              {"path", path.empty() ? std::string_view("-") : path},
              {"status", static_cast<std::int64_t>(e.status)},
              {"bytes", static_cast<std::int64_t>(e.body_bytes)},
              {"duration_us", static_cast<std::int64_t>(e.duration.count())}});
}

request_id new_request_id() {
  // Not a secret and not a capability: it only has to be unlikely to repeat in one log. SplitMix64
  // over a per-thread counter from a random start: a few instructions, where mt19937_64 costs
  // tens on every request.
  thread_local std::uint64_t state =
      (std::uint64_t{std::random_device{}()} << 32) ^ std::uint64_t{std::random_device{}()};
  constexpr std::string_view hex = "0123456789abcdef";
  std::uint64_t bits = (state += 0x9e3779b97f4a7c15ULL);
  bits = (bits ^ (bits >> 30)) * 0xbf58476d1ce4e5b9ULL;
  bits = (bits ^ (bits >> 27)) * 0x94d049bb133111ebULL;
  bits ^= bits >> 31;
  request_id id{};
  for (auto& c : id) {
    c = hex[bits & 0x0f];
    bits >>= 4;
  }
  return id;
}

void note_auth_failure(std::string_view client, auth_method method, std::string_view name) {
  if (method != auth_method::none) {
    auth_failures.add(slot_of(method));
  }
  log::event(log::level::warn, "auth-failed",
             {{"client", client},
              {"method", to_string(method)},
              {"member", name.empty() ? std::string_view("-") : name}});
}

void note_throttled(std::string_view client, auth_method method, std::string_view name,
                    std::chrono::seconds delay) {
  if (method != auth_method::none) {
    throttled_total.add(slot_of(method));
  }
  log::event(log::level::warn, "throttled",
             {{"client", client},
              {"method", to_string(method)},
              {"member", name.empty() ? std::string_view("-") : name},
              {"delay_s", static_cast<std::int64_t>(delay.count())}});
}

void note_password_changed(std::string_view client, auth_method method, std::string_view name,
                           bool new_session) {
  log::event(log::level::warn, "password-changed",
             {{"client", client},
              {"method", to_string(method)},
              {"member", name},
              {"session", new_session ? std::string_view("new") : std::string_view("none")}});
}

void note_rate_limited(std::string_view client, std::string_view name, std::chrono::seconds delay) {
  log::event(log::level::warn, "rate-limited",
             {{"client", client},
              {"member", name},
              {"delay_s", static_cast<std::int64_t>(delay.count())}});
}

void note_cross_origin(std::string_view client, std::string_view name, std::string_view why) {
  log::event(log::level::warn, "cross-origin",
             {{"client", client},
              {"member", name.empty() ? std::string_view("-") : name},
              {"reason", why}});
}

void note_hashing_queue_full(std::string_view client) {
  log::event(log::level::warn, "hashing-queue-full", {{"client", client}});
}

void note_certificate_refused(std::string_view client, std::string_view subject,
                              std::string_view why) {
  auth_failures.add(slot_of(auth_method::certificate));
  log::event(log::level::warn, "cert-refused",
             {{"client", client},
              {"subject", subject.empty() ? std::string_view("-") : subject},
              {"reason", why}});
}

}  // namespace hush::http
