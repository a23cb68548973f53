// The embedding binary over gRPC: limits, model binding, 32 concurrent
// callers, both cache levels (a second replica hits the first one's L2).
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "quarry/embedding/v1/embedding_service.grpc.pb.h"
#include "services/common/pg/testing/postgres_env.h"
#include "tests/testing/service_process.h"

namespace quarry {
namespace {

using quarry::embedding::v1::EmbeddingService;
using quarry::embedding::v1::EmbedRequest;
using quarry::embedding::v1::EmbedResponse;

class EmbeddingBinaryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto conninfo = pg::TestPostgres().CreateDatabase(/*migrated=*/false);
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    conninfo_ = new std::string(*conninfo);
    auto service = testing::ServiceProcess::Start(
        "embedding", "services/embedding/embedding", {"--database_url=" + *conninfo_});
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = service->release();
    ASSERT_TRUE(service_->WaitServing(absl::Seconds(30)).ok());
  }
  static void TearDownTestSuite() {
    delete service_;
    delete conninfo_;
  }

  grpc::Status Embed(const EmbedRequest& request, EmbedResponse* response,
                     testing::ServiceProcess* service = nullptr) {
    auto stub = EmbeddingService::NewStub((service ? service : service_)->NewChannel());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return stub->Embed(&context, request, response);
  }

  static std::string* conninfo_;
  static testing::ServiceProcess* service_;
};

std::string* EmbeddingBinaryTest::conninfo_ = nullptr;
testing::ServiceProcess* EmbeddingBinaryTest::service_ = nullptr;

TEST_F(EmbeddingBinaryTest, EmbedsAndAnswersRepeatsFromTheCacheIdentically) {
  EmbedRequest request;
  request.add_texts("disk full on the build agent");
  request.add_texts("segmentation fault in the image decoder");
  EmbedResponse first;
  ASSERT_TRUE(Embed(request, &first).ok());
  EXPECT_EQ(first.model(), "hashing-384");
  EXPECT_EQ(first.dimension(), 384u);
  ASSERT_EQ(first.embeddings_size(), 2);
  EXPECT_FALSE(first.embeddings(0).cached());
  EXPECT_EQ(first.embeddings(0).vector().values_size(), 384);

  EmbedResponse second;
  ASSERT_TRUE(Embed(request, &second).ok());
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(second.embeddings(i).cached());
    EXPECT_EQ(std::vector<float>(second.embeddings(i).vector().values().begin(),
                                 second.embeddings(i).vector().values().end()),
              std::vector<float>(first.embeddings(i).vector().values().begin(),
                                 first.embeddings(i).vector().values().end()));
  }
}

