#include "services/gateway/shards.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "quarry/search/v1/shard_service.grpc.pb.h"

namespace quarry::gateway {
namespace {

using quarry::search::v1::SearchShardRequest;
using quarry::search::v1::SearchShardResponse;

TEST(ShardCallDeadlineTest, LeavesATenthOfTheTimeBetweenTwentyAnd250Milliseconds) {
  const absl::Time now = absl::FromUnixSeconds(1000);
  EXPECT_EQ(ShardCallDeadline(now, now + absl::Seconds(2)), now + absl::Milliseconds(1800));
  EXPECT_EQ(ShardCallDeadline(now, now + absl::Seconds(30)),
            now + absl::Seconds(30) - absl::Milliseconds(250));
  EXPECT_EQ(ShardCallDeadline(now, now + absl::Milliseconds(100)), now + absl::Milliseconds(80));
  // Never more than half of what is left, never past the call's own deadline.
  EXPECT_EQ(ShardCallDeadline(now, now + absl::Milliseconds(30)), now + absl::Milliseconds(15));
  EXPECT_EQ(ShardCallDeadline(now, now - absl::Seconds(1)), now - absl::Seconds(1));
  EXPECT_EQ(ShardCallDeadline(now, absl::InfiniteFuture()), absl::InfiniteFuture());
}

// A shard that answers at once with one hit, or never (a partitioned one:
// the call just hangs until the client gives up).
class FakeShard final : public quarry::search::v1::ShardService::Service {
 public:
  explicit FakeShard(bool answers) : answers_(answers) {}
  grpc::Status SearchShard(grpc::ServerContext* context, const SearchShardRequest* request,
                           SearchShardResponse* response) override {
    if (!answers_) {
      while (!context->IsCancelled() && !released_.HasBeenNotified()) {
        released_.WaitForNotificationWithTimeout(absl::Milliseconds(10));
      }
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "stalled");
    }
    auto* hit = response->add_hits();
    hit->set_id("doc-1");
    hit->set_score(0.5f);
    return grpc::Status::OK;
  }
  // Each query gets one hit named after its k ("doc-k3"), or the call stalls.
  grpc::Status SearchShardBatch(grpc::ServerContext* context,
                                const quarry::search::v1::SearchShardBatchRequest* request,
                                quarry::search::v1::SearchShardBatchResponse* response) override {
    for (const SearchShardRequest& query : request->queries()) {
      SearchShardResponse single;
      grpc::Status status = SearchShard(context, &query, &single);
      if (!status.ok()) return status;
      single.mutable_hits(0)->set_id(absl::StrCat("doc-k", query.k()));
      *response->add_results() = std::move(single);
    }
    return grpc::Status::OK;
  }
  // Answers once `watermark` reaches the request's min_sequence, or
  // DEADLINE_EXCEEDED at the call's deadline, as a real replica does.
  grpc::Status WaitForWatermark(grpc::ServerContext* context,
                                const quarry::search::v1::WaitForWatermarkRequest* request,
                                quarry::search::v1::WaitForWatermarkResponse* response) override {
    ++waits;
    const absl::Time deadline = absl::FromChrono(context->deadline());
    while (watermark.load() < request->min_sequence()) {
      if (context->IsCancelled() || absl::Now() >= deadline || released_.HasBeenNotified()) {
        return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "watermark behind");
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    response->set_watermark(watermark.load());
    return grpc::Status::OK;
  }
  void Release() { released_.Notify(); }

  std::atomic<int64_t> watermark{0};
  std::atomic<int> waits{0};

 private:
  const bool answers_;
  absl::Notification released_;
};

struct Shard {
  explicit Shard(bool answers) : service(answers) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
  }
  ~Shard() {
    service.Release();
    server->Shutdown();
  }
  std::string Address() const { return absl::StrCat("127.0.0.1:", port); }
  FakeShard service;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

std::shared_ptr<grpc::Channel> Connect(const std::string& target) {
  return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
}

std::unique_ptr<ShardFanout> Fanout(const std::vector<std::string>& targets) {
  auto fanout = ShardFanout::Create(targets, Connect, Connect);
  EXPECT_TRUE(fanout.ok()) << fanout.status();
  return fanout.ok() ? *std::move(fanout) : nullptr;
}

TEST(ShardFanoutTest, AShardThatDoesNotAnswerTimesOutBeforeTheCallerDeadline) {
  Shard answering(true);
  Shard stalled(false);
  ASSERT_GT(answering.port, 0);
  ASSERT_GT(stalled.port, 0);
  auto fanout = Fanout({answering.Address(), stalled.Address()});
  ASSERT_NE(fanout, nullptr);
  SearchShardRequest request;
  request.set_k(10);
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  std::vector<ShardAnswer> answers = fanout->Search(request, deadline);
  // Time left to merge and answer: the caller sees partial results, not
  // DEADLINE_EXCEEDED for the whole search.
  EXPECT_LT(absl::Now(), deadline);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_TRUE(answers[0].status.ok()) << answers[0].status;
  ASSERT_EQ(answers[0].response.hits_size(), 1);
  EXPECT_EQ(answers[0].response.hits(0).id(), "doc-1");
  EXPECT_EQ(answers[1].status.code(), absl::StatusCode::kDeadlineExceeded) << answers[1].status;
}

TEST(ShardFanoutTest, ABatchGivesEachQueryEveryShardsAnswerOrItsFailure) {
  Shard answering(true);
  Shard stalled(false);
  auto fanout = Fanout({answering.Address(), stalled.Address()});
  ASSERT_NE(fanout, nullptr);
  quarry::search::v1::SearchShardBatchRequest request;
  for (int k = 1; k <= 3; ++k) request.add_queries()->set_k(k);
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  std::vector<std::vector<ShardAnswer>> answers = fanout->SearchBatch(request, deadline);
  EXPECT_LT(absl::Now(), deadline);
  ASSERT_EQ(answers.size(), 3u);
  for (int q = 0; q < 3; ++q) {
    ASSERT_EQ(answers[q].size(), 2u);
    EXPECT_EQ(answers[q][0].shard, 0u);
    EXPECT_TRUE(answers[q][0].status.ok()) << answers[q][0].status;
    ASSERT_EQ(answers[q][0].response.hits_size(), 1);
    EXPECT_EQ(answers[q][0].response.hits(0).id(), absl::StrCat("doc-k", q + 1));
    EXPECT_EQ(answers[q][1].shard, 1u);
    EXPECT_EQ(answers[q][1].status.code(), absl::StatusCode::kDeadlineExceeded)
        << answers[q][1].status;
  }
}

TEST(ShardFanoutTest, WaitForWatermarkWaitsForEveryReplicaOfEveryShard) {
  Shard twin_a(true), twin_b(true), only(true);
  twin_a.service.watermark = 10;
  twin_b.service.watermark = 5;  // behind: the next search may land on it
  only.service.watermark = 10;
  auto fanout = Fanout({absl::StrCat("ipv4:", twin_a.Address(), ",", twin_b.Address()),
                        only.Address()});
  ASSERT_NE(fanout, nullptr);
  ASSERT_EQ(fanout->shard_count(), 2u);

  absl::Status late = fanout->WaitForWatermark(10, absl::Now() + absl::Milliseconds(300));
  EXPECT_EQ(late.code(), absl::StatusCode::kDeadlineExceeded) << late;
  EXPECT_NE(late.message().find(absl::StrCat("shard 0 replica ", twin_b.Address())),
            std::string::npos)
      << late;
  EXPECT_EQ(twin_a.service.waits.load(), 1);
  EXPECT_EQ(twin_b.service.waits.load(), 1);
  EXPECT_EQ(only.service.waits.load(), 1);

  twin_b.service.watermark = 10;
  absl::Status caught_up = fanout->WaitForWatermark(10, absl::Now() + absl::Seconds(5));
  EXPECT_TRUE(caught_up.ok()) << caught_up;
  EXPECT_EQ(twin_a.service.waits.load(), 2);
  EXPECT_EQ(twin_b.service.waits.load(), 2);
  EXPECT_EQ(only.service.waits.load(), 2);
}

TEST(ShardFanoutTest, WaitForWatermarkResolvesADnsTargetAndNamesAnUnreachableReplica) {
  Shard named(true);
  named.service.watermark = 7;
  std::string gone;
  {
    Shard stopped(true);
    gone = stopped.Address();
  }
  auto fanout = Fanout({absl::StrCat("dns:///", named.Address()),
                        absl::StrCat("ipv4:", named.Address(), ",", gone)});
  ASSERT_NE(fanout, nullptr);
  absl::Status status = fanout->WaitForWatermark(7, absl::Now() + absl::Seconds(5));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_NE(status.message().find(absl::StrCat("shard 1 replica ", gone)), std::string::npos)
      << status;
  EXPECT_EQ(named.service.waits.load(), 2);  // once as shard 0, once as shard 1

  auto dns_only = Fanout({absl::StrCat("dns:///", named.Address())});
  ASSERT_NE(dns_only, nullptr);
  EXPECT_TRUE(dns_only->WaitForWatermark(7, absl::Now() + absl::Seconds(5)).ok());
}

TEST(ShardFanoutTest, ATargetWhoseReplicasCannotBeListedIsRejectedNamingTheShard) {
  auto fanout = ShardFanout::Create({"127.0.0.1:50071", "xds:///shard1"}, Connect, Connect);
  EXPECT_EQ(fanout.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(fanout.status().message().find("shard 1"), std::string::npos) << fanout.status();
  EXPECT_NE(fanout.status().message().find("xds:///shard1"), std::string::npos)
      << fanout.status();
}

}  // namespace
}  // namespace quarry::gateway
