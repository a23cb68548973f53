// Vector-search replicas against PostgreSQL: sharding, read-your-writes via
// the watermark, deletes, restart from snapshot + tail, a corrupted snapshot,
// a replica killed while tailing, and request validation.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "quarry/search/v1/shard_service.grpc.pb.h"
#include "services/common/pg/pool.h"
#include "services/common/pg/shard_hash.h"
#include "services/gateway/store.h"
#include "services/vector_search/testing/collection_test.h"
#include "tests/testing/service_process.h"

namespace quarry {
namespace {

using quarry::search::v1::SearchShardRequest;
using quarry::search::v1::SearchShardResponse;
using quarry::search::v1::ShardService;
using testing::ServiceProcess;

constexpr int kDimension = 16;

class VectorSearchBinaryTest : public vector_search::CollectionTest {
 protected:
  VectorSearchBinaryTest() : CollectionTest(kDimension, "vs") {}

  std::vector<float> Vector(int seed) {
    std::mt19937 random(seed);
    std::normal_distribution<float> normal;
    std::vector<float> v(kDimension);
    for (float& x : v) x = normal(random);
    return v;
  }

  // Upserts documents doc-<from>..doc-<to-1> with vector Vector(i); returns the last seq.
  int64_t Upsert(int from, int to) {
    auto result = pool_->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
      google::protobuf::RepeatedPtrField<quarry::gateway::v1::Document> docs;
      for (int i = from; i < to; ++i) {
        auto* doc = docs.Add();
        doc->set_id(absl::StrCat("doc-", i));
        doc->set_text(absl::StrCat("text ", i));
        doc->add_tags(i % 2 == 0 ? "even" : "odd");
        for (float x : Vector(i)) doc->mutable_vector()->add_values(x);
      }
      return gateway::store::UpsertDocuments(txn, collection_, docs).max_seq;
    });
    EXPECT_TRUE(result.ok()) << result.status();
    return result.value_or(0);
  }

  int64_t Delete(const std::vector<std::string>& ids) {
    auto result = pool_->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
      return gateway::store::DeleteDocuments(txn, collection_.id, ids).max_seq;
    });
    EXPECT_TRUE(result.ok()) << result.status();
    return result.value_or(0);
  }

  std::unique_ptr<ServiceProcess> StartReplica(const std::string& name, int shard, int count,
                                               bool snapshots = true,
                                               std::vector<std::string> extra_flags = {}) {
    std::vector<std::string> flags = {"--database_url=" + conninfo_,
                                      absl::StrCat("--shard_index=", shard),
                                      absl::StrCat("--shard_count=", count)};
    if (snapshots) flags.push_back("--data_dir=" + data_dir_);
    flags.insert(flags.end(), extra_flags.begin(), extra_flags.end());
    auto replica = ServiceProcess::Start(name, "services/vector_search/vector_search", flags);
    EXPECT_TRUE(replica.ok()) << replica.status();
    if (!replica.ok()) return nullptr;
    EXPECT_TRUE((*replica)->WaitServing(absl::Seconds(30)).ok());
    return std::move(*replica);
  }

  void WaitWatermark(ServiceProcess& replica, int64_t seq) {
    auto stub = ShardService::NewStub(replica.NewChannel());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    quarry::search::v1::WaitForWatermarkRequest request;
    request.set_min_sequence(seq);
    quarry::search::v1::WaitForWatermarkResponse response;
    grpc::Status status = stub->WaitForWatermark(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_GE(response.watermark(), seq);
  }

  grpc::Status Search(ServiceProcess& replica, const std::vector<float>& query, int k,
                      SearchShardResponse* response, bool exact = true,
                      std::function<void(SearchShardRequest&)> edit = nullptr) {
    auto stub = ShardService::NewStub(replica.NewChannel());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    SearchShardRequest request;
    request.set_collection_id(collection_.id);
    request.set_k(k);
    request.set_exact(exact);
    for (float x : query) request.mutable_vector()->add_values(x);
    if (edit) edit(request);
    return stub->SearchShard(&context, request, response);
  }

  // The ids a replica returns for a query asking for everything.
  std::set<std::string> AllIds(ServiceProcess& replica) {
    SearchShardResponse response;
    EXPECT_TRUE(Search(replica, Vector(12345), 1000, &response).ok());
    std::set<std::string> ids;
    for (const auto& hit : response.hits()) ids.insert(hit.id());
    return ids;
  }

  std::set<std::string> ExpectedIds(int shard, int count, int n, const std::set<int>& deleted) {
    std::set<std::string> ids;
    for (int i = 0; i < n; ++i) {
      const std::string id = absl::StrCat("doc-", i);
      if (!deleted.count(i) && pg::ShardOf(collection_.id, id, count) == static_cast<uint32_t>(shard)) {
        ids.insert(id);
      }
    }
    return ids;
  }
};

