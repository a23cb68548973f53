#include "services/worker/worker_options.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quarry::worker {
namespace {

using ::testing::HasSubstr;

WorkerOptions Valid() {
  WorkerOptions options;
  options.database_url = "host=127.0.0.1 dbname=quarry";
  return options;
}

TEST(WorkerOptionsTest, DefaultsAreValid) {
  EXPECT_TRUE(Valid().Validate().ok());
}

TEST(WorkerOptionsTest, EachBadFieldIsNamedByItsFlag) {
  struct Case {
    void (*mutate)(WorkerOptions&);
    const char* message;
  };
  const Case cases[] = {
      {[](WorkerOptions& o) { o.embedding_target.clear(); }, "--embedding_target: required"},
      {[](WorkerOptions& o) { o.threads = 0; }, "--threads: must be in [1, 256], got 0"},
      {[](WorkerOptions& o) { o.threads = 257; }, "--threads: must be in [1, 256], got 257"},
      {[](WorkerOptions& o) { o.lease = absl::Seconds(1); },
       "--lease: must be at least 2s, got 1s"},
      {[](WorkerOptions& o) { o.purge_retention = absl::Seconds(-1); },
       "--purge_retention: must not be negative"},
      {[](WorkerOptions& o) { o.scheduler_poll = absl::Milliseconds(500); },
       "--scheduler_poll: must be at least 1s"},
  };
  for (const Case& c : cases) {
    WorkerOptions options = Valid();
    c.mutate(options);
    const absl::Status status = options.Validate();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(status.message(), HasSubstr(c.message));
  }
}

TEST(WorkerOptionsTest, BoundsThemselvesAreAccepted) {
  WorkerOptions options = Valid();
  options.threads = WorkerOptions::kMaxThreads;
  options.lease = WorkerOptions::kMinLease;
  options.purge_retention = absl::ZeroDuration();
  options.scheduler_poll = WorkerOptions::kMinSchedulerPoll;
  EXPECT_TRUE(options.Validate().ok());
  // A replica without a scheduler does not care about its poll period.
  options.scheduler = false;
  options.scheduler_poll = absl::ZeroDuration();
  EXPECT_TRUE(options.Validate().ok());
}

}  // namespace
}  // namespace quarry::worker
