// DeleteCollection across two gateways on one PostgreSQL: once the delete has
// returned through gateway A, gateway B (whose collection cache holds the
// collection) answers NOT_FOUND at once; the name can be re-created at once as
// a new, empty collection; and an upsert racing the delete never leaves live
// documents under the dead collection's id.
//
// The races are made deterministic with the document-order lock
// (pg::kDocumentSeqLockKey): while the test holds it, an upsert stops just
// before its document rows, so the delete is sure to run while the upsert is in
// flight, whichever order the gateway's statements come in.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "quarry/gateway/v1/stats_service.grpc.pb.h"
#include "services/common/pg/document_order.h"
#include "tests/testing/suite.h"

namespace quarry {
namespace {

namespace v1 = ::quarry::gateway::v1;
using testing::Suite;
using testing::SuiteOptions;

class CollectionDeleteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SuiteOptions options;
    options.shards = 2;
    options.replicas = 1;
    options.workers = 1;
    options.gateways = 2;
    auto suite = Suite::Start(options);
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = suite->release();
    auto key = suite_->CreateApiKey("acme", {"read", "write", "admin"},
                                    /*rate_per_second=*/1e5, /*burst=*/100000);
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = new std::string(*key);
  }
  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
    delete key_;
    key_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(suite_, nullptr); }

  // Gateway A (0) serves creates and deletes, gateway B (1) everything else.
  static std::shared_ptr<grpc::Channel> A() { return suite_->gateway(0).channel(); }
  static std::shared_ptr<grpc::Channel> B() { return suite_->gateway(1).channel(); }
  static std::unique_ptr<grpc::ClientContext> Ctx() { return Suite::Context(*key_); }

  static grpc::Status Create(const std::string& name) {
    v1::CreateCollectionRequest request;
    request.mutable_collection()->set_name(name);
    v1::CreateCollectionResponse response;
    return v1::CollectionService::NewStub(A())->CreateCollection(Ctx().get(), request, &response);
  }
  static grpc::Status Delete(const std::string& name) {
    v1::DeleteCollectionRequest request;
    request.set_name(name);
    v1::DeleteCollectionResponse response;
    return v1::CollectionService::NewStub(A())->DeleteCollection(Ctx().get(), request, &response);
  }
  static grpc::Status Get(const std::string& name) {
    v1::GetCollectionRequest request;
    request.set_name(name);
    v1::GetCollectionResponse response;
    return v1::CollectionService::NewStub(B())->GetCollection(Ctx().get(), request, &response);
  }
  static std::string TextOf(const std::string& id) { return "the quick brown " + id; }
  static grpc::Status Upsert(const std::string& collection, const std::vector<std::string>& ids,
                             bool wait_for_indexed) {
    v1::UpsertDocumentsRequest request;
    request.set_collection(collection);
    request.set_wait_for_indexed(wait_for_indexed);
    for (const std::string& id : ids) {
      v1::Document* doc = request.add_documents();
      doc->set_id(id);
      doc->set_text(TextOf(id));
    }
    v1::UpsertDocumentsResponse response;
    return v1::DocumentService::NewStub(B())->UpsertDocuments(
        Suite::Context(*key_, absl::Seconds(30)).get(), request, &response);
  }
  // The ids of the hits of a search through B; the status via `status`.
  static std::vector<std::string> Search(const std::string& collection, const std::string& text,
                                         grpc::Status* status) {
    v1::SearchRequest request;
    request.set_collection(collection);
    request.set_text(text);
    request.set_top_k(10);
    v1::SearchResponse response;
    *status = v1::SearchService::NewStub(B())->Search(Ctx().get(), request, &response);
    std::vector<std::string> ids;
    for (const auto& hit : response.hits()) ids.push_back(hit.id());
    return ids;
  }
  static grpc::Status SearchBatch(const std::string& collection, const std::string& text) {
    v1::SearchBatchRequest request;
    for (int i = 0; i < 2; ++i) {
      v1::SearchRequest* query = request.add_queries();
      query->set_collection(collection);
      query->set_text(text);
      query->set_top_k(5);
    }
    v1::SearchBatchResponse response;
    return v1::SearchService::NewStub(B())->SearchBatch(Ctx().get(), request, &response);
  }

  // One number from SQL on the suite's database.
  static int64_t Sql(const std::string& query) {
    auto rows = suite_->pool().Query(query);
    EXPECT_TRUE(rows.ok()) << rows.status() << " in " << query;
    if (!rows.ok() || rows->empty() || (*rows)[0][0].is_null()) return -1;
    return (*rows)[0][0].as<int64_t>();
  }
  static int64_t LiveId(const std::string& name) {
    return Sql(absl::StrCat("SELECT id FROM collections WHERE name = '", name,
                            "' AND deleted_at IS NULL"));
  }
  // Backends of this database waiting for a lock in the statement
  // `like` (an SQL LIKE pattern).
  static int64_t Waiting(const std::string& like) {
    return Sql(absl::StrCat(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE '",
        like, "'"));
  }
  // Polls `done` every 20 ms for up to 10 s.
  static bool Eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 500; ++i) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return done();
  }

  // Upserts `racing` through B while the delete through A runs: the test
  // holds the document-order lock until the upsert waits for it and the
  // delete either has returned or waits too, then lets both go. Returns the
  // two statuses (upsert, delete).
  static std::pair<grpc::Status, grpc::Status> RaceUpsertWithDelete(
      const std::string& collection, const std::vector<std::string>& racing) {
    auto lease = suite_->pool().Acquire();
    EXPECT_TRUE(lease.ok()) << lease.status();
    if (!lease.ok()) return {};
    auto hold = std::make_unique<pqxx::work>(lease->conn());
    hold->exec(absl::StrCat("SELECT pg_advisory_xact_lock(", pg::kDocumentSeqLockKey, ")"));

    grpc::Status upserted, deleted;
    std::thread upsert([&] { upserted = Upsert(collection, racing, /*wait_for_indexed=*/false); });
    // The upsert takes the lock just before its document statement.
    EXPECT_TRUE(Eventually([] { return Waiting("%pg_advisory_xact_lock%") >= 1; }))
        << "the upsert never reached its document rows";
    std::atomic<bool> delete_returned{false};
    std::thread remove([&] {
      deleted = Delete(collection);
      delete_returned = true;
    });
    EXPECT_TRUE(Eventually([&] {
      return delete_returned.load() ||
             Waiting("%FROM collections%") + Waiting("%UPDATE collections%") +
                     Waiting("%UPDATE documents SET deleted%") >=
                 1;
    })) << "the delete neither returned nor waited";
    hold->abort();
    hold.reset();
    upsert.join();
    remove.join();
    return {upserted, deleted};
  }

  static inline Suite* suite_ = nullptr;
  static inline std::string* key_ = nullptr;
};

