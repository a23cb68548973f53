#include "services/common/client/channel.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "quarry/embedding/v1/embedding_service.grpc.pb.h"
#include "services/common/server/server.h"

namespace quarry::client {
namespace {

using quarry::embedding::v1::EmbeddingService;
using quarry::embedding::v1::GetModelInfoRequest;
using quarry::embedding::v1::GetModelInfoResponse;

// Answers with its own name so the test can see which replica served a call.
class NamedService final : public EmbeddingService::Service {
 public:
  explicit NamedService(std::string name) : name_(std::move(name)) {}
  grpc::Status GetModelInfo(grpc::ServerContext*, const GetModelInfoRequest*,
                            GetModelInfoResponse* response) override {
    response->set_name(name_);
    return grpc::Status::OK;
  }

 private:
  std::string name_;
};

struct Replica {
  explicit Replica(const std::string& name) : service(name) {
    server::ServerOptions options;
    options.service_name = "embedding";
    options.host = "127.0.0.1";
    auto started = server::Server::Start(options, {&service});
    EXPECT_TRUE(started.ok()) << started.status();
    server = std::move(*started);
    server->SetServing(true);
  }
  NamedService service;
  std::unique_ptr<server::Server> server;
};

std::map<std::string, int> CallMany(const std::shared_ptr<grpc::Channel>& channel, int calls) {
  auto stub = EmbeddingService::NewStub(channel);
  std::map<std::string, int> served;
  for (int i = 0; i < calls; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    GetModelInfoResponse response;
    grpc::Status status = stub->GetModelInfo(&context, {}, &response);
    ++served[status.ok() ? response.name() : "error:" + status.error_message()];
  }
  return served;
}

ChannelOptions Options() {
  ChannelOptions options;
  options.retryable_services = {"quarry.embedding.v1.EmbeddingService"};
  return options;
}

TEST(ServiceConfig, IsValidJsonWithRoundRobinHealthAndRetry) {
  nlohmann::json config = nlohmann::json::parse(ServiceConfigJson(Options()));
  EXPECT_TRUE(config["loadBalancingConfig"][0].contains("round_robin"));
  EXPECT_EQ(config["healthCheckConfig"]["serviceName"], "");
  const auto& retry = config["methodConfig"][0]["retryPolicy"];
  EXPECT_EQ(retry["retryableStatusCodes"][0], "UNAVAILABLE");
  EXPECT_EQ(config["methodConfig"][0]["name"][0]["service"],
            "quarry.embedding.v1.EmbeddingService");
}

TEST(InternalChannel, SpreadsCallsAndSkipsReplicasThatAreNotServing) {
  Replica a("a");
  Replica b("b");
  const std::string target = absl::StrCat("ipv4:127.0.0.1:", a.server->port(),
                                          ",127.0.0.1:", b.server->port());
  auto channel = NewInternalChannel(target, Options());
  ASSERT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() +
                                        std::chrono::seconds(10)));
  // Round robin needs a moment to see both subchannels ready and healthy.
  absl::Time end = absl::Now() + absl::Seconds(10);
  std::map<std::string, int> served;
  while (absl::Now() < end) {
    served = CallMany(channel, 20);
    if (served["a"] > 0 && served["b"] > 0) break;
  }
  EXPECT_GT(served["a"], 0);
  EXPECT_GT(served["b"], 0);

  // b reports NOT_SERVING (warming up or draining): it leaves the rotation.
  b.server->SetServing(false);
  end = absl::Now() + absl::Seconds(10);
  while (absl::Now() < end && CallMany(channel, 10)["b"] > 0) {
  }
  served = CallMany(channel, 40);
  EXPECT_EQ(served["a"], 40) << "b still served calls while NOT_SERVING";

  // Back to SERVING: back in rotation.
  b.server->SetServing(true);
  end = absl::Now() + absl::Seconds(10);
  int b_calls = 0;
  while (absl::Now() < end && b_calls == 0) b_calls = CallMany(channel, 10)["b"];
  EXPECT_GT(b_calls, 0);
}

TEST(InternalChannel, CallsSucceedWhileOneReplicaIsStopped) {
  Replica a("a");
  auto b = std::make_unique<Replica>("b");
  const std::string target = absl::StrCat("ipv4:127.0.0.1:", a.server->port(),
                                          ",127.0.0.1:", b->server->port());
  auto channel = NewInternalChannel(target, Options());
  ASSERT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() +
                                        std::chrono::seconds(10)));
  CallMany(channel, 10);
  b->server->Shutdown(absl::Milliseconds(100));
  b.reset();
  std::map<std::string, int> served = CallMany(channel, 50);
  EXPECT_EQ(served["a"], 50) << "calls failed after one replica stopped";
}

}  // namespace
}  // namespace quarry::client
