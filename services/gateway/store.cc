#include "services/gateway/store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "services/common/crypto/sha256.h"
#include "services/common/model/document_sql.h"
#include "services/common/model/vector_codec.h"
#include "services/common/pg/document_order.h"
#include "services/common/sql/text_array.h"

namespace quarry::gateway::store {
namespace {

std::optional<absl::Time> OptionalMicros(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return absl::FromUnixMicros(field.as<int64_t>());
}

constexpr char kKeyColumns[] = R"(
  id, tenant_id, name, scopes::text, rate_limit_per_second, burst,
  (extract(epoch from created_at) * 1000000)::bigint,
  (extract(epoch from revoked_at) * 1000000)::bigint, worker_kinds::text)";

KeyRecord RowToKey(const pqxx::row& row) {
  KeyRecord key;
  key.id = row[0].as<std::string>();
  key.tenant_id = row[1].as<int64_t>();
  key.name = row[2].as<std::string>();
  key.scopes = sql::ParseTextArray(row[3].as<std::string>());
  if (!row[4].is_null()) key.rate_limit_per_second = row[4].as<double>();
  if (!row[5].is_null()) key.burst = row[5].as<int>();
  key.created_at = absl::FromUnixMicros(row[6].as<int64_t>());
  key.revoked_at = OptionalMicros(row[7]);
  key.worker_kinds = sql::ParseTextArray(row[8].as<std::string>());
  return key;
}

constexpr char kCollectionColumns[] = R"(
  id, tenant_id, name, dimension, metric, model,
  (extract(epoch from created_at) * 1000000)::bigint)";

CollectionRecord RowToCollection(const pqxx::row& row) {
  CollectionRecord c;
  c.id = row[0].as<int64_t>();
  c.tenant_id = row[1].as<int64_t>();
  c.name = row[2].as<std::string>();
  c.dimension = row[3].as<int>();
  c.metric = row[4].as<std::string>();
  c.model = row[5].as<std::string>();
  c.created_at = absl::FromUnixMicros(row[6].as<int64_t>());
  return c;
}

std::string MetadataJson(const google::protobuf::Map<std::string, std::string>& metadata) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [key, value] : metadata) json[key] = value;
  return json.dump();
}

}  // namespace

int64_t EnsureTenant(pqxx::work& txn, const std::string& name) {
  return txn
      .exec_params1("INSERT INTO tenants (name) VALUES ($1) ON CONFLICT (name) DO UPDATE "
                    "SET name = EXCLUDED.name RETURNING id",
                    name)[0]
      .as<int64_t>();
}

KeyRecord InsertKey(pqxx::work& txn, const KeyRecord& key, const std::string& key_hash) {
  pqxx::binarystring hash(key_hash.data(), key_hash.size());
  return RowToKey(txn.exec_params1(
      absl::StrCat("INSERT INTO api_keys (id, tenant_id, name, key_hash, scopes, "
                   "rate_limit_per_second, burst, worker_kinds) "
                   "VALUES ($1, $2, $3, $4, $5::text[], $6, $7, $8::text[]) RETURNING ",
                   kKeyColumns),
      key.id, key.tenant_id, key.name, hash, sql::TextArray(key.scopes),
      key.rate_limit_per_second, key.burst, sql::TextArray(key.worker_kinds)));
}

std::optional<KeyRecord> FindKeyByHash(pqxx::work& txn, const std::string& key_hash) {
  pqxx::binarystring hash(key_hash.data(), key_hash.size());
  pqxx::result r = txn.exec_params(
      absl::StrCat("SELECT ", kKeyColumns, " FROM api_keys WHERE key_hash = $1"), hash);
  if (r.empty()) return std::nullopt;
  return RowToKey(r[0]);
}

std::vector<KeyRecord> ListKeys(pqxx::work& txn, int64_t tenant_id) {
  std::vector<KeyRecord> keys;
  for (const auto& row : txn.exec_params(
           absl::StrCat("SELECT ", kKeyColumns,
                        " FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id"),
           tenant_id)) {
    keys.push_back(RowToKey(row));
  }
  return keys;
}

std::optional<KeyRecord> RevokeKey(pqxx::work& txn, int64_t tenant_id, const std::string& id) {
  pqxx::result r = txn.exec_params(
      absl::StrCat("UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
                   "WHERE tenant_id = $1 AND id = $2 RETURNING ",
                   kKeyColumns),
      tenant_id, id);
  if (r.empty()) return std::nullopt;
  return RowToKey(r[0]);
}

CollectionRecord InsertCollection(pqxx::work& txn, const CollectionRecord& c) {
  return RowToCollection(txn.exec_params1(
      absl::StrCat("INSERT INTO collections (tenant_id, name, dimension, metric, model) "
                   "VALUES ($1, $2, $3, $4, $5) RETURNING ",
                   kCollectionColumns),
      c.tenant_id, c.name, c.dimension, c.metric, c.model));
}

