#include "services/common/server/server.h"

#include <atomic>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "quarry/embedding/v1/embedding_service.grpc.pb.h"
#include "services/common/client/channel.h"

namespace quarry::server {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::quarry::embedding::v1::EmbeddingService;
using ::quarry::embedding::v1::EmbedRequest;
using ::quarry::embedding::v1::EmbedResponse;

// A service whose Embed takes `delay` unless cancelled, so tests can have a
// call in flight while the server drains.
class SlowService final : public EmbeddingService::Service {
 public:
  explicit SlowService(absl::Duration delay) : delay_(delay) {}

  grpc::Status Embed(grpc::ServerContext* context, const EmbedRequest* request,
                     EmbedResponse* response) override {
    started_.Notify();
    absl::Time end = absl::Now() + delay_;
    while (absl::Now() < end) {
      if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      absl::SleepFor(absl::Milliseconds(5));
    }
    response->set_dimension(request->texts_size());
    return grpc::Status::OK;
  }

  absl::Notification& started() { return started_; }

 private:
  const absl::Duration delay_;
  absl::Notification started_;
};

// Answers every Embed at once.
class FastService final : public EmbeddingService::Service {
 public:
  grpc::Status Embed(grpc::ServerContext* context, const EmbedRequest* request,
                     EmbedResponse* response) override {
    response->set_dimension(request->texts_size());
    return grpc::Status::OK;
  }
};

ServerOptions TestOptions() {
  ServerOptions options;
  options.service_name = "embedding";
  options.host = "127.0.0.1";
  options.port = 0;
  return options;
}

HealthCheckResponse::ServingStatus CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                               const std::string& service) {
  auto stub = Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.status();
}

grpc::Status CallEmbed(const std::shared_ptr<grpc::Channel>& channel, absl::Duration deadline) {
  auto stub = EmbeddingService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(deadline));
  EmbedRequest request;
  request.add_texts("hello");
  EmbedResponse response;
  return stub->Embed(&context, request, &response);
}

TEST(Server, HealthStartsNotServingUntilTheServiceSaysSo) {
  SlowService service(absl::ZeroDuration());
  auto server = Server::Start(TestOptions(), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = (*server)->NewLoopbackChannel();
  EXPECT_EQ(CheckHealth(channel, ""), HealthCheckResponse::NOT_SERVING);
  (*server)->SetServing(true);
  EXPECT_EQ(CheckHealth(channel, ""), HealthCheckResponse::SERVING);
  EXPECT_EQ(CheckHealth(channel, "embedding"), HealthCheckResponse::SERVING);
  EXPECT_TRUE(CallEmbed(channel, absl::Seconds(5)).ok());
}

TEST(Server, PortInUseIsAStartupErrorNamingTheAddress) {
  SlowService service(absl::ZeroDuration());
  auto first = Server::Start(TestOptions(), {&service});
  ASSERT_TRUE(first.ok()) << first.status();
  ServerOptions options = TestOptions();
  options.port = (*first)->port();
  SlowService other(absl::ZeroDuration());
  auto second = Server::Start(options, {&other});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("127.0.0.1:" + std::to_string(options.port)),
            std::string::npos)
      << second.status();
}

TEST(Server, InvalidOptionsAreRejectedBeforeBinding) {
  ServerOptions options = TestOptions();
  options.max_message_bytes = 10;
  SlowService service(absl::ZeroDuration());
  auto server = Server::Start(options, {&service});
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("--max_message_bytes"), std::string::npos);
}

TEST(Server, DrainTurnsHealthNotServingFinishesInFlightAndRefusesNewCalls) {
  SlowService service(absl::Milliseconds(400));
  auto started = Server::Start(TestOptions(), {&service});
  ASSERT_TRUE(started.ok()) << started.status();
  Server& server = **started;
  server.SetServing(true);
  auto channel = server.NewLoopbackChannel();

  // A health watcher, as a client-side load balancer would hold.
  auto health = Health::NewStub(channel);
  grpc::ClientContext watch_context;
  HealthCheckRequest watch_request;
  auto watch = health->Watch(&watch_context, watch_request);
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);

  grpc::Status in_flight;
  std::thread caller([&] { in_flight = CallEmbed(channel, absl::Seconds(10)); });
  ASSERT_TRUE(service.started().WaitForNotificationWithTimeout(absl::Seconds(5)));

  absl::Time drain_start = absl::Now();
  std::thread drainer([&] { server.Shutdown(absl::Seconds(5)); });
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);

  caller.join();
  drainer.join();
  EXPECT_TRUE(in_flight.ok()) << in_flight.error_message();
  // It waited for the call, not for the whole grace period.
  EXPECT_LT(absl::Now() - drain_start, absl::Seconds(4));
  watch_context.TryCancel();

  grpc::Status after = CallEmbed(server.NewLoopbackChannel(), absl::Seconds(2));
  EXPECT_EQ(after.error_code(), grpc::StatusCode::UNAVAILABLE) << after.error_message();
}

TEST(Server, CallsStillRunningAfterTheGracePeriodAreCancelled) {
  SlowService service(absl::Seconds(20));
  auto started = Server::Start(TestOptions(), {&service});
  ASSERT_TRUE(started.ok()) << started.status();
  Server& server = **started;
  server.SetServing(true);
  auto channel = server.NewLoopbackChannel();

  grpc::Status in_flight;
  std::thread caller([&] { in_flight = CallEmbed(channel, absl::Seconds(30)); });
  ASSERT_TRUE(service.started().WaitForNotificationWithTimeout(absl::Seconds(5)));
  absl::Time drain_start = absl::Now();
  server.Shutdown(absl::Milliseconds(200));
  caller.join();
  EXPECT_LT(absl::Now() - drain_start, absl::Seconds(5));
  EXPECT_FALSE(in_flight.ok());
  // Shutting down twice is harmless.
  server.Shutdown(absl::Seconds(1));
}

// Clients that balance with health checking (as Quarry's own channels do)
// hammer a server while it drains: every call either succeeds or is refused
// UNAVAILABLE. A call that reached the server after gRPC's own shutdown began
// used to fail CANCELLED, which clients must not retry.
TEST(Server, CallsRacingADrainFailOnlyUnavailable) {
  FastService service;
  auto started = Server::Start(TestOptions(), {&service});
  ASSERT_TRUE(started.ok()) << started.status();
  Server& server = **started;
  server.SetServing(true);
  client::ChannelOptions channel_options;
  auto channel = client::NewInternalChannel(absl::StrCat("127.0.0.1:", server.port()),
                                            std::move(channel_options));
  ASSERT_TRUE(CallEmbed(channel, absl::Seconds(5)).ok());

  std::atomic<bool> stop{false};
  absl::Mutex mu;
  std::map<grpc::StatusCode, int> codes;
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      for (int n = 0; n < 100000 && !stop; ++n) {
        grpc::Status status = CallEmbed(channel, absl::Seconds(5));
        absl::MutexLock lock(&mu);
        ++codes[status.error_code()];
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  server.Shutdown(absl::Seconds(2), /*lame_duck=*/absl::Milliseconds(300));
  absl::SleepFor(absl::Milliseconds(200));
  stop = true;
  for (std::thread& caller : callers) caller.join();
  absl::MutexLock lock(&mu);
  EXPECT_GT(codes[grpc::StatusCode::OK], 0);
  for (const auto& [code, count] : codes) {
    EXPECT_TRUE(code == grpc::StatusCode::OK || code == grpc::StatusCode::UNAVAILABLE)
        << "code " << code << " x" << count;
  }
}

}  // namespace
}  // namespace quarry::server
