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

}  // namespace
}  // namespace quarry::jobqueue