std::optional<CollectionRecord> GetCollection(pqxx::work& txn, int64_t tenant_id,
                                              const std::string& name) {
  pqxx::result r = txn.exec_params(
      model::LiveCollectionByNameSql(kCollectionColumns),
      tenant_id, name);
  if (r.empty()) return std::nullopt;
  return RowToCollection(r[0]);
}

std::optional<CollectionRecord> LockLiveCollection(pqxx::work& txn, int64_t tenant_id,
                                                   const std::string& name,
                                                   CollectionLock lock) {
  // FOR SHARE conflicts with the FOR NO KEY UPDATE that a delete's UPDATE
  // takes, and not with the FOR KEY SHARE of the documents' foreign key.
  pqxx::result r = txn.exec_params(
      absl::StrCat(model::LiveCollectionByNameSql(kCollectionColumns),
                   lock == CollectionLock::kShare ? " FOR SHARE" : " FOR NO KEY UPDATE"),
      tenant_id, name);
  if (r.empty()) return std::nullopt;
  return RowToCollection(r[0]);
}

std::vector<int64_t> LiveCollectionIds(pqxx::work& txn, const std::vector<int64_t>& ids) {
  std::vector<std::string> texts;
  for (int64_t id : ids) texts.push_back(absl::StrCat(id));
  std::vector<int64_t> live;
  for (const auto& row :
       txn.exec_params("SELECT id FROM collections WHERE id = ANY($1::bigint[]) "
                       "AND deleted_at IS NULL",
                       sql::TextArray(texts))) {
    live.push_back(row[0].as<int64_t>());
  }
  return live;
}

std::vector<CollectionRecord> ListCollections(pqxx::work& txn, int64_t tenant_id,
                                              const std::string& after_name, int limit) {
  std::vector<CollectionRecord> out;
  for (const auto& row : txn.exec_params(
           absl::StrCat("SELECT ", kCollectionColumns,
                        " FROM collections WHERE tenant_id = $1 AND deleted_at IS NULL "
                        "AND name > $2 ORDER BY name LIMIT $3"),
           tenant_id, after_name, limit)) {
    out.push_back(RowToCollection(row));
  }
  return out;
}

int64_t SoftDeleteCollection(pqxx::work& txn, int64_t collection_id) {
  txn.exec_params("UPDATE collections SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL",
                  collection_id);
  // Documents last: the document-order lock is held from here until commit.
  pg::LockDocumentOrder(txn);
  return static_cast<int64_t>(
      txn.exec_params("UPDATE documents SET deleted = true WHERE collection_id = $1 AND NOT deleted",
                      collection_id)
          .affected_rows());
}

UpsertResult UpsertDocuments(
    pqxx::work& txn, const CollectionRecord& collection,
    const google::protobuf::RepeatedPtrField<quarry::gateway::v1::Document>& documents) {
  // One multi-row statement: a single round trip while the document-order
  // lock is held (see the seq trigger), whatever the batch size.
  std::vector<std::string> rows;
  rows.reserve(documents.size());
  for (const auto& doc : documents) {
    const std::string hash = crypto::Sha256(doc.text());
    const std::string quoted_hash = txn.quote_raw(
        reinterpret_cast<const unsigned char*>(hash.data()), hash.size());
    std::vector<std::string> tags(doc.tags().begin(), doc.tags().end());
    std::string embedding = "NULL::bytea", embedding_model = "NULL::text",
                embedded = "NULL::bytea";
    if (doc.has_vector()) {
      const std::string bytes = model::EncodeVector(doc.vector().values());
      embedding = txn.quote_raw(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
      embedding_model = txn.quote("client-supplied");
      embedded = quoted_hash;
    }
    rows.push_back(absl::StrCat("(", collection.id, ", ", txn.quote(doc.id()), ", ",
                                txn.quote(doc.text()), ", ", txn.quote(MetadataJson(doc.metadata())),
                                "::jsonb, ", txn.quote(sql::TextArray(tags)), "::text[], ",
                                quoted_hash, ", ", embedding, ", ", embedding_model, ", ", embedded,
                                ")"));
  }
  pg::LockDocumentOrder(txn);
  pqxx::result r = txn.exec(absl::StrCat(R"(
    INSERT INTO documents AS d (collection_id, doc_id, text, metadata, tags, content_hash,
                                embedding, embedding_model, embedded_hash)
    VALUES )",
                                         absl::StrJoin(rows, ",\n"), R"(
    ON CONFLICT (collection_id, doc_id) DO UPDATE SET
      text = EXCLUDED.text, metadata = EXCLUDED.metadata, tags = EXCLUDED.tags,
      content_hash = EXCLUDED.content_hash, deleted = false,
      embedding = coalesce(EXCLUDED.embedding, d.embedding),
      embedding_model = coalesce(EXCLUDED.embedding_model, d.embedding_model),
      embedded_hash = CASE WHEN EXCLUDED.embedding IS NOT NULL THEN EXCLUDED.embedded_hash
                           ELSE d.embedded_hash END
    WHERE d.deleted OR d.content_hash <> EXCLUDED.content_hash
       OR d.metadata <> EXCLUDED.metadata OR d.tags <> EXCLUDED.tags
       OR (EXCLUDED.embedding IS NOT NULL AND EXCLUDED.embedding IS DISTINCT FROM d.embedding)
    RETURNING d.doc_id, (xmax = 0) AS inserted, d.seq, )",
                                         // RETURNING sees the row as written: never deleted.
                                         model::PendingDocumentSql("d"), " AS pending"));
  UpsertResult result;
  for (const auto& row : r) {
    if (row[1].as<bool>()) {
      ++result.inserted;
    } else {
      ++result.updated;
    }
    result.max_seq = std::max(result.max_seq, row[2].as<int64_t>());
    if (row[3].as<bool>()) result.pending_ids.push_back(row[0].as<std::string>());
  }
  result.unchanged = documents.size() - static_cast<int>(r.size());
  return result;
}

