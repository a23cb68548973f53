// Read-your-writes across replicas: with two vector-search replicas per
// shard, a search issued right after an Upsert or Delete with
// wait_for_indexed must reflect that write, whichever replica the gateway's
// load balancer sends it to. Each cycle writes one document (a fresh random
// vector, or a delete) and searches at once with that document's vector:
// after an upsert the document must rank first, after a delete it must be
// absent. A replica that had not applied the write answers stale.
// Prints "STALE <n>/<cycles>".
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "tests/testing/suite.h"

namespace quarry {
namespace {

namespace v1 = ::quarry::gateway::v1;
using testing::Suite;
using testing::SuiteOptions;

constexpr int kCycles = 1000;
// Documents the cycles write and delete over: small, so deletes and
// re-upserts of an existing id (a new vector replacing the old) are common.
constexpr int kDocuments = 40;
// Hard bound of the whole loop (a cycle takes about 10 ms on two cores).
constexpr absl::Duration kLoopBound = absl::Minutes(6);

std::vector<float> RandomVector(std::mt19937_64& random, uint32_t dimension) {
  std::normal_distribution<float> normal;
  std::vector<float> v(dimension);
  for (float& x : v) x = normal(random);
  return v;
}

TEST(ReadYourWritesTest, ASearchAfterWaitForIndexedSeesTheWriteOnEveryReplica) {
  SuiteOptions options;
  options.shards = 2;
  options.replicas = 2;
  options.workers = 1;
  options.gateways = 1;
  auto started = Suite::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  Suite& suite = **started;
  // Calls as fast as the suite answers: well above the default rate limit.
  auto key = suite.CreateApiKey("acme", {"read", "write", "admin"}, /*rate_per_second=*/10000,
                                /*burst=*/10000);
  ASSERT_TRUE(key.ok()) << key.status();
  ASSERT_TRUE(suite.CreateCollection(*key, "ryw").ok());

  auto collections = v1::CollectionService::NewStub(suite.channel());
  auto documents = v1::DocumentService::NewStub(suite.channel());
  auto search = v1::SearchService::NewStub(suite.channel());
  v1::GetCollectionRequest get;
  get.set_name("ryw");
  v1::GetCollectionResponse collection;
  grpc::Status got = collections->GetCollection(Suite::Context(*key).get(), get, &collection);
  ASSERT_TRUE(got.ok()) << got.error_message();
  const uint32_t dimension = collection.collection().dimension();
  ASSERT_GT(dimension, 0u);

  std::mt19937_64 random(20261206);
  // The last vector written per id; present ids are in `live`.
  std::vector<std::vector<float>> vectors(kDocuments);
  std::set<int> live;
  int stale = 0;
  int upserts = 0;
  int deletes = 0;
  int cycles = 0;
  const absl::Time end = absl::Now() + kLoopBound;
  for (; cycles < kCycles && absl::Now() < end; ++cycles) {
    const int doc = static_cast<int>(random() % kDocuments);
    const std::string id = absl::StrCat("doc-", doc);
    // A live document is deleted or replaced half the time each.
    const bool upsert = live.count(doc) == 0 || random() % 2 == 0;
    if (upsert) {
      vectors[doc] = RandomVector(random, dimension);
      v1::UpsertDocumentsRequest request;
      request.set_collection("ryw");
      request.set_wait_for_indexed(true);
      v1::Document* d = request.add_documents();
      d->set_id(id);
      d->set_text(absl::StrCat("document ", id, " version ", cycles));
      d->mutable_vector()->mutable_values()->Add(vectors[doc].begin(), vectors[doc].end());
      v1::UpsertDocumentsResponse response;
      grpc::Status status =
          documents->UpsertDocuments(Suite::Context(*key).get(), request, &response);
      ASSERT_TRUE(status.ok()) << "cycle " << cycles << ": " << status.error_message();
      live.insert(doc);
      ++upserts;
    } else {
      v1::DeleteDocumentsRequest request;
      request.set_collection("ryw");
      request.set_wait_for_indexed(true);
      request.add_ids(id);
      v1::DeleteDocumentsResponse response;
      grpc::Status status =
          documents->DeleteDocuments(Suite::Context(*key).get(), request, &response);
      ASSERT_TRUE(status.ok()) << "cycle " << cycles << ": " << status.error_message();
      live.erase(doc);
      ++deletes;
    }

    v1::SearchRequest request;
    request.set_collection("ryw");
    request.mutable_vector()->mutable_values()->Add(vectors[doc].begin(), vectors[doc].end());
    request.set_top_k(1);
    // Brute force: a miss can only mean the replica lacks the write, never
    // an approximate search's recall.
    request.set_exact(true);
    request.set_require_all_shards(true);
    v1::SearchResponse response;
    grpc::Status status = search->Search(Suite::Context(*key).get(), request, &response);
    ASSERT_TRUE(status.ok()) << "cycle " << cycles << ": " << status.error_message();
    const bool first = response.hits_size() > 0 && response.hits(0).id() == id;
    if (first != upsert) {
      ++stale;
      if (stale <= 5) {
        std::printf("stale at cycle %d: %s %s, top hit %s\n", cycles, upsert ? "upsert" : "delete",
                    id.c_str(), response.hits_size() > 0 ? response.hits(0).id().c_str() : "none");
      }
    }
  }
  std::printf("cycles %d: upserts %d, deletes %d\n", cycles, upserts, deletes);
  std::printf("STALE %d/%d\n", stale, cycles);
  std::fflush(stdout);
  EXPECT_EQ(cycles, kCycles) << "the cycles did not finish within " << kLoopBound;
  EXPECT_EQ(stale, 0);
}

}  // namespace
}  // namespace quarry
