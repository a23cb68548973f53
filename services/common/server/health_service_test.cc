#include "services/common/server/health_service.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "quarry/embedding/v1/embedding_service.grpc.pb.h"
#include "quarry/search/v1/shard_service.grpc.pb.h"
#include "services/common/server/server.h"

namespace quarry::server {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

// Two real services; health only needs them registered, so their RPCs can stay
// unimplemented.
struct TwoServices {
  quarry::embedding::v1::EmbeddingService::Service embedding;
  quarry::search::v1::ShardService::Service shard;
};

// The names a client (grpc-js, grpcio, a Kubernetes probe with `service:`)
// would ask about: the server as a whole, each registered service's full name
// taken from its generated code, the health and reflection services the
// common server adds, and Quarry's short --service_name.
std::vector<std::string> KnownNames() {
  return {"",
          quarry::embedding::v1::EmbeddingService::service_full_name(),
          quarry::search::v1::ShardService::service_full_name(),
          Health::service_full_name(),
          "grpc.reflection.v1alpha.ServerReflection",
          "embedding"};
}

ServerOptions TestOptions() {
  ServerOptions options;
  options.service_name = "embedding";
  options.host = "127.0.0.1";
  options.port = 0;
  return options;
}

grpc::Status Check(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                   HealthCheckResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckRequest request;
  request.set_service(service);
  return Health::NewStub(channel)->Check(&context, request, response);
}

// Every known name answers OK with `expected`.
void ExpectAll(const std::shared_ptr<grpc::Channel>& channel,
               HealthCheckResponse::ServingStatus expected) {
  for (const std::string& name : KnownNames()) {
    HealthCheckResponse response;
    grpc::Status status = Check(channel, name, &response);
    ASSERT_TRUE(status.ok()) << "\"" << name << "\": " << status.error_code() << " "
                             << status.error_message();
    EXPECT_EQ(response.status(), expected)
        << "\"" << name << "\": " << HealthCheckResponse::ServingStatus_Name(response.status());
  }
}

TEST(HealthService, AnswersForTheServerAndEveryRegisteredServiceByFullName) {
  TwoServices services;
  auto server = Server::Start(TestOptions(), {&services.embedding, &services.shard});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = (*server)->NewLoopbackChannel();

  // Not ready yet: every name says so.
  ExpectAll(channel, HealthCheckResponse::NOT_SERVING);
  (*server)->SetServing(true);
  ExpectAll(channel, HealthCheckResponse::SERVING);
  (*server)->SetServing(false);
  ExpectAll(channel, HealthCheckResponse::NOT_SERVING);
  (*server)->SetServing(true);
  ExpectAll(channel, HealthCheckResponse::SERVING);
}

TEST(HealthService, AnUnknownServiceIsNotFound) {
  TwoServices services;
  auto server = Server::Start(TestOptions(), {&services.embedding, &services.shard});
  ASSERT_TRUE(server.ok()) << server.status();
  (*server)->SetServing(true);
  auto channel = (*server)->NewLoopbackChannel();
  for (const std::string name : {"no.such.Service", "quarry.embedding.v1.EmbeddingServiceX",
                                 "quarry.embedding.v1", "EmbeddingService"}) {
    HealthCheckResponse response;
    grpc::Status status = Check(channel, name, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << "\"" << name << "\"";
  }
}

TEST(HealthService, EveryNameTurnsNotServingWhileTheServerDrains) {
  TwoServices services;
  auto started = Server::Start(TestOptions(), {&services.embedding, &services.shard});
  ASSERT_TRUE(started.ok()) << started.status();
  Server& server = **started;
  server.SetServing(true);
  auto channel = server.NewLoopbackChannel();
  ExpectAll(channel, HealthCheckResponse::SERVING);

  // During the lame-duck period calls are still served, so health can be asked.
  std::thread drainer([&] { server.Shutdown(absl::Seconds(2), absl::Seconds(2)); });
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  HealthCheckResponse overall;
  while (absl::Now() < deadline) {
    ASSERT_TRUE(Check(channel, "", &overall).ok());
    if (overall.status() == HealthCheckResponse::NOT_SERVING) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(overall.status(), HealthCheckResponse::NOT_SERVING);
  ExpectAll(channel, HealthCheckResponse::NOT_SERVING);
  // Turning ready again once the drain has begun is ignored.
  server.SetServing(true);
  ExpectAll(channel, HealthCheckResponse::NOT_SERVING);
  drainer.join();
}

TEST(HealthService, WatchingAFullServiceNameFollowsTheServerAndEndsOnDrain) {
  TwoServices services;
  auto started = Server::Start(TestOptions(), {&services.embedding, &services.shard});
  ASSERT_TRUE(started.ok()) << started.status();
  Server& server = **started;
  auto channel = server.NewLoopbackChannel();
  auto stub = Health::NewStub(channel);

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  HealthCheckRequest request;
  request.set_service(quarry::search::v1::ShardService::service_full_name());
  auto watch = stub->Watch(&context, request);
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  server.SetServing(true);
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);

  // An unknown name is SERVICE_UNKNOWN on Watch (the protocol's answer there),
  // not an error.
  grpc::ClientContext unknown_context;
  unknown_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  HealthCheckRequest unknown_request;
  unknown_request.set_service("no.such.Service");
  auto unknown_watch = stub->Watch(&unknown_context, unknown_request);
  ASSERT_TRUE(unknown_watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  unknown_context.TryCancel();
  for (int i = 0; i < 10 && unknown_watch->Read(&update); ++i) {
  }
  unknown_watch->Finish();

  std::thread drainer([&] { server.Shutdown(absl::Seconds(2)); });
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  // The stream ends rather than holding the drain for its grace period.
  for (int i = 0; i < 10 && watch->Read(&update); ++i) {
  }
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  drainer.join();
}

}  // namespace
}  // namespace quarry::server
