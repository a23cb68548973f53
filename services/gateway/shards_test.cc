#include "services/gateway/shards.h"

#include <grpcpp/grpcpp.h>

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
  void Release() { released_.Notify(); }

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
  std::shared_ptr<grpc::Channel> Channel() const {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  }
  FakeShard service;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

TEST(ShardFanoutTest, AShardThatDoesNotAnswerTimesOutBeforeTheCallerDeadline) {
  Shard answering(true);
  Shard stalled(false);
  ASSERT_GT(answering.port, 0);
  ASSERT_GT(stalled.port, 0);
  ShardFanout fanout({answering.Channel(), stalled.Channel()});
  SearchShardRequest request;
  request.set_k(10);
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  std::vector<ShardAnswer> answers = fanout.Search(request, deadline);
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
  ShardFanout fanout({answering.Channel(), stalled.Channel()});
  quarry::search::v1::SearchShardBatchRequest request;
  for (int k = 1; k <= 3; ++k) request.add_queries()->set_k(k);
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  std::vector<std::vector<ShardAnswer>> answers = fanout.SearchBatch(request, deadline);
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

}  // namespace
}  // namespace quarry::gateway
