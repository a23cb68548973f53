// The batched complete on a real, migrated PostgreSQL: each row keeps
// Complete's lease fence, results are stored, and the per-row triggers
// (job_changed notifications, releasing dependents) still fire.
#include "services/common/jobqueue/pg_job_store.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/jobqueue/pg_job_queue.h"
#include "services/common/pg/listener.h"
#include "services/common/pg/testing/postgres_env.h"

namespace quarry::jobqueue {
namespace {

class CompleteBatchTest : public pg::DatabaseTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(DatabaseTest::SetUp());
    queue_ = std::make_unique<PgJobQueue>(*pool_, conninfo_);
  }

  int64_t Enqueue(const std::vector<int64_t>& depends_on = {}) {
    JobSpec spec;
    spec.kind = "k";
    spec.depends_on = depends_on;
    auto result = queue_->Enqueue(spec);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->job.id : 0;
  }

  std::vector<Job> Claim(const std::string& owner, int n,
                         absl::Duration lease = absl::Seconds(30)) {
    auto claimed = queue_->Claim(owner, {"k"}, n, lease);
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    return claimed.ok() ? *claimed : std::vector<Job>();
  }

  Job Get(int64_t id) { return *queue_->Get(std::nullopt, id); }

  std::unique_ptr<PgJobQueue> queue_;
};

TEST_F(CompleteBatchTest, RecordsHeldJobsAndSkipsThoseWhoseLeaseIsGone) {
  for (int i = 0; i < 4; ++i) Enqueue();
  std::vector<Job> held = Claim("w1", 4);
  ASSERT_EQ(held.size(), 4u);
  // held[1]: another owner in our copy (as if re-claimed by someone else);
  // held[2]: a stale attempt number.
  Job other_owner = held[1];
  other_owner.lease_owner = "w2";
  Job stale_attempt = held[2];
  stale_attempt.attempts += 1;
  std::vector<JobQueue::Completion> done = {{&held[0], R"({"n": 0})"},
                                            {&other_owner, R"({"n": 1})"},
                                            {&stale_attempt, R"({"n": 2})"},
                                            {&held[3], ""}};
  auto recorded = queue_->CompleteBatch(done);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(*recorded, (std::vector<bool>{true, false, false, true}));

  Job first = Get(held[0].id);
  EXPECT_EQ(first.state, JobState::kSucceeded);
  EXPECT_EQ(first.result_json, R"({"n": 0})");
  EXPECT_EQ(first.progress, 1);
  EXPECT_TRUE(first.lease_owner.empty());
  EXPECT_TRUE(first.finished_at.has_value());
  EXPECT_EQ(Get(held[3].id).result_json, "{}");  // An empty result is stored as {}.
  for (int i : {1, 2}) {
    Job fenced = Get(held[i].id);
    EXPECT_EQ(fenced.state, JobState::kRunning);
    EXPECT_EQ(fenced.lease_owner, "w1");
    EXPECT_TRUE(fenced.result_json.empty());
  }
  // A second batch of the same jobs records nothing: they are no longer running.
  auto again = queue_->CompleteBatch(done);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, (std::vector<bool>{false, false, false, false}));
}

TEST_F(CompleteBatchTest, AnExpiredLeaseIsNotRecorded) {
  Enqueue();
  Enqueue();
  std::vector<Job> short_lease = Claim("w1", 1, absl::Milliseconds(100));
  std::vector<Job> long_lease = Claim("w1", 1);
  ASSERT_EQ(short_lease.size(), 1u);
  ASSERT_EQ(long_lease.size(), 1u);
  absl::SleepFor(absl::Milliseconds(300));
  std::vector<JobQueue::Completion> done = {{&short_lease[0], "{}"}, {&long_lease[0], "{}"}};
  auto recorded = queue_->CompleteBatch(done);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(*recorded, (std::vector<bool>{false, true}));
  EXPECT_EQ(Get(short_lease[0].id).state, JobState::kRunning);
  EXPECT_EQ(Get(long_lease[0].id).state, JobState::kSucceeded);
}

TEST_F(CompleteBatchTest, ReleasesDependentsAndNotifiesEveryJob) {
  const int64_t a = Enqueue();
  const int64_t b = Enqueue();
  const int64_t lone = Enqueue();
  const int64_t after_both = Enqueue({a, b});
  const int64_t after_a = Enqueue({a});
  const int64_t after_lone = Enqueue({lone});
  EXPECT_EQ(Get(after_both).state, JobState::kWaiting);
  EXPECT_EQ(Get(after_a).state, JobState::kWaiting);

  auto listener = pg::Listener::Create(conninfo_, {"job_changed"});
  ASSERT_TRUE(listener.ok()) << listener.status();
  std::vector<Job> held = Claim("w1", 3);
  ASSERT_EQ(held.size(), 3u);  // The waiting ones are not claimable.
  // Drop the claims' own notifications.
  while (true) {
    auto n = (*listener)->WaitForNotification(absl::Milliseconds(200));
    if (!n.ok() || n->empty()) break;
  }
  // Both dependencies of after_both in one statement: its counter must go to
  // zero, not stop at one. lone's completion is fenced off (stale attempt).
  Job stale_lone;
  for (const Job& job : held) {
    if (job.id == lone) stale_lone = job;
  }
  stale_lone.attempts += 1;
  std::vector<JobQueue::Completion> done;
  for (const Job& job : held) {
    if (job.id != lone) done.push_back({&job, "{}"});
  }
  done.push_back({&stale_lone, "{}"});
  auto recorded = queue_->CompleteBatch(done);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(*recorded, (std::vector<bool>{true, true, false}));

  EXPECT_EQ(Get(after_both).state, JobState::kQueued);
  EXPECT_EQ(Get(after_a).state, JobState::kQueued);
  EXPECT_EQ(Get(after_lone).state, JobState::kWaiting);
  auto released = Claim("w2", 10);
  ASSERT_EQ(released.size(), 2u);

  // One job_changed per job whose state changed: a, b and their two dependents.
  std::vector<std::string> changed;
  const absl::Time end = absl::Now() + absl::Seconds(5);
  while (changed.size() < 4 && absl::Now() < end) {
    auto n = (*listener)->WaitForNotification(absl::Milliseconds(500));
    ASSERT_TRUE(n.ok()) << n.status();
    for (const auto& one : *n) changed.push_back(one.payload);
  }
  for (int64_t id : {a, b, after_both, after_a}) {
    EXPECT_NE(std::find(changed.begin(), changed.end(), absl::StrCat(id)), changed.end()) << id;
  }
}

TEST_F(CompleteBatchTest, AnEmptyBatchIsNoTransaction) {
  auto recorded = queue_->CompleteBatch({});
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_TRUE(recorded->empty());
}

}  // namespace
}  // namespace quarry::jobqueue
