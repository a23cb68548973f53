#include "services/embedding/serving/service_options.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quarry::embedding {
namespace {

using ::testing::HasSubstr;

TEST(EmbeddingServiceOptionsTest, DefaultsAreValid) {
  EXPECT_TRUE(EmbeddingServiceOptions().Validate().ok());
}

TEST(EmbeddingServiceOptionsTest, AModelDirectoryOverridesTheBuiltInName) {
  EmbeddingServiceOptions options;
  options.model = "anything";
  options.model_dir = "/models/all-MiniLM-L6-v2";
  EXPECT_TRUE(options.Validate().ok());
}

TEST(EmbeddingServiceOptionsTest, EachBadFieldIsNamedByItsFlag) {
  struct Case {
    void (*mutate)(EmbeddingServiceOptions&);
    const char* message;
  };
  const Case cases[] = {
      {[](EmbeddingServiceOptions& o) { o.model = "bert"; },
       "--model: unknown built-in model \"bert\""},
      {[](EmbeddingServiceOptions& o) { o.cache_bytes = -1; },
       "--cache_bytes: must not be negative, got -1"},
      {[](EmbeddingServiceOptions& o) { o.batch.token_budget = 0; },
       "--batch_token_budget: must be at least 1"},
      {[](EmbeddingServiceOptions& o) { o.batch.max_wait = absl::Milliseconds(-1); },
       "--batch_max_wait: must be in [0s, 1s], got -1ms"},
      {[](EmbeddingServiceOptions& o) { o.batch.max_wait = absl::Seconds(2); },
       "--batch_max_wait: must be in [0s, 1s], got 2s"},
      {[](EmbeddingServiceOptions& o) { o.batch.max_queued_texts = 0; },
       "--max_queued_texts: must be at least 1, got 0"},
  };
  for (const Case& c : cases) {
    EmbeddingServiceOptions options;
    c.mutate(options);
    const absl::Status status = options.Validate();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(status.message(), HasSubstr(c.message));
  }
}

TEST(EmbeddingServiceOptionsTest, BoundsThemselvesAreAccepted) {
  EmbeddingServiceOptions options;
  options.cache_bytes = 0;
  options.batch.token_budget = 1;
  options.batch.max_wait = EmbeddingServiceOptions::kMaxBatchWait;
  options.batch.max_queued_texts = 1;
  EXPECT_TRUE(options.Validate().ok());
}

}  // namespace
}  // namespace quarry::embedding