TEST_F(VectorSearchBinaryTest, EachShardHoldsExactlyItsDocumentsAndDeletesNeverResurface) {
  const int64_t seq = Upsert(0, 300);
  auto shard0 = StartReplica("vs0", 0, 2, false);
  auto shard1 = StartReplica("vs1", 1, 2, false);
  ASSERT_TRUE(shard0 && shard1);
  WaitWatermark(*shard0, seq);
  WaitWatermark(*shard1, seq);
  EXPECT_EQ(AllIds(*shard0), ExpectedIds(0, 2, 300, {}));
  EXPECT_EQ(AllIds(*shard1), ExpectedIds(1, 2, 300, {}));

  // A write after start arrives by the tail (read-your-writes via the watermark).
  const int64_t more = Upsert(300, 320);
  const int64_t gone = Delete({"doc-1", "doc-2", "doc-3", "doc-310"});
  WaitWatermark(*shard0, std::max(more, gone));
  WaitWatermark(*shard1, std::max(more, gone));
  const std::set<int> deleted = {1, 2, 3, 310};
  EXPECT_EQ(AllIds(*shard0), ExpectedIds(0, 2, 320, deleted));
  EXPECT_EQ(AllIds(*shard1), ExpectedIds(1, 2, 320, deleted));

  // The nearest neighbour of a document's own vector is the document.
  SearchShardResponse response;
  const std::string id = *ExpectedIds(0, 2, 320, deleted).begin();
  const int n = std::stoi(id.substr(4));
  ASSERT_TRUE(Search(*shard0, Vector(n), 1, &response, /*exact=*/false).ok());
  ASSERT_EQ(response.hits_size(), 1);
  EXPECT_EQ(response.hits(0).id(), id);
  EXPECT_NEAR(response.hits(0).score(), 1.0, 1e-4);
}

TEST_F(VectorSearchBinaryTest, RestartFromSnapshotPlusTailMatchesAFreshBuildAndCorruptionIsRejected) {
  Upsert(0, 200);
  auto replica = StartReplica("vs-snap", 0, 1);
  ASSERT_TRUE(replica);
  WaitWatermark(*replica, Upsert(200, 210));
  replica->process().Signal(SIGTERM);  // Snapshot on drain.
  ASSERT_TRUE(replica->process().Wait(absl::Seconds(20)).ok());
  ASSERT_TRUE(absl::StrContains(replica->Log(), "snapshot on drain")) << replica->Log();

  // Changes while it is down: new documents and deletes of snapshotted ones.
  Upsert(210, 230);
  const int64_t last = Delete({"doc-5", "doc-205", "doc-215"});
  auto restarted = StartReplica("vs-snap-2", 0, 1);
  ASSERT_TRUE(restarted);
  EXPECT_TRUE(absl::StrContains(restarted->Log(), "snapshot loaded")) << restarted->Log();
  WaitWatermark(*restarted, last);
  auto fresh = StartReplica("vs-fresh", 0, 1, /*snapshots=*/false);
  ASSERT_TRUE(fresh);
  WaitWatermark(*fresh, last);
  EXPECT_EQ(AllIds(*restarted), AllIds(*fresh));
  EXPECT_EQ(AllIds(*restarted), ExpectedIds(0, 1, 230, {5, 205, 215}));

  // Corrupt the snapshot: it is detected, logged and ignored (rebuilt).
  restarted->process().Signal(SIGTERM);
  ASSERT_TRUE(restarted->process().Wait(absl::Seconds(20)).ok());
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data_dir_)) {
    if (entry.path().extension() != ".snap") continue;
    std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(entry.file_size() / 2));
    file.put('\x5a');
  }
  auto rebuilt = StartReplica("vs-corrupt", 0, 1);
  ASSERT_TRUE(rebuilt);
  EXPECT_TRUE(absl::StrContains(rebuilt->Log(), "snapshot rejected")) << rebuilt->Log();
  WaitWatermark(*rebuilt, last);
  EXPECT_EQ(AllIds(*rebuilt), ExpectedIds(0, 1, 230, {5, 205, 215}));
}

