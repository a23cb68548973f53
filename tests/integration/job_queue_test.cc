// The durable job queue against a real PostgreSQL: idempotency, scheduling,
// cancellation, dead jobs and re-drive, lease recovery, progress.
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/jobqueue/pg_job_queue.h"
#include "services/common/pg/listener.h"
#include "services/common/pg/pool.h"
#include "services/common/pg/testing/postgres_env.h"
#include "services/worker/runner.h"

namespace quarry {
namespace {

using jobqueue::Job;
using jobqueue::JobSpec;
using jobqueue::JobState;
using jobqueue::PgJobQueue;

class JobQueueTest : public pg::DatabaseTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(DatabaseTest::SetUp());
    queue_ = std::make_unique<PgJobQueue>(*pool_, conninfo_);
  }

  JobSpec Spec(const std::string& kind) {
    JobSpec spec;
    spec.kind = kind;
    return spec;
  }

  std::unique_ptr<PgJobQueue> queue_;
};

TEST_F(JobQueueTest, ConcurrentSubmitsWithOneIdempotencyKeyMakeOneJob) {
  JobSpec spec = Spec("refresh_stats");
  spec.idempotency_key = "nightly-2026-11-23";
  std::vector<int64_t> ids(8);
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto result = queue_->Enqueue(spec);
      ASSERT_TRUE(result.ok()) << result.status();
      ids[i] = result->job.id;
      created += result->created;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created, 1);
  for (int64_t id : ids) EXPECT_EQ(id, ids[0]);
  // Another key, or no key, is another job.
  spec.idempotency_key = "other";
  EXPECT_NE(queue_->Enqueue(spec)->job.id, ids[0]);
}

TEST_F(JobQueueTest, ScheduledJobIsNotClaimedBeforeRunAt) {
  JobSpec spec = Spec("k");
  spec.run_at = absl::Now() + absl::Milliseconds(1500);
  auto job = queue_->Enqueue(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  auto early = queue_->Claim("w", {"k"}, 10, absl::Seconds(30));
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->empty());
  absl::SleepFor(absl::Milliseconds(1600));
  auto later = queue_->Claim("w", {"k"}, 10, absl::Seconds(30));
  ASSERT_TRUE(later.ok());
  ASSERT_EQ(later->size(), 1u);
  EXPECT_GE((*later)[0].started_at.value_or(absl::InfinitePast()), *spec.run_at);
}

TEST_F(JobQueueTest, ClaimsByPriorityThenRunAtAndLeasesAreFenced) {
  const int64_t low = queue_->Enqueue(Spec("k"))->job.id;
  JobSpec urgent = Spec("k");
  urgent.priority = 10;
  const int64_t high = queue_->Enqueue(urgent)->job.id;
  auto claimed = queue_->Claim("w1", {"k"}, 1, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].id, high);
  EXPECT_EQ((*claimed)[0].attempts, 1);

  Job job = (*claimed)[0];
  EXPECT_TRUE(queue_->Heartbeat(job, absl::Seconds(30)).ok());
  Job stale = job;
  stale.lease_owner = "w2";
  EXPECT_EQ(queue_->Complete(stale, "{}").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(queue_->Complete(job, R"({"ok": true})").ok());
  EXPECT_EQ(queue_->Get(std::nullopt, high)->state, JobState::kSucceeded);
  EXPECT_EQ(queue_->Get(std::nullopt, low)->state, JobState::kQueued);
}

TEST_F(JobQueueTest, ExpiredLeaseIsRecoveredAndTheOldHolderIsFencedOff) {
  const int64_t id = queue_->Enqueue(Spec("k"))->job.id;
  auto first = queue_->Claim("dead-worker", {"k"}, 1, absl::Milliseconds(200));
  ASSERT_TRUE(first.ok() && first->size() == 1);
  absl::SleepFor(absl::Milliseconds(400));
  auto recovered = queue_->RecoverExpiredLeases();
  ASSERT_TRUE(recovered.ok());
  EXPECT_EQ(*recovered, 1);
  auto second = queue_->Claim("live-worker", {"k"}, 1, absl::Seconds(30));
  ASSERT_TRUE(second.ok() && second->size() == 1);
  EXPECT_EQ((*second)[0].attempts, 2);
  EXPECT_EQ(queue_->Heartbeat((*first)[0], absl::Seconds(30)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(queue_->Complete((*second)[0], "{}").ok());
  EXPECT_EQ(queue_->Get(std::nullopt, id)->state, JobState::kSucceeded);
}

TEST_F(JobQueueTest, PoisonJobEndsDeadWithItsLastErrorAndCanBeRedriven) {
  JobSpec spec = Spec("poison");
  spec.max_attempts = 3;
  const int64_t id = queue_->Enqueue(spec)->job.id;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto claimed = queue_->Claim("w", {"poison"}, 1, absl::Seconds(30));
    ASSERT_TRUE(claimed.ok() && claimed->size() == 1) << "attempt " << attempt;
    ASSERT_TRUE(queue_->Fail((*claimed)[0], absl::StrCat("boom ", attempt), false,
                             absl::ZeroDuration())
                    .ok());
  }
  Job dead = *queue_->Get(std::nullopt, id);
  EXPECT_EQ(dead.state, JobState::kDead);
  EXPECT_EQ(dead.attempts, 3);
  EXPECT_EQ(dead.last_error, "boom 3");
  EXPECT_TRUE(dead.finished_at.has_value());

  auto redriven = queue_->Retry(std::nullopt, id);
  ASSERT_TRUE(redriven.ok()) << redriven.status();
  EXPECT_EQ(redriven->state, JobState::kQueued);
  EXPECT_EQ(redriven->attempts, 0);
  auto claimed = queue_->Claim("w", {"poison"}, 1, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok() && claimed->size() == 1);
  EXPECT_TRUE(queue_->Complete((*claimed)[0], "{}").ok());
}

TEST_F(JobQueueTest, CancelQueuedAtOnceAndRunningAtItsNextStep) {
  const int64_t queued = queue_->Enqueue(Spec("k"))->job.id;
  auto cancelled = queue_->Cancel(std::nullopt, queued);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->state, JobState::kCancelled);
  EXPECT_TRUE(queue_->Claim("w", {"k"}, 10, absl::Seconds(30))->empty());

  const int64_t running = queue_->Enqueue(Spec("k"))->job.id;
  auto claimed = queue_->Claim("w", {"k"}, 1, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok() && claimed->size() == 1);
  auto flagged = queue_->Cancel(std::nullopt, running);
  ASSERT_TRUE(flagged.ok());
  EXPECT_EQ(flagged->state, JobState::kRunning);
  EXPECT_TRUE(flagged->cancel_requested);
  auto heartbeat = queue_->Heartbeat((*claimed)[0], absl::Seconds(30));
  ASSERT_TRUE(heartbeat.ok());
  EXPECT_TRUE(*heartbeat);
  EXPECT_TRUE(queue_->MarkCancelled((*claimed)[0]).ok());
  EXPECT_EQ(queue_->Get(std::nullopt, running)->state, JobState::kCancelled);
}

