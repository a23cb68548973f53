#ifndef QUARRY_SERVICES_GATEWAY_STORE_H_
#define QUARRY_SERVICES_GATEWAY_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/time/time.h"
#include "quarry/gateway/v1/document_service.pb.h"

namespace quarry::gateway::store {

// The gateway's SQL over the schema of the first migration: tenants and keys,
// collections, documents and stats. Every function runs inside a transaction
// it is given and may throw libpqxx exceptions: call them only inside
// pg::Pool::WithTransaction, which maps them to absl::Status.

struct KeyRecord {
  std::string id;
  int64_t tenant_id = 0;
  std::string name;
  std::vector<std::string> scopes;  // "read", "write", "admin"
  std::optional<double> rate_limit_per_second;
  std::optional<int> burst;
  absl::Time created_at;
  std::optional<absl::Time> revoked_at;
};

// The tenant named `name`, created if missing.
int64_t EnsureTenant(pqxx::work& txn, const std::string& name);
KeyRecord InsertKey(pqxx::work& txn, const KeyRecord& key, const std::string& key_hash);
// The key whose secret hashes to `key_hash`, revoked or not.
std::optional<KeyRecord> FindKeyByHash(pqxx::work& txn, const std::string& key_hash);
std::vector<KeyRecord> ListKeys(pqxx::work& txn, int64_t tenant_id);
// Revokes the tenant's key (once); nullopt if the tenant has no such key.
std::optional<KeyRecord> RevokeKey(pqxx::work& txn, int64_t tenant_id, const std::string& id);

struct CollectionRecord {
  int64_t id = 0;
  int64_t tenant_id = 0;
  std::string name;
  int dimension = 0;
  std::string metric;  // "cosine", "dot", "l2"
  std::string model;
  absl::Time created_at;
};

// Throws unique_violation (ALREADY_EXISTS) if the tenant has a live collection of that name.
CollectionRecord InsertCollection(pqxx::work& txn, const CollectionRecord& collection);
std::optional<CollectionRecord> GetCollection(pqxx::work& txn, int64_t tenant_id,
                                              const std::string& name);

// How a write holds the collection it writes into until it commits.
enum class CollectionLock {
  // Writes of documents and jobs: many at once, none while a delete runs.
  kShare,
  // The delete itself: waits for the writes in flight, then excludes new ones.
  kDelete,
};
// The tenant's live collection by name, its row locked until the transaction
// ends, so that it cannot be deleted (or, with kDelete, written) before then.
// Under read committed, a lookup that waited for a delete which then committed
// re-reads the row and finds it deleted: nullopt, never the dead collection.
std::optional<CollectionRecord> LockLiveCollection(pqxx::work& txn, int64_t tenant_id,
                                                   const std::string& name,
                                                   CollectionLock lock);
// Which of `ids` are collections not deleted (in no particular order).
std::vector<int64_t> LiveCollectionIds(pqxx::work& txn, const std::vector<int64_t>& ids);
// Live collections by name, after `after_name`, at most `limit`.
std::vector<CollectionRecord> ListCollections(pqxx::work& txn, int64_t tenant_id,
                                              const std::string& after_name, int limit);
// Marks the collection deleted and tombstones its live documents (so they
// leave every shard's index); returns how many documents were tombstoned.
int64_t SoftDeleteCollection(pqxx::work& txn, int64_t collection_id);

struct UpsertResult {
  int inserted = 0;
  int updated = 0;
  int unchanged = 0;
  // Highest seq this write produced (0 if nothing changed).
  int64_t max_seq = 0;
  // Ids whose text has no current vector (need embedding).
  std::vector<std::string> pending_ids;
};

// Inserts or replaces documents in one statement. A document whose text,
// metadata, tags and vector are all unchanged is left alone (no new seq, no
// re-embedding); a changed text keeps its old vector until a worker writes the
// new one. Documents carrying a vector store it as their current embedding.
UpsertResult UpsertDocuments(pqxx::work& txn, const CollectionRecord& collection,
                             const google::protobuf::RepeatedPtrField<
                                 quarry::gateway::v1::Document>& documents);

struct DeleteResult {
  int deleted = 0;
  int64_t max_seq = 0;
};
DeleteResult DeleteDocuments(pqxx::work& txn, int64_t collection_id,
                             const std::vector<std::string>& ids);

// Live documents by id (in no particular order).
std::vector<quarry::gateway::v1::Document> GetDocuments(pqxx::work& txn, int64_t collection_id,
                                                        const std::vector<std::string>& ids);

struct CollectionStats {
  int64_t documents = 0;
  int64_t indexed = 0;
  int64_t pending = 0;
  int64_t deleted = 0;
  int64_t latest_sequence = 0;
};
CollectionStats GetCollectionStats(pqxx::work& txn, int64_t collection_id);

// The highest seq of the given live documents (their latest write), 0 if none.
int64_t MaxSequence(pqxx::work& txn, int64_t collection_id, const std::vector<std::string>& ids);

struct JobKindStatsRow {
  std::string kind;
  int64_t queued = 0, running = 0, succeeded = 0, dead = 0, cancelled = 0;
  double success_rate = 0, mean_attempts = 0;
  std::string refreshed_at;  // RFC 3339
};
// The tenant's rows of the job_success_rates view (refreshed by refresh_stats jobs).
std::vector<JobKindStatsRow> JobStats(pqxx::work& txn, int64_t tenant_id);

}  // namespace quarry::gateway::store

#endif  // QUARRY_SERVICES_GATEWAY_STORE_H_
