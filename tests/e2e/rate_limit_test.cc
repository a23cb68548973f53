// A key's rate limit holds for the whole deployment, not per gateway: 1, 2
// and 4 gateway processes on one PostgreSQL, a key of 50/s with burst 50, a
// load well over that spread round-robin over the gateways for a few seconds.
// The calls accepted must be within 10% of burst + rate x elapsed whatever the
// number of gateways (above: the promise; below: the load exceeds the limit,
// so the limit is what is granted). Also: CreateApiKey and ListApiKeys report
// the limit in force, the gateway's defaults for a key that stores none.
//
// Only gateways run (no shards, no embedding service): ListCollections needs
// PostgreSQL alone, and it is admitted like every other call.
#include <atomic>
#include <cstdio>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "quarry/gateway/v1/admin_service.grpc.pb.h"
#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "services/common/pg/pool.h"
#include "services/common/pg/testing/postgres_env.h"
#include "tests/testing/api_keys.h"
#include "tests/testing/service_process.h"

namespace quarry {
namespace {

using namespace quarry::gateway::v1;  // NOLINT: a test of this API.
using testing::ServiceProcess;

constexpr int kMaxGateways = 4;
constexpr double kRate = 50;
constexpr int kBurst = 50;
constexpr double kTolerance = 0.10;
// The offered load: kClientThreads closed loops, each pausing kPause between
// calls, so several hundred calls a second against a limit of 50.
constexpr int kClientThreads = 4;
constexpr absl::Duration kPause = absl::Milliseconds(5);
constexpr absl::Duration kLoadDuration = absl::Seconds(4);
constexpr int64_t kMaxCallsPerThread = 5000;

std::unique_ptr<grpc::ClientContext> Context(const std::string& key) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  context->AddMetadata("authorization", "Bearer " + key);
  return context;
}

class RateLimitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto conninfo = pg::TestPostgres().CreateDatabase();
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    conninfo_ = new std::string(*conninfo);
    pg::PoolOptions options;
    options.conninfo = *conninfo_;
    options.size = 2;
    auto pool = pg::Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = pool->release();
    gateways_ = new std::vector<std::unique_ptr<ServiceProcess>>();
    for (int i = 0; i < kMaxGateways; ++i) {
      // The shard and embedding targets are never called by these tests.
      auto gateway = ServiceProcess::Start(
          absl::StrCat("gateway", i), "services/gateway/gateway",
          {"--database_url=" + *conninfo_, "--shard_targets=127.0.0.1:9",
           "--embedding_target=127.0.0.1:9", "--key_cache_ttl=200ms"});
      ASSERT_TRUE(gateway.ok()) << gateway.status();
      ASSERT_TRUE((*gateway)->WaitServing(absl::Seconds(30)).ok()) << (*gateway)->Log();
      gateways_->push_back(*std::move(gateway));
    }
  }

  static void TearDownTestSuite() {
    delete gateways_;
    gateways_ = nullptr;
    delete pool_;
    pool_ = nullptr;
  }

  static std::string MakeKey(std::optional<double> rate, std::optional<int> burst) {
    auto key = testing::CreateApiKey(*pool_, "acme", {"read", "write", "admin"}, rate, burst);
    EXPECT_TRUE(key.ok()) << key.status();
    return key.value_or("");
  }

  static inline std::string* conninfo_ = nullptr;
  static inline pg::Pool* pool_ = nullptr;
  static inline std::vector<std::unique_ptr<ServiceProcess>>* gateways_ = nullptr;
};

struct Outcome {
  int64_t accepted = 0;
  int64_t limited = 0;
  int64_t other = 0;
  std::string other_message;
  std::string limited_message;
  absl::Duration elapsed;
};

