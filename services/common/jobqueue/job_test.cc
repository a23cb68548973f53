#include "absl/random/random.h"
#include "gtest/gtest.h"
#include "services/common/jobqueue/backoff.h"
#include "services/common/jobqueue/job.h"

namespace quarry::jobqueue {
namespace {

TEST(JobState, NamesRoundTrip) {
  for (JobState state : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded,
                         JobState::kDead, JobState::kCancelled}) {
    auto parsed = ParseJobState(JobStateName(state));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, state);
  }
  EXPECT_FALSE(ParseJobState("exploded").ok());
  EXPECT_TRUE(IsTerminal(JobState::kDead));
  EXPECT_FALSE(IsTerminal(JobState::kRunning));
}

TEST(Backoff, GrowsExponentiallyWithJitterAndIsCapped) {
  absl::BitGen random;
  BackoffPolicy policy{absl::Seconds(1), 2.0, absl::Seconds(30)};
  for (int trial = 0; trial < 200; ++trial) {
    absl::Duration first = RetryDelay(1, policy, random);
    EXPECT_GE(first, absl::Milliseconds(500));
    EXPECT_LE(first, absl::Seconds(1));
    absl::Duration fourth = RetryDelay(4, policy, random);
    EXPECT_GE(fourth, absl::Seconds(4));
    EXPECT_LE(fourth, absl::Seconds(8));
    absl::Duration late = RetryDelay(40, policy, random);
    EXPECT_GE(late, absl::Seconds(15));
    EXPECT_LE(late, absl::Seconds(30));
  }
  // Jitter: not every delay is the same.
  EXPECT_NE(RetryDelay(3, policy, random), RetryDelay(3, policy, random));
}

TEST(NewQueuedJobTest, CarriesTheSpecAndStartsQueuedWithNoAttempts) {
  JobSpec spec;
  spec.tenant_id = 7;
  spec.kind = "reindex_collection";
  spec.payload_json = R"({"collection":"docs"})";
  spec.priority = 3;
  spec.max_attempts = 2;
  spec.idempotency_key = "k";
  const absl::Time now = absl::FromUnixSeconds(1000);
  Job job = NewQueuedJob(42, spec, now);
  EXPECT_EQ(job.id, 42);
  EXPECT_EQ(job.tenant_id, 7);
  EXPECT_EQ(job.kind, "reindex_collection");
  EXPECT_EQ(job.payload_json, spec.payload_json);
  EXPECT_EQ(job.priority, 3);
  EXPECT_EQ(job.max_attempts, 2);
  EXPECT_EQ(job.idempotency_key, "k");
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.attempts, 0);
  EXPECT_EQ(job.run_at, now);  // no run_at: due at once
  EXPECT_EQ(job.created_at, now);

  spec.run_at = now + absl::Minutes(5);
  EXPECT_EQ(NewQueuedJob(1, spec, now).run_at, now + absl::Minutes(5));
}

}  // namespace
}  // namespace quarry::jobqueue