TEST_F(CollectionDeleteTest, GoneOnEveryGatewayAtOnceAndTheNameIsNewAtOnce) {
  ASSERT_TRUE(Create("docs").ok());
  const std::vector<std::string> old_ids = {"old-1", "old-2", "old-3"};
  grpc::Status status = Upsert("docs", old_ids, /*wait_for_indexed=*/true);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const int64_t old_id = LiveId("docs");
  ASSERT_GT(old_id, 0);

  // B searches (and so caches the collection for a second), A deletes, B is
  // asked at once, well within that second.
  std::vector<std::string> hits = Search("docs", TextOf("old-1"), &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_FALSE(hits.empty());
  status = Delete("docs");
  ASSERT_TRUE(status.ok()) << status.error_message();
  const absl::Time deleted = absl::Now();

  hits = Search("docs", TextOf("old-1"), &status);
  EXPECT_EQ(status.error_code(), grpc::NOT_FOUND)
      << "search through B after the delete: " << status.error_message() << ", "
      << hits.size() << " hits";
  EXPECT_TRUE(absl::StrContains(status.error_message(), "\"docs\"")) << status.error_message();
  status = Get("docs");
  EXPECT_EQ(status.error_code(), grpc::NOT_FOUND) << status.error_message();
  status = Upsert("docs", {"late-1"}, /*wait_for_indexed=*/false);
  EXPECT_EQ(status.error_code(), grpc::NOT_FOUND) << status.error_message();
  // All of that inside the cache's lifetime, or it proved nothing.
  EXPECT_LT(absl::Now() - deleted, absl::Seconds(1));

  // The same name again through A: a new, empty collection, at once through B.
  ASSERT_TRUE(Create("docs").ok());
  const int64_t new_id = LiveId("docs");
  EXPECT_NE(new_id, old_id);
  EXPECT_EQ(Sql(absl::StrCat("SELECT count(*) FROM documents WHERE collection_id = ", new_id)),
            0);
  const std::vector<std::string> new_ids = {"new-1", "new-2"};
  status = Upsert("docs", new_ids, /*wait_for_indexed=*/true);
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (const std::string& text : {TextOf("old-1"), TextOf("new-1")}) {
    hits = Search("docs", text, &status);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(hits.empty()) << text;
    for (const std::string& id : hits) {
      EXPECT_TRUE(absl::StartsWith(id, "new-")) << "hit " << id << " of the deleted collection";
    }
  }
  v1::GetCollectionStatsRequest stats_request;
  stats_request.set_collection("docs");
  v1::GetCollectionStatsResponse stats;
  ASSERT_TRUE(v1::StatsService::NewStub(B())
                  ->GetCollectionStats(Ctx().get(), stats_request, &stats)
                  .ok());
  EXPECT_EQ(stats.documents(), 2);
  EXPECT_EQ(stats.deleted(), 0);
  // The new documents went to the new collection, none to the old one.
  EXPECT_EQ(Sql(absl::StrCat("SELECT count(*) FROM documents WHERE collection_id = ", old_id,
                             " AND NOT deleted")),
            0);
  EXPECT_EQ(Sql(absl::StrCat("SELECT count(*) FROM documents WHERE collection_id = ", old_id,
                             " AND doc_id LIKE 'new-%'")),
            0);

  // B's cache now holds the new collection (the searches above); a batched
  // search through B right after another delete is NOT_FOUND too.
  ASSERT_TRUE(SearchBatch("docs", TextOf("new-1")).ok());
  ASSERT_TRUE(Delete("docs").ok());
  status = SearchBatch("docs", TextOf("new-1"));
  EXPECT_EQ(status.error_code(), grpc::NOT_FOUND) << status.error_message();
}

// Two orders of the race: with live documents the old code's delete waited
// for the document-order lock behind the upsert, and without any it
// committed first; either way the upsert's rows stayed live under the dead id.
TEST_F(CollectionDeleteTest, AnUpsertRacingTheDeleteLeavesNothingLiveInTheDeadCollection) {
  for (const bool with_documents : {true, false}) {
    SCOPED_TRACE(with_documents ? "collection with documents" : "empty collection");
    const std::string name = with_documents ? "race-full" : "race-empty";
    ASSERT_TRUE(Create(name).ok());
    if (with_documents) {
      grpc::Status status = Upsert(name, {"before-1", "before-2"}, /*wait_for_indexed=*/false);
      ASSERT_TRUE(status.ok()) << status.error_message();
      // Nothing else may hold or wait for the document-order lock.
      ASSERT_TRUE(suite_->WaitIndexed(*key_, name).ok());
    }
    const int64_t dead_id = LiveId(name);
    ASSERT_GT(dead_id, 0);

    auto [upserted, deleted] = RaceUpsertWithDelete(name, {"racing-1", "racing-2", "racing-3"});
    EXPECT_TRUE(deleted.ok()) << deleted.error_message();
    // Either order is fine for the client: before the delete (OK, and then
    // tombstoned by it) or after it (NOT_FOUND).
    EXPECT_TRUE(upserted.ok() || upserted.error_code() == grpc::NOT_FOUND)
        << upserted.error_message();

    EXPECT_EQ(LiveId(name), -1);
    EXPECT_EQ(Sql(absl::StrCat("SELECT count(*) FROM documents WHERE collection_id = ", dead_id,
                               " AND NOT deleted")),
              0)
        << "live documents under the deleted collection " << dead_id;

    // After the delete, B writes nothing there: no rows, no indexing job.
    const std::string jobs_of_dead = absl::StrCat(
        "SELECT count(*) FROM jobs WHERE kind = 'index_documents' "
        "AND (payload->>'collection_id')::bigint = ",
        dead_id);
    const int64_t jobs_before = Sql(jobs_of_dead);
    grpc::Status late = Upsert(name, {"late-1"}, /*wait_for_indexed=*/false);
    EXPECT_EQ(late.error_code(), grpc::NOT_FOUND) << late.error_message();
    EXPECT_EQ(Sql(jobs_of_dead), jobs_before);
    EXPECT_EQ(Sql(absl::StrCat("SELECT count(*) FROM documents WHERE collection_id = ", dead_id,
                               " AND doc_id = 'late-1'")),
              0);
  }
}

}  // namespace
}  // namespace quarry
