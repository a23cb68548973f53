// The scheduler and job_schedules against a real PostgreSQL. The scheduler's
// clock is a variable the tests step, so nothing depends on wall-clock speed.
#include "services/worker/scheduler.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "services/common/jobqueue/pg_job_store.h"
#include "services/common/jobqueue/pg_schedule_store.h"
#include "services/common/pg/testing/postgres_env.h"

namespace quarry::worker {
namespace {

using jobqueue::OverlapPolicy;
using jobqueue::ScheduleSpec;
using jobqueue::StoredSchedule;
namespace pgschedules = jobqueue::pgschedules;

// A minute boundary, so minute ticks are easy to name.
const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000 / 60 * 60);

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = pg::NewTestDatabase();
    ASSERT_TRUE(database.ok()) << database.status();
    pool_ = std::move(database->pool);
    // The seeded system schedule would add jobs to the counts below.
    ASSERT_TRUE(pool_->Execute("UPDATE job_schedules SET enabled = false").ok());
  }

  SchedulerOptions Options() {
    SchedulerOptions options;
    options.clock = [this] { absl::MutexLock l(&mu_); return now_; };
    return options;
  }
  void SetNow(absl::Time t) { absl::MutexLock l(&mu_); now_ = t; }

  StoredSchedule Create(ScheduleSpec spec) {
    auto created = pool_->WithTransaction([&](pqxx::work& txn) {
      return pgschedules::Create(txn, spec, kStart);
    });
    EXPECT_TRUE(created.ok()) << created.status();
    return created.value_or(StoredSchedule());
  }

  ScheduleSpec EveryMinute(const std::string& name) {
    ScheduleSpec spec;
    spec.name = name;
    spec.kind = "refresh_stats";
    spec.interval = absl::Minutes(1);
    return spec;
  }

  int64_t Count(const std::string& sql) {
    auto r = pool_->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? (*r)[0][0].as<int64_t>() : -1;
  }

  StoredSchedule Reload(const StoredSchedule& schedule) {
    auto s = pool_->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<StoredSchedule> {
      auto got = pgschedules::Get(txn, std::nullopt, schedule.spec.name);
      if (!got) return absl::NotFoundError("gone");
      return *got;
    });
    EXPECT_TRUE(s.ok()) << s.status();
    return s.value_or(StoredSchedule());
  }

  std::unique_ptr<pg::Pool> pool_;
  absl::Mutex mu_;
  absl::Time now_ = kStart;
};

TEST_F(SchedulerTest, TheRefreshStatsScheduleIsSeeded) {
  auto r = pool_->Query(
      "SELECT kind, payload::text, interval_seconds, overlap FROM job_schedules "
      "WHERE tenant_id IS NULL AND name = 'refresh_stats'");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0][0].as<std::string>(), "refresh_stats");
  EXPECT_EQ((*r)[0][1].as<std::string>(), "{}");
  EXPECT_EQ((*r)[0][2].as<int64_t>(), 300);
  EXPECT_EQ((*r)[0][3].as<std::string>(), "skip");
}

TEST_F(SchedulerTest, StoreCreatesListsAndDeletes) {
  ScheduleSpec spec = EveryMinute("a");
  spec.interval = absl::ZeroDuration();
  spec.cron = "0 0 30 2 *";
  auto bad = pool_->WithTransaction(
      [&](pqxx::work& txn) { return pgschedules::Create(txn, spec, kStart); });
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  spec.cron = "*/5 * * * *";
  StoredSchedule a = Create(spec);
  EXPECT_EQ(a.next_run_at, kStart + absl::Minutes(5) - (kStart - absl::FromUnixSeconds(
                               absl::ToUnixSeconds(kStart) / 300 * 300)));
  auto duplicate = pool_->WithTransaction(
      [&](pqxx::work& txn) { return pgschedules::Create(txn, spec, kStart); });
  EXPECT_EQ(duplicate.status().code(), absl::StatusCode::kAlreadyExists);
  Create(EveryMinute("b"));
  auto listed = pool_->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int> {
    return static_cast<int>(pgschedules::List(txn, std::nullopt).size());
  });
  EXPECT_EQ(listed.value_or(-1), 3);  // with the seed
  auto after_a = pool_->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<std::string> {
    auto page = pgschedules::List(txn, std::nullopt, "a", 1);
    return page.size() == 1 ? page[0].spec.name : "";
  });
  EXPECT_EQ(after_a.value_or(""), "b");
  auto deleted = pool_->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<bool> {
    return pgschedules::Delete(txn, std::nullopt, a.spec.name);
  });
  EXPECT_TRUE(deleted.value_or(false));
  EXPECT_EQ(jobqueue::ScheduleTickKey(7, absl::FromUnixSeconds(1700000000)),
            "schedule:7:1700000000");
}

