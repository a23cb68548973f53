// Replica against a real PostgreSQL: not ready until caught up, the snapshot
// on drain, and which snapshots a start trusts (fresh and intact) or ignores
// (too old, damaged).
#include "services/vector_search/serving/replica.h"

#include <utime.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/gateway/store.h"
#include "services/vector_search/testing/collection_test.h"

namespace quarry::vector_search {
namespace {

constexpr int kDimension = 8;
constexpr int kDocuments = 300;

class ReplicaTest : public CollectionTest {
 protected:
  ReplicaTest() : CollectionTest(kDimension, "replica") {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CollectionTest::SetUp());
    options_.data_dir = data_dir_;
    // Long enough that only Drain writes snapshots here.
    options_.snapshot_interval = absl::Hours(1);
  }

  // Upserts doc-<from>..doc-<to-1>; returns the database's head (max seq).
  int64_t Upsert(int from, int to) {
    auto seq = pool_->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
      google::protobuf::RepeatedPtrField<quarry::gateway::v1::Document> docs;
      for (int i = from; i < to; ++i) {
        auto* doc = docs.Add();
        doc->set_id(absl::StrCat("doc-", i));
        doc->set_text(absl::StrCat("text ", i));
        for (int d = 0; d < kDimension; ++d) {
          doc->mutable_vector()->add_values(static_cast<float>((i * 31 + d * 7) % 17) + 1);
        }
      }
      return gateway::store::UpsertDocuments(txn, collection_, docs).max_seq;
    });
    EXPECT_TRUE(seq.ok()) << seq.status();
    return seq.value_or(0);
  }

  std::unique_ptr<Replica> NewReplica() {
    return std::make_unique<Replica>(options_, *pool_, conninfo_, logger_, metrics_);
  }

  static quarry::search::v1::GetShardStatusResponse Status(Replica& replica) {
    grpc::ServerContext context;
    quarry::search::v1::GetShardStatusRequest request;
    quarry::search::v1::GetShardStatusResponse response;
    EXPECT_TRUE(replica.service().GetShardStatus(&context, &request, &response).ok());
    return response;
  }

  // A snapshot of the first kDocuments documents, written by Drain.
  int64_t WriteSnapshot() {
    const int64_t head = Upsert(0, kDocuments);
    auto replica = NewReplica();
    replica->CatchUpAndStart();
    replica->Drain();
    return head;
  }

  std::string manifest() const { return options_.snapshot_dir() + "/MANIFEST"; }

  ReplicaOptions options_;
  std::ostringstream log_;
  telemetry::Logger logger_{"vector-search", &log_};
  telemetry::Metrics metrics_;
};

TEST_F(ReplicaTest, ReadyOnlyOnceCaughtUpAndDrainLeavesASnapshot) {
  const int64_t head = Upsert(0, kDocuments);
  auto replica = NewReplica();
  auto before = Status(*replica);
  EXPECT_FALSE(before.ready());
  EXPECT_EQ(before.watermark(), 0);

  replica->CatchUpAndStart();
  auto after = Status(*replica);
  EXPECT_TRUE(after.ready());
  EXPECT_GE(after.watermark(), head);
  EXPECT_EQ(after.vectors(), kDocuments);
  EXPECT_FALSE(std::filesystem::exists(manifest()));  // The interval is an hour.

  replica->Drain();
  EXPECT_TRUE(std::filesystem::exists(manifest()));
  EXPECT_TRUE(absl::StrContains(log_.str(), "snapshot on drain")) << log_.str();
}

TEST_F(ReplicaTest, AFreshSnapshotIsLoadedBeforeCatchingUp) {
  const int64_t head = WriteSnapshot();
  auto replica = NewReplica();
  // Before any catch-up: what the snapshot holds, not yet ready.
  auto loaded = Status(*replica);
  EXPECT_GE(loaded.watermark(), head);
  EXPECT_EQ(loaded.vectors(), kDocuments);
  EXPECT_FALSE(loaded.ready());
  EXPECT_TRUE(absl::StrContains(log_.str(), "snapshot loaded")) << log_.str();

  const int64_t later = Upsert(kDocuments, 2 * kDocuments);
  replica->CatchUpAndStart();
  EXPECT_GE(Status(*replica).watermark(), later);
  EXPECT_EQ(Status(*replica).vectors(), 2 * kDocuments);
}

TEST_F(ReplicaTest, ASnapshotOlderThanMaxAgeIsIgnored) {
  WriteSnapshot();
  const time_t two_hours_ago = absl::ToTimeT(absl::Now() - absl::Hours(2));
  const struct utimbuf times = {two_hours_ago, two_hours_ago};
  ASSERT_EQ(utime(manifest().c_str(), &times), 0);
  options_.snapshot_max_age = absl::Hours(1);

  auto replica = NewReplica();
  EXPECT_EQ(Status(*replica).watermark(), 0);
  EXPECT_EQ(Status(*replica).vectors(), 0);
  EXPECT_TRUE(absl::StrContains(log_.str(), "snapshot too old")) << log_.str();
  replica->CatchUpAndStart();  // Rebuilt from PostgreSQL.
  EXPECT_EQ(Status(*replica).vectors(), kDocuments);
}

TEST_F(ReplicaTest, ADamagedSnapshotIsNeverServed) {
  WriteSnapshot();
  std::ofstream(manifest(), std::ios::trunc) << "not a manifest";

  auto replica = NewReplica();
  EXPECT_EQ(Status(*replica).watermark(), 0);
  EXPECT_EQ(Status(*replica).vectors(), 0);
  EXPECT_TRUE(absl::StrContains(log_.str(), "snapshot rejected")) << log_.str();
  replica->CatchUpAndStart();
  EXPECT_EQ(Status(*replica).vectors(), kDocuments);
}

TEST_F(ReplicaTest, NoDataDirMeansNoSnapshots) {
  options_.data_dir.clear();
  Upsert(0, kDocuments);
  auto replica = NewReplica();
  replica->CatchUpAndStart();
  replica->Drain();
  EXPECT_FALSE(absl::StrContains(log_.str(), "snapshot")) << log_.str();
}

}  // namespace
}  // namespace quarry::vector_search