TEST_F(EmbeddingBinaryTest, ASecondReplicaHitsTheSharedSecondLevel) {
  EmbedRequest request;
  request.add_texts("a sentence only the first replica has embedded");
  EmbedResponse first;
  ASSERT_TRUE(Embed(request, &first).ok());
  EXPECT_FALSE(first.embeddings(0).cached());
  auto other = testing::ServiceProcess::Start("embedding-2", "services/embedding/embedding",
                                              {"--database_url=" + *conninfo_});
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE((*other)->WaitServing(absl::Seconds(30)).ok());
  // The first replica writes L2 in the background: allow it a moment.
  EmbedResponse second;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(Embed(request, &second, other->get()).ok());
    if (second.embeddings(0).cached()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(second.embeddings(0).cached());
  EXPECT_EQ(second.embeddings(0).vector().values(0), first.embeddings(0).vector().values(0));
  auto metrics = (*other)->ScrapeMetrics();
  ASSERT_TRUE(metrics.ok());
  EXPECT_TRUE(absl::StrContains(*metrics, "quarry_embedding_cache_lookups_total{level=\"l2\",result=\"hit\"}"))
      << *metrics;
}

TEST_F(EmbeddingBinaryTest, EveryLimitNamesTheTextOrField) {
  struct Case {
    std::function<void(EmbedRequest&)> build;
    grpc::StatusCode code;
    std::string needle;
  };
  const Case cases[] = {
      {[](EmbedRequest&) {}, grpc::INVALID_ARGUMENT, "texts"},
      {[](EmbedRequest& r) {
         for (int i = 0; i < 257; ++i) r.add_texts("x");
       },
       grpc::INVALID_ARGUMENT, "256"},
      {[](EmbedRequest& r) {
         r.add_texts("fine");
         r.add_texts("");
       },
       grpc::INVALID_ARGUMENT, "texts[1]"},
      {[](EmbedRequest& r) {
         r.add_texts("fine");
         r.add_texts(std::string(32 * 1024 + 1, 'a'));
       },
       grpc::INVALID_ARGUMENT, "texts[1]"},
      {[](EmbedRequest& r) {
         r.set_model("all-MiniLM-L6-v2");
         r.add_texts("x");
       },
       grpc::FAILED_PRECONDITION, "all-MiniLM-L6-v2"},
      {[](EmbedRequest& r) {
         r.set_expected_dimension(768);
         r.add_texts("x");
       },
       grpc::FAILED_PRECONDITION, "768"},
  };
  for (const Case& c : cases) {
    EmbedRequest request;
    c.build(request);
    EmbedResponse response;
    grpc::Status status = Embed(request, &response);
    EXPECT_EQ(status.error_code(), c.code) << c.needle << ": " << status.error_message();
    EXPECT_TRUE(absl::StrContains(status.error_message(), c.needle)) << status.error_message();
  }
}

TEST_F(EmbeddingBinaryTest, ThirtyTwoConcurrentCallersGetTheirOwnVectorsInOrder) {
  // Reference vectors, one text at a time.
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) texts.push_back(absl::StrCat("concurrent text number ", i));
  std::vector<std::vector<float>> expected;
  for (const std::string& text : texts) {
    EmbedRequest request;
    request.add_texts(text);
    EmbedResponse response;
    ASSERT_TRUE(Embed(request, &response).ok());
    expected.emplace_back(response.embeddings(0).vector().values().begin(),
                          response.embeddings(0).vector().values().end());
  }
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 32; ++c) {
    callers.emplace_back([&, c] {
      for (int round = 0; round < 5; ++round) {
        EmbedRequest request;
        std::vector<int> picks;
        for (int k = 0; k < 3; ++k) {
          picks.push_back((c * 7 + round * 3 + k * 11) % 64);
          request.add_texts(texts[picks.back()]);
        }
        EmbedResponse response;
        if (!Embed(request, &response).ok()) {
          ++failures;
          continue;
        }
        for (int k = 0; k < 3; ++k) {
          std::vector<float> got(response.embeddings(k).vector().values().begin(),
                                 response.embeddings(k).vector().values().end());
          if (got != expected[picks[k]]) ++mismatches;
        }
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(mismatches, 0);
}

TEST_F(EmbeddingBinaryTest, ModelInfoAndMetrics) {
  auto stub = EmbeddingService::NewStub(service_->NewChannel());
  grpc::ClientContext context;
  quarry::embedding::v1::GetModelInfoResponse info;
  ASSERT_TRUE(stub->GetModelInfo(&context, {}, &info).ok());
  EXPECT_EQ(info.name(), "hashing-384");
  EXPECT_EQ(info.kind(), "hashing");
  EXPECT_TRUE(info.normalized());
  auto metrics = service_->ScrapeMetrics();
  ASSERT_TRUE(metrics.ok());
  for (const char* name : {"quarry_embedding_batch_texts_bucket", "quarry_embedding_tokens_total",
                           "quarry_embedding_queue_wait_seconds_bucket",
                           "quarry_embedding_model_load_seconds"}) {
    EXPECT_TRUE(absl::StrContains(*metrics, name)) << name;
  }
}

}  // namespace
}  // namespace quarry
