// Fills a club with N messages, for the benchmark's large-club workload.
//
// The server's store commits (and fsyncs) every message on its own, as it must; a million of them
// would take an hour here. This tool writes them the same way (row id reserved, body sealed with
// that id bound as associated data, only the envelope stored) but commits every `batch` rows.
// Usage: hush-seed-messages DIR COUNT [BATCH]

#include <charconv>
#include <cstdio>
#include <exception>
#include <string>

#include <sqlite3.h>

#include "app/club_dir.hpp"
#include "club/club.hpp"

namespace {

struct database {
  sqlite3* db = nullptr;
  ~database() { sqlite3_close(db); }
};

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db));
  }
}

long parse(const char* text) {
  long value = 0;
  const std::string_view s(text);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value <= 0) {
    throw std::runtime_error(std::string("not a positive number: ") + text);
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 3) {
      std::fprintf(stderr, "usage: %s DIR COUNT [BATCH]\n", argv[0]);
      return 2;
    }
    const long count = parse(argv[2]);
    const long batch = argc > 3 ? parse(argv[3]) : 10000;
    const hush::app::club_paths paths{argv[1]};
    auto club = hush::app::open_club(paths);

    database bulk;
    check(sqlite3_open(paths.database().c_str(), &bulk.db), bulk.db, "open");
    sqlite3_busy_timeout(bulk.db, 5000);
    sqlite3_stmt* insert = nullptr;
    sqlite3_stmt* update = nullptr;
    check(sqlite3_prepare_v2(
              bulk.db, "INSERT INTO messages (author, created_at, sealed) VALUES (?1, ?2, x'')", -1,
              &insert, nullptr),
          bulk.db, "prepare insert");
    check(sqlite3_prepare_v2(bulk.db, "UPDATE messages SET sealed = ?1 WHERE id = ?2", -1, &update,
                             nullptr),
          bulk.db, "prepare update");
    const auto now = club->clock.now_seconds();
    for (long done = 0; done < count;) {
      check(sqlite3_exec(bulk.db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), bulk.db, "begin");
      for (long i = 0; i < batch && done < count; ++i, ++done) {
        const std::string text =
            "Bench message " + std::to_string(done) + ", sealed like any other.";
        sqlite3_bind_text(insert, 1, "bench", -1, SQLITE_STATIC);
        sqlite3_bind_int64(insert, 2, now);
        check(sqlite3_step(insert), bulk.db, "insert");
        sqlite3_reset(insert);
        const hush::store::message_id id{sqlite3_last_insert_rowid(bulk.db)};
        const auto sealed = club->keys->seal(
            std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
            hush::club::message_context(id));
        if (!sealed) {
          throw std::runtime_error("seal: " + sealed.error().message());
        }
        sqlite3_bind_blob(update, 1, sealed->data(), static_cast<int>(sealed->size()),
                          SQLITE_TRANSIENT);
        sqlite3_bind_int64(update, 2, id.value);
        check(sqlite3_step(update), bulk.db, "update");
        sqlite3_reset(update);
      }
      check(sqlite3_exec(bulk.db, "COMMIT", nullptr, nullptr, nullptr), bulk.db, "commit");
    }
    sqlite3_finalize(insert);
    sqlite3_finalize(update);
    std::printf("%ld messages added\n", count);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hush-seed-messages: %s\n", e.what());
    return 1;
  }
}
