// Contract tests: every area's protos compile to usable C++ (messages, stubs,
// gMock stubs), and the public API's field numbers match the golden file.
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protos/api_dump.h"
#include "quarry/embedding/v1/embedding_service.grpc.pb.h"
#include "quarry/embedding/v1/embedding_service_mock.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "quarry/jobs/v1/worker_admin_service.grpc.pb.h"
#include "quarry/search/v1/shard_service.grpc.pb.h"

namespace quarry::protos {
namespace {

using ::testing::_;
using ::testing::DoAll;
using ::testing::Return;
using ::testing::SetArgPointee;

// The element a golden line describes ("field quarry.x.Y.z"), without its number and type.
std::string Key(const std::string& line) { return line.substr(0, line.find(" = ")); }

TEST(PublicApiGolden, FieldNumbersAreUnchanged) {
  std::ifstream in("protos/public_api.golden");
  ASSERT_TRUE(in) << "missing protos/public_api.golden (a data dependency of this test)";
  std::map<std::string, std::string> golden;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) golden[Key(line)] = line;
  }
  std::map<std::string, std::string> current;
  for (const auto& line : DumpPublicApi()) current[Key(line)] = line;

  std::vector<std::string> breaking;
  for (const auto& [key, line] : golden) {
    auto it = current.find(key);
    if (it == current.end()) {
      breaking.push_back("removed: " + line);
    } else if (it->second != line) {
      breaking.push_back("changed: " + line + "  ->  " + it->second);
    }
  }
  EXPECT_TRUE(breaking.empty())
      << "BREAKING CHANGE to the public API (clients built against the old "
         "contract would misread messages). Reserve removed numbers and add new "
         "fields instead:\n  "
      << absl::StrJoin(breaking, "\n  ");

  std::vector<std::string> added;
  for (const auto& [key, line] : current) {
    if (!golden.count(key)) added.push_back(line);
  }
  EXPECT_TRUE(added.empty())
      << "New public API elements are not in the golden file yet. If they are "
         "intended, regenerate it with\n  bazel run //protos:dump_public_api > "
         "protos/public_api.golden\nNew elements:\n  "
      << absl::StrJoin(added, "\n  ");
}

TEST(PublicApiGolden, DumpCoversEveryGatewayService) {
  for (const char* name : {"AdminService", "CollectionService", "DocumentService",
                           "JobService", "SearchService", "StatsService"}) {
    bool found = false;
    for (const auto& line : DumpPublicApi()) {
      found |= line.rfind(std::string("rpc quarry.gateway.v1.") + name + ".", 0) == 0;
    }
    EXPECT_TRUE(found) << name << " has no RPC in the dump";
  }
}

TEST(Contracts, MessagesRoundTripInEveryArea) {
  quarry::gateway::v1::SearchRequest search;
  search.set_collection("docs");
  search.mutable_vector()->add_values(0.5f);
  search.set_top_k(7);
  search.set_min_score(0.25f);
  search.mutable_filter()->add_all_tags("bug");
  (*search.mutable_filter()->mutable_metadata_equals())["lang"] = "en";
  quarry::gateway::v1::SearchRequest search_copy;
  ASSERT_TRUE(search_copy.ParseFromString(search.SerializeAsString()));
  EXPECT_EQ(search_copy.top_k(), 7u);
  EXPECT_TRUE(search_copy.has_min_score());
  EXPECT_EQ(search_copy.query_case(), quarry::gateway::v1::SearchRequest::kVector);
  EXPECT_EQ(search_copy.filter().metadata_equals().at("lang"), "en");

  quarry::search::v1::SearchShardRequest shard;
  shard.set_collection_id(42);
  shard.set_k(10);
  quarry::search::v1::SearchShardRequest shard_copy;
  ASSERT_TRUE(shard_copy.ParseFromString(shard.SerializeAsString()));
  EXPECT_EQ(shard_copy.collection_id(), 42);
  EXPECT_FALSE(shard_copy.has_min_score());

  quarry::jobs::v1::GetWorkerStatusResponse status;
  status.set_capacity(4);
  status.add_kinds("index_documents");
  quarry::jobs::v1::GetWorkerStatusResponse status_copy;
  ASSERT_TRUE(status_copy.ParseFromString(status.SerializeAsString()));
  EXPECT_EQ(status_copy.kinds(0), "index_documents");
}

TEST(Contracts, GeneratedMockStubIsUsable) {
  quarry::embedding::v1::MockEmbeddingServiceStub stub;
  quarry::embedding::v1::GetModelInfoResponse info;
  info.set_name("hashing-384");
  info.set_dimension(384);
  EXPECT_CALL(stub, GetModelInfo(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(info), Return(grpc::Status::OK)));

  grpc::ClientContext context;
  quarry::embedding::v1::GetModelInfoResponse got;
  ASSERT_TRUE(stub.GetModelInfo(&context, {}, &got).ok());
  EXPECT_EQ(got.dimension(), 384u);
  EXPECT_EQ(got.name(), "hashing-384");
}

}  // namespace
}  // namespace quarry::protos
