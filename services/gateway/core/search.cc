#include "services/gateway/core/search.h"

#include <algorithm>
#include <future>
#include <map>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/status/macros.h"
#include "services/common/status/status.h"
#include "services/gateway/limits.h"
#include "services/gateway/merge.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {
namespace {

namespace v1 = quarry::gateway::v1;

// Asks the store, on a thread of its own while a search embeds and fans out,
// which of the collections the search took from the CollectionCache are
// still live. Nothing to ask when `ids` is empty.
class LiveCheck {
 public:
  LiveCheck(CollectionStore& collections, std::vector<int64_t> ids) {
    if (ids.empty()) return;
    live_ = std::async(std::launch::async,
                       [&collections, ids = std::move(ids)]() {
                         return collections.LiveIds(ids);
                       });
  }

  // Waits for the answer: the checked ids that are still live.
  absl::StatusOr<absl::flat_hash_set<int64_t>> Live() {
    absl::flat_hash_set<int64_t> live;
    if (!live_.valid()) return live;
    QUARRY_ASSIGN_OR_RETURN(std::vector<int64_t> ids, live_.get());
    live.insert(ids.begin(), ids.end());
    return live;
  }

 private:
  // The destructor of a std::async future waits: the thread never outlives
  // the search.
  std::future<absl::StatusOr<std::vector<int64_t>>> live_;
};

}  // namespace

absl::StatusOr<Searcher::Prepared> Searcher::Prepare(int64_t tenant_id,
                                                     const v1::SearchRequest& request,
                                                     bool use_cache) {
  QUARRY_RETURN_IF_ERROR(ValidateSearch(request));
  Prepared prepared;
  std::optional<store::CollectionRecord> cached;
  if (use_cache) cached = collection_cache_.Get(tenant_id, request.collection());
  if (cached.has_value()) {
    prepared.collection = *std::move(cached);
    prepared.from_cache = true;
  } else {
    QUARRY_ASSIGN_OR_RETURN(prepared.collection,
                            collections_.Find(tenant_id, request.collection()));
    collection_cache_.Put(prepared.collection);
  }
  quarry::search::v1::SearchShardRequest& shard_request = prepared.shard_request;
  shard_request.set_collection_id(prepared.collection.id);
  if (request.has_vector()) {
    QUARRY_RETURN_IF_ERROR(
        ValidateVector("vector", request.vector(), prepared.collection.dimension));
    *shard_request.mutable_vector() = request.vector();
  } else {
    // Recent query texts skip the embedding call.
    std::string key = absl::StrCat(prepared.collection.model, "\n", request.text());
    if (std::optional<std::vector<float>> vector = query_cache_.Get(key)) {
      shard_request.mutable_vector()->mutable_values()->Add(vector->begin(), vector->end());
    } else {
      prepared.embed_key = std::move(key);
    }
  }
  prepared.top_k = EffectiveTopK(request);
  shard_request.set_k(prepared.top_k);
  *shard_request.mutable_filter() = request.filter();
  shard_request.set_effort(request.effort());
  shard_request.set_exact(request.exact());
  if (request.has_min_score()) shard_request.set_min_score(request.min_score());
  return prepared;
}

absl::StatusOr<uint32_t> Searcher::Embed(const std::string& model, int dimension,
                                         const std::vector<std::string>& texts,
                                         const std::vector<Prepared*>& queries,
                                         absl::Time deadline) {
  const absl::Time start = absl::Now();
  QUARRY_ASSIGN_OR_RETURN(auto embedded,
                          embedder_.Embed(model, dimension, texts, deadline - absl::Now()));
  for (size_t j = 0; j < queries.size(); ++j) {
    const std::vector<float>& vector = embedded[j];
    query_cache_.Put(*queries[j]->embed_key, vector);
    queries[j]->shard_request.mutable_vector()->mutable_values()->Add(vector.begin(),
                                                                      vector.end());
  }
  return static_cast<uint32_t>(absl::ToInt64Microseconds(absl::Now() - start));
}

