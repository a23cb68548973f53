#include "services/worker/handlers/document_sql.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/model/document_sql.h"
#include "services/common/pg/document_order.h"
#include "services/common/sql/text_array.h"

namespace quarry::worker::sql {
namespace {

CollectionInfo RowToCollection(const pqxx::row& row) {
  CollectionInfo c;
  c.id = row[0].as<int64_t>();
  if (!row[1].is_null()) c.tenant_id = row[1].as<int64_t>();
  c.dimension = row[2].as<int>();
  c.model = row[3].as<std::string>();
  c.deleted = row[4].as<bool>();
  return c;
}

std::vector<PendingDocument> RowsToDocuments(const pqxx::result& r) {
  std::vector<PendingDocument> docs;
  docs.reserve(r.size());
  for (const auto& row : r) {
    docs.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()});
  }
  return docs;
}

constexpr char kCollectionColumns[] =
    "id, tenant_id, dimension, model, deleted_at IS NOT NULL";

}  // namespace

std::optional<CollectionInfo> GetCollection(pqxx::work& txn, int64_t collection_id) {
  pqxx::result r = txn.exec_params(
      absl::StrCat("SELECT ", kCollectionColumns, " FROM collections WHERE id = $1"),
      collection_id);
  if (r.empty()) return std::nullopt;
  return RowToCollection(r[0]);
}

std::optional<CollectionInfo> FindCollection(pqxx::work& txn, int64_t tenant_id,
                                             const std::string& name) {
  pqxx::result r =
      txn.exec_params(model::LiveCollectionByNameSql(kCollectionColumns), tenant_id, name);
  if (r.empty()) return std::nullopt;
  return RowToCollection(r[0]);
}

std::vector<PendingDocument> PendingDocuments(pqxx::work& txn, int64_t collection_id,
                                              const std::vector<std::string>* ids,
                                              const std::string& after_id, int limit) {
  return RowsToDocuments(txn.exec_params(
      absl::StrCat("SELECT doc_id, text, encode(content_hash, 'hex') FROM documents "
                   "WHERE collection_id = $1 AND ",
                   model::PendingDocumentSql(),
                   " AND ($2::text[] IS NULL OR doc_id = ANY($2::text[])) AND doc_id > $3 "
                   "ORDER BY doc_id LIMIT $4"),
      collection_id,
      ids == nullptr ? std::optional<std::string>() : std::optional<std::string>(::quarry::sql::TextArray(*ids)),
      after_id, limit));
}

std::vector<PendingDocument> AllDocuments(pqxx::work& txn, int64_t collection_id,
                                          const std::string& after_id, int limit) {
  return RowsToDocuments(txn.exec_params(
      "SELECT doc_id, text, encode(content_hash, 'hex') FROM documents "
      "WHERE collection_id = $1 AND NOT deleted AND doc_id > $2 ORDER BY doc_id LIMIT $3",
      collection_id, after_id, limit));
}

int64_t CountLiveDocuments(pqxx::work& txn, int64_t collection_id) {
  return txn
      .exec_params1("SELECT count(*) FROM documents WHERE collection_id = $1 AND NOT deleted",
                    collection_id)[0]
      .as<int64_t>();
}

std::map<std::string, std::string> CachedEmbeddings(pqxx::work& txn, const std::string& model,
                                                    const std::vector<std::string>& hashes_hex) {
  std::map<std::string, std::string> found;
  if (hashes_hex.empty()) return found;
  for (const auto& row : txn.exec_params(
           "SELECT encode(content_hash, 'hex'), embedding FROM embedding_cache "
           "WHERE model = $1 AND content_hash = ANY(ARRAY(SELECT decode(h, 'hex') "
           "FROM unnest($2::text[]) AS h))",
           model, ::quarry::sql::TextArray(hashes_hex))) {
    pqxx::binarystring bytes(row[1]);
    found[row[0].as<std::string>()] = bytes.str();
  }
  return found;
}

int WriteVectors(pqxx::work& txn, int64_t collection_id, const std::string& model,
                 const std::vector<VectorWrite>& writes, bool overwrite) {
  if (writes.empty()) return 0;
  std::vector<std::string> rows;
  rows.reserve(writes.size());
  for (const VectorWrite& w : writes) {
    rows.push_back(absl::StrCat(
        "(", txn.quote(w.doc_id), ", decode(", txn.quote(w.content_hash_hex), ", 'hex'), ",
        txn.quote_raw(reinterpret_cast<const unsigned char*>(w.embedding.data()),
                      w.embedding.size()),
        "::bytea)"));
  }
  // One statement: the document-order lock (see the seq trigger) is held for
  // a single round trip per batch.
  pg::LockDocumentOrder(txn);
  return static_cast<int>(
      txn.exec(absl::StrCat(
                   "UPDATE documents AS d SET embedding = v.embedding, embedding_model = ",
                   txn.quote(model), ", embedded_hash = v.hash FROM (VALUES ",
                   absl::StrJoin(rows, ", "),
                   ") AS v(doc_id, hash, embedding) WHERE d.collection_id = ", collection_id,
                   " AND d.doc_id = v.doc_id AND d.content_hash = v.hash AND NOT d.deleted",
                   overwrite ? "" : " AND d.embedded_hash IS DISTINCT FROM v.hash"))
          .affected_rows());
}

int64_t PurgeTombstones(pqxx::work& txn, double retention_seconds, int limit) {
  // Deleting rows fires no seq trigger, but it locks rows a writer may be
  // waiting to update: the same lock first keeps the order.
  pg::LockDocumentOrder(txn);
  const int64_t purged =
      static_cast<int64_t>(txn.exec_params(
                                  "DELETE FROM documents WHERE ctid = ANY(ARRAY("
                                  "SELECT ctid FROM documents WHERE deleted AND deleted_at < "
                                  "now() - make_interval(secs => $1) LIMIT $2))",
                                  retention_seconds, limit)
                              .affected_rows());
  txn.exec_params(
      "DELETE FROM collections c WHERE deleted_at < now() - make_interval(secs => $1) "
      "AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.collection_id = c.id)",
      retention_seconds);
  return purged;
}

void RefreshJobStats(pqxx::work& txn) {
  txn.exec("REFRESH MATERIALIZED VIEW CONCURRENTLY job_success_rates");
}

}  // namespace quarry::worker::sql
