#include "services/common/embedding_client/embedding_client.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/client/channel.h"
#include "services/common/server/server.h"

namespace quarry {
namespace {

using quarry::embedding::v1::EmbedRequest;
using quarry::embedding::v1::EmbedResponse;

// One vector of `expected_dimension` ones per text.
class OnesService final : public quarry::embedding::v1::EmbeddingService::Service {
 public:
  grpc::Status Embed(grpc::ServerContext*, const EmbedRequest* request,
                     EmbedResponse* response) override {
    for (int i = 0; i < request->texts_size(); ++i) {
      auto* values = response->add_embeddings()->mutable_vector()->mutable_values();
      for (uint32_t d = 0; d < request->expected_dimension(); ++d) values->Add(1.0f);
    }
    return grpc::Status::OK;
  }
};

absl::StatusOr<std::unique_ptr<server::Server>> StartOn(int port, OnesService& service) {
  server::ServerOptions options;
  options.service_name = "embedding";
  options.host = "127.0.0.1";
  options.port = port;
  options.admin_port = -1;
  auto started = server::Server::Start(options, {&service});
  if (started.ok()) (*started)->SetServing(true);
  return started;
}

std::shared_ptr<grpc::Channel> ChannelTo(int port) {
  client::ChannelOptions options;
  options.retryable_services = {"quarry.embedding.v1.EmbeddingService"};
  return client::NewInternalChannel(absl::StrCat("127.0.0.1:", port), std::move(options));
}

// A port with nothing listening on it (a server bound it and went away).
int DeadPort(OnesService& service) {
  auto server = StartOn(0, service);
  EXPECT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  (*server)->Shutdown(absl::ZeroDuration());
  return port;
}

TEST(GrpcEmbeddingClient, FailsFastWhileTheServiceIsDown) {
  OnesService service;
  GrpcEmbeddingClient client(ChannelTo(DeadPort(service)));
  const absl::Time start = absl::Now();
  auto vectors = client.Embed("hashing-384", 4, {"a"}, absl::Seconds(10));
  EXPECT_EQ(vectors.status().code(), absl::StatusCode::kUnavailable) << vectors.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(8));
}

// What a worker needs: an embedding outage shorter than the call's timeout
// is a delay, not a failed job attempt.
TEST(GrpcEmbeddingClient, WaitForReadyRidesOutAnOutage) {
  OnesService service;
  const int port = DeadPort(service);
  GrpcEmbeddingClient client(ChannelTo(port), /*wait_for_ready=*/true);
  absl::StatusOr<std::vector<std::vector<float>>> vectors;
  std::thread call([&] { vectors = client.Embed("hashing-384", 4, {"a", "b"}, absl::Seconds(20)); });
  absl::SleepFor(absl::Seconds(1));
  auto server = StartOn(port, service);
  ASSERT_TRUE(server.ok()) << server.status();
  call.join();
  ASSERT_TRUE(vectors.ok()) << vectors.status();
  ASSERT_EQ(vectors->size(), 2u);
  EXPECT_EQ((*vectors)[0].size(), 4u);
  (*server)->Shutdown(absl::ZeroDuration());
}

TEST(GrpcEmbeddingClient, WaitForReadyStillEndsAtTheTimeout) {
  OnesService service;
  GrpcEmbeddingClient client(ChannelTo(DeadPort(service)), /*wait_for_ready=*/true);
  auto vectors = client.Embed("hashing-384", 4, {"a"}, absl::Milliseconds(500));
  EXPECT_EQ(vectors.status().code(), absl::StatusCode::kDeadlineExceeded) << vectors.status();
}

}  // namespace
}  // namespace quarry