absl::Status Searcher::Respond(const v1::SearchRequest& request, const Prepared& prepared,
                               std::vector<ShardAnswer> answers,
                               v1::SearchResponse* response) {
  MergeResult merged = MergeShardAnswers(std::move(answers), prepared.top_k,
                                         request.has_min_score()
                                             ? std::optional<float>(request.min_score())
                                             : std::nullopt);
  if (merged.partial && request.require_all_shards()) {
    for (const auto& report : merged.reports) {
      if (report.outcome() != v1::SHARD_OUTCOME_ANSWERED) {
        return absl::UnavailableError(absl::StrCat("shard ", report.shard(),
                                                   " did not answer (require_all_shards): ",
                                                   report.message()));
      }
    }
  }
  const bool want_payload = request.include_text() || request.include_metadata();
  std::map<std::string, v1::Document> payloads;
  if (want_payload && !merged.hits.empty()) {
    std::vector<std::string> ids;
    for (const auto& hit : merged.hits) ids.push_back(hit.id);
    QUARRY_ASSIGN_OR_RETURN(auto docs, documents_.Get(prepared.collection.id, ids));
    for (auto& doc : docs) payloads[doc.id()] = std::move(doc);
  }
  for (const auto& hit : merged.hits) {
    auto payload = payloads.find(hit.id);
    // Deleted after the shard last caught up: never return it.
    if (want_payload && payload == payloads.end()) continue;
    auto* out = response->add_hits();
    out->set_id(hit.id);
    out->set_score(hit.score);
    out->set_shard(hit.shard);
    if (payload != payloads.end()) {
      if (request.include_text()) out->set_text(payload->second.text());
      if (request.include_metadata()) {
        *out->mutable_metadata() = payload->second.metadata();
        *out->mutable_tags() = payload->second.tags();
      }
    }
  }
  for (auto& report : merged.reports) *response->add_shards() = std::move(report);
  response->set_partial(merged.partial);
  return absl::OkStatus();
}

absl::Status Searcher::Run(const v1::SearchRequest& request, Prepared& prepared,
                           absl::Time deadline, v1::SearchResponse* response) {
  if (prepared.embed_key.has_value()) {
    QUARRY_ASSIGN_OR_RETURN(auto latency_us,
                            Embed(prepared.collection.model, prepared.collection.dimension,
                                  {request.text()}, {&prepared}, deadline));
    response->set_embed_latency_us(latency_us);
  }
  return Respond(request, prepared, shards_.Search(prepared.shard_request, deadline), response);
}

absl::Status Searcher::Search(int64_t tenant_id, const v1::SearchRequest& request,
                              absl::Time deadline, v1::SearchResponse* response) {
  // A collection from the cache is checked while the search runs (see
  // CollectionCache); if it was deleted, the search starts over with the
  // collection PostgreSQL now has under that name, or NOT_FOUND. The second
  // round reads PostgreSQL first, so there is no third.
  for (const bool use_cache : {true, false}) {
    QUARRY_ASSIGN_OR_RETURN(auto prepared, Prepare(tenant_id, request, use_cache));
    LiveCheck check(collections_, prepared.from_cache
                                      ? std::vector<int64_t>{prepared.collection.id}
                                      : std::vector<int64_t>{});
    // Even a failure is only reported for a collection known to be live.
    const absl::Status ran = Run(request, prepared, deadline, response);
    QUARRY_ASSIGN_OR_RETURN(auto live, check.Live());
    if (prepared.from_cache && !live.contains(prepared.collection.id)) {
      collection_cache_.Forget(prepared.collection);
      response->Clear();
      continue;
    }
    return ran;
  }
  return absl::InternalError("search: the collection lookup did not settle");
}

