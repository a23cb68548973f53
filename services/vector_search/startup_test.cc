// A starting vector-search replica must not report SERVING before it has
// applied the PostgreSQL change log up to the head as of its start: the
// gateway's balanced channel sends searches to any SERVING replica, so one
// that joined early would answer without writes already acknowledged. Checked
// for a build from an empty data dir and for a snapshot plus catch-up, with
// enough documents that catching up takes many tailer batches.
#include <signal.h>

#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "quarry/search/v1/shard_service.grpc.pb.h"
#include "services/gateway/store.h"
#include "services/vector_search/testing/collection_test.h"
#include "tests/testing/service_process.h"

namespace quarry {
namespace {

using testing::ServiceProcess;

constexpr int kDimension = 16;
// Documents written before each start: five tailer batches (2,000 rows each).
constexpr int kDocuments = 10000;
constexpr int kRowsPerTransaction = 1000;

class StartupTest : public vector_search::CollectionTest {
 protected:
  StartupTest() : CollectionTest(kDimension, "startup") {}

  // Upserts doc-<from>..doc-<to-1>; returns the database's head (max seq).
  int64_t Upsert(int from, int to) {
    std::mt19937 random(from);
    std::normal_distribution<float> normal;
    int64_t head = 0;
    for (int start = from; start < to; start += kRowsPerTransaction) {
      auto seq = pool_->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
        google::protobuf::RepeatedPtrField<quarry::gateway::v1::Document> docs;
        for (int i = start; i < std::min(to, start + kRowsPerTransaction); ++i) {
          auto* doc = docs.Add();
          doc->set_id(absl::StrCat("doc-", i));
          doc->set_text(absl::StrCat("text ", i));
          for (int d = 0; d < kDimension; ++d) doc->mutable_vector()->add_values(normal(random));
        }
        return gateway::store::UpsertDocuments(txn, collection_, docs).max_seq;
      });
      EXPECT_TRUE(seq.ok()) << seq.status();
      head = std::max(head, seq.value_or(0));
    }
    return head;
  }

  std::unique_ptr<ServiceProcess> Start(const std::string& name) {
    auto replica = ServiceProcess::Start(
        name, "services/vector_search/vector_search",
        {"--database_url=" + conninfo_, "--shard_index=0", "--shard_count=1",
         "--data_dir=" + data_dir_, "--snapshot_interval=1h"});
    EXPECT_TRUE(replica.ok()) << replica.status();
    return replica.ok() ? *std::move(replica) : nullptr;
  }

  // Polls health from the moment the gRPC server listens; returns the
  // replica's status as seen right after health first said SERVING (the
  // watermark only grows, so it can only flatter a replica that turned
  // SERVING early by a little, never hide a catch-up of many batches).
  quarry::search::v1::GetShardStatusResponse StatusWhenFirstServing(ServiceProcess& replica,
                                                                   int* polls_not_serving) {
    auto channel = replica.NewChannel();
    auto health = grpc::health::v1::Health::NewStub(channel);
    auto shard = quarry::search::v1::ShardService::NewStub(channel);
    *polls_not_serving = 0;
    const absl::Time end = absl::Now() + absl::Seconds(120);
    while (absl::Now() < end) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      grpc::health::v1::HealthCheckResponse response;
      if (health->Check(&context, {}, &response).ok() &&
          response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
        grpc::ClientContext status_context;
        status_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        quarry::search::v1::GetShardStatusResponse status;
        grpc::Status got = shard->GetShardStatus(&status_context, {}, &status);
        EXPECT_TRUE(got.ok()) << got.error_message();
        return status;
      }
      ++*polls_not_serving;
      absl::SleepFor(absl::Milliseconds(2));
    }
    ADD_FAILURE() << "never SERVING:\n" << replica.Log();
    return {};
  }
};

TEST_F(StartupTest, ServingOnlyOnceCaughtUpWithTheHeadAsOfStartFromEmptyAndFromASnapshot) {
  const int64_t head = Upsert(0, kDocuments);
  auto replica = Start("vs-empty");
  ASSERT_NE(replica, nullptr);
  int polls = 0;
  auto status = StatusWhenFirstServing(*replica, &polls);
  EXPECT_GE(status.watermark(), head) << "SERVING before catching up";
  EXPECT_EQ(status.vectors(), kDocuments);
  EXPECT_TRUE(status.ready());
  std::printf("from empty: SERVING after %d polls NOT_SERVING, watermark %lld of head %lld\n",
              polls, static_cast<long long>(status.watermark()), static_cast<long long>(head));

  replica->process().Signal(SIGTERM);  // snapshot on drain
  ASSERT_TRUE(replica->process().Wait(absl::Seconds(30)).ok());
  ASSERT_TRUE(absl::StrContains(replica->Log(), "snapshot on drain")) << replica->Log();

  // Written while it is down: the snapshot alone is behind by five batches.
  const int64_t later_head = Upsert(kDocuments, 2 * kDocuments);
  auto restarted = Start("vs-snapshot");
  ASSERT_NE(restarted, nullptr);
  status = StatusWhenFirstServing(*restarted, &polls);
  EXPECT_TRUE(absl::StrContains(restarted->Log(), "snapshot loaded")) << restarted->Log();
  EXPECT_GE(status.watermark(), later_head) << "SERVING before catching up";
  EXPECT_EQ(status.vectors(), 2 * kDocuments);
  EXPECT_TRUE(status.ready());
  std::printf("from snapshot: SERVING after %d polls NOT_SERVING, watermark %lld of head %lld\n",
              polls, static_cast<long long>(status.watermark()),
              static_cast<long long>(later_head));
}

}  // namespace
}  // namespace quarry
