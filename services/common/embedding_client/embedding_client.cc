#include "services/common/embedding_client/embedding_client.h"

#include "absl/strings/str_cat.h"
#include "services/common/status/status.h"

namespace quarry {

GrpcEmbeddingClient::GrpcEmbeddingClient(std::shared_ptr<grpc::Channel> channel,
                                         bool wait_for_ready)
    : stub_(quarry::embedding::v1::EmbeddingService::NewStub(channel)),
      wait_for_ready_(wait_for_ready) {}

absl::StatusOr<std::vector<std::vector<float>>> GrpcEmbeddingClient::Embed(
    const std::string& model, int dimension, const std::vector<std::string>& texts,
    absl::Duration timeout) {
  quarry::embedding::v1::EmbedRequest request;
  request.set_model(model);
  request.set_expected_dimension(dimension);
  for (const std::string& text : texts) request.add_texts(text);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout));
  context.set_wait_for_ready(wait_for_ready_);
  quarry::embedding::v1::EmbedResponse response;
  grpc::Status status = stub_->Embed(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  if (response.embeddings_size() != static_cast<int>(texts.size())) {
    return absl::InternalError(absl::StrCat("embedding service returned ",
                                            response.embeddings_size(), " vectors for ",
                                            texts.size(), " texts"));
  }
  std::vector<std::vector<float>> vectors;
  vectors.reserve(texts.size());
  for (const auto& embedding : response.embeddings()) {
    const auto& values = embedding.vector().values();
    if (dimension > 0 && values.size() != dimension) {
      return absl::FailedPreconditionError(absl::StrCat(
          "embedding service returned dimension ", values.size(), ", expected ", dimension));
    }
    vectors.emplace_back(values.begin(), values.end());
  }
  return vectors;
}

absl::StatusOr<std::pair<std::string, int>> GrpcEmbeddingClient::ModelInfo(
    absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout));
  context.set_wait_for_ready(wait_for_ready_);
  quarry::embedding::v1::GetModelInfoResponse response;
  grpc::Status status = stub_->GetModelInfo(&context, {}, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return std::make_pair(response.name(), static_cast<int>(response.dimension()));
}

}  // namespace quarry