absl::Status Searcher::SearchBatch(int64_t tenant_id, const v1::SearchBatchRequest& request,
                                   absl::Time deadline, v1::SearchBatchResponse* response) {
  const int n = request.queries_size();
  if (n < 1 || n > kMaxBatchQueries) {
    return absl::InvalidArgumentError(
        absl::StrCat("queries: must hold 1 to ", kMaxBatchQueries, " searches, got ", n));
  }
  // As in Search: collections from the cache are checked while the batch
  // runs, and if one was deleted the whole batch starts over from PostgreSQL.
  for (const bool use_cache : {true, false}) {
    std::vector<Prepared> prepared;
    int hits = 0;
    for (int i = 0; i < n; ++i) {
      auto one = Prepare(tenant_id, request.queries(i), use_cache);
      // A failure names the query it belongs to (queries[2].top_k: ...).
      QUARRY_RETURN_IF_ERROR(ForElement("queries", i, one.status()));
      hits += one->top_k;
      prepared.push_back(*std::move(one));
    }
    // A batch returns no more hits than one Search may.
    if (hits > kMaxTopK) {
      return absl::InvalidArgumentError(
          absl::StrCat("queries: the top_k of all queries add up to ", hits, ", at most ",
                       kMaxTopK, " (0 counts as ", kDefaultTopK, ")"));
    }
    std::vector<int64_t> cached_ids;
    for (const Prepared& one : prepared) {
      if (one.from_cache) cached_ids.push_back(one.collection.id);
    }
    std::sort(cached_ids.begin(), cached_ids.end());
    cached_ids.erase(std::unique(cached_ids.begin(), cached_ids.end()), cached_ids.end());
    LiveCheck check(collections_, std::move(cached_ids));
    const absl::Status ran = RunBatch(request, prepared, deadline, response);
    QUARRY_ASSIGN_OR_RETURN(auto live, check.Live());
    bool stale = false;
    for (const Prepared& one : prepared) {
      if (one.from_cache && !live.contains(one.collection.id)) {
        collection_cache_.Forget(one.collection);
        stale = true;
      }
    }
    if (stale) {
      response->Clear();
      continue;
    }
    return ran;
  }
  return absl::InternalError("queries: the collection lookups did not settle");
}

absl::Status Searcher::RunBatch(const v1::SearchBatchRequest& request,
                                std::vector<Prepared>& prepared, absl::Time deadline,
                                v1::SearchBatchResponse* response) {
  const int n = request.queries_size();
  response->mutable_results()->Reserve(n);
  for (int i = 0; i < n; ++i) response->add_results();

  // Texts not in the query cache: one embedding call per model.
  std::map<std::pair<std::string, int>, std::vector<int>> to_embed;
  for (int i = 0; i < n; ++i) {
    if (prepared[i].embed_key.has_value()) {
      to_embed[{prepared[i].collection.model, prepared[i].collection.dimension}].push_back(i);
    }
  }
  for (const auto& [model, queries] : to_embed) {
    std::vector<std::string> texts;
    std::vector<Prepared*> targets;
    for (int i : queries) {
      texts.push_back(request.queries(i).text());
      targets.push_back(&prepared[i]);
    }
    auto latency_us = Embed(model.first, model.second, texts, targets, deadline);
    QUARRY_RETURN_IF_ERROR(ForElement("queries", queries[0], latency_us.status()));
    for (int i : queries) response->mutable_results(i)->set_embed_latency_us(*latency_us);
  }

  quarry::search::v1::SearchShardBatchRequest shard_batch;
  for (const Prepared& one : prepared) *shard_batch.add_queries() = one.shard_request;
  std::vector<std::vector<ShardAnswer>> answers = shards_.SearchBatch(shard_batch, deadline);
  for (int i = 0; i < n; ++i) {
    absl::Status answered = Respond(request.queries(i), prepared[i], std::move(answers[i]),
                                    response->mutable_results(i));
    QUARRY_RETURN_IF_ERROR(ForElement("queries", i, answered));
  }
  return absl::OkStatus();
}

}  // namespace quarry::gateway
