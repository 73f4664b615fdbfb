#include "store/club_copy.hpp"

#include <string>

namespace hush::store {

const std::vector<copy_table>& copy_tables() {
  using enum column_kind;
  static const std::vector<copy_table> tables = {
      {"club_meta", {{"name", text}, {"value", bytes}}, false},
      {"data_keys", {{"id", integer}, {"wrapped", bytes}, {"created_at", integer}}, true},
      {"members",
       {{"id", integer},
        {"name", text},
        {"role", text},
        {"password_hash", text},
        {"created_at", integer}},
       true},
      {"tokens",
       {{"id", integer},
        {"name", text},
        {"member", text},
        {"hash", bytes},
        {"created_at", integer},
        {"expires_at", integer}},
       true},
      {"sessions",
       {{"id", integer},
        {"hash", bytes},
        {"member", text},
        {"created_at", integer},
        {"last_used_at", integer}},
       true},
      {"client_certs",
       {{"serial", text},
        {"member", text},
        {"issued_at", integer},
        {"expires_at", integer},
        {"revoked_at", integer}},
       false},
      {"server_certs",
       {{"serial", text},
        {"kind", text},
        {"names", text},
        {"issued_at", integer},
        {"expires_at", integer},
        {"revoked_at", integer}},
       false},
      {"messages",
       {{"id", integer},
        {"author", text},
        {"created_at", integer},
        {"sealed", bytes},
        {"format", text},
        {"expires_at", integer},
        {"max_reads", integer},
        {"reads", integer},
        {"author_id", integer}},
       true},
      // After the messages they name (ON DELETE CASCADE on message_id); member ids as they are
      // (the members came over with theirs), 0 for one who has left.
      {"message_recipients",
       {{"id", integer}, {"message_id", integer}, {"member_id", integer}, {"role", text}},
       true},
      {"audit",
       {{"id", integer},
        {"at", integer},
        {"member", text},
        {"message_id", integer},
        {"remote", text}},
       true},
  };
  return tables;
}

const char* copy_rows_sql() {
  static const std::string sql = [] {
    std::string text = "SELECT 0";
    for (const auto& table : copy_tables()) {
      text += " + (SELECT count(*) FROM ";
      text += table.name;
      text += ")";
    }
    return text;
  }();
  return sql.c_str();
}

}  // namespace hush::store
