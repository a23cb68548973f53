#ifndef QUARRY_SERVICES_COMMON_EMBEDDING_CLIENT_EMBEDDING_CLIENT_H_
#define QUARRY_SERVICES_COMMON_EMBEDDING_CLIENT_EMBEDDING_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "quarry/embedding/v1/embedding_service.grpc.pb.h"

namespace quarry {

// Text -> vectors through the embedding service, for workers (documents) and
// the gateway (queries). An interface so handlers are unit-testable.
class EmbeddingClient {
 public:
  virtual ~EmbeddingClient() = default;
  // One vector per text, in order. `model` and `dimension` are the
  // collection's; a replica serving another model or dimension answers
  // FAILED_PRECONDITION. Errors keep their gRPC code (UNAVAILABLE while the
  // service is down: retry later).
  virtual absl::StatusOr<std::vector<std::vector<float>>> Embed(
      const std::string& model, int dimension, const std::vector<std::string>& texts,
      absl::Duration timeout) = 0;

  // The model the embedding service serves (name, dimension).
  virtual absl::StatusOr<std::pair<std::string, int>> ModelInfo(absl::Duration timeout) = 0;
};

// The gRPC implementation over a channel (see client::NewInternalChannel).
//
// `wait_for_ready`: a call made while no replica is reachable waits (within
// its timeout) for one to come back instead of failing at once with
// UNAVAILABLE. Workers set it: a job that fails fast spends its attempts
// (5, backing off from 2 s) within about 20 s of an embedding outage and
// goes dead, leaving acknowledged documents without vectors for good. The
// gateway does not: a query should fail fast and be retried by its client.
class GrpcEmbeddingClient final : public EmbeddingClient {
 public:
  explicit GrpcEmbeddingClient(std::shared_ptr<grpc::Channel> channel,
                               bool wait_for_ready = false);
  absl::StatusOr<std::vector<std::vector<float>>> Embed(const std::string& model, int dimension,
                                                        const std::vector<std::string>& texts,
                                                        absl::Duration timeout) override;
  absl::StatusOr<std::pair<std::string, int>> ModelInfo(absl::Duration timeout) override;

 private:
  std::unique_ptr<quarry::embedding::v1::EmbeddingService::Stub> stub_;
  const bool wait_for_ready_;
};

}  // namespace quarry

#endif  // QUARRY_SERVICES_COMMON_EMBEDDING_CLIENT_EMBEDDING_CLIENT_H_
