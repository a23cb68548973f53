#ifndef QUARRY_SERVICES_WORKER_HANDLERS_DOCUMENT_SQL_H_
#define QUARRY_SERVICES_WORKER_HANDLERS_DOCUMENT_SQL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

namespace quarry::worker::sql {

// The workers' SQL over documents, collections and the embedding cache. Like
// every store function it runs inside a pg::Pool transaction and may throw.

struct CollectionInfo {
  int64_t id = 0;
  std::optional<int64_t> tenant_id;
  int dimension = 0;
  std::string model;
  bool deleted = false;
};
std::optional<CollectionInfo> GetCollection(pqxx::work& txn, int64_t collection_id);
// By name within a tenant (live collections only).
std::optional<CollectionInfo> FindCollection(pqxx::work& txn, int64_t tenant_id,
                                             const std::string& name);

struct PendingDocument {
  std::string doc_id;
  std::string text;
  std::string content_hash_hex;
};

// Live documents whose text has no current vector; only `ids` when given.
// Ordered by id, after `after_id`, at most `limit`.
std::vector<PendingDocument> PendingDocuments(pqxx::work& txn, int64_t collection_id,
                                              const std::vector<std::string>* ids,
                                              const std::string& after_id, int limit);
// Every live document (for a re-index), ordered by id, after `after_id`.
std::vector<PendingDocument> AllDocuments(pqxx::work& txn, int64_t collection_id,
                                          const std::string& after_id, int limit);
int64_t CountLiveDocuments(pqxx::work& txn, int64_t collection_id);

// Vectors already computed for these content hashes with `model`
// (hex hash -> float32 little-endian bytes), from the shared embedding cache.
std::map<std::string, std::string> CachedEmbeddings(pqxx::work& txn, const std::string& model,
                                                    const std::vector<std::string>& hashes_hex);

struct VectorWrite {
  std::string doc_id;
  std::string content_hash_hex;  // the text the vector was computed from
  std::string embedding;         // float32 little-endian
};
// Writes vectors for documents whose text is still the one embedded (a
// document re-upserted meanwhile keeps waiting for its own job). Idempotent:
// keyed by (document, content hash); a document that already has a vector for
// its text is skipped unless `overwrite` (a re-index). Returns the documents written.
int WriteVectors(pqxx::work& txn, int64_t collection_id, const std::string& model,
                 const std::vector<VectorWrite>& writes, bool overwrite);

// Hard-deletes tombstones older than `retention_seconds` (at most `limit`
// rows) and collections deleted before that which have no documents left.
int64_t PurgeTombstones(pqxx::work& txn, double retention_seconds, int limit);

void RefreshJobStats(pqxx::work& txn);

}  // namespace quarry::worker::sql

#endif  // QUARRY_SERVICES_WORKER_HANDLERS_DOCUMENT_SQL_H_
