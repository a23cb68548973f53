#include "tests/testing/api_keys.h"

#include "services/gateway/api_key.h"
#include "services/gateway/store.h"

namespace quarry::testing {

absl::StatusOr<std::string> CreateApiKey(pg::Pool& pool, const std::string& tenant,
                                         const std::vector<std::string>& scopes,
                                         std::optional<double> rate_per_second,
                                         std::optional<int> burst) {
  const auto key = gateway::GenerateApiKey();
  absl::Status stored = pool.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    gateway::store::KeyRecord record;
    record.id = key.id;
    record.tenant_id = gateway::store::EnsureTenant(txn, tenant);
    record.scopes = scopes;
    record.rate_limit_per_second = rate_per_second;
    record.burst = burst;
    gateway::store::InsertKey(txn, record, key.hash);
    return absl::OkStatus();
  });
  if (!stored.ok()) return stored;
  return key.secret;
}

}  // namespace quarry::testing