TEST_F(VectorSearchBinaryTest, AReplicaKilledWhileTailingComesBackWithNothingMissingOrDuplicated) {
  auto replica = StartReplica("vs-kill", 0, 1);
  ASSERT_TRUE(replica);
  // Writes keep arriving while the replica is killed.
  int next = 0;
  for (int round = 0; round < 5; ++round, next += 40) Upsert(next, next + 40);
  replica->process().Signal(SIGKILL);
  ASSERT_TRUE(replica->process().Wait(absl::Seconds(10)).ok());
  for (int round = 0; round < 3; ++round, next += 40) Upsert(next, next + 40);
  const int64_t last = Delete({"doc-7", "doc-250"});
  auto back = StartReplica("vs-kill-2", 0, 1);
  ASSERT_TRUE(back);
  WaitWatermark(*back, last);
  const std::set<std::string> ids = AllIds(*back);
  EXPECT_EQ(ids, ExpectedIds(0, 1, next, {7, 250}));
  auto stub = ShardService::NewStub(back->NewChannel());
  grpc::ClientContext context;
  quarry::search::v1::GetShardStatusResponse status;
  ASSERT_TRUE(stub->GetShardStatus(&context, {}, &status).ok());
  EXPECT_EQ(status.vectors(), static_cast<int64_t>(ids.size())) << "duplicates in the index";
  EXPECT_TRUE(status.ready());
  EXPECT_GE(status.watermark(), last);
}

TEST_F(VectorSearchBinaryTest, BadRequestsNameTheField) {
  Upsert(0, 10);
  auto replica = StartReplica("vs-bad", 0, 1, false);
  ASSERT_TRUE(replica);
  struct Case {
    std::function<void(SearchShardRequest&)> edit;
    grpc::StatusCode code;
    std::string field;
  };
  const Case cases[] = {
      {[](auto& r) { r.set_k(0); }, grpc::INVALID_ARGUMENT, "k:"},
      {[](auto& r) { r.set_k(1001); }, grpc::INVALID_ARGUMENT, "k:"},
      {[](auto& r) { r.mutable_vector()->add_values(1); }, grpc::INVALID_ARGUMENT, "vector:"},
      {[](auto& r) { r.mutable_vector()->set_values(3, std::nanf("")); }, grpc::INVALID_ARGUMENT,
       "vector.values[3]"},
      {[](auto& r) { r.set_effort(5); }, grpc::INVALID_ARGUMENT, "effort:"},
      {[](auto& r) { r.set_collection_id(999999); }, grpc::NOT_FOUND, "collection_id"},
  };
  for (const Case& c : cases) {
    SearchShardResponse response;
    grpc::Status status = Search(*replica, Vector(1), 10, &response, false, c.edit);
    EXPECT_EQ(status.error_code(), c.code) << c.field << ": " << status.error_message();
    EXPECT_TRUE(absl::StrContains(status.error_message(), c.field)) << status.error_message();
  }
}

}  // namespace
}  // namespace quarry

