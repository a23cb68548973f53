#ifndef QUARRY_SERVICES_GATEWAY_RECORDS_H_
#define QUARRY_SERVICES_GATEWAY_RECORDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace quarry::gateway::store {

// The rows the gateway's SQL (store.h) reads and writes, as plain values.
// They live apart from store.h so that the domain core (core/stores.h), which
// passes them around but never runs SQL, does not depend on libpqxx.

struct KeyRecord {
  std::string id;
  int64_t tenant_id = 0;
  std::string name;
  std::vector<std::string> scopes;  // "read", "write", "admin", "worker"
  std::vector<std::string> worker_kinds;  // with "worker": the kinds it may claim
  std::optional<double> rate_limit_per_second;
  std::optional<int> burst;
  absl::Time created_at;
  std::optional<absl::Time> revoked_at;
};

struct CollectionRecord {
  int64_t id = 0;
  int64_t tenant_id = 0;
  std::string name;
  int dimension = 0;
  std::string metric;  // "cosine", "dot", "l2"
  std::string model;
  absl::Time created_at;
};

struct UpsertResult {
  int inserted = 0;
  int updated = 0;
  int unchanged = 0;
  // Highest seq this write produced (0 if nothing changed).
  int64_t max_seq = 0;
  // Ids whose text has no current vector (need embedding).
  std::vector<std::string> pending_ids;
};

struct DeleteResult {
  int deleted = 0;
  int64_t max_seq = 0;
};

struct CollectionStats {
  int64_t documents = 0;
  int64_t indexed = 0;
  int64_t pending = 0;
  int64_t deleted = 0;
  int64_t latest_sequence = 0;
};

// A row of the job_success_rates view.
struct JobKindStatsRow {
  std::string kind;
  int64_t queued = 0, running = 0, succeeded = 0, dead = 0, cancelled = 0;
  double success_rate = 0, mean_attempts = 0;
  std::string refreshed_at;  // RFC 3339
};

}  // namespace quarry::gateway::store

#endif  // QUARRY_SERVICES_GATEWAY_RECORDS_H_
