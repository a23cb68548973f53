#include "services/worker/runner.h"

#include <atomic>
#include <functional>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/jobqueue/testing/in_memory_job_queue.h"
#include "services/common/telemetry/trace_context.h"

namespace quarry::worker {
namespace {

using jobqueue::InMemoryJobQueue;
using jobqueue::Job;
using jobqueue::JobSpec;
using jobqueue::JobState;

// A handler whose behaviour is a lambda, counting runs per job id.
class FnHandler final : public JobHandler {
 public:
  using Fn = std::function<absl::StatusOr<std::string>(JobContext&)>;
  FnHandler(std::string kind, Fn fn) : kind_(std::move(kind)), fn_(std::move(fn)) {}
  absl::string_view kind() const override { return kind_; }
  absl::StatusOr<std::string> Run(JobContext& context) override {
    {
      absl::MutexLock lock(&mu_);
      ++runs_[context.job().id];
    }
    return fn_(context);
  }
  int Runs(int64_t id) {
    absl::MutexLock lock(&mu_);
    return runs_[id];
  }

 private:
  std::string kind_;
  Fn fn_;
  absl::Mutex mu_;
  absl::flat_hash_map<int64_t, int> runs_;
};

RunnerOptions FastOptions(const std::string& owner, int threads = 4) {
  RunnerOptions options;
  options.owner = owner;
  options.threads = threads;
  options.lease = absl::Seconds(2);
  options.heartbeat = absl::Milliseconds(20);
  options.poll_interval = absl::Milliseconds(20);
  options.recover_interval = absl::Milliseconds(20);
  options.backoff = {absl::Milliseconds(5), 2.0, absl::Milliseconds(20)};
  return options;
}

// Waits (bounded) until `predicate` holds.
bool Eventually(const std::function<bool()>& predicate, absl::Duration limit = absl::Seconds(20)) {
  absl::Time end = absl::Now() + limit;
  while (absl::Now() < end) {
    if (predicate()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return predicate();
}

JobSpec Spec(const std::string& kind, int max_attempts = 5) {
  JobSpec spec;
  spec.kind = kind;
  spec.max_attempts = max_attempts;
  return spec;
}

TEST(Runner, RunsEveryJobOnceAcrossThreads) {
  InMemoryJobQueue queue;
  HandlerRegistry registry;
  auto handler = std::make_unique<FnHandler>("noop", [](JobContext&) {
    return absl::StatusOr<std::string>("{}");
  });
  FnHandler* noop = handler.get();
  ASSERT_TRUE(registry.Register(std::move(handler)).ok());
  std::vector<int64_t> ids;
  for (int i = 0; i < 300; ++i) ids.push_back(queue.Enqueue(Spec("noop")));

  Runner runner(queue, registry, FastOptions("w1"));
  runner.Start();
  ASSERT_TRUE(Eventually([&] { return runner.counters().succeeded == 300; }));
  runner.Drain(absl::Seconds(1));
  for (int64_t id : ids) {
    EXPECT_EQ(queue.Get(id).state, JobState::kSucceeded);
    EXPECT_EQ(noop->Runs(id), 1);
  }
}

TEST(Runner, TransientFailuresAreRetriedWithBackoffUntilSuccess) {
  InMemoryJobQueue queue;
  HandlerRegistry registry;
  std::atomic<int> calls{0};
  ASSERT_TRUE(registry
                  .Register(std::make_unique<FnHandler>(
                      "flaky",
                      [&](JobContext&) -> absl::StatusOr<std::string> {
                        if (++calls <= 2) return absl::UnavailableError("embedding down");
                        return std::string(R"({"ok":true})");
                      }))
                  .ok());
  int64_t id = queue.Enqueue(Spec("flaky"));
  Runner runner(queue, registry, FastOptions("w1"));
  runner.Start();
  ASSERT_TRUE(Eventually([&] { return queue.Get(id).state == JobState::kSucceeded; }));
  runner.Drain(absl::Seconds(1));
  Job job = queue.Get(id);
  EXPECT_EQ(job.attempts, 3);
  EXPECT_EQ(job.result_json, R"({"ok":true})");
  EXPECT_EQ(runner.counters().retried, 2);
}

TEST(Runner, PoisonJobEndsDeadWithItsLastErrorAndPermanentFailuresSkipRetries) {
  InMemoryJobQueue queue;
  HandlerRegistry registry;
  ASSERT_TRUE(registry
                  .Register(std::make_unique<FnHandler>(
                      "poison",
                      [](JobContext& c) -> absl::StatusOr<std::string> {
                        if (c.job().payload_json == R"({"bad":true})") {
                          return absl::InvalidArgumentError("payload: bad");
                        }
                        return absl::InternalError("boom");
                      }))
                  .ok());
  int64_t poison = queue.Enqueue(Spec("poison", /*max_attempts=*/3));
  JobSpec bad = Spec("poison", 3);
  bad.payload_json = R"({"bad":true})";
  int64_t permanent = queue.Enqueue(bad);
  Runner runner(queue, registry, FastOptions("w1"));
  runner.Start();
  ASSERT_TRUE(Eventually([&] {
    return queue.Get(poison).state == JobState::kDead &&
           queue.Get(permanent).state == JobState::kDead;
  }));
  runner.Drain(absl::Seconds(1));
  EXPECT_EQ(queue.Get(poison).attempts, 3);
  EXPECT_NE(queue.Get(poison).last_error.find("boom"), std::string::npos);
  EXPECT_EQ(queue.Get(permanent).attempts, 1);
  EXPECT_NE(queue.Get(permanent).last_error.find("payload: bad"), std::string::npos);
}

TEST(Runner, RunningJobStopsCleanlyWhenCancelled) {
  InMemoryJobQueue queue;
  HandlerRegistry registry;
  absl::Notification started;
  ASSERT_TRUE(registry
                  .Register(std::make_unique<FnHandler>(
                      "long",
                      [&](JobContext& c) -> absl::StatusOr<std::string> {
                        started.Notify();
                        for (int step = 0; step < 2000; ++step) {
                          if (c.ShouldStop()) return absl::CancelledError("stopped");
                          EXPECT_TRUE(c.SetProgress(step / 2000.0, "working").ok());
                          absl::SleepFor(absl::Milliseconds(5));
                        }
                        return std::string("{}");
                      }))
                  .ok());
  int64_t id = queue.Enqueue(Spec("long"));
  Runner runner(queue, registry, FastOptions("w1"));
  runner.Start();
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  queue.RequestCancel(id);
  ASSERT_TRUE(Eventually([&] { return queue.Get(id).state == JobState::kCancelled; }));
  runner.Drain(absl::Seconds(1));
  std::vector<double> progress = queue.ProgressHistory(id);
  ASSERT_FALSE(progress.empty());
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
}

TEST(Runner, DrainReleasesUnfinishedJobsAndAnotherWorkerFinishesThem) {
  InMemoryJobQueue queue;
  HandlerRegistry registry;
  absl::Notification started;
  std::atomic<bool> quick{false};
  ASSERT_TRUE(registry
                  .Register(std::make_unique<FnHandler>(
                      "slow",
                      [&](JobContext& c) -> absl::StatusOr<std::string> {
                        if (!started.HasBeenNotified()) started.Notify();
                        while (!quick && !c.ShouldStop()) absl::SleepFor(absl::Milliseconds(5));
                        if (c.ShouldStop()) return absl::CancelledError("released");
                        return std::string("{}");
                      }))
                  .ok());
  int64_t id = queue.Enqueue(Spec("slow"));
  Runner first(queue, registry, FastOptions("w1"));
  first.Start();
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  auto [finished, released] = first.Drain(absl::Milliseconds(50));
  EXPECT_EQ(finished, 0);
  EXPECT_EQ(released, 1);
  Job job = queue.Get(id);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.attempts, 0);  // A drain is not a failed attempt.

  quick = true;
  Runner second(queue, registry, FastOptions("w2"));
  second.Start();
  ASSERT_TRUE(Eventually([&] { return queue.Get(id).state == JobState::kSucceeded; }));
  second.Drain(absl::Seconds(1));
}

TEST(Runner, AJobWhoseLeaseWasLostIsTakenOverAndTheOldRunnerStops) {
  InMemoryJobQueue queue;
  HandlerRegistry registry;
  std::atomic<int> stopped_early{0};
  absl::Notification first_started;
  ASSERT_TRUE(registry
                  .Register(std::make_unique<FnHandler>(
                      "work",
                      [&](JobContext& c) -> absl::StatusOr<std::string> {
                        if (c.job().attempts == 1) {
                          first_started.Notify();
                          while (!c.ShouldStop()) absl::SleepFor(absl::Milliseconds(5));
                          ++stopped_early;
                          return absl::CancelledError("lease lost");
                        }
                        return std::string("{}");
                      }))
                  .ok());
  int64_t id = queue.Enqueue(Spec("work"));
  Runner first(queue, registry, FastOptions("w1"));
  first.Start();
  ASSERT_TRUE(first_started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // As if w1 had stalled past its lease: the job becomes claimable again.
  queue.ExpireAllLeases();
  Runner second(queue, registry, FastOptions("w2"));
  second.Start();
  ASSERT_TRUE(Eventually([&] { return queue.Get(id).state == JobState::kSucceeded; }));
  ASSERT_TRUE(Eventually([&] { return stopped_early == 1; }));
  first.Drain(absl::Seconds(1));
  second.Drain(absl::Seconds(1));
  EXPECT_EQ(queue.Get(id).attempts, 2);
  EXPECT_EQ(first.counters().lease_lost, 1);
}

TEST(Runner, JobsClaimedAheadKeepTheirLeaseWhileTheyWait) {
  InMemoryJobQueue queue;
  HandlerRegistry registry;
  ASSERT_TRUE(registry
                  .Register(std::make_unique<FnHandler>(
                      "slow",
                      [](JobContext&) -> absl::StatusOr<std::string> {
                        absl::SleepFor(absl::Milliseconds(60));
                        return std::string("{}");
                      }))
                  .ok());
  std::vector<int64_t> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(queue.Enqueue(Spec("slow")));
  // One thread and five claimed ahead: the last waits ~300 ms, longer than
  // its 150 ms lease, while the runner itself recovers expired leases.
  RunnerOptions options = FastOptions("w1", /*threads=*/1);
  options.claim_ahead = 5;
  options.claim_ahead_wait = absl::Hours(1);
  options.lease = absl::Milliseconds(150);
  Runner runner(queue, registry, options);
  runner.Start();
  ASSERT_TRUE(Eventually([&] { return runner.counters().succeeded == 6; }));
  runner.Drain(absl::Seconds(1));
  for (int64_t id : ids) EXPECT_EQ(queue.Get(id).attempts, 1) << id;
  EXPECT_EQ(runner.counters().lease_lost, 0);
  EXPECT_EQ(runner.counters().leases_recovered, 0);
}

TEST(Runner, DrainReleasesJobsNotStartedAtOnceAndRecordsTheFinishedOne) {
  InMemoryJobQueue queue;
  HandlerRegistry registry;
  absl::Notification started, finish;
  ASSERT_TRUE(registry
                  .Register(std::make_unique<FnHandler>(
                      "gate",
                      [&](JobContext&) -> absl::StatusOr<std::string> {
                        if (!started.HasBeenNotified()) started.Notify();
                        finish.WaitForNotificationWithTimeout(absl::Seconds(10));
                        return std::string(R"({"done":true})");
                      }))
                  .ok());
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(queue.Enqueue(Spec("gate")));
  RunnerOptions options = FastOptions("w1", /*threads=*/1);
  options.claim_ahead = 4;
  options.claim_ahead_wait = absl::Hours(1);  // Claim all four ahead from the start.
  Runner runner(queue, registry, options);
  runner.Start();
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(Eventually([&] { return runner.Running().size() == 5; }));
  std::thread drain_thread([&] {
    auto [finished, released] = runner.Drain(absl::Seconds(10));
    EXPECT_EQ(finished, 1);
    EXPECT_EQ(released, 4);
  });
  // The four waiting jobs are queued again while the first is still running.
  ASSERT_TRUE(Eventually([&] {
    int queued = 0;
    for (int64_t id : ids) queued += queue.Get(id).state == JobState::kQueued;
    return queued == 4;
  }));
  finish.Notify();
  drain_thread.join();
  int succeeded = 0;
  for (int64_t id : ids) {
    Job job = queue.Get(id);
    if (job.state == JobState::kSucceeded) {
      ++succeeded;
      EXPECT_EQ(job.result_json, R"({"done":true})");
    } else {
      EXPECT_EQ(job.state, JobState::kQueued);
      EXPECT_EQ(job.attempts, 0);  // Given back uncounted.
    }
  }
  EXPECT_EQ(succeeded, 1);
  EXPECT_EQ(runner.counters().released, 4);
}

TEST(Runner, LongJobsAreNotClaimedFarAhead) {
  InMemoryJobQueue queue;
  HandlerRegistry registry;
  absl::Notification finish;
  ASSERT_TRUE(registry
                  .Register(std::make_unique<FnHandler>(
                      "long",
                      [&](JobContext&) -> absl::StatusOr<std::string> {
                        finish.WaitForNotificationWithTimeout(absl::Seconds(10));
                        return std::string("{}");
                      }))
                  .ok());
  for (int i = 0; i < 20; ++i) queue.Enqueue(Spec("long"));
  // Nothing has run yet, so each thread gets one job ahead at most: the
  // other sixteen stay claimable by other workers.
  Runner runner(queue, registry, FastOptions("w1", /*threads=*/2));
  runner.Start();
  ASSERT_TRUE(Eventually([&] { return runner.Running().size() == 4; }));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(runner.Running().size(), 4u);
  finish.Notify();
  ASSERT_TRUE(Eventually([&] { return runner.counters().succeeded == 20; }));
  runner.Drain(absl::Seconds(1));
}

TEST(Runner, AHandlerRunsInTheTraceOfItsJobsSubmit) {
  InMemoryJobQueue queue;
  HandlerRegistry registry;
  absl::Mutex mu;
  std::vector<std::string> seen;
  ASSERT_TRUE(registry
                  .Register(std::make_unique<FnHandler>(
                      "traced",
                      [&](JobContext&) -> absl::StatusOr<std::string> {
                        absl::MutexLock lock(&mu);
                        seen.push_back(telemetry::CurrentTraceId());
                        return std::string("{}");
                      }))
                  .ok());
  JobSpec traced = Spec("traced");
  traced.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  queue.Enqueue(traced);
  queue.Enqueue(Spec("traced"));  // none: runs outside any trace
  Runner runner(queue, registry, FastOptions("w1", 1));
  runner.Start();
  ASSERT_TRUE(Eventually([&] { return runner.counters().succeeded == 2; }));
  runner.Drain(absl::Seconds(1));
  absl::MutexLock lock(&mu);
  EXPECT_THAT(seen, ::testing::UnorderedElementsAre("4bf92f3577b34da6a3ce929d0e0e4736", ""));
}

TEST(HandlerRegistry, KindsAreUniqueAndListed) {
  HandlerRegistry registry;
  auto make = [](const char* kind) {
    return std::make_unique<FnHandler>(kind, [](JobContext&) {
      return absl::StatusOr<std::string>("{}");
    });
  };
  ASSERT_TRUE(registry.Register(make("b")).ok());
  ASSERT_TRUE(registry.Register(make("a")).ok());
  EXPECT_EQ(registry.Register(make("a")).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.Kinds(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(registry.Find("c"), nullptr);
}

}  // namespace
}  // namespace quarry::worker
