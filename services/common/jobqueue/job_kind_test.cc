#include "services/common/jobqueue/job_kind.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace quarry::jobqueue {
namespace {

TEST(JobKindNameTest, AcceptsTheDocumentedShapeOnly) {
  for (const std::string& name : std::vector<std::string>{"a", "email.send", "llm_call-v2", std::string(64, 'x')}) {
    EXPECT_TRUE(ValidateJobKindName("kind.name", name).ok()) << name;
  }
  for (const std::string& name : std::vector<std::string>{"", "Email", "1st", "_x", "a b", "é", std::string(65, 'x')}) {
    absl::Status s = ValidateJobKindName("kind.name", name);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_EQ(s.message().substr(0, 11), "kind.name: ") << s;
  }
}

TEST(JobKindTest, DefaultsAreValid) {
  JobKind kind;
  kind.name = "ticket.analyse";
  EXPECT_TRUE(ValidateJobKind("kind", kind).ok());
}

TEST(JobKindTest, EachBadFieldIsNamedWithItsLimit) {
  struct Case {
    void (*spoil)(JobKind&);
    std::string starts;
  };
  const Case cases[] = {
      {[](JobKind& k) { k.description = std::string(1025, 'd'); }, "kind.description: at most 1024"},
      {[](JobKind& k) { k.max_attempts = 0; }, "kind.max_attempts: must be in [1, 100]"},
      {[](JobKind& k) { k.max_attempts = 101; }, "kind.max_attempts: must be in [1, 100]"},
      {[](JobKind& k) { k.priority = 1001; }, "kind.priority: must be in [-1000, 1000]"},
      {[](JobKind& k) { k.backoff.initial = absl::ZeroDuration(); },
       "kind.retry.initial_backoff"},
      {[](JobKind& k) { k.backoff.multiplier = 0.5; }, "kind.retry.multiplier: must be in [1, 10]"},
      {[](JobKind& k) { k.backoff.max = absl::Milliseconds(1); }, "kind.retry.max_backoff"},
      {[](JobKind& k) { k.backoff.jitter = 1.5; }, "kind.retry.jitter: must be in [0, 1]"},
      {[](JobKind& k) { k.attempt_timeout = absl::Milliseconds(10); }, "kind.attempt_timeout"},
      {[](JobKind& k) { k.max_concurrency = -1; }, "kind.max_concurrency"},
      {[](JobKind& k) { k.starts_per_minute = -1; }, "kind.starts_per_minute"},
      {[](JobKind& k) { k.cost_per_minute = -1; }, "kind.cost_per_minute"},
      {[](JobKind& k) { k.max_result_bytes = 1; }, "kind.max_result_bytes: must be in [2, "},
      {[](JobKind& k) { k.retention = absl::Seconds(1); }, "kind.retention"},
  };
  for (const Case& c : cases) {
    JobKind kind;
    kind.name = "k";
    c.spoil(kind);
    absl::Status s = ValidateJobKind("kind", kind);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.starts;
    EXPECT_EQ(std::string(s.message()).substr(0, c.starts.size()), c.starts) << s;
  }
}

}  // namespace
}  // namespace quarry::jobqueue
