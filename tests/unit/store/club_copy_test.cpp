// A whole club copied between the two stores (hush migrate): SQLite to PostgreSQL and back, every
// row of every table equal, ids kept, the marks that only grow carried over, and a store that
// already holds a club refused. On a real cluster (label postgres).
#include "store/club_copy.hpp"

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/pg_test_database.hpp"
#include "support/temp_dir.hpp"
#include "support/test_club.hpp"

namespace hush::store {
namespace {

// Every row an export gives, by table.
class collecting_sink final : public copy_sink {
 public:
  result<void> rows(const copy_table& table, std::span<const copy_row> rows) override {
    auto& kept = tables[table.name];
    kept.insert(kept.end(), rows.begin(), rows.end());
    return {};
  }
  std::map<std::string, std::vector<copy_row>> tables;
};

struct exported {
  std::map<std::string, std::vector<copy_row>> tables;
  copy_marks marks;
};

exported export_of(store& db) {
  collecting_sink sink;
  auto marks = db.copier()->export_club(sink);
  EXPECT_TRUE(marks) << marks.error().message();
  return {sink.tables, marks ? *marks : copy_marks{}};
}

result<void> copy(store& from, store& to) {
  return to.copier()->import_club(
      [&](copy_sink& into) { return from.copier()->export_club(into); });
}

const sealer fixed_body(std::uint8_t tag) {
  return [tag](std::int64_t) -> result<std::vector<std::uint8_t>> {
    return std::vector<std::uint8_t>{0, tag, 0xff, 7};
  };
}

// A club with a row in every table, a removed message (so that the highest id ever used is
// above every id left), more than one batch of audit records, and a CRL number moved on.
void fill(store& db) {
  const std::vector<std::uint8_t> key(32, 9);
  ASSERT_TRUE(db.add_data_key(
      [&](std::int64_t) -> result<std::vector<std::uint8_t>> { return key; }, 10, {}));
  const std::vector<std::uint8_t> check{1, 2, 3};
  ASSERT_TRUE(db.set_club_meta_once("key_check", check));
  ASSERT_TRUE(db.add_member("ann", role::admin, "$argon2id$ann", 11));
  ASSERT_TRUE(db.add_member("bo", role::reader, "$argon2id$bo", 12));
  const std::vector<std::uint8_t> token_hash(32, 1);
  ASSERT_TRUE(db.add_token({"laptop", "bo", 13, 0}, token_hash));
  const std::vector<std::uint8_t> session_hash(32, 2);
  ASSERT_TRUE(db.add_session(session_hash, "ann", "$argon2id$ann", 14, {3600, 86400, 0}));
  ASSERT_TRUE(db.add_client_cert({"abc1", "bo", 15, 99999, 0}));
  ASSERT_TRUE(db.add_server_cert({"def2", cert_kind::server, "club.example", 16, 99999, 0}));
  const auto first = db.add_message("ann", 17, message_format::text, fixed_body(1));
  ASSERT_TRUE(first);
  const auto second = db.add_message("ann", 18, message_format::fernet, fixed_body(2));
  ASSERT_TRUE(second);
  const auto third = db.add_message("ann", 19, message_format::text, fixed_body(3));
  ASSERT_TRUE(third);
  ASSERT_TRUE(db.remove_message(*third));
  // Messages with a life: terms, a counted read, recipients by id and by role, and one addressed
  // to a member who has left (a recipient row with member id 0).
  const auto bo = db.find_member("bo").value().id;
  const auto gone = db.add_member("gone", role::reader, "$argon2id$gone", 17).value();
  message_terms terms;
  terms.expires_at = 99999;
  terms.max_reads = 3;
  terms.to = {recipient::to_member(bo), recipient::to_role(role::admin)};
  const auto life = db.add_message("ann", 19, message_format::text, fixed_body(6), terms);
  ASSERT_TRUE(life);
  ASSERT_EQ(db.claim_read(*life, viewer{bo, role::reader, 20}).value().reads, 1U);
  message_terms farewell;
  farewell.to = {recipient::to_member(gone)};
  ASSERT_TRUE(db.add_message("ann", 19, message_format::fernet, fixed_body(7), farewell));
  ASSERT_TRUE(db.remove_member("gone", 19));
  std::vector<audit_record> audits;
  for (int i = 0; i < 2500; ++i) {
    audits.push_back({20 + i, "bo", *first, "192.0.2." + std::to_string(i % 250)});
  }
  ASSERT_TRUE(db.add_audits(audits));
  ASSERT_TRUE(db.next_crl_number());
  ASSERT_TRUE(db.next_crl_number());
}

TEST(ClubCopy, SqliteToPostgresAndBackKeepsEveryRow) {
  testing::temp_dir dir;
  sqlite_store source(testing::make_database(dir));
  fill(source);
  const auto before = export_of(source);
  ASSERT_EQ(before.tables.at("audit").size(), 2500U);
  ASSERT_EQ(before.tables.at("messages").size(), 4U);
  ASSERT_EQ(before.tables.at("message_recipients").size(), 3U);

  testing::pg_test_database database;
  postgres_store middle(database.conninfo());
  const auto copied = copy(source, middle);
  ASSERT_TRUE(copied) << copied.error().message();
  const auto there = export_of(middle);
  EXPECT_EQ(there.tables, before.tables);
  EXPECT_EQ(there.marks.message_ids, before.marks.message_ids);
  EXPECT_EQ(there.marks.crl_number, before.marks.crl_number);

  // The copy works as a store: what it holds is found, and new ids go on above the old.
  EXPECT_EQ(middle.member_by_token(std::vector<std::uint8_t>(32, 1), 100).value().name, "bo");
  // Terms, counts and recipients came over and mean the same there: bo and admins see the
  // message, a reader does not; the one to a member who left is nobody's.
  const auto bo = middle.find_member("bo").value();
  const auto mine =
      middle.list_messages(std::nullopt, 10, viewer{bo.id, role::reader, 100}).value();
  ASSERT_EQ(mine.size(), 3U);
  EXPECT_EQ(mine[0].terms.max_reads, 3U);
  EXPECT_EQ(mine[0].reads, 1U);
  EXPECT_EQ(mine[0].terms.expires_at, 99999);
  ASSERT_EQ(mine[0].terms.to.size(), 2U);
  EXPECT_EQ(mine[0].terms.to[0].name, "bo");
  EXPECT_EQ(mine[0].terms.to[1].member_role, role::admin);
  const auto all = middle.list_messages(std::nullopt, 10, 100).value();
  ASSERT_EQ(all.size(), 4U);
  ASSERT_EQ(all[0].terms.to.size(), 1U);
  EXPECT_EQ(all[0].terms.to[0].member, member_id{});
  EXPECT_EQ(middle.claim_read(mine[0].id, viewer{bo.id, role::reader, 100}).value().reads, 2U);
  const auto next = middle.add_message("ann", 30, message_format::text, fixed_body(4));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_GT(next->value, before.marks.message_ids);
  EXPECT_TRUE(middle.add_member("cy", role::reader, "$argon2id$cy", 31));
  EXPECT_GT(middle.next_crl_number().value(), before.marks.crl_number);

  const auto back_path = dir.path() / "back.db";
  std::ofstream(back_path).close();
  sqlite_store back(back_path);
  const auto returned = copy(middle, back);
  ASSERT_TRUE(returned) << returned.error().message();
  const auto after = export_of(middle);
  EXPECT_EQ(export_of(back).tables, after.tables);
  const auto newest = back.add_message("ann", 40, message_format::text, fixed_body(5));
  ASSERT_TRUE(newest);
  EXPECT_GT(newest->value, next->value);
}

TEST(ClubCopy, AStoreThatHoldsAClubIsRefusedAndUnchanged) {
  testing::temp_dir dir;
  sqlite_store source(testing::make_database(dir));
  fill(source);
  testing::pg_test_database database;
  postgres_store target(database.conninfo());
  ASSERT_TRUE(target.add_member("someone", role::admin, "$argon2id$x", 1));
  const auto refused = copy(source, target);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), errc::already_exists);
  EXPECT_EQ(target.list_members().value().size(), 1U);
  EXPECT_TRUE(export_of(target).tables["messages"].empty());

