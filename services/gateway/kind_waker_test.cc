#include "services/gateway/kind_waker.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/pg/testing/postgres_env.h"
#include "services/gateway/core/workers.h"
#include "services/gateway/testing/fakes.h"

namespace quarry::gateway {
namespace {

// Until `waker` has `n` waiters (they register from other threads).
void AwaitWaiters(KindWaker& waker, int n) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (waker.waiting() < n && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(waker.waiting(), n);
}

TEST(KindWakerTest, AnAnnouncementWakesOnlyTheWaitersOfItsKind) {
  KindWaker waker;
  const uint64_t mark = waker.Mark();
  std::atomic<bool> a_woken{false}, b_woken{false};
  std::thread a([&] { a_woken = waker.Wait({"a"}, mark, absl::Seconds(30)); });
  std::thread b([&] { b_woken = waker.Wait({"b", "c"}, mark, absl::Seconds(30)); });
  AwaitWaiters(waker, 2);
  waker.Announce({"a", "other"});
  a.join();
  EXPECT_TRUE(a_woken);
  AwaitWaiters(waker, 1);  // b still waits
  EXPECT_FALSE(b_woken);
  waker.Announce({"c"});  // any of a waiter's kinds wakes it
  b.join();
  EXPECT_TRUE(b_woken);
  EXPECT_EQ(waker.waiting(), 0);
}

TEST(KindWakerTest, WithoutAnAnnouncementAWaitTimesOut) {
  KindWaker waker;
  waker.Announce({"other"});
  const absl::Time start = absl::Now();
  EXPECT_FALSE(waker.Wait({"a"}, waker.Mark(), absl::Milliseconds(100)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(95));
  EXPECT_EQ(waker.waiting(), 0);
}

TEST(KindWakerTest, AnAnnouncementBetweenMarkAndWaitIsNotMissed) {
  // The claim ran after the mark and found nothing; the job was announced
  // before the Wait: it returns at once instead of sleeping through it.
  KindWaker waker;
  const uint64_t mark = waker.Mark();
  waker.Announce({"a"});
  const absl::Time start = absl::Now();
  EXPECT_TRUE(waker.Wait({"a"}, mark, absl::Seconds(30)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  // Not for another kind, nor for a mark taken after it.
  EXPECT_FALSE(waker.Wait({"b"}, mark, absl::Milliseconds(20)));
  EXPECT_FALSE(waker.Wait({"a"}, waker.Mark(), absl::Milliseconds(20)));
}

TEST(KindWakerTest, ManyWaitersOfOneKindAllWake) {
  KindWaker waker;
  constexpr int kWaiters = 64;
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&, i] {
      std::vector<std::string> kinds = {"shared"};
      if (i % 2 == 0) kinds.push_back("own-" + std::to_string(i));
      if (waker.Wait(kinds, waker.Mark(), absl::Seconds(30))) ++woken;
    });
  }
  AwaitWaiters(waker, kWaiters);
  waker.Announce({"shared"});
  for (auto& t : threads) t.join();
  EXPECT_EQ(woken, kWaiters);
  EXPECT_EQ(waker.waiting(), 0);
}

TEST(KindWakerTest, AnnounceAllWakesEveryWaiterAndEveryEarlierMark) {
  KindWaker waker;
  const uint64_t before = waker.Mark();
  std::atomic<bool> woken{false};
  std::thread t([&] { woken = waker.Wait({"x"}, waker.Mark(), absl::Seconds(30)); });
  AwaitWaiters(waker, 1);
  waker.AnnounceAll();
  t.join();
  EXPECT_TRUE(woken);
  EXPECT_TRUE(waker.Wait({"never.announced"}, before, absl::Seconds(30)));
}

TEST(KindWakerTest, ForgettingManyKindNamesStillWakesTheirMarks) {
  KindWaker waker;
  const uint64_t mark = waker.Mark();
  waker.Announce({"first"});
  for (int i = 0; i < 20000; ++i) waker.Announce({"kind-" + std::to_string(i)});
  // "first" was forgotten to stay bounded; its claim looks again anyway.
  EXPECT_TRUE(waker.Wait({"first"}, mark, absl::Seconds(30)));
}

// The worker side of a queue in memory: Claim hands out due jobs of the
// asked kinds; what Workers::Claim does not call is unimplemented.
class QueueWorkerStore final : public WorkerStore {
 public:
  void Add(const std::string& kind, absl::Time run_at) {
    absl::MutexLock lock(&mu_);
    jobqueue::Job job;
    job.id = ++next_id_;
    job.kind = kind;
    job.run_at = run_at;
    queued_.push_back(job);
  }
  int claims() {
    absl::MutexLock lock(&mu_);
    return claims_;
  }

