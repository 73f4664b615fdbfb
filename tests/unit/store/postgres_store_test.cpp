// What only the PostgreSQL store has: its migrations beside other instances, its connections
// (dropped by the server, timed out on a lock), its change generation under a concurrent change,
// and its startup errors, which never show a password. The contract suites run on it too
// (contract/postgres_contract_test.cpp).
#include "store/postgres/postgres_store.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <libpq-fe.h>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "store/postgres/migrations.hpp"
#include "support/pg_test_database.hpp"

namespace hush::store {
namespace {

using namespace std::chrono_literals;

std::string startup_error(const std::string& conninfo) {
  try {
    postgres_store db(conninfo, pg_timeouts{std::chrono::seconds(2), 10000ms, 5000ms});
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "opened " << conninfo;
  return {};
}

TEST(PostgresStore, InstancesStartingTogetherMigrateOnce) {
  testing::pg_test_database database;
  constexpr int instances = 4;
  std::vector<std::future<std::string>> started;
  std::promise<void> go;
  std::shared_future<void> ready = go.get_future().share();
  for (int i = 0; i < instances; ++i) {
    started.push_back(std::async(std::launch::async, [&, ready]() -> std::string {
      ready.wait();
      try {
        postgres_store db(database.conninfo());
        return db.generation() ? "" : "no generation";
      } catch (const std::exception& e) {
        return e.what();
      }
    }));
  }
  go.set_value();
  for (auto& instance : started) {
    EXPECT_EQ(instance.get(), "");
  }
  testing::pg_admin admin(database.conninfo());
  EXPECT_EQ(admin.run("SELECT count(*) FROM hush_schema_version"), "1");
  EXPECT_EQ(admin.run("SELECT version FROM hush_schema_version"),
            std::to_string(postgres_migrations::steps.size()));
  postgres_store db(database.conninfo());
  EXPECT_TRUE(db.add_member("alice", role::admin, "h", 1));
}

TEST(PostgresStore, ASchemaNewerThanThisHushIsRefused) {
  testing::pg_test_database database;
  { postgres_store db(database.conninfo()); }
  testing::pg_admin(database.conninfo()).run("UPDATE hush_schema_version SET version = 999");
  EXPECT_NE(startup_error(database.conninfo()).find("newer than this hush"), std::string::npos);
}

// pg_terminate_backend is what a server restart or a failover does to every connection: the
// next call connects again, and no call crashes.
TEST(PostgresStore, AConnectionTheServerDroppedIsReplacedOnTheNextCall) {
  testing::pg_test_database database;
  postgres_store db(database.conninfo());
  ASSERT_TRUE(db.add_member("alice", role::admin, "h", 1));
  testing::pg_admin admin(testing::pg_cluster_conninfo());
  const std::string others =
      "FROM pg_stat_activity WHERE datname = '" + database.name() + "' AND pid <> pg_backend_pid()";
  EXPECT_EQ(admin.run("SELECT count(pg_terminate_backend(pid)) " + others), "1");
  for (int i = 0; i < 100 && admin.run("SELECT count(*) " + others) != "0"; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  const auto found = db.find_member("alice");
  ASSERT_TRUE(found) << found.error().message();
  EXPECT_EQ(found->name, "alice");
  EXPECT_TRUE(db.add_member("bob", role::reader, "h", 2));
}

// A connection lost in the middle of a call fails that call with storage_unavailable (nothing
// half-done, no crash), and the next call connects again.
TEST(PostgresStore, AConnectionLostMidCallFailsThatCallOnly) {
  testing::pg_test_database database;
  postgres_store db(database.conninfo());
  testing::pg_admin holder(database.conninfo());
  holder.run("BEGIN");
  holder.run("SELECT value FROM change_generation WHERE id = 1 FOR UPDATE");
  auto waiting =
      std::async(std::launch::async, [&] { return db.add_member("alice", role::admin, "h", 1); });
  testing::pg_admin admin(testing::pg_cluster_conninfo());
  const std::string blocked = "FROM pg_stat_activity WHERE datname = '" + database.name() +
                              "' AND wait_event_type = 'Lock'";
  for (int i = 0; i < 200 && admin.run("SELECT count(*) " + blocked) != "1"; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(admin.run("SELECT count(pg_terminate_backend(pid)) " + blocked), "1");
  const auto lost = waiting.get();
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error(), errc::storage_unavailable);
  holder.run("ROLLBACK");
  EXPECT_EQ(db.find_member("alice").error(), errc::not_found);
  EXPECT_TRUE(db.add_member("alice", role::admin, "h", 1));
}

// A change that holds a lock past the lock timeout is storage_busy, not a hang or a crash.
TEST(PostgresStore, ALockHeldTooLongIsStorageBusy) {
  testing::pg_test_database database;
  postgres_store db(database.conninfo(), pg_timeouts{std::chrono::seconds(5), 10000ms, 200ms});
  testing::pg_admin holder(database.conninfo());
  holder.run("BEGIN");
  holder.run("SELECT value FROM change_generation WHERE id = 1 FOR UPDATE");
  EXPECT_EQ(db.add_member("alice", role::admin, "h", 1).error(), errc::storage_busy);
  holder.run("ROLLBACK");
  EXPECT_TRUE(db.add_member("alice", role::admin, "h", 1));
}

// The race add_audits_as_of must decide exactly: a change that has moved the generation but not
// committed yet. The audit waits for it, then sees the new generation and leaves the read out.
TEST(PostgresStore, AnAuditWaitsForAChangeInFlightAndSeesItsGeneration) {
  testing::pg_test_database database;
  postgres_store db(database.conninfo());
  ASSERT_TRUE(db.add_member("alice", role::admin, "h", 1));
  const auto before = db.generation().value();

  testing::pg_admin changer(database.conninfo());
  changer.run("BEGIN");
  changer.run("UPDATE members SET password_hash = 'changed' WHERE name = 'alice'");
  std::vector<bool> added;
  auto audit = std::async(std::launch::async, [&] {
    const std::vector<audited_read> reads{{{1, "alice", message_id{1}, "r"}, before},
                                          {{2, "alice", message_id{1}, "r"}, 0}};
    return db.add_audits_as_of(reads, added);
  });
  EXPECT_EQ(audit.wait_for(300ms), std::future_status::timeout) << "did not wait for the change";
  changer.run("COMMIT");
  const auto generation = audit.get();
  ASSERT_TRUE(generation) << generation.error().message();
  EXPECT_NE(*generation, before);
  EXPECT_EQ(*generation, db.generation().value());
  EXPECT_EQ(added, (std::vector<bool>{false, true}));
}

// The triggers count what psql does too, a TRUNCATE included; a view is refused once one of
// them is disabled, since exactness rests on them.
TEST(PostgresStore, TheGenerationCountsChangesByHandAndNeedsEveryTrigger) {
  testing::pg_test_database database;
  postgres_store db(database.conninfo());
  ASSERT_TRUE(db.add_member("alice", role::admin, "h", 1));
  testing::pg_admin psql(database.conninfo());
  auto last = db.generation().value();
  for (const char* change : {"UPDATE members SET role = 'reader'", "TRUNCATE messages CASCADE",
                             "INSERT INTO client_certs (serial, member, issued_at, expires_at) "
                             "VALUES ('c1', 'alice', 1, 2)",
                             "TRUNCATE members CASCADE"}) {
    psql.run(change);
    const auto now = db.generation().value();
    EXPECT_NE(now, last) << change;
    last = now;
  }
  psql.run("SELECT count(*) FROM sessions");
  EXPECT_EQ(db.generation().value(), last);
  EXPECT_TRUE(db.snapshot(0));
  psql.run("ALTER TABLE tokens DISABLE TRIGGER tokens_changed");
  EXPECT_EQ(db.snapshot(0).error(), errc::storage_failure);
}

// Exactly max_reads claims succeed when two instances (two pools, more claims than either has
// connections) race for them: the count is decided in the database, under the row's lock.
TEST(PostgresStore, ClaimsFromTwoInstancesNeverReadMoreThanMaxReads) {
  testing::pg_test_database database;
  postgres_store first(database.conninfo());
  postgres_store second(database.conninfo());
  constexpr int claims = 3 * static_cast<int>(postgres_store::max_connections);
  std::vector<member_id> readers;
  for (int i = 0; i < claims; ++i) {
    readers.push_back(first.add_member("r" + std::to_string(i), role::reader, "h", 1).value());
  }
  message_terms terms;
  terms.max_reads = 5;
  const auto id = first
                      .add_message(
                          "nobody", 1, message_format::text,
                          [](std::int64_t) -> result<std::vector<std::uint8_t>> {
                            return std::vector<std::uint8_t>{1};
                          },
                          terms)
                      .value();
  std::promise<void> go;
  std::shared_future<void> ready = go.get_future().share();
  std::vector<std::future<result<message_record>>> claimed;
  for (int i = 0; i < claims; ++i) {
    auto& db = i % 2 == 0 ? first : second;
    claimed.push_back(std::async(std::launch::async, [&db, ready, id, who = readers[i]] {
      ready.wait();
      return db.claim_read(id, viewer{who, role::reader, 10});
    }));
  }
  go.set_value();
  int succeeded = 0;
  for (auto& claim : claimed) {
    const auto got = claim.get();
    if (got) {
      ++succeeded;
    } else {
      EXPECT_EQ(got.error(), errc::not_found) << got.error().message();
    }
  }
  EXPECT_EQ(succeeded, 5);
  EXPECT_EQ(second.message(id, 10).error(), errc::not_found);
  testing::pg_admin psql(database.conninfo());
  EXPECT_EQ(psql.run("SELECT count(*) FROM messages"), "0");
}

// Recipients by hand count as messages do: a row added with psql moves the generation, and a
// member deleted with psql leaves nothing addressed to their id (the trigger of migration 4).
TEST(PostgresStore, RecipientsChangedByHandMoveTheGenerationAndFollowTheirMember) {
  testing::pg_test_database database;
  postgres_store db(database.conninfo());
  const auto bob = db.add_member("bob", role::reader, "h", 1).value();
  const auto id = db.add_message("bob", 1, [](std::int64_t) -> result<std::vector<std::uint8_t>> {
                      return std::vector<std::uint8_t>{1};
                    }).value();
  testing::pg_admin psql(database.conninfo());
  const auto before = db.generation().value();
  psql.run("INSERT INTO message_recipients (message_id, member_id) VALUES (" +
           std::to_string(id.value) + ", " + std::to_string(bob.value) + ")");
  EXPECT_NE(db.generation().value(), before);
  EXPECT_TRUE(db.message(id, viewer{bob, role::reader, 10}));
  psql.run("DELETE FROM members WHERE name = 'bob'");
  EXPECT_EQ(psql.run("SELECT member_id FROM message_recipients"), "0");
  EXPECT_EQ(db.message(id, viewer{bob, role::reader, 10}).error(), errc::not_found);
  EXPECT_TRUE(db.snapshot(0));
  psql.run("ALTER TABLE message_recipients DISABLE TRIGGER message_recipients_changed");
  EXPECT_EQ(db.snapshot(0).error(), errc::storage_failure);
}

// Every change to a watched table is announced to whoever listens, once its transaction commits.
TEST(PostgresStore, AChangeNotifiesHushChanges) {
  testing::pg_test_database database;
  postgres_store db(database.conninfo());
  testing::pg_admin listener(database.conninfo());
  listener.run("LISTEN hush_changes");
  ASSERT_TRUE(db.add_member("alice", role::admin, "h", 1));
  bool heard = false;
  for (int i = 0; i < 100 && !heard; ++i) {
    PQconsumeInput(listener.get());
    while (PGnotify* note = PQnotifies(listener.get())) {
      heard = heard || std::string(note->relname) == "hush_changes";
      PQfreemem(note);
    }
    if (!heard) {
      std::this_thread::sleep_for(10ms);
    }
  }
  EXPECT_TRUE(heard);
}

// libpq's messages can echo the connection string; the store's never show its password, whether
// the server refuses it, cannot be reached, or the string cannot be parsed.
// A message is sealed under the newest data key while it is inserted: the keyring's read of that
// key runs on the inserting connection, so inserts waiting for the messages' lock, more of them
// than the pool has connections, never starve the one holding it (each would otherwise wait for
// a connection the others hold, until the lock timeout made them fail).
TEST(PostgresStore, ManyMessagesAtOnceNeverStarveThePool) {
  testing::pg_test_database database;
  postgres_store db(database.conninfo());
  const std::vector<std::uint8_t> key_bytes(32, 7);
  ASSERT_TRUE(db.add_data_key(
      [&](std::int64_t) -> result<std::vector<std::uint8_t>> { return key_bytes; }, 1, {}));
  const sealer seal = [&db](std::int64_t) -> result<std::vector<std::uint8_t>> {
    auto key = db.newest_data_key();
    if (!key) {
      return key.error();
    }
    return std::vector<std::uint8_t>(1, static_cast<std::uint8_t>(key->id));
  };
  testing::pg_admin holder(database.conninfo());
  holder.run("BEGIN");
  holder.run("SELECT pg_advisory_xact_lock(" + std::to_string(0x6875736800000004LL) + ")");
  constexpr int posts = 3 * static_cast<int>(postgres_store::max_connections) / 2;
  std::vector<std::future<result<message_id>>> posted;
  for (int i = 0; i < posts; ++i) {
    posted.push_back(std::async(std::launch::async, [&db, &seal] {
      return db.add_message("ann", 1, message_format::text, seal);
    }));
  }
  std::this_thread::sleep_for(500ms);  // every connection taken, every insert waiting
  const auto released = std::chrono::steady_clock::now();
  holder.run("COMMIT");
  for (auto& post : posted) {
    const auto id = post.get();
    EXPECT_TRUE(id) << id.error().message();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - released, 3s) << "no insert waited for a timeout";
}

// A data key is not added (nor removed) while a message is being sealed under the newest: a
// rotation that went ahead could otherwise drop the key a body is about to be committed under.
TEST(PostgresStore, ADataKeyWaitsForAMessageBeingSealed) {
  testing::pg_test_database database;
  postgres_store db(database.conninfo());
  postgres_store rotation(database.conninfo());
  const auto wrapped = [](std::int64_t) -> result<std::vector<std::uint8_t>> {
    return std::vector<std::uint8_t>(32, 1);
  };
  ASSERT_TRUE(db.add_data_key(wrapped, 1, {}));
  std::promise<void> sealing;
  std::promise<void> go_on;
  auto go_on_signal = go_on.get_future().share();
  auto post = std::async(std::launch::async, [&] {
    return db.add_message("ann", 1, message_format::text,
                          [&](std::int64_t) -> result<std::vector<std::uint8_t>> {
                            auto key = db.newest_data_key();
                            sealing.set_value();
                            go_on_signal.wait();
                            return std::vector<std::uint8_t>(1, static_cast<std::uint8_t>(key->id));
                          });
  });
  sealing.get_future().wait();
  auto added =
      std::async(std::launch::async, [&] { return rotation.add_data_key(wrapped, 2, {}); });
  EXPECT_EQ(added.wait_for(500ms), std::future_status::timeout) << "waits for the sealing";
  go_on.set_value();
  ASSERT_TRUE(post.get());
  const auto key = added.get();
  ASSERT_TRUE(key);
  EXPECT_EQ(*key, 2U);
}

// A transaction that ends without its commit (a refused change) is rolled back and its
// connection goes back to the pool: no reconnection for each refusal.
TEST(PostgresStore, ARefusedChangeKeepsItsConnection) {
  testing::pg_test_database database;
  postgres_store db(database.conninfo());
  ASSERT_TRUE(db.add_member("ann", role::admin, "h", 1));
  testing::pg_admin admin(testing::pg_cluster_conninfo());
  const std::string backends =
      "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM "
      "pg_stat_activity WHERE datname = '" +
      database.name() + "' AND pid <> pg_backend_pid()";
  const auto before = admin.run(backends);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(db.remove_member("ann", 2).error(), errc::conflict) << "the last admin stays";
  }
  ASSERT_TRUE(db.find_member("ann"));
  EXPECT_EQ(admin.run(backends), before);
}

// The change feed a server follows: a change committed by another store (another instance, the
// CLI) is reported within a moment, and so is the chance of a missed one when the listening
// connection is lost and made again.
TEST(PostgresStore, TheChangeFeedReportsChangesAndReconnects) {
  testing::pg_test_database database;
  postgres_store server(database.conninfo());
  postgres_store other(database.conninfo());
  std::atomic<int> calls{0};
  std::stop_source stop;
  std::thread feed(
      [&] { EXPECT_TRUE(server.follow_changes([&calls] { ++calls; }, stop.get_token())); });
  const auto wait_for_calls = [&calls](int at_least) {
    for (int i = 0; i < 500 && calls.load() < at_least; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    return calls.load();
  };
  EXPECT_GE(wait_for_calls(1), 1) << "once at the start: whatever changed before it listened";
  const int before = calls.load();
  ASSERT_TRUE(other.add_member("alice", role::admin, "h", 1));
  EXPECT_GT(wait_for_calls(before + 1), before) << "a change by another store";
  // Reading and auditing change nothing: no call.
  const int quiet = calls.load();
  ASSERT_TRUE(other.add_audit(audit_record{1, "alice", message_id{1}, "127.0.0.1"}));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(calls.load(), quiet);
  // The listening connection lost: made again, and reported as a possible miss.
  testing::pg_admin admin(testing::pg_cluster_conninfo());
  EXPECT_EQ(admin.run("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                      "datname = '" +
                      database.name() + "' AND query = 'LISTEN hush_changes'"),
            "1");
  EXPECT_GT(wait_for_calls(quiet + 1), quiet);
  stop.request_stop();
  feed.join();
}

// A batch of audit records goes in a statement per 32 rows: every one written, in order, also
// across statements, and with the commit's generation check picking which.
TEST(PostgresStore, AuditBatchesKeepTheirOrderAcrossStatements) {
  testing::pg_test_database database;
  postgres_store db(database.conninfo());
  std::vector<audit_record> batch;
  for (int i = 0; i < 70; ++i) {
    batch.push_back({1000 + i, "m" + std::to_string(i), message_id{i}, "192.0.2.1"});
  }
  ASSERT_TRUE(db.add_audits(batch));
  const auto now = db.generation().value();
  std::vector<audited_read> reads;
  for (int i = 0; i < 40; ++i) {
    // Every third is as of an older generation: not written.
    reads.push_back({{2000 + i, "r" + std::to_string(i), message_id{i}, "192.0.2.2"},
                     i % 3 == 0 ? now + 1 : now});
  }
  std::vector<bool> added;
  ASSERT_EQ(db.add_audits_as_of(reads, added).value(), now);
  const auto listed = db.list_audit(1000).value();
  std::vector<std::int64_t> expected;
  for (const auto& record : batch) {
    expected.push_back(record.at);
  }
  for (std::size_t i = 0; i < reads.size(); ++i) {
    EXPECT_EQ(added[i], i % 3 != 0) << i;
    if (i % 3 != 0) {
      expected.push_back(reads[i].record.at);
    }
  }
  std::vector<std::int64_t> got;
  for (const auto& record : listed) {
    got.push_back(record.at);
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(listed.front().member, "m0");
  EXPECT_EQ(listed.back().remote, "192.0.2.2");
}

// The guessing throttle's counts: every instance sees every other's, exactly, also when they
// count at the same moment; a key quiet for long enough starts afresh; a success forgets it.
TEST(PostgresStore, GuessCountsAreSharedAndExact) {
  testing::pg_test_database database;
  postgres_store here(database.conninfo());
  postgres_store there(database.conninfo());
  ASSERT_EQ(here.shared_guesses(), &here);

  auto none = here.guess_counts("alice\n192.0.2.1", "192.0.2.1");
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_EQ((*none)[0].failures, 0U);
  EXPECT_EQ((*none)[1].failures, 0U);

  constexpr int threads = 4;
  constexpr int each = 10;
  std::vector<std::future<bool>> counting;
  for (int t = 0; t < threads; ++t) {
    counting.push_back(std::async(std::launch::async, [&, t] {
      auto& db = t % 2 == 0 ? here : there;
      bool ok = true;
      for (int i = 0; i < each; ++i) {
        // Two members at one address, as guessers spread over instances make them.
        const std::string member = t < 2 ? "alice" : "bob";
        ok = ok &&
             static_cast<bool>(db.add_guess_failures(member + "\n192.0.2.1", "192.0.2.1", 900));
      }
      return ok;
    }));
  }
  for (auto& c : counting) {
    EXPECT_TRUE(c.get());
  }
  const auto counts = there.guess_counts("alice\n192.0.2.1", "192.0.2.1").value();
  EXPECT_EQ(counts[0].failures, 2U * each);
  EXPECT_EQ(counts[1].failures, 1U * threads * each);
  EXPECT_LE(counts[1].quiet_seconds, 1);
  EXPECT_EQ(here.guess_counts("bob\n192.0.2.1", "192.0.2.9").value()[0].failures, 2U * each);

  // The answer to a failure is the count after it, in the order the keys were given.
  const auto after = here.add_guess_failures("alice\n192.0.2.1", "192.0.2.1", 900).value();
  EXPECT_EQ(after[0].failures, 2U * each + 1);
  EXPECT_EQ(after[1].failures, 1U * threads * each + 1);

  // Quiet for longer than the given time: the next failure is the first again.
  std::this_thread::sleep_for(1100ms);
  const auto afresh = there.add_guess_failures("alice\n192.0.2.1", "192.0.2.1", 1).value();
  EXPECT_EQ(afresh[0].failures, 1U);
  EXPECT_EQ(afresh[1].failures, 1U);

  ASSERT_TRUE(there.add_guess_failures("alice\n192.0.2.1", "192.0.2.1", 900));
  ASSERT_TRUE(here.forgive_guess("alice\n192.0.2.1", "192.0.2.1"));
  const auto forgotten = there.guess_counts("alice\n192.0.2.1", "192.0.2.1").value();
  EXPECT_EQ(forgotten[0].failures, 0U);
  EXPECT_EQ(forgotten[1].failures, 1U);  // the address's other failure stays
  EXPECT_FALSE(here.add_guess_failures("same", "same", 900));
}

TEST(PostgresStore, AStartupErrorNeverShowsThePassword) {
  const std::string secret = "Sup3rSecretPassw0rd";
  const auto cluster = testing::pg_cluster_conninfo();
  const auto host =
      cluster.substr(cluster.find("host=") + 5,
                     cluster.find(' ', cluster.find("host=")) - 5 - cluster.find("host="));
  const std::vector<std::string> conninfos = {
      "host=" + host + " user=hush_password dbname=postgres password=" + secret,
      "postgresql://hush_password:" + secret + "@/postgres?host=" + host,
      "postgresql://someone:" + secret + "@/db?host=/nonexistent/dir",
      "host=/nonexistent/dir password=" + secret + " dbname=x",
      "postgresql://someone:" + secret + "@/db?host=" + host + "&no_such_option=1",
      "host=" + host + " password=" + secret + " no_such_keyword=1",
      "host=" + host + " password=" + secret + " broken",
      "postgresql://someone:" + secret + "@[broken/db",
      "postgresql://someone:Sup3r%zz" + secret + "@/db?host=" + host,
      "postgresql://someone:Sup3r/" + secret + "@/db?host=" + host,
      "password='" + secret,
      "host=" + host + " password = Sup3r " + secret,
  };
  for (const auto& conninfo : conninfos) {
    const auto error = startup_error(conninfo);
    EXPECT_FALSE(error.empty()) << conninfo;
    EXPECT_EQ(error.find(secret), std::string::npos) << error;
    EXPECT_EQ(error.find("Sup3r"), std::string::npos) << error;
  }
  EXPECT_NE(startup_error(conninfos[0]).find("password authentication failed"), std::string::npos);
}

}  // namespace
}  // namespace hush::store
