#ifndef QUARRY_SERVICES_GATEWAY_STORE_H_
#define QUARRY_SERVICES_GATEWAY_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "quarry/gateway/v1/document_service.pb.h"
#include "services/gateway/records.h"

namespace quarry::gateway::store {

// The gateway's SQL over the schema of the first migration: tenants and keys,
// collections, documents and stats. Every function runs inside a transaction
// it is given and may throw libpqxx exceptions: call them only inside
// pg::Pool::WithTransaction, which maps them to absl::Status. The records
// they take and return are in records.h.

// The tenant named `name`, created if missing.
int64_t EnsureTenant(pqxx::work& txn, const std::string& name);
KeyRecord InsertKey(pqxx::work& txn, const KeyRecord& key, const std::string& key_hash);
// The key whose secret hashes to `key_hash`, revoked or not.
std::optional<KeyRecord> FindKeyByHash(pqxx::work& txn, const std::string& key_hash);
std::vector<KeyRecord> ListKeys(pqxx::work& txn, int64_t tenant_id);
// Revokes the tenant's key (once); nullopt if the tenant has no such key.
std::optional<KeyRecord> RevokeKey(pqxx::work& txn, int64_t tenant_id, const std::string& id);

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

// Inserts or replaces documents in one statement. A document whose text,
// metadata, tags and vector are all unchanged is left alone (no new seq, no
// re-embedding); a changed text keeps its old vector until a worker writes the
// new one. Documents carrying a vector store it as their current embedding.
UpsertResult UpsertDocuments(pqxx::work& txn, const CollectionRecord& collection,
                             const google::protobuf::RepeatedPtrField<
                                 quarry::gateway::v1::Document>& documents);

DeleteResult DeleteDocuments(pqxx::work& txn, int64_t collection_id,
                             const std::vector<std::string>& ids);

// Live documents by id (in no particular order).
std::vector<quarry::gateway::v1::Document> GetDocuments(pqxx::work& txn, int64_t collection_id,
                                                        const std::vector<std::string>& ids);

CollectionStats GetCollectionStats(pqxx::work& txn, int64_t collection_id);

// The highest seq of the given live documents (their latest write), 0 if none.
int64_t MaxSequence(pqxx::work& txn, int64_t collection_id, const std::vector<std::string>& ids);

// The tenant's rows of the job_success_rates view (refreshed by refresh_stats jobs).
std::vector<JobKindStatsRow> JobStats(pqxx::work& txn, int64_t tenant_id);

}  // namespace quarry::gateway::store

#endif  // QUARRY_SERVICES_GATEWAY_STORE_H_