  absl::StatusOr<std::vector<jobqueue::Job>> Claim(int64_t, const std::string&,
                                                   const std::vector<std::string>& kinds,
                                                   int max_jobs) override {
    absl::MutexLock lock(&mu_);
    ++claims_;
    std::vector<jobqueue::Job> out;
    const absl::Time now = absl::Now();
    for (auto it = queued_.begin(); it != queued_.end() && static_cast<int>(out.size()) < max_jobs;) {
      if (it->run_at <= now && std::find(kinds.begin(), kinds.end(), it->kind) != kinds.end()) {
        out.push_back(*it);
        it = queued_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }
  absl::StatusOr<jobqueue::Job> Held(int64_t, int64_t, const std::string&, int) override {
    return absl::UnimplementedError("Held");
  }
  absl::StatusOr<bool> Heartbeat(const jobqueue::Job&, absl::Duration, double,
                                 const std::string&) override {
    return absl::UnimplementedError("Heartbeat");
  }
  absl::Status Complete(const jobqueue::Job&, const std::string&) override {
    return absl::UnimplementedError("Complete");
  }
  absl::Status Fail(const jobqueue::Job&, const std::string&, bool, absl::Duration) override {
    return absl::UnimplementedError("Fail");
  }
  absl::Status PauseKind(const jobqueue::Job&, int64_t, const std::string&, absl::Time) override {
    return absl::UnimplementedError("PauseKind");
  }
  absl::Status Release(const jobqueue::Job&) override { return absl::UnimplementedError("Release"); }
  absl::Status MarkCancelled(const jobqueue::Job&) override {
    return absl::UnimplementedError("MarkCancelled");
  }

 private:
  absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  int claims_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<jobqueue::Job> queued_ ABSL_GUARDED_BY(mu_);
};

class WorkersClaimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    jobqueue::JobKind kind;
    kind.name = "triage";
    ASSERT_TRUE(kinds_.Create(kTenant, kind).ok());
  }

  absl::StatusOr<std::vector<jobqueue::Job>> Claim(absl::Duration wait) {
    return workers_.Claim(kTenant, "key", "w1", {"triage"}, 10, wait, [] { return false; });
  }

  static constexpr int64_t kTenant = 7;
  testing::FakeJobKindStore kinds_;
  QueueWorkerStore store_;
  KindWaker waker_;
  Workers workers_{kinds_, store_, waker_};
};

TEST_F(WorkersClaimTest, AWaitingClaimTakesAnAnnouncedJobAtOnce) {
  absl::StatusOr<std::vector<jobqueue::Job>> claimed;
  absl::Time returned;
  std::thread claimer([&] {
    claimed = Claim(absl::Seconds(10));
    returned = absl::Now();
  });
  AwaitWaiters(waker_, 1);
  const absl::Time submitted = absl::Now();
  store_.Add("triage", submitted);
  waker_.Announce({"triage"});
  claimer.join();
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 1u);
  // Well before the unannounced poll would have looked again.
  EXPECT_LT(returned - submitted, Workers::kUnannouncedPoll / 2);
  // One empty claim, then the one that found it: no polling in between.
  EXPECT_EQ(store_.claims(), 2);
}

TEST_F(WorkersClaimTest, AJobFallingDueLaterIsClaimedByTheUnannouncedPoll) {
  // Announced when queued, due 300 ms later (a delayed job or a retry's
  // backoff): nothing announces it when it falls due.
  const absl::Time due = absl::Now() + absl::Milliseconds(300);
  store_.Add("triage", due);
  waker_.Announce({"triage"});
  absl::StatusOr<std::vector<jobqueue::Job>> claimed = Claim(absl::Seconds(10));
  const absl::Time returned = absl::Now();
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_GE(returned, due);
  EXPECT_LT(returned - due, Workers::kUnannouncedPoll + absl::Seconds(1));
}

TEST_F(WorkersClaimTest, AnEmptyWaitEndsAtItsDeadlineHavingPolledSlowly) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<jobqueue::Job>> claimed = Claim(absl::Milliseconds(2500));
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_TRUE(claimed->empty());
  EXPECT_GE(took, absl::Milliseconds(2500));
  EXPECT_LT(took, absl::Seconds(4));
  // About one look a second, not the old backoff's dozen.
  EXPECT_LE(store_.claims(), 5);
}

TEST_F(WorkersClaimTest, AnotherKindsAnnouncementDoesNotEndTheWait) {
  std::atomic<bool> done{false};
  std::thread claimer([&] {
    auto claimed = Claim(absl::Milliseconds(1500));
    EXPECT_TRUE(claimed.ok() && claimed->empty());
    done = true;
  });
  AwaitWaiters(waker_, 1);
  waker_.Announce({"other"});
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE(done);
  claimer.join();
}

// The listener on a real PostgreSQL: a NOTIFY 'jobs_new' (what the jobs
// trigger sends when a job becomes queued) wakes the waiters of its kind.
class JobsNewListenerTest : public pg::DatabaseTest {
 protected:
  JobsNewListenerTest() : DatabaseTest(/*pool_size=*/2) {}
};

TEST_F(JobsNewListenerTest, ANotificationWakesTheWaitersOfItsKind) {
  KindWaker waker;
  JobsNewListener listener(conninfo_, waker);
  // The listener announces everything once it is connected; wait for that.
  const uint64_t start = waker.Mark();
  ASSERT_TRUE(waker.Wait({"any"}, start, absl::Seconds(20)));

  std::atomic<bool> woken{false};
  absl::Time returned;
  std::thread t([&] {
    woken = waker.Wait({"email.send"}, waker.Mark(), absl::Seconds(20));
    returned = absl::Now();
  });
  AwaitWaiters(waker, 1);
  const absl::Time sent = absl::Now();
  ASSERT_TRUE(pool_->Execute("SELECT pg_notify('jobs_new', 'email.send')").ok());
  t.join();
  EXPECT_TRUE(woken);
  EXPECT_LT(returned - sent, absl::Seconds(5));
}

}  // namespace
}  // namespace quarry::gateway