// The load of the file comment over the first `n` gateways, a fresh key each
// time so that its bucket starts full.
Outcome Offer(const std::vector<std::unique_ptr<ServiceProcess>>& gateways, int n,
              const std::string& key) {
  std::vector<std::unique_ptr<CollectionService::Stub>> stubs;
  for (int i = 0; i < n; ++i) {
    std::shared_ptr<grpc::Channel> channel = gateways[i]->NewChannel();
    // Connected first, so that the calls measure the limit, not connection setup.
    channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5));
    stubs.push_back(CollectionService::NewStub(channel));
  }
  std::atomic<int64_t> next{0}, accepted{0}, limited{0}, other{0};
  absl::Mutex mu;
  std::string other_message, limited_message;
  const absl::Time start = absl::Now();
  const absl::Time stop = start + kLoadDuration;
  std::vector<std::thread> threads;
  for (int t = 0; t < kClientThreads; ++t) {
    threads.emplace_back([&] {
      for (int64_t i = 0; i < kMaxCallsPerThread && absl::Now() < stop; ++i) {
        CollectionService::Stub& stub = *stubs[next.fetch_add(1) % n];
        ListCollectionsRequest request;
        ListCollectionsResponse response;
        const grpc::Status status = stub.ListCollections(Context(key).get(), request, &response);
        if (status.ok()) {
          ++accepted;
        } else if (status.error_code() == grpc::RESOURCE_EXHAUSTED) {
          ++limited;
          absl::MutexLock lock(&mu);
          if (limited_message.empty()) limited_message = status.error_message();
        } else {
          ++other;
          absl::MutexLock lock(&mu);
          if (other_message.empty()) {
            other_message = absl::StrCat(status.error_code(), ": ", status.error_message());
          }
        }
        absl::SleepFor(kPause);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  Outcome out;
  out.elapsed = absl::Now() - start;
  out.accepted = accepted.load();
  out.limited = limited.load();
  out.other = other.load();
  out.other_message = other_message;
  out.limited_message = limited_message;
  return out;
}

TEST_F(RateLimitTest, AKeysLimitHoldsAcrossAllGatewaysWithinTenPercent) {
  ASSERT_EQ(gateways_->size(), static_cast<size_t>(kMaxGateways));
  for (int n : {1, 2, 4}) {
    SCOPED_TRACE(absl::StrCat(n, " gateways"));
    const std::string key = MakeKey(kRate, kBurst);
    const Outcome out = Offer(*gateways_, n, key);
    const double expected = kBurst + kRate * absl::ToDoubleSeconds(out.elapsed);
    const double ratio = out.accepted / expected;
    std::printf("RATELIMIT gateways=%d accepted=%lld expected=%.1f ratio=%.3f offered=%lld "
                "elapsed_s=%.2f\n",
                n, static_cast<long long>(out.accepted), expected, ratio,
                static_cast<long long>(out.accepted + out.limited + out.other),
                absl::ToDoubleSeconds(out.elapsed));
    std::fflush(stdout);
    EXPECT_EQ(out.other, 0) << out.other_message;
    // The load must really exceed the limit, or the lower bound means nothing.
    EXPECT_GT(out.accepted + out.limited, 3 * expected);
    EXPECT_LE(out.accepted, (1 + kTolerance) * expected);
    EXPECT_GE(out.accepted, (1 - kTolerance) * expected);
    // The refusal reads as it always has.
    const std::string key_id = key.substr(0, key.find('.'));
    EXPECT_TRUE(absl::StartsWith(out.limited_message,
                                 absl::StrCat("rate limit of API key ", key_id,
                                              " (50/s, burst 50) exceeded; retry in ")))
        << out.limited_message;
    EXPECT_TRUE(absl::EndsWith(out.limited_message, " ms")) << out.limited_message;
  }
}

TEST_F(RateLimitTest, KeyListingsReportTheLimitInForce) {
  const std::string admin = MakeKey(std::nullopt, std::nullopt);
  auto stub = AdminService::NewStub((*gateways_)[0]->NewChannel());
  auto create = [&](double rate, int burst) {
    CreateApiKeyRequest request;
    request.mutable_key()->set_name(absl::StrCat("rate ", rate, " burst ", burst));
    request.mutable_key()->add_scopes(SCOPE_READ);
    request.mutable_key()->set_rate_limit_per_second(rate);
    request.mutable_key()->set_burst(burst);
    CreateApiKeyResponse response;
    const grpc::Status status = stub->CreateApiKey(Context(admin).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.key();
  };
  // Zero means "the default": what is reported is the default in force.
  const ApiKey defaults = create(0, 0);
  EXPECT_EQ(defaults.rate_limit_per_second(), 100);
  EXPECT_EQ(defaults.burst(), 200);
  const ApiKey rate_only = create(7, 0);
  EXPECT_EQ(rate_only.rate_limit_per_second(), 7);
  EXPECT_EQ(rate_only.burst(), 200);
  const ApiKey burst_only = create(0, 3);
  EXPECT_EQ(burst_only.rate_limit_per_second(), 100);
  EXPECT_EQ(burst_only.burst(), 3);
  const ApiKey both = create(2.5, 9);
  EXPECT_EQ(both.rate_limit_per_second(), 2.5);
  EXPECT_EQ(both.burst(), 9);

  ListApiKeysResponse listed;
  const grpc::Status status = stub->ListApiKeys(Context(admin).get(), {}, &listed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::map<std::string, std::pair<double, int>> by_id;
  for (const ApiKey& key : listed.keys()) {
    by_id[key.id()] = {key.rate_limit_per_second(), key.burst()};
  }
  const std::string admin_id = admin.substr(0, admin.find('.'));
  using Limit = std::pair<double, int>;
  EXPECT_EQ(by_id[admin_id], (Limit{100, 200}));  // the admin key, stored without a limit
  EXPECT_EQ(by_id[defaults.id()], (Limit{100, 200}));
  EXPECT_EQ(by_id[rate_only.id()], (Limit{7, 200}));
  EXPECT_EQ(by_id[burst_only.id()], (Limit{100, 3}));
  EXPECT_EQ(by_id[both.id()], (Limit{2.5, 9}));
}

}  // namespace
}  // namespace quarry
