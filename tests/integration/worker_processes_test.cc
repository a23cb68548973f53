// The queue with real worker processes: 10,000 jobs over 4 processes all
// succeed exactly once in effect, and a worker killed with SIGKILL in the
// middle of a job loses nothing (the job is taken again after its lease).
#include <signal.h>
#include <sys/wait.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/jobqueue/pg_job_queue.h"
#include "services/common/pg/pool.h"
#include "services/common/pg/testing/postgres_env.h"
#include "tests/testing/subprocess.h"

namespace quarry {
namespace {

using ::quarry::testing::RunfilePath;
using ::quarry::testing::Subprocess;

class WorkerProcessesTest : public pg::DatabaseTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(DatabaseTest::SetUp());
    ASSERT_TRUE(pool_
                    ->Execute("CREATE TABLE test_executions (job_id bigint, worker text);"
                              "CREATE TABLE test_effects (job_id bigint PRIMARY KEY)")
                    .ok());
    queue_ = std::make_unique<jobqueue::PgJobQueue>(*pool_, conninfo_);
  }

  std::unique_ptr<Subprocess> StartWorker(const std::string& owner,
                                          std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {RunfilePath("tests/integration/test_worker"),
                                     "--conninfo=" + conninfo_, "--owner=" + owner};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const std::string log =
        absl::StrCat(std::getenv("TEST_UNDECLARED_OUTPUTS_DIR") ?: "/tmp", "/", owner, ".log");
    auto worker = Subprocess::Start(argv, log);
    EXPECT_TRUE(worker.ok()) << worker.status();
    return std::move(*worker);
  }

  int64_t Count(const std::string& sql) {
    auto r = pool_->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? (*r)[0][0].as<int64_t>() : -1;
  }

  std::unique_ptr<jobqueue::PgJobQueue> queue_;
};

TEST_F(WorkerProcessesTest, TenThousandJobsOverFourProcessesSucceedOnceEach) {
  constexpr int kJobs = 10000;
  // Enqueue in one statement: the test is about running them.
  ASSERT_TRUE(pool_
                  ->Execute(absl::StrCat("INSERT INTO jobs (kind) SELECT 'effect' FROM "
                                         "generate_series(1, ",
                                         kJobs, ")"))
                  .ok());
  std::vector<std::unique_ptr<Subprocess>> workers;
  const absl::Time start = absl::Now();
  for (int i = 0; i < 4; ++i) workers.push_back(StartWorker(absl::StrCat("w", i)));
  const absl::Time end = start + absl::Seconds(150);
  while (absl::Now() < end &&
         Count("SELECT count(*) FROM jobs WHERE state = 'succeeded'") < kJobs) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  const absl::Duration elapsed = absl::Now() - start;
  for (auto& worker : workers) worker->Signal(SIGTERM);
  for (auto& worker : workers) {
    auto status = worker->Wait(absl::Seconds(20));
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "worker exit " << *status;
  }
  EXPECT_EQ(Count("SELECT count(*) FROM jobs WHERE state = 'succeeded'"), kJobs);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs WHERE state <> 'succeeded'"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM test_effects"), kJobs) << "lost jobs";
  // Without crashes no job runs twice.
  EXPECT_EQ(Count("SELECT count(*) FROM test_executions"), kJobs) << "duplicate runs";
  EXPECT_EQ(Count("SELECT count(DISTINCT worker) FROM test_executions"), 4)
      << "not every process took part";
  std::cout << "10000 jobs on 4 worker processes in " << absl::FormatDuration(elapsed) << "\n";
}

using jobqueue::JobSpec;
using jobqueue::JobState;

TEST_F(WorkerProcessesTest, AJobWhoseWorkerIsKilledIsTakenAgainAfterTheLease) {
  JobSpec spec;
  spec.kind = "slow";
  const int64_t id = queue_->Enqueue(spec)->job.id;
  auto victim = StartWorker("victim", {"--lease=2s", "--heartbeat=500ms", "--slow_ms=4000"});
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline && queue_->Get(std::nullopt, id)->state != JobState::kRunning) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(queue_->Get(std::nullopt, id)->state, JobState::kRunning);
  absl::SleepFor(absl::Milliseconds(500));  // Mid-job.
  victim->Signal(SIGKILL);
  ASSERT_TRUE(victim->Wait(absl::Seconds(5)).ok());
  EXPECT_EQ(Count("SELECT count(*) FROM test_executions"), 0);

  auto rescuer = StartWorker("rescuer", {"--lease=2s", "--heartbeat=500ms", "--slow_ms=500"});
  while (absl::Now() < deadline + absl::Seconds(20) &&
         queue_->Get(std::nullopt, id)->state != JobState::kSucceeded) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  jobqueue::Job job = *queue_->Get(std::nullopt, id);
  EXPECT_EQ(job.state, JobState::kSucceeded);
  EXPECT_EQ(job.attempts, 2);
  EXPECT_EQ(Count("SELECT count(*) FROM test_effects"), 1);
  rescuer->Signal(SIGTERM);
  ASSERT_TRUE(rescuer->Wait(absl::Seconds(20)).ok());
}

}  // namespace
}  // namespace quarry
