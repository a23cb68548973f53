#include "services/embedding/serving/embedding_service.h"

#include <chrono>

#include "absl/time/clock.h"
#include "services/common/status/status.h"
#include "services/embedding/validation.h"

namespace quarry::embedding {
namespace {

using quarry::embedding::v1::EmbedRequest;
using quarry::embedding::v1::EmbedResponse;

// The call's deadline, or a minute for calls without one.
absl::Time Deadline(const grpc::ServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::Now() + absl::Minutes(1);
  }
  return absl::FromChrono(deadline);
}

}  // namespace

EmbeddingServiceImpl::EmbeddingServiceImpl(const Embedder& embedder, Batcher& batcher,
                                           EmbeddingCache& cache, telemetry::Metrics* metrics)
    : embedder_(embedder), batcher_(batcher), cache_(cache), metrics_(metrics) {}

grpc::Status EmbeddingServiceImpl::Embed(grpc::ServerContext* context, const EmbedRequest* request,
                                         EmbedResponse* response) {
  std::vector<absl::string_view> views(request->texts().begin(), request->texts().end());
  if (absl::Status status = ValidateTexts(views); !status.ok()) return ToGrpcStatus(status);
  const ModelInfo& info = embedder_.info();
  if (absl::Status status = CheckModel(info, request->model(), request->expected_dimension());
      !status.ok()) {
    return ToGrpcStatus(status);
  }

  std::vector<std::string> keys;
  keys.reserve(views.size());
  for (absl::string_view text : views) keys.push_back(EmbeddingCache::Key(text));
  std::vector<std::optional<EncodedText>> found;
  cache_.Lookup(keys, found);

  std::vector<std::string> miss_texts, miss_keys;
  std::vector<size_t> miss_index;
  for (size_t i = 0; i < found.size(); ++i) {
    if (found[i].has_value()) continue;
    miss_index.push_back(i);
    miss_texts.push_back(request->texts(static_cast<int>(i)));
    miss_keys.push_back(keys[i]);
  }
  std::vector<EncodedText> fresh;
  if (!miss_texts.empty()) {
    auto encoded = batcher_.Embed(miss_texts, Deadline(*context));
    if (!encoded.ok()) return ToGrpcStatus(encoded.status());
    cache_.Store(miss_keys, *encoded);
    fresh = std::move(*encoded);
  }

  response->set_model(info.name);
  response->set_dimension(info.dimension);
  response->set_normalized(info.normalized);
  size_t next_miss = 0;
  for (size_t i = 0; i < found.size(); ++i) {
    const bool cached = found[i].has_value();
    const EncodedText& value = cached ? *found[i] : fresh[next_miss++];
    auto* out = response->add_embeddings();
    out->mutable_vector()->mutable_values()->Add(value.vector.begin(), value.vector.end());
    out->set_truncated(value.truncated);
    out->set_token_count(value.token_count);
    out->set_cached(cached);
  }
  PublishCacheCounters();
  return grpc::Status::OK;
}

grpc::Status EmbeddingServiceImpl::GetModelInfo(
    grpc::ServerContext* context, const quarry::embedding::v1::GetModelInfoRequest* request,
    quarry::embedding::v1::GetModelInfoResponse* response) {
  const ModelInfo& info = embedder_.info();
  response->set_name(info.name);
  response->set_dimension(info.dimension);
  response->set_max_tokens(info.max_tokens);
  response->set_normalized(info.normalized);
  response->set_kind(info.kind);
  return grpc::Status::OK;
}

void EmbeddingServiceImpl::PublishCacheCounters() {
  if (metrics_ == nullptr) return;
  const CacheCounters now = cache_.counters();
  absl::MutexLock lock(&mu_);
  auto add = [this](const char* level, const char* result, uint64_t current, uint64_t& seen) {
    if (current <= seen) return;
    metrics_
        ->Counter("quarry_embedding_cache_lookups_total", "Embedding cache lookups by level.",
                  {{"level", level}, {"result", result}})
        .Increment(static_cast<double>(current - seen));
    seen = current;
  };
  add("l1", "hit", now.l1_hits, published_.l1_hits);
  add("l1", "miss", now.l1_misses, published_.l1_misses);
  add("l2", "hit", now.l2_hits, published_.l2_hits);
  add("l2", "miss", now.l2_misses, published_.l2_misses);
}

std::function<void(const BatchStats&)> BatchMetricsObserver(telemetry::Metrics& metrics) {
  // Pointers captured by value: the metrics outlive the observer.
  auto* texts = &metrics.Histogram("quarry_embedding_batch_texts", "Texts per forward pass.",
                                  {1, 2, 4, 8, 16, 32, 64, 128, 256, 512});
  auto* wait = &metrics.Histogram("quarry_embedding_queue_wait_seconds",
                                 "Time the oldest text of a batch waited for its pass.",
                                 telemetry::LatencySecondsBuckets());
  auto* encode = &metrics.Histogram("quarry_embedding_encode_seconds", "Forward pass time.",
                                   telemetry::LatencySecondsBuckets());
  auto* tokens = &metrics.Counter("quarry_embedding_tokens_total",
                                 "Tokens encoded (real, without padding); rate() is tokens/s.");
  auto* padded = &metrics.Counter("quarry_embedding_padded_tokens_total",
                                 "Tokens encoded including padding to the batch's longest text.");
  return [=](const BatchStats& stats) {
    texts->Observe(stats.texts);
    wait->Observe(absl::ToDoubleSeconds(stats.oldest_wait));
    encode->Observe(absl::ToDoubleSeconds(stats.encode_time));
    tokens->Increment(stats.real_tokens);
    padded->Increment(stats.padded_tokens);
  };
}

}  // namespace quarry::embedding
