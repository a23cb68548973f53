#ifndef QUARRY_SERVICES_COMMON_STATUS_MACROS_H_
#define QUARRY_SERVICES_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Early returns for absl::Status and absl::StatusOr, the one way every service
// writes "stop here if this failed". Absl-only (no gRPC) so domain code can use
// them. The QUARRY_ prefix avoids clashing with the RETURN_IF_ERROR macros that
// protobuf's and other libraries' internal headers define.
//
//   QUARRY_RETURN_IF_ERROR(store.Write(row));
//   QUARRY_ASSIGN_OR_RETURN(Collection c, catalog.Get(name));
//   QUARRY_ASSIGN_OR_RETURN(auto rows, store.Read(query));
//
// The enclosing function returns absl::Status or absl::StatusOr<T>; the
// failure is returned unchanged (code and message).

// Evaluates `expr` (an absl::Status) once and returns it if it is not OK.
#define QUARRY_RETURN_IF_ERROR(expr)                                   \
  do {                                                                 \
    if (::absl::Status quarry_status_ = (expr); !quarry_status_.ok()) { \
      return quarry_status_;                                           \
    }                                                                  \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>) once: returns its status if it is
// not OK, otherwise moves its value into `lhs` (a declaration or an lvalue).
// Expands to more than one statement, so it cannot be the body of an unbraced
// if or loop.
#define QUARRY_ASSIGN_OR_RETURN(lhs, rexpr) \
  QUARRY_ASSIGN_OR_RETURN_IMPL_(QUARRY_STATUS_CONCAT_(quarry_statusor_, __LINE__), lhs, rexpr)

#define QUARRY_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = *std::move(statusor)

#define QUARRY_STATUS_CONCAT_(a, b) QUARRY_STATUS_CONCAT_INNER_(a, b)
#define QUARRY_STATUS_CONCAT_INNER_(a, b) a##b

#endif  // QUARRY_SERVICES_COMMON_STATUS_MACROS_H_
