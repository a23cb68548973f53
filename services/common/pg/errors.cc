#include "services/common/pg/errors.h"

#include <string>

#include <pqxx/except>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace quarry::pg {
namespace {

// libpq messages end with a newline (sometimes with "DETAIL:" lines after);
// keep the whole text but drop the trailing whitespace.
std::string CleanMessage(const char* what) {
  return std::string(absl::StripTrailingAsciiWhitespace(what));
}

absl::Status FromSqlState(const std::string& sqlstate, const std::string& msg) {
  if (sqlstate == "23505") return absl::AlreadyExistsError(msg);
  if (sqlstate == "40001" || sqlstate == "40P01") return absl::AbortedError(msg);
  if (sqlstate == "57014") {
    // 57014 covers both statement_timeout and pg_cancel_backend(); only the
    // message tells them apart.
    if (absl::StrContains(msg, "user request")) return absl::CancelledError(msg);
    return absl::DeadlineExceededError(msg);
  }
  if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03" ||
      absl::StartsWith(sqlstate, "08")) {
    return absl::UnavailableError(msg);
  }
  return absl::InternalError(
      absl::StrCat("SQLSTATE ", sqlstate.empty() ? "?????" : sqlstate, ": ", msg));
}

}  // namespace

absl::Status StatusFromException(const std::exception& e) {
  const std::string msg = CleanMessage(e.what());
  // Order matters: the most specific classes first. libpqxx 6 does not derive
  // transaction_rollback from sql_error, so those carry no SQLSTATE.
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return absl::UnavailableError(msg);
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr ||
      dynamic_cast<const pqxx::statement_completion_unknown*>(&e) != nullptr) {
    return absl::UnknownError(msg);
  }
  if (dynamic_cast<const pqxx::transaction_rollback*>(&e) != nullptr) {
    return absl::AbortedError(msg);
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    return FromSqlState(sql->sqlstate(), msg);
  }
  return absl::InternalError(msg);
}

bool IsConnectionBroken(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
      dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return true;
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& s = sql->sqlstate();
    return s == "57P01" || s == "57P02" || s == "57P03" ||
           absl::StartsWith(s, "08");
  }
  return false;
}

}  // namespace quarry::pg
