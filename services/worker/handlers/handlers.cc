#include "services/worker/handlers/handlers.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/model/index_documents_payload.h"
#include "services/common/model/job_kinds.h"
#include "services/common/model/vector_codec.h"
#include "services/common/status/macros.h"
#include "services/worker/handlers/document_sql.h"

namespace quarry::worker {
namespace {

absl::StatusOr<nlohmann::json> ParsePayload(const jobqueue::Job& job) {
  nlohmann::json payload =
      nlohmann::json::parse(job.payload_json, nullptr, /*allow_exceptions=*/false);
  if (payload.is_discarded() || !payload.is_object()) {
    return absl::InvalidArgumentError("payload: must be a JSON object");
  }
  return payload;
}

// Embeds documents batch by batch and writes their vectors, reusing vectors
// the embedding cache already holds for the same text and model. Shared by
// index_documents (pending documents) and reindex_collection (all of them).
class DocumentEmbedder {
 public:
  DocumentEmbedder(pg::Pool& pool, EmbeddingClient& client, const HandlerOptions& options)
      : pool_(pool), client_(client), options_(options) {}

  struct Totals {
    int64_t embedded = 0;
    int64_t reused = 0;
    int64_t written = 0;
  };

  // `fetch(after_id, limit)` returns the next documents in id order. A
  // re-index neither trusts the cache nor skips documents that have a vector:
  // the point is fresh vectors from the model as it is now.
  template <typename Fetch>
  absl::StatusOr<Totals> Run(JobContext& context, const sql::CollectionInfo& collection,
                             int64_t total, bool reindex, Fetch fetch) {
    Totals totals;
    std::string after;
    int64_t done = 0;
    while (true) {
      if (context.ShouldStop()) return absl::CancelledError("stopped between batches");
      QUARRY_ASSIGN_OR_RETURN(
          std::vector<sql::PendingDocument> batch,
          pool_.WithTransaction(
              [&](pqxx::work& txn) -> absl::StatusOr<std::vector<sql::PendingDocument>> {
                return fetch(txn, after, options_.batch_size);
              }));
      if (batch.empty()) break;
      after = batch.back().doc_id;

      std::vector<std::string> hashes;
      if (!reindex) {
        for (const auto& doc : batch) hashes.push_back(doc.content_hash_hex);
      }
      QUARRY_ASSIGN_OR_RETURN(
          auto cached,
          pool_.WithTransaction(
              [&](pqxx::work& txn) -> absl::StatusOr<std::map<std::string, std::string>> {
                return sql::CachedEmbeddings(txn, collection.model, hashes);
              }));

      std::vector<sql::VectorWrite> writes;
      std::vector<const sql::PendingDocument*> misses;
      std::vector<std::string> texts;
      for (const auto& doc : batch) {
        auto hit = cached.find(doc.content_hash_hex);
        if (hit != cached.end() &&
            hit->second.size() == model::EncodedVectorBytes(collection.dimension)) {
          writes.push_back({doc.doc_id, doc.content_hash_hex, hit->second});
          ++totals.reused;
        } else {
          misses.push_back(&doc);
          texts.push_back(doc.text);
        }
      }
      if (!texts.empty()) {
        QUARRY_ASSIGN_OR_RETURN(
            std::vector<std::vector<float>> vectors,
            client_.Embed(collection.model, collection.dimension, texts, options_.embed_timeout));
        for (size_t i = 0; i < misses.size(); ++i) {
          writes.push_back(
              {misses[i]->doc_id, misses[i]->content_hash_hex, model::EncodeVector(vectors[i])});
        }
        totals.embedded += static_cast<int64_t>(texts.size());
      }
      QUARRY_ASSIGN_OR_RETURN(
          int written, pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int> {
            return sql::WriteVectors(txn, collection.id, collection.model, writes, reindex);
          }));
      totals.written += written;
      done += static_cast<int64_t>(batch.size());
      const double fraction = total > 0 ? std::min(1.0, static_cast<double>(done) / total) : 1.0;
      (void)context.SetProgress(fraction, absl::StrCat(done, " of ", total, " documents"));
    }
    return totals;
  }

