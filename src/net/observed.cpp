#include "net/observed.hpp"

#include "core/metrics.hpp"

namespace hush::net::observed {
namespace {

// The families must exist (and be scraped as zero) before anything is counted, so they are
// statics; the allocation failure that could throw here would end the process at start anyway.
// NOLINTBEGIN(cert-err58-cpp)
metrics::counter handshakes("hush_tls_handshakes_total", "TLS handshakes completed.");
metrics::counter handshake_failures(
    "hush_tls_handshake_failures_total",
    "TLS handshakes that failed: scanners, plain HTTP, refused client certificates, timeouts.");
metrics::gauge open_connections("hush_open_connections",
                                "Connections open now, from accept (past the caps) to close.");
metrics::gauge hashing_depth("hush_hashing_queue_depth",
                             "Requests waiting for or in an Argon2id run now.");
metrics::histogram hashing_wait("hush_hashing_wait_seconds",
                                "Time a request waited for the hashing pool.",
                                {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
metrics::counter memory_reads(
    "hush_memory_reads_total",
    "Reads answered from memory on an I/O thread: sent, or stale (a change overtook the view "
    "before the audit committed, and the store answered instead).",
    {"outcome", {"sent", "stale"}});
// NOLINTEND(cert-err58-cpp)

}  // namespace

void handshake(bool completed) noexcept {
  (completed ? handshakes : handshake_failures).add();
}

void connection_opened() noexcept {
  open_connections.add(1);
}

void connection_closed() noexcept {
  open_connections.add(-1);
}

void hashing_queue(int delta) noexcept {
  hashing_depth.add(delta);
}

void read_from_memory(bool stale) noexcept {
  memory_reads.add(stale ? 1 : 0);
}

void hashing_waited(std::chrono::steady_clock::duration wait) noexcept {
  hashing_wait.observe(std::chrono::duration<double>(wait).count());
}

}  // namespace hush::net::observed