TEST_F(JobQueueTest, TenantsSeeOnlyTheirOwnJobs) {
  auto tenants = pool_->Query("INSERT INTO tenants (name) VALUES ('a'), ('b') RETURNING id");
  ASSERT_TRUE(tenants.ok()) << tenants.status();
  const int64_t a = (*tenants)[0][0].as<int64_t>();
  const int64_t b = (*tenants)[1][0].as<int64_t>();
  JobSpec spec = Spec("k");
  spec.tenant_id = a;
  spec.idempotency_key = "same";
  const int64_t id = queue_->Enqueue(spec)->job.id;
  EXPECT_TRUE(queue_->Get(a, id).ok());
  EXPECT_EQ(queue_->Get(b, id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(queue_->Cancel(b, id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(queue_->Get(a, id)->state, JobState::kQueued);
  // The same key in another tenant is another job.
  spec.tenant_id = b;
  EXPECT_NE(queue_->Enqueue(spec)->job.id, id);
  jobqueue::pgjobs::ListFilter filter;
  EXPECT_EQ(queue_->List(a, filter)->size(), 1u);
  EXPECT_EQ(queue_->List(b, filter)->size(), 1u);
}

TEST_F(JobQueueTest, ProgressChangesAreNotifiedInOrder) {
  const int64_t id = queue_->Enqueue(Spec("k"))->job.id;
  auto listener = pg::Listener::Create(conninfo_, {"job_changed"});
  ASSERT_TRUE(listener.ok()) << listener.status();
  auto claimed = queue_->Claim("w", {"k"}, 1, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok() && claimed->size() == 1);
  for (double f : {0.25, 0.5, 0.75}) {
    ASSERT_TRUE(queue_->SetProgress((*claimed)[0], f, absl::StrCat(f)).ok());
  }
  ASSERT_TRUE(queue_->Complete((*claimed)[0], "{}").ok());
  int notified = 0;
  absl::Time end = absl::Now() + absl::Seconds(5);
  while (notified < 5 && absl::Now() < end) {
    auto batch = (*listener)->WaitForNotification(absl::Milliseconds(200));
    ASSERT_TRUE(batch.ok()) << batch.status();
    for (const auto& n : *batch) {
      EXPECT_EQ(n.payload, std::to_string(id));
      ++notified;
    }
  }
  // claim, three progress updates, completion.
  EXPECT_EQ(notified, 5);
}

TEST_F(JobQueueTest, RunnerDrivesJobsToCompletionThroughPostgres) {
  class Noop final : public worker::JobHandler {
   public:
    absl::string_view kind() const override { return "noop"; }
    absl::StatusOr<std::string> Run(worker::JobContext&) override { return std::string("{}"); }
  };
  worker::HandlerRegistry registry;
  ASSERT_TRUE(registry.Register(std::make_unique<Noop>()).ok());
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(queue_->Enqueue(Spec("noop")).ok());
  worker::RunnerOptions options;
  options.owner = "test";
  options.threads = 4;
  options.poll_interval = absl::Milliseconds(200);
  worker::Runner runner(*queue_, registry, options);
  runner.Start();
  absl::Time end = absl::Now() + absl::Seconds(30);
  while (runner.counters().succeeded < 200 && absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  runner.Drain(absl::Seconds(5));
  EXPECT_EQ(runner.counters().succeeded, 200);
  auto done = pool_->Query("SELECT count(*) FROM jobs WHERE state = 'succeeded'");
  ASSERT_TRUE(done.ok());
  EXPECT_EQ((*done)[0][0].as<int>(), 200);
}

}  // namespace
}  // namespace quarry
