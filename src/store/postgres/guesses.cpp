// postgres_store: the guessing throttle's counts, shared by every instance.
#include <atomic>

#include "core/error.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/postgres/queries.hpp"

namespace hush::store {

using namespace postgres_detail;  // NOLINT(google-build-using-namespace): our own helpers

namespace {

// The rows of a (key, failures, quiet seconds) query, in the order the two keys were given; a
// key without a row has no failure counted.
std::array<guess_count, 2> counts_of(const pg_rows& rows, std::string_view first,
                                     std::string_view second) {
  std::array<guess_count, 2> counts{};
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto key = rows.column_text(r, 0);
    const guess_count count{static_cast<std::uint32_t>(rows.column_int(r, 1)),
                            rows.column_int(r, 2)};
    if (key == first) {
      counts[0] = count;
    } else if (key == second) {
      counts[1] = count;
    }
  }
  return counts;
}

// Keys past their time are deleted on one failure in this many, so that the table holds about
// what the throttle still needs without a job of its own.
constexpr unsigned prune_every = 256;

}  // namespace

result<std::array<guess_count, 2>> postgres_store::guess_counts(std::string_view first,
                                                                std::string_view second) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  auto rows = (*db)->run(
      "SELECT key, failures, greatest(0, floor(extract(epoch FROM now() - last_failure)))::bigint "
      "FROM guesses WHERE key IN ($1::text, $2::text)",
      pg_params{}.add(first).add(second));
  if (!rows) {
    return rows.error();
  }
  return counts_of(*rows, first, second);
}

result<std::array<guess_count, 2>> postgres_store::add_guess_failures(std::string_view first,
                                                                      std::string_view second,
                                                                      std::int64_t afresh_seconds) {
  // One statement may not change a row twice.
  if (first == second) {
    return make_error_code(errc::storage_failure);
  }
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  // One statement for both keys, rows locked in the order given: every caller gives a member's
  // key before its address's, and a member's key belongs to one address, so two callers never
  // wait on each other in a cycle. (The occasional prune below may still deadlock with one;
  // PostgreSQL then fails one of the two, and retried() runs this again.)
  auto rows = retried(**db, [&] {
    return (*db)->run(
        "INSERT INTO guesses AS g (key, failures, last_failure, previous_failure) "
        "VALUES ($1::text, 1, now(), now()), ($2::text, 1, now(), now()) "
        "ON CONFLICT (key) DO UPDATE SET failures = CASE "
        "WHEN g.last_failure < now() - $3::bigint * interval '1 second' THEN 1 "
        "ELSE least(g.failures + 1, 1000000) END, "
        "previous_failure = g.last_failure, last_failure = now() "
        "RETURNING key, failures, "
        "greatest(0, floor(extract(epoch FROM now() - previous_failure)))::bigint",
        pg_params{}.add(first).add(second).add(afresh_seconds));
  });
  if (!rows) {
    return rows.error();
  }
  auto counts = counts_of(*rows, first, second);
  static std::atomic<unsigned> added{0};
  if (added.fetch_add(1, std::memory_order_relaxed) % prune_every == prune_every - 1) {
    // Only tidiness: a failure here leaves rows the next prune takes.
    [[maybe_unused]] auto pruned = (*db)->run(
        "DELETE FROM guesses WHERE last_failure < now() - $1::bigint * interval '1 second'",
        pg_params{}.add(afresh_seconds));
  }
  return counts;
}

result<void> postgres_store::forgive_guess(std::string_view first, std::string_view second) {
  auto db = acquire();
  if (!db) {
    return db.error();
  }
  // One statement (two row changes in the order add_guess_failures locks them).
  auto done = retried(**db, [&] {
    return (*db)->run(
        "WITH forgotten AS (DELETE FROM guesses WHERE key = $1::text RETURNING key) "
        "UPDATE guesses SET failures = greatest(failures - 1, 0) WHERE key = $2::text",
        pg_params{}.add(first).add(second));
  });
  if (!done) {
    return done.error();
  }
  return {};
}

}  // namespace hush::store
