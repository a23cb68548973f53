#ifndef QUARRY_SERVICES_COMMON_PG_ERRORS_H_
#define QUARRY_SERVICES_COMMON_PG_ERRORS_H_

#include <exception>

#include "absl/status/status.h"

namespace quarry::pg {

// The one mapping from libpqxx exceptions to absl::Status; everything in this
// package that catches uses it, so callers see the same code for the same
// failure wherever it happened:
//   pqxx::broken_connection (incl. too_many_connections)  -> UNAVAILABLE
//   SQLSTATE 23505 unique_violation                        -> ALREADY_EXISTS
//   SQLSTATE 40001 / 40P01, pqxx::serialization_failure,
//     pqxx::deadlock_detected, other transaction_rollback  -> ABORTED
//   SQLSTATE 57014 query_canceled (statement timeout)      -> DEADLINE_EXCEEDED
//     (CANCELLED when the server says it was a user request)
//   SQLSTATE 57P01..57P03 (shutdown, cannot connect now),
//     class 08 (connection exception)                      -> UNAVAILABLE
//   pqxx::in_doubt_error, statement_completion_unknown     -> UNKNOWN (the commit
//     may or may not have happened; do not blindly retry non-idempotent work)
//   any other pqxx::sql_error -> INTERNAL "SQLSTATE xxxxx: <message>"
//   anything else             -> INTERNAL with what().
// The message always carries the server's (or libpqxx's) text.
absl::Status StatusFromException(const std::exception& e);

// Whether `e` means the connection it came from is unusable and must be
// replaced (the pool discards such connections).
bool IsConnectionBroken(const std::exception& e);

}  // namespace quarry::pg

#endif  // QUARRY_SERVICES_COMMON_PG_ERRORS_H_
