#include "services/vector_search/serving/shard_service.h"

#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/model/finite.h"
#include "services/common/model/limits.h"
#include "services/common/model/shard_answer.h"
#include "services/common/status/macros.h"
#include "services/common/status/status.h"
#include "services/vector_search/filter_proto.h"

namespace quarry::vector_search {

using quarry::search::v1::SearchShardRequest;
using quarry::search::v1::SearchShardResponse;

absl::Status ValidateSearchShard(const SearchShardRequest& request, uint32_t dimension) {
  if (request.k() < 1 || request.k() > static_cast<uint32_t>(model::kMaxTopK)) {
    return absl::InvalidArgumentError(
        absl::StrCat("k: must be in [1, ", model::kMaxTopK, "], got ", request.k()));
  }
  if (request.effort() != 0 && (request.effort() < request.k() ||
                                request.effort() > static_cast<uint32_t>(model::kMaxEffort))) {
    return absl::InvalidArgumentError(absl::StrCat("effort: must be 0 or in [k=", request.k(), ", ",
                                                   model::kMaxEffort, "], got ", request.effort()));
  }
  const auto& values = request.vector().values();
  if (values.size() != static_cast<int>(dimension)) {
    return absl::InvalidArgumentError(absl::StrCat("vector: has dimension ", values.size(),
                                                   ", the collection's is ", dimension));
  }
  if (std::optional<size_t> i = model::FirstNonFinite(values); i.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("vector.values[", *i, "]: must be finite (no NaN or Inf)"));
  }
  if (request.has_min_score() && !std::isfinite(request.min_score())) {
    return absl::InvalidArgumentError("min_score: must be finite");
  }
  return absl::OkStatus();
}

ShardServiceImpl::ShardServiceImpl(const ShardState& state, ShardInfo info,
                                   telemetry::Metrics* metrics)
    : state_(state), info_(std::move(info)), metrics_(metrics) {}

grpc::Status ShardServiceImpl::SearchShard(grpc::ServerContext* context,
                                           const SearchShardRequest* request,
                                           SearchShardResponse* response) {
  return ToGrpcStatus(Search(*request, response));
}

grpc::Status ShardServiceImpl::SearchShardBatch(
    grpc::ServerContext* context, const quarry::search::v1::SearchShardBatchRequest* request,
    quarry::search::v1::SearchShardBatchResponse* response) {
  if (request->queries_size() < 1 || request->queries_size() > model::kMaxBatchQueries) {
    return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
        "queries: must hold 1 to ", model::kMaxBatchQueries, " searches, got ",
        request->queries_size())));
  }
  for (int i = 0; i < request->queries_size(); ++i) {
    // A batch of exact searches can take a while: stop when nobody waits.
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled (deadline or client)");
    }
    SearchShardResponse* result = response->add_results();
    absl::Status status = Search(request->queries(i), result);
    if (model::IsEmptyShardShare(status)) {
      // A collection this replica holds nothing of (yet): no hits, as the
      // gateway reads SearchShard's NOT_FOUND; one such query must not fail
      // the others.
      result->Clear();
      result->set_shard(info_.shard_index);
      result->set_watermark(state_.watermark());
      continue;
    }
    // The whole batch fails, naming the query ("queries[2].k: must be in ...").
    if (!status.ok()) return ToGrpcStatus(ForElement("queries", i, status));
  }
  return grpc::Status::OK;
}

absl::Status ShardServiceImpl::Search(const SearchShardRequest& request,
                                      SearchShardResponse* response) {
  QUARRY_ASSIGN_OR_RETURN(uint32_t dimension, state_.Dimension(request.collection_id()));
  QUARRY_RETURN_IF_ERROR(ValidateSearchShard(request, dimension));
  SearchRequest search;
  search.query.assign(request.vector().values().begin(), request.vector().values().end());
  search.k = request.k();
  search.filter = FilterFromProto(request.filter());
  search.effort = request.effort();
  search.exact = request.exact();
  if (request.has_min_score()) search.min_score = request.min_score();
  const absl::Time start = absl::Now();
  QUARRY_ASSIGN_OR_RETURN(SearchResult result, state_.Search(request.collection_id(), search));
  if (metrics_ != nullptr) {
    metrics_
        ->Histogram("quarry_vector_search_seconds", "Time to search one shard's index.",
                    telemetry::LatencySecondsBuckets(),
                    {{"path", result.exact_used ? "exact" : "graph"}})
        .Observe(absl::ToDoubleSeconds(absl::Now() - start));
  }
  for (const Hit& hit : result.hits) {
    auto* out = response->add_hits();
    out->set_id(hit.id);
    out->set_score(hit.score);
  }
  response->set_shard(info_.shard_index);
  response->set_watermark(result.watermark);
  response->set_exact_used(result.exact_used);
  return absl::OkStatus();
}

grpc::Status ShardServiceImpl::GetShardStatus(
    grpc::ServerContext* context, const quarry::search::v1::GetShardStatusRequest* request,
    quarry::search::v1::GetShardStatusResponse* response) {
  const ShardStats stats = state_.Stats();
  const int64_t watermark = state_.watermark();
  response->set_shard_index(info_.shard_index);
  response->set_shard_count(info_.shard_count);
  response->set_vectors(stats.vectors);
  response->set_deleted(stats.deleted);
  response->set_watermark(watermark);
  response->set_memory_bytes(stats.memory_bytes);
  response->set_ready(info_.ready ? info_.ready() : true);
  const int64_t latest = info_.latest_seen ? info_.latest_seen() : watermark;
  response->set_lag_sequences(std::max<int64_t>(0, latest - watermark));
  if (info_.last_caught_up) {
    response->set_lag_seconds(absl::ToDoubleSeconds(absl::Now() - info_.last_caught_up()));
  }
  for (const auto& c : stats.collections) {
    auto* out = response->add_collections();
    out->set_collection_id(c.id);
    out->set_vectors(c.vectors);
    out->set_deleted(c.deleted);
    out->set_memory_bytes(c.memory_bytes);
  }
  return grpc::Status::OK;
}

grpc::Status ShardServiceImpl::WaitForWatermark(
    grpc::ServerContext* context, const quarry::search::v1::WaitForWatermarkRequest* request,
    quarry::search::v1::WaitForWatermarkResponse* response) {
  absl::Time deadline = absl::Now() + absl::Minutes(1);
  if (context->deadline() != std::chrono::system_clock::time_point::max()) {
    deadline = absl::FromChrono(context->deadline());
  }
  // Wake at least every 100 ms to notice a cancelled call.
  while (!state_.WaitForWatermark(request->min_sequence(),
                                  std::min(deadline, absl::Now() + absl::Milliseconds(100)))) {
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    if (absl::Now() >= deadline) {
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          absl::StrCat("watermark ", state_.watermark(),
                                       " has not reached min_sequence ", request->min_sequence()));
    }
  }
  response->set_watermark(state_.watermark());
  return grpc::Status::OK;
}

}  // namespace quarry::vector_search
