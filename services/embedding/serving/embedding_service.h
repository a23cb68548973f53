#ifndef QUARRY_SERVICES_EMBEDDING_SERVING_EMBEDDING_SERVICE_H_
#define QUARRY_SERVICES_EMBEDDING_SERVING_EMBEDDING_SERVICE_H_

#include "absl/synchronization/mutex.h"
#include "quarry/embedding/v1/embedding_service.grpc.pb.h"
#include "services/common/telemetry/metrics.h"
#include "services/embedding/embedder.h"
#include "services/embedding/serving/batcher.h"
#include "services/embedding/serving/embedding_cache.h"

namespace quarry::embedding {

// quarry.embedding.v1.EmbeddingService: validate, answer what the cache has,
// send the rest through the dynamic batcher, remember the results.
class EmbeddingServiceImpl final : public quarry::embedding::v1::EmbeddingService::Service {
 public:
  // Not owned; all must outlive the service. `metrics` may be null.
  EmbeddingServiceImpl(const Embedder& embedder, Batcher& batcher, EmbeddingCache& cache,
                       telemetry::Metrics* metrics);

  grpc::Status Embed(grpc::ServerContext* context,
                     const quarry::embedding::v1::EmbedRequest* request,
                     quarry::embedding::v1::EmbedResponse* response) override;
  grpc::Status GetModelInfo(grpc::ServerContext* context,
                            const quarry::embedding::v1::GetModelInfoRequest* request,
                            quarry::embedding::v1::GetModelInfoResponse* response) override;

 private:
  // Adds the cache's counters since the last call to the Prometheus counters.
  void PublishCacheCounters();

  const Embedder& embedder_;
  Batcher& batcher_;
  EmbeddingCache& cache_;
  telemetry::Metrics* const metrics_;
  absl::Mutex mu_;
  CacheCounters published_ ABSL_GUARDED_BY(mu_);
};

// Batcher observations as Prometheus metrics: batch size, padded and real
// tokens, queue wait and encode time.
std::function<void(const BatchStats&)> BatchMetricsObserver(telemetry::Metrics& metrics);

}  // namespace quarry::embedding

#endif  // QUARRY_SERVICES_EMBEDDING_SERVING_EMBEDDING_SERVICE_H_
