#include "services/common/pg/errors.h"

#include <stdexcept>
#include <string>

#include <pqxx/except>

#include "gtest/gtest.h"

namespace quarry::pg {
namespace {

struct Case {
  std::string name;
  absl::StatusCode code;
  std::string message_part;
};

// One row per exception kind; the exceptions are thrown and caught the way
// the pool sees them (by std::exception reference). Real server-raised ones
// are covered in pool_test.cc.
TEST(StatusFromExceptionTest, MapsEveryKind) {
  auto map = [](auto exception) {
    try {
      throw exception;
    } catch (const std::exception& e) {
      return StatusFromException(e);
    }
  };
  const struct {
    absl::Status got;
    Case want;
  } cases[] = {
      {map(pqxx::broken_connection("server closed the connection\n")),
       {"broken_connection", absl::StatusCode::kUnavailable, "server closed"}},
      {map(pqxx::too_many_connections("too many clients")),
       {"too_many_connections", absl::StatusCode::kUnavailable, "too many"}},
      {map(pqxx::unique_violation("duplicate key", "INSERT", "23505")),
       {"unique_violation", absl::StatusCode::kAlreadyExists, "duplicate key"}},
      {map(pqxx::sql_error("duplicate key", "INSERT", "23505")),
       {"23505 as plain sql_error", absl::StatusCode::kAlreadyExists, "duplicate"}},
      {map(pqxx::serialization_failure("could not serialize")),
       {"serialization_failure", absl::StatusCode::kAborted, "serialize"}},
      {map(pqxx::deadlock_detected("deadlock detected")),
       {"deadlock_detected", absl::StatusCode::kAborted, "deadlock"}},
      {map(pqxx::sql_error("could not serialize", "", "40001")),
       {"40001 as sql_error", absl::StatusCode::kAborted, "serialize"}},
      {map(pqxx::sql_error("deadlock", "", "40P01")),
       {"40P01 as sql_error", absl::StatusCode::kAborted, "deadlock"}},
      {map(pqxx::sql_error("canceling statement due to statement timeout", "", "57014")),
       {"statement timeout", absl::StatusCode::kDeadlineExceeded, "statement timeout"}},
      {map(pqxx::sql_error("canceling statement due to user request", "", "57014")),
       {"user cancel", absl::StatusCode::kCancelled, "user request"}},
      {map(pqxx::sql_error("terminating connection due to administrator command", "",
                           "57P01")),
       {"admin_shutdown", absl::StatusCode::kUnavailable, "administrator"}},
      {map(pqxx::sql_error("crash shutdown", "", "57P02")),
       {"crash_shutdown", absl::StatusCode::kUnavailable, "crash"}},
      {map(pqxx::sql_error("the database system is starting up", "", "57P03")),
       {"cannot_connect_now", absl::StatusCode::kUnavailable, "starting up"}},
      {map(pqxx::sql_error("connection failure", "", "08006")),
       {"connection exception class", absl::StatusCode::kUnavailable, "connection"}},
      {map(pqxx::check_violation("violates check constraint", "INSERT", "23514")),
       {"check_violation", absl::StatusCode::kInternal, "SQLSTATE 23514: violates check"}},
      {map(pqxx::syntax_error("syntax error at or near", "SELEC", "42601")),
       {"syntax_error", absl::StatusCode::kInternal, "SQLSTATE 42601: syntax error"}},
      {map(pqxx::sql_error("mystery")),
       {"no sqlstate", absl::StatusCode::kInternal, "SQLSTATE ?????: mystery"}},
      {map(pqxx::in_doubt_error("commit status unknown")),
       {"in_doubt", absl::StatusCode::kUnknown, "unknown"}},
      {map(pqxx::conversion_error("cannot convert")),
       {"conversion_error", absl::StatusCode::kInternal, "cannot convert"}},
      {map(std::runtime_error("plain")),
       {"std::runtime_error", absl::StatusCode::kInternal, "plain"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.want.name);
    EXPECT_EQ(c.got.code(), c.want.code) << c.got;
    EXPECT_NE(c.got.message().find(c.want.message_part), std::string::npos) << c.got;
  }
}

TEST(StatusFromExceptionTest, TrailingNewlinesAreDropped) {
  absl::Status s = StatusFromException(pqxx::broken_connection("gone\n\n"));
  EXPECT_EQ(s.message(), "gone");
}

TEST(IsConnectionBrokenTest, OnlyConnectionLevelFailures) {
  EXPECT_TRUE(IsConnectionBroken(pqxx::broken_connection("x")));
  EXPECT_TRUE(IsConnectionBroken(pqxx::too_many_connections("x")));
  EXPECT_TRUE(IsConnectionBroken(pqxx::sql_error("x", "", "57P01")));
  EXPECT_TRUE(IsConnectionBroken(pqxx::in_doubt_error("x")));
  EXPECT_FALSE(IsConnectionBroken(pqxx::unique_violation("x", "", "23505")));
  EXPECT_FALSE(IsConnectionBroken(pqxx::sql_error("x", "", "57014")));
  EXPECT_FALSE(IsConnectionBroken(std::runtime_error("x")));
}

}  // namespace
}  // namespace quarry::pg
