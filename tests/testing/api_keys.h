#ifndef QUARRY_TESTS_TESTING_API_KEYS_H_
#define QUARRY_TESTS_TESTING_API_KEYS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/pg/pool.h"

namespace quarry::testing {

// An API key of `tenant` (created if new) with `scopes`, written straight
// into PostgreSQL as `quarryctl admin bootstrap` does; returns the secret.
absl::StatusOr<std::string> CreateApiKey(pg::Pool& pool, const std::string& tenant,
                                         const std::vector<std::string>& scopes,
                                         std::optional<double> rate_per_second = std::nullopt,
                                         std::optional<int> burst = std::nullopt);

}  // namespace quarry::testing

#endif  // QUARRY_TESTS_TESTING_API_KEYS_H_