 private:
  pg::Pool& pool_;
  EmbeddingClient& client_;
  const HandlerOptions options_;
};

std::string TotalsJson(const DocumentEmbedder::Totals& totals) {
  return nlohmann::json{{"embedded", totals.embedded},
                        {"reused_from_cache", totals.reused},
                        {"written", totals.written}}
      .dump();
}

absl::StatusOr<sql::CollectionInfo> LoadCollection(pg::Pool& pool, int64_t id) {
  QUARRY_ASSIGN_OR_RETURN(
      std::optional<sql::CollectionInfo> collection,
      pool.WithTransaction(
          [&](pqxx::work& txn) -> absl::StatusOr<std::optional<sql::CollectionInfo>> {
            return sql::GetCollection(txn, id);
          }));
  if (!collection.has_value()) {
    return absl::NotFoundError(absl::StrCat("payload.collection_id: collection ", id, " not found"));
  }
  return *collection;
}

class IndexDocumentsHandler final : public JobHandler {
 public:
  IndexDocumentsHandler(pg::Pool& pool, EmbeddingClient& client, const HandlerOptions& options)
      : pool_(pool), embedder_(pool, client, options) {}
  absl::string_view kind() const override { return model::kIndexDocuments; }

  absl::StatusOr<std::string> Run(JobContext& context) override {
    QUARRY_ASSIGN_OR_RETURN(model::IndexDocumentsPayload payload,
                            model::DecodeIndexDocumentsPayload(context.job().payload_json));
    const std::optional<std::vector<std::string>>& ids = payload.ids;
    QUARRY_ASSIGN_OR_RETURN(sql::CollectionInfo collection,
                            LoadCollection(pool_, payload.collection_id));
    if (collection.deleted) return std::string(R"({"skipped": "collection deleted"})");
    const int64_t total = ids.has_value() ? static_cast<int64_t>(ids->size()) : 0;
    const std::vector<std::string>* id_filter = ids.has_value() ? &*ids : nullptr;
    QUARRY_ASSIGN_OR_RETURN(
        DocumentEmbedder::Totals totals,
        embedder_.Run(context, collection, total, /*reindex=*/false,
                      [&](pqxx::work& txn, const std::string& after, int limit) {
                        return sql::PendingDocuments(txn, collection.id, id_filter, after, limit);
                      }));
    return TotalsJson(totals);
  }

 private:
  pg::Pool& pool_;
  DocumentEmbedder embedder_;
};

class ReindexCollectionHandler final : public JobHandler {
 public:
  ReindexCollectionHandler(pg::Pool& pool, EmbeddingClient& client, const HandlerOptions& options)
      : pool_(pool), embedder_(pool, client, options) {}
  absl::string_view kind() const override { return model::kReindexCollection; }