DeleteResult DeleteDocuments(pqxx::work& txn, int64_t collection_id,
                             const std::vector<std::string>& ids) {
  pg::LockDocumentOrder(txn);
  pqxx::result r = txn.exec_params(
      "UPDATE documents SET deleted = true WHERE collection_id = $1 "
      "AND doc_id = ANY($2::text[]) AND NOT deleted RETURNING seq",
      collection_id, sql::TextArray(ids));
  DeleteResult result;
  result.deleted = static_cast<int>(r.size());
  for (const auto& row : r) result.max_seq = std::max(result.max_seq, row[0].as<int64_t>());
  return result;
}

std::vector<quarry::gateway::v1::Document> GetDocuments(pqxx::work& txn, int64_t collection_id,
                                                        const std::vector<std::string>& ids) {
  std::vector<quarry::gateway::v1::Document> out;
  for (const auto& row : txn.exec_params(
           absl::StrCat("SELECT doc_id, text, metadata::text, tags::text, "
                        "(extract(epoch from updated_at) * 1000000)::bigint, ",
                        model::IndexedDocumentSql(),
                        " FROM documents WHERE collection_id = $1 AND doc_id = ANY($2::text[]) "
                        "AND NOT deleted"),
           collection_id, sql::TextArray(ids))) {
    quarry::gateway::v1::Document& doc = out.emplace_back();
    doc.set_id(row[0].as<std::string>());
    doc.set_text(row[1].as<std::string>());
    nlohmann::json metadata =
        nlohmann::json::parse(row[2].as<std::string>(), nullptr, /*allow_exceptions=*/false);
    if (metadata.is_object()) {
      for (const auto& [key, value] : metadata.items()) {
        if (value.is_string()) (*doc.mutable_metadata())[key] = value.get<std::string>();
      }
    }
    for (std::string& tag : sql::ParseTextArray(row[3].as<std::string>())) {
      doc.add_tags(std::move(tag));
    }
    const int64_t micros = row[4].as<int64_t>();
    doc.mutable_update_time()->set_seconds(micros / 1'000'000);
    doc.mutable_update_time()->set_nanos(static_cast<int32_t>(micros % 1'000'000) * 1000);
    doc.set_indexed(row[5].as<bool>());
  }
  return out;
}

CollectionStats GetCollectionStats(pqxx::work& txn, int64_t collection_id) {
  pqxx::row row = txn.exec_params1(
      absl::StrCat("SELECT count(*) FILTER (WHERE NOT deleted), count(*) FILTER (WHERE ",
                   model::IndexedDocumentSql(), "), count(*) FILTER (WHERE ",
                   model::PendingDocumentSql(),
                   "), count(*) FILTER (WHERE deleted), coalesce(max(seq), 0) "
                   "FROM documents WHERE collection_id = $1"),
      collection_id);
  return {row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<int64_t>(), row[3].as<int64_t>(),
          row[4].as<int64_t>()};
}

int64_t MaxSequence(pqxx::work& txn, int64_t collection_id, const std::vector<std::string>& ids) {
  return txn
      .exec_params1("SELECT coalesce(max(seq), 0) FROM documents WHERE collection_id = $1 "
                    "AND doc_id = ANY($2::text[])",
                    collection_id, sql::TextArray(ids))[0]
      .as<int64_t>();
}

std::vector<JobKindStatsRow> JobStats(pqxx::work& txn, int64_t tenant_id) {
  std::vector<JobKindStatsRow> rows;
  for (const auto& row : txn.exec_params(
           "SELECT kind, queued, running, succeeded, dead, cancelled, success_rate, "
           "mean_attempts, to_char(refreshed_at AT TIME ZONE 'UTC', "
           "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM job_success_rates WHERE tenant_id = $1 "
           "ORDER BY kind",
           tenant_id)) {
    rows.push_back({row[0].as<std::string>(), row[1].as<int64_t>(), row[2].as<int64_t>(),
                     row[3].as<int64_t>(), row[4].as<int64_t>(), row[5].as<int64_t>(),
                     row[6].as<double>(), row[7].as<double>(), row[8].as<std::string>()});
  }
  return rows;
}

}  // namespace quarry::gateway::store