TEST_F(SchedulerTest, RacingSchedulersMakeOneJobPerTick) {
  ScheduleSpec spec = EveryMinute("race");
  spec.overlap = OverlapPolicy::kQueue;
  StoredSchedule s = Create(spec);
  Scheduler a(*pool_, Options());
  Scheduler b(*pool_, Options());
  constexpr int kTicks = 60;
  std::atomic<int> fired{0};
  for (int i = 1; i <= kTicks; ++i) {
    SetNow(kStart + absl::Minutes(i));
    std::thread ta([&] { auto r = a.RunOnce(); ASSERT_TRUE(r.ok()) << r.status(); fired += r->fired; });
    std::thread tb([&] { auto r = b.RunOnce(); ASSERT_TRUE(r.ok()) << r.status(); fired += r->fired; });
    ta.join();
    tb.join();
  }
  EXPECT_EQ(fired.load(), kTicks);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs"), kTicks);
  EXPECT_EQ(Count("SELECT count(DISTINCT idempotency_key) FROM jobs"), kTicks);
  // A rewound next_run_at re-fires ticks by key: no second job.
  ASSERT_TRUE(pool_->Execute(absl::StrCat("UPDATE job_schedules SET next_run_at = to_timestamp(",
                                          absl::ToUnixSeconds(kStart + absl::Minutes(30)),
                                          "), catch_up = true WHERE id = ", s.id)).ok());
  auto again = a.RunOnce();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->fired, 0);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs"), kTicks);
}

TEST_F(SchedulerTest, SkipPolicyWaitsForTheUnfinishedJob) {
  StoredSchedule s = Create(EveryMinute("skip"));
  Scheduler scheduler(*pool_, Options());
  SetNow(kStart + absl::Minutes(1));
  EXPECT_EQ(scheduler.RunOnce()->fired, 1);
  SetNow(kStart + absl::Minutes(2));
  auto second = scheduler.RunOnce();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->fired, 0);
  EXPECT_EQ(second->skipped, 1);
  EXPECT_EQ(Reload(s).skipped_ticks, 1);
  ASSERT_TRUE(pool_->Execute("UPDATE jobs SET state = 'succeeded', finished_at = now()").ok());
  SetNow(kStart + absl::Minutes(3));
  EXPECT_EQ(scheduler.RunOnce()->fired, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs"), 2);
}

TEST_F(SchedulerTest, NoBurstAfterDowntime) {
  StoredSchedule s = Create(EveryMinute("downtime"));
  Scheduler scheduler(*pool_, Options());
  const absl::Time later = kStart + absl::Hours(5) + absl::Seconds(30);
  SetNow(later);
  auto pass = scheduler.RunOnce();
  ASSERT_TRUE(pass.ok()) << pass.status();
  EXPECT_EQ(pass->fired, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs"), 1);
  StoredSchedule after = Reload(s);
  ASSERT_TRUE(after.next_run_at.has_value());
  EXPECT_GT(*after.next_run_at, later);
  EXPECT_LE(*after.next_run_at, later + absl::Minutes(1));
}

TEST_F(SchedulerTest, CatchUpEnqueuesTheMissedTicksBounded) {
  ScheduleSpec spec = EveryMinute("catch_up");
  spec.catch_up = true;
  spec.overlap = OverlapPolicy::kQueue;
  Create(spec);
  SchedulerOptions options = Options();
  options.max_catch_up_ticks = 100;
  Scheduler scheduler(*pool_, options);
  SetNow(kStart + absl::Minutes(150));
  EXPECT_EQ(scheduler.RunOnce()->fired, 100);
  EXPECT_EQ(scheduler.RunOnce()->fired, 50);
  EXPECT_EQ(scheduler.RunOnce()->fired, 0);
  EXPECT_EQ(Count("SELECT count(DISTINCT idempotency_key) FROM jobs"), 150);
}

TEST_F(SchedulerTest, ASeededRowStartsAtItsNextTick) {
  ASSERT_TRUE(pool_->Execute("UPDATE job_schedules SET enabled = true").ok());
  Scheduler scheduler(*pool_, Options());
  SetNow(kStart + absl::Seconds(10));
  EXPECT_EQ(scheduler.RunOnce()->fired, 0);
  SetNow(kStart + absl::Minutes(5));
  EXPECT_EQ(scheduler.RunOnce()->fired, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs WHERE kind = 'refresh_stats' AND tenant_id IS NULL"), 1);
}

}  // namespace
}  // namespace quarry::worker