  absl::StatusOr<std::string> Run(JobContext& context) override {
    QUARRY_ASSIGN_OR_RETURN(nlohmann::json payload, ParsePayload(context.job()));
    absl::StatusOr<sql::CollectionInfo> collection;
    if (payload.contains("collection_id") && payload["collection_id"].is_number_integer()) {
      collection = LoadCollection(pool_, payload["collection_id"].get<int64_t>());
      if (collection.ok() && context.job().tenant_id.has_value() &&
          collection->tenant_id != context.job().tenant_id) {
        collection = absl::NotFoundError("payload.collection_id: collection not found");
      }
    } else if (payload.contains("collection") && payload["collection"].is_string()) {
      if (!context.job().tenant_id.has_value()) {
        return absl::InvalidArgumentError("payload.collection: a system job must name collection_id");
      }
      const std::string name = payload["collection"].get<std::string>();
      QUARRY_ASSIGN_OR_RETURN(
          std::optional<sql::CollectionInfo> found,
          pool_.WithTransaction(
              [&](pqxx::work& txn) -> absl::StatusOr<std::optional<sql::CollectionInfo>> {
                return sql::FindCollection(txn, *context.job().tenant_id, name);
              }));
      if (!found.has_value()) {
        return absl::NotFoundError(absl::StrCat("payload.collection: \"", name, "\" not found"));
      }
      collection = *found;
    } else {
      return absl::InvalidArgumentError(
          "payload: needs \"collection\" (a name) or \"collection_id\" (an integer)");
    }
    if (!collection.ok()) return collection.status();
    QUARRY_ASSIGN_OR_RETURN(
        int64_t total, pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
          return sql::CountLiveDocuments(txn, collection->id);
        }));
    // Old vectors keep serving searches until each batch is rewritten.
    QUARRY_ASSIGN_OR_RETURN(
        DocumentEmbedder::Totals totals,
        embedder_.Run(context, *collection, total, /*reindex=*/true,
                      [&](pqxx::work& txn, const std::string& after, int limit) {
                        return sql::AllDocuments(txn, collection->id, after, limit);
                      }));
    return TotalsJson(totals);
  }

 private:
  pg::Pool& pool_;
  DocumentEmbedder embedder_;
};

class RefreshStatsHandler final : public JobHandler {
 public:
  explicit RefreshStatsHandler(pg::Pool& pool) : pool_(pool) {}
  absl::string_view kind() const override { return model::kRefreshStats; }
  absl::StatusOr<std::string> Run(JobContext& context) override {
    QUARRY_RETURN_IF_ERROR(pool_.WithTransaction([](pqxx::work& txn) -> absl::Status {
      sql::RefreshJobStats(txn);
      return absl::OkStatus();
    }));
    return std::string(R"({"refreshed": "job_success_rates"})");
  }

 private:
  pg::Pool& pool_;
};

class PurgeDeletedHandler final : public JobHandler {
 public:
  PurgeDeletedHandler(pg::Pool& pool, absl::Duration retention)
      : pool_(pool), retention_(retention) {}
  absl::string_view kind() const override { return model::kPurgeDeleted; }
  absl::StatusOr<std::string> Run(JobContext& context) override {
    QUARRY_ASSIGN_OR_RETURN(nlohmann::json payload, ParsePayload(context.job()));
    double retention = absl::ToDoubleSeconds(retention_);
    if (payload.contains("retention_seconds")) {
      if (!payload["retention_seconds"].is_number() ||
          payload["retention_seconds"].get<double>() < 0) {
        return absl::InvalidArgumentError("payload.retention_seconds: must be a number >= 0");
      }
      retention = payload["retention_seconds"].get<double>();
    }
    int64_t purged = 0;
    // In slices, so no single transaction holds many row locks for long.
    while (true) {
      if (context.ShouldStop()) return absl::CancelledError("stopped between slices");
      QUARRY_ASSIGN_OR_RETURN(
          int64_t slice, pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
            return sql::PurgeTombstones(txn, retention, 1000);
          }));
      purged += slice;
      if (slice < 1000) break;
    }
    return nlohmann::json{{"purged_documents", purged}}.dump();
  }

 private:
  pg::Pool& pool_;
  const absl::Duration retention_;
};

}  // namespace

absl::Status RegisterHandlers(HandlerRegistry& registry, pg::Pool& pool, EmbeddingClient& embedder,
                              const HandlerOptions& options) {
  QUARRY_RETURN_IF_ERROR(
      registry.Register(std::make_unique<IndexDocumentsHandler>(pool, embedder, options)));
  QUARRY_RETURN_IF_ERROR(
      registry.Register(std::make_unique<ReindexCollectionHandler>(pool, embedder, options)));
  QUARRY_RETURN_IF_ERROR(registry.Register(std::make_unique<RefreshStatsHandler>(pool)));
  return registry.Register(std::make_unique<PurgeDeletedHandler>(pool, options.purge_retention));
}

}  // namespace quarry::worker