  // Rows of any table, not only members or the key check, make a store not empty.
  testing::pg_test_database second;
  postgres_store audited(second.conninfo());
  ASSERT_TRUE(audited.add_audit({1, "someone", message_id{1}, "192.0.2.1"}));
  EXPECT_EQ(copy(source, audited).error(), errc::already_exists);

  // And the other way round.
  const auto sqlite_target = dir.path() / "second.db";
  std::ofstream(sqlite_target).close();
  sqlite_store other(sqlite_target);
  ASSERT_TRUE(other.set_club_meta_once("key_check", std::vector<std::uint8_t>{4}));
  EXPECT_EQ(copy(target, other).error(), errc::already_exists);
}

// A copy cut short leaves nothing behind: the import is one transaction.
// A target whose identities have moved on (rows made and removed before) keeps them: ids are
// never lowered by a copy.
TEST(ClubCopy, ATargetsOwnIdsAreNeverLowered) {
  testing::temp_dir dir;
  sqlite_store source(testing::make_database(dir));
  fill(source);
  testing::pg_test_database database;
  postgres_store target(database.conninfo());
  message_id used{0};
  for (int i = 0; i < 20; ++i) {
    used = target.add_message("x", 1, message_format::text, fixed_body(9)).value();
    ASSERT_TRUE(target.remove_message(used));
  }
  ASSERT_GT(used.value, export_of(source).marks.message_ids);
  ASSERT_TRUE(copy(source, target));
  EXPECT_GT(target.add_message("ann", 50, message_format::text, fixed_body(6)).value().value,
            used.value);
}

TEST(ClubCopy, AFailedExportLeavesTheTargetEmpty) {
  testing::temp_dir dir;
  sqlite_store source(testing::make_database(dir));
  fill(source);
  testing::pg_test_database database;
  postgres_store target(database.conninfo());
  const auto failed = target.copier()->import_club([&](copy_sink& into) -> result<copy_marks> {
    if (auto half = source.copier()->export_club(into); !half) {
      return half.error();
    }
    return make_error_code(errc::storage_failure);
  });
  EXPECT_EQ(failed.error(), errc::storage_failure);
  EXPECT_TRUE(target.list_members().value().empty());
  EXPECT_TRUE(export_of(target).tables["audit"].empty());
  // And the target takes a whole copy afterwards.
  EXPECT_TRUE(copy(source, target));
}

}  // namespace
}  // namespace hush::store
