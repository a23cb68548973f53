// The worker binary end to end against PostgreSQL (no embedding needed for
// these kinds): it migrates, serves health and /metrics, runs jobs, reports
// its status, and exits 0 on SIGTERM after draining.
#include <signal.h>
#include <sys/wait.h>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "quarry/jobs/v1/worker_admin_service.grpc.pb.h"
#include "services/common/jobqueue/pg_job_queue.h"
#include "services/common/pg/pool.h"
#include "services/common/pg/testing/postgres_env.h"
#include "tests/testing/service_process.h"

namespace quarry {
namespace {

TEST(WorkerBinary, RunsJobsServesHealthAndMetricsAndDrainsOnSigterm) {
  auto conninfo = pg::TestPostgres().CreateDatabase(/*migrated=*/false);
  ASSERT_TRUE(conninfo.ok()) << conninfo.status();
  auto worker = testing::ServiceProcess::Start(
      "worker", "services/worker/worker",
      {"--database_url=" + *conninfo, "--threads=2", "--embedding_target=127.0.0.1:1",
       "--shutdown_grace=5s"});
  ASSERT_TRUE(worker.ok()) << worker.status();
  ASSERT_TRUE((*worker)->WaitServing(absl::Seconds(20)).ok());

  // It migrated an empty database itself.
  pg::PoolOptions options;
  options.conninfo = *conninfo;
  auto pool = pg::Pool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  jobqueue::PgJobQueue queue(**pool, *conninfo);
  jobqueue::JobSpec spec;
  spec.kind = "refresh_stats";
  auto job = queue.Enqueue(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  spec.kind = "purge_deleted";
  spec.payload_json = R"({"retention_seconds": 0})";
  auto purge = queue.Enqueue(spec);
  ASSERT_TRUE(purge.ok()) << purge.status();
  const absl::Time end = absl::Now() + absl::Seconds(20);
  while (absl::Now() < end &&
         (queue.Get(std::nullopt, job->job.id)->state != jobqueue::JobState::kSucceeded ||
          queue.Get(std::nullopt, purge->job.id)->state != jobqueue::JobState::kSucceeded)) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(queue.Get(std::nullopt, job->job.id)->state, jobqueue::JobState::kSucceeded)
      << (*worker)->Log();
  EXPECT_EQ(queue.Get(std::nullopt, purge->job.id)->result_json, R"({"purged_documents": 0})");

  // A payload that can never work goes dead at once, with its error.
  spec.kind = "index_documents";
  spec.payload_json = R"({"collection_id": "seven"})";
  auto bad = queue.Enqueue(spec);
  ASSERT_TRUE(bad.ok());
  while (absl::Now() < end + absl::Seconds(10) &&
         queue.Get(std::nullopt, bad->job.id)->state != jobqueue::JobState::kDead) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  jobqueue::Job dead = *queue.Get(std::nullopt, bad->job.id);
  EXPECT_EQ(dead.state, jobqueue::JobState::kDead);
  EXPECT_EQ(dead.attempts, 1);
  EXPECT_TRUE(absl::StrContains(dead.last_error, "payload.collection_id")) << dead.last_error;

  auto stub = quarry::jobs::v1::WorkerAdminService::NewStub((*worker)->NewChannel());
  grpc::ClientContext context;
  quarry::jobs::v1::GetWorkerStatusResponse status;
  ASSERT_TRUE(stub->GetWorkerStatus(&context, {}, &status).ok());
  EXPECT_EQ(status.capacity(), 2);
  EXPECT_EQ(status.kinds_size(), 4);

  auto metrics = (*worker)->ScrapeMetrics();
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_TRUE(absl::StrContains(*metrics, "quarry_jobs_queue_depth{")) << *metrics;
  EXPECT_TRUE(absl::StrContains(*metrics, "quarry_jobs_due{kind=\"index_documents\",system=\"true\"}"))
      << *metrics;
  EXPECT_TRUE(absl::StrContains(*metrics, "quarry_job_attempts_total{")) << *metrics;
  EXPECT_TRUE(absl::StrContains(*metrics, "quarry_grpc_server_handled_total{")) << *metrics;

  (*worker)->process().Signal(SIGTERM);
  auto exit = (*worker)->process().Wait(absl::Seconds(15));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << (*worker)->Log();
  EXPECT_TRUE(absl::StrContains((*worker)->Log(), "worker drained"));
}

TEST(WorkerBinary, AnUnreachableDatabaseIsOneLineNamingTheFlag) {
  auto worker = testing::ServiceProcess::Start(
      "worker-nodb", "services/worker/worker",
      {"--database_url=host=127.0.0.1 port=1 dbname=none connect_timeout=2"},
      absl::Seconds(20));
  ASSERT_FALSE(worker.ok());
  EXPECT_TRUE(absl::StrContains(worker.status().message(), "worker: database (--database_url): "))
      << worker.status();
}

}  // namespace
}  // namespace quarry
