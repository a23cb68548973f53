#ifndef QUARRY_SERVICES_COMMON_PG_TIME_COLUMN_H_
#define QUARRY_SERVICES_COMMON_PG_TIME_COLUMN_H_

#include <cstdint>
#include <optional>

#include <pqxx/pqxx>

#include "absl/time/time.h"

namespace quarry::pg {

// A nullable timestamp column selected as unix microseconds, the way the
// stores select times ((extract(epoch from t) * 1000000)::bigint): nullopt
// for NULL.
inline std::optional<absl::Time> OptionalTime(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return absl::FromUnixMicros(field.as<int64_t>());
}

}  // namespace quarry::pg

#endif  // QUARRY_SERVICES_COMMON_PG_TIME_COLUMN_H_