namespace quarry {
namespace {

TEST_F(VectorSearchBinaryTest, ABatchAnswersEachQueryAsSearchShardDoes) {
  const int64_t seq = Upsert(0, 200);
  auto replica = StartReplica("vs-batch", 0, 1, false);
  ASSERT_TRUE(replica);
  WaitWatermark(*replica, seq);
  auto stub = ShardService::NewStub(replica->NewChannel());
  auto batch = [&](const quarry::search::v1::SearchShardBatchRequest& request,
                   quarry::search::v1::SearchShardBatchResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub->SearchShardBatch(&context, request, response);
  };

  // Graph and exact queries, different k, and one on a collection the replica
  // has never seen (no hits, where SearchShard says NOT_FOUND).
  quarry::search::v1::SearchShardBatchRequest request;
  std::vector<SearchShardResponse> singles;
  for (int q = 0; q < 12; ++q) {
    SearchShardResponse single;
    const bool exact = q % 2 == 0;
    const int k = 1 + q;
    ASSERT_TRUE(Search(*replica, Vector(q * 7), k, &single, exact).ok());
    singles.push_back(single);
    SearchShardRequest* query = request.add_queries();
    query->set_collection_id(collection_.id);
    query->set_k(k);
    query->set_exact(exact);
    for (float x : Vector(q * 7)) query->mutable_vector()->add_values(x);
  }
  *request.add_queries() = request.queries(0);
  request.mutable_queries(12)->set_collection_id(999999);
  quarry::search::v1::SearchShardBatchResponse response;
  grpc::Status status = batch(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 13);
  for (int q = 0; q < 12; ++q) {
    ASSERT_EQ(response.results(q).hits_size(), singles[q].hits_size()) << q;
    EXPECT_EQ(response.results(q).hits_size(), q + 1);
    for (int h = 0; h < singles[q].hits_size(); ++h) {
      EXPECT_EQ(response.results(q).hits(h).id(), singles[q].hits(h).id()) << q << "/" << h;
      EXPECT_FLOAT_EQ(response.results(q).hits(h).score(), singles[q].hits(h).score());
    }
    EXPECT_EQ(response.results(q).exact_used(), singles[q].exact_used());
  }
  EXPECT_EQ(response.results(12).hits_size(), 0);
  EXPECT_GE(response.results(12).watermark(), seq);

  // A bad query fails the batch and is named; so do an empty and an oversize batch.
  auto bad = request;
  bad.mutable_queries(3)->set_k(0);
  status = batch(bad, &response);
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "queries[3].k:")) << status.error_message();
  bad = request;
  bad.mutable_queries(5)->mutable_vector()->set_values(2, std::nanf(""));
  status = batch(bad, &response);
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "queries[5].vector.values[2]"))
      << status.error_message();
  status = batch(quarry::search::v1::SearchShardBatchRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "queries: must hold 1 to 64"))
      << status.error_message();
  bad = request;
  while (bad.queries_size() <= 64) *bad.add_queries() = request.queries(0);
  status = batch(bad, &response);
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "got 65")) << status.error_message();
}

}  // namespace
}  // namespace quarry

namespace quarry {
namespace {

TEST_F(VectorSearchBinaryTest, GraphParametersAreFlagsAndBadOnesStopTheStart) {
  const int64_t seq = Upsert(0, 200);
  // A bigger graph answers as the default one does: its own vector's
  // document first, for a sample of documents.
  auto replica = StartReplica("vs-m32", 0, 1, false,
                              {"--hnsw_m=32", "--hnsw_ef_construction=200"});
  ASSERT_TRUE(replica);
  WaitWatermark(*replica, seq);
  for (int n = 0; n < 200; n += 17) {
    SearchShardResponse response;
    ASSERT_TRUE(Search(*replica, Vector(n), 1, &response, /*exact=*/false).ok());
    ASSERT_EQ(response.hits_size(), 1);
    EXPECT_EQ(response.hits(0).id(), absl::StrCat("doc-", n));
  }
  // The flag took effect: twice the links per node take more memory than
  // the default graph of the same documents.
  auto standard = StartReplica("vs-m16", 0, 1, false);
  ASSERT_TRUE(standard);
  WaitWatermark(*standard, seq);
  auto memory_of = [](ServiceProcess& replica) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    quarry::search::v1::GetShardStatusResponse status;
    EXPECT_TRUE(ShardService::NewStub(replica.NewChannel())
                    ->GetShardStatus(&context, quarry::search::v1::GetShardStatusRequest(),
                                     &status)
                    .ok());
    return status.memory_bytes();
  };
  EXPECT_GT(memory_of(*replica), memory_of(*standard));

  for (const auto& [flag, named] : std::vector<std::pair<std::string, std::string>>{
           {"--hnsw_m=1", "--hnsw_m"},
           {"--hnsw_m=257", "--hnsw_m"},
           {"--hnsw_ef_construction=0", "--hnsw_ef_construction"}}) {
    auto bad = ServiceProcess::Start(
        "vs-bad-flag", "services/vector_search/vector_search",
        {"--database_url=" + conninfo_, flag}, absl::Seconds(10));
    ASSERT_FALSE(bad.ok()) << flag << " started";
    EXPECT_TRUE(absl::StrContains(bad.status().message(), named)) << bad.status();
  }
}

}  // namespace
}  // namespace quarry
