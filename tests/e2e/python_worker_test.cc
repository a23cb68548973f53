// A tenant's own job kind run by the Python worker runtime
// (clients/python), as real processes, through nginx and two gateways on a
// real PostgreSQL: results stored, progress seen by WatchJob, retries with
// backoff, dead after a permanent failure, cancellation reaching the
// running function (its latency printed), and a worker killed with SIGKILL
// mid-job whose job another worker completes once after the lease.
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <functional>
#include <iostream>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "quarry/gateway/v1/job_kind_service.grpc.pb.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "tests/e2e/worker_processes.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/suite.h"

namespace quarry {
namespace {

using namespace quarry::gateway::v1;  // NOLINT: a test of this API.
using testing::Subprocess;
using testing::Suite;

class PythonWorkerTest : public e2e::WorkerProcessesTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(UseTenant("py"));
    auto kinds = JobKindService::NewStub(suite_->channel());
    CreateJobKindRequest r;
    r.mutable_kind()->set_name(kind_);
    r.mutable_kind()->set_max_attempts(3);
    r.mutable_kind()->mutable_attempt_timeout()->set_seconds(3);
    r.mutable_kind()->mutable_retry()->mutable_initial_backoff()->set_nanos(200'000'000);
    CreateJobKindResponse out;
    grpc::Status s = kinds->CreateJobKind(Suite::Context(key_, absl::Seconds(10)).get(), r, &out);
    ASSERT_TRUE(s.ok() || s.error_code() == grpc::ALREADY_EXISTS) << s.error_message();
  }

  std::unique_ptr<Subprocess> StartWorker(const std::string& id) {
    auto worker = Subprocess::Start(
        {"/usr/bin/python3", testing::RunfilePath("clients/python/example_worker.py"),
         "--target", suite_->target(), "--key", key_, "--kind", kind_, "--worker_id", id},
        absl::StrCat(getenv("TEST_UNDECLARED_OUTPUTS_DIR") ? getenv("TEST_UNDECLARED_OUTPUTS_DIR")
                                                           : "/tmp",
                     "/", id, ".log"));
    EXPECT_TRUE(worker.ok()) << worker.status();
    return worker.ok() ? *std::move(worker) : nullptr;
  }

  using WorkerProcessesTest::Submit;
  Job Submit(const std::string& payload) { return Submit(kind_, payload); }

  const std::string kind_ = "py.echo";
};

TEST_F(PythonWorkerTest, RunsJobsThroughEveryOutcome) {
  auto worker = StartWorker("py-1");
  ASSERT_NE(worker, nullptr);

  // Long enough for a few heartbeats, which carry the progress.
  const Job echo = Submit(R"({"sleep": 2, "ticket": 7})");
  // WatchJob streams the progress the function reports.
  WatchJobRequest watch;
  watch.set_id(echo.id());
  auto context = Suite::Context(key_, absl::Seconds(60));
  auto stream = jobs_->WatchJob(context.get(), watch);
  WatchJobResponse update;
  bool saw_progress = false;
  Job last;
  while (stream->Read(&update)) {
    saw_progress |= update.job().state() == JOB_STATE_RUNNING && update.job().progress() == 0.5;
    last = update.job();
  }
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_TRUE(saw_progress);
  EXPECT_EQ(last.state(), JOB_STATE_SUCCEEDED) << last.ShortDebugString();
  EXPECT_TRUE(absl::StrContains(last.result_json(), "\"ticket\": 7")) << last.result_json();

  // Fails on its first attempt, succeeds on the second after the backoff.
  const Job flaky = Submit(R"({"fail_until_attempt": 2})");
  Job flaky_done = Until(flaky.id(), Ended);
  EXPECT_EQ(flaky_done.state(), JOB_STATE_SUCCEEDED) << flaky_done.ShortDebugString();
  EXPECT_EQ(flaky_done.attempts(), 2);
  EXPECT_TRUE(absl::StrContains(flaky_done.last_error(), "fails on purpose"));

  const Job hopeless = Submit(R"({"permanent": true})");
  Job dead = Until(hopeless.id(), Ended);
  EXPECT_EQ(dead.state(), JOB_STATE_DEAD);
  EXPECT_EQ(dead.attempts(), 1);
  EXPECT_TRUE(absl::StrContains(dead.last_error(), "can never work")) << dead.last_error();

  // Cancelling a running job stops the function at its next heartbeat.
  const Job slow = Submit(R"({"sleep": 60})");
  ASSERT_EQ(Until(slow.id(), [](const Job& j) { return j.state() == JOB_STATE_RUNNING; }).state(),
            JOB_STATE_RUNNING);
  CancelJobRequest cancel;
  cancel.set_id(slow.id());
  CancelJobResponse cancelled;
  const absl::Time asked = absl::Now();
  ASSERT_TRUE(jobs_->CancelJob(Suite::Context(key_).get(), cancel, &cancelled).ok());
  Job stopped = Until(slow.id(), Ended, absl::Seconds(20));
  const absl::Duration latency = absl::Now() - asked;
  EXPECT_EQ(stopped.state(), JOB_STATE_CANCELLED);
  // The worker's heartbeat interval is 0.5 s; a generous bound for a
  // loaded machine, the figure itself is printed.
  EXPECT_LT(latency, absl::Seconds(5));
  std::cout << "cancel to CANCELLED: " << absl::ToInt64Milliseconds(latency) << " ms\n";

  worker->Signal(SIGTERM);
  auto status = worker->Wait(absl::Seconds(20));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status)) << *status;
}

TEST_F(PythonWorkerTest, AJobOfAKilledWorkerIsDeliveredAgainAndCompletesOnce) {
  auto doomed = StartWorker("py-doomed");
  ASSERT_NE(doomed, nullptr);
  const Job job = Submit(R"({"sleep": 3})");
  ASSERT_EQ(Until(job.id(), [](const Job& j) { return j.state() == JOB_STATE_RUNNING; }).state(),
            JOB_STATE_RUNNING);
  doomed->Signal(SIGKILL);
  ASSERT_TRUE(doomed->Wait(absl::Seconds(10)).ok());
  auto heir = StartWorker("py-heir");
  ASSERT_NE(heir, nullptr);
  // After the 3 s lease runs out the job is queued again and the new
  // worker completes it: attempt 2, and the result is the heir's.
  Job done = Until(job.id(), Ended, absl::Seconds(60));
  EXPECT_EQ(done.state(), JOB_STATE_SUCCEEDED) << done.ShortDebugString();
  EXPECT_EQ(done.attempts(), 2);
  EXPECT_TRUE(absl::StrContains(done.result_json(), "py-heir")) << done.result_json();
  heir->Signal(SIGTERM);
  EXPECT_TRUE(heir->Wait(absl::Seconds(20)).ok());
}

// Limits hold with several worker processes competing: a kind limited to 2
// running never has 3 (measured from the jobs' start and finish times), and
// a kind limited to 5 starts a minute starts 5 of 8 in its first minute.
TEST_F(PythonWorkerTest, ConcurrencyAndStartLimitsHoldAcrossWorkers) {
  auto kinds = JobKindService::NewStub(suite_->channel());
  for (const auto& [name, concurrency, per_minute] :
       std::vector<std::tuple<std::string, int, int>>{{"py.gpu", 2, 0}, {"py.llm", 0, 5}}) {
    CreateJobKindRequest r;
    r.mutable_kind()->set_name(name);
    r.mutable_kind()->set_max_concurrency(concurrency);
    r.mutable_kind()->set_starts_per_minute(per_minute);
    CreateJobKindResponse out;
    ASSERT_TRUE(kinds->CreateJobKind(Suite::Context(key_).get(), r, &out).ok());
  }
  std::vector<std::unique_ptr<Subprocess>> workers;
  for (const std::string kind : {"py.gpu", "py.llm"}) {
    for (int i = 0; i < 3; ++i) {
      auto w = Subprocess::Start(
          {"/usr/bin/python3", testing::RunfilePath("clients/python/example_worker.py"),
           "--target", suite_->target(), "--key", key_, "--kind", kind, "--worker_id",
           absl::StrCat(kind, "-", i), "--concurrency", "4"});
      ASSERT_TRUE(w.ok()) << w.status();
      workers.push_back(*std::move(w));
    }
  }
  auto submit = [&](const std::string& kind, const std::string& payload) {
    SubmitJobRequest r;
    r.set_kind(kind);
    r.set_payload_json(payload);
    SubmitJobResponse out;
    EXPECT_TRUE(jobs_->SubmitJob(Suite::Context(key_).get(), r, &out).ok());
    return out.job().id();
  };
  std::vector<std::string> gpu, llm;
  for (int i = 0; i < 10; ++i) gpu.push_back(submit("py.gpu", R"({"sleep": 0.4})"));
  for (int i = 0; i < 8; ++i) llm.push_back(submit("py.llm", "{}"));

  std::vector<std::pair<int64_t, int>> edges;  // (time in µs, +1 start / -1 finish)
  for (const std::string& id : gpu) {
    Job job = Until(id, Ended);
    ASSERT_EQ(job.state(), JOB_STATE_SUCCEEDED) << job.ShortDebugString();
    auto micros = [](const google::protobuf::Timestamp& t) {
      return t.seconds() * 1000000 + t.nanos() / 1000;
    };
    edges.emplace_back(micros(job.start_time()), +1);
    edges.emplace_back(micros(job.finish_time()), -1);
  }
  std::sort(edges.begin(), edges.end());  // a finish sorts before a start at the same time
  int running = 0, most = 0;
  for (const auto& [at, delta] : edges) most = std::max(most, running += delta);
  std::cout << "most py.gpu jobs running at once: " << most << " (limit 2)\n";
  EXPECT_LE(most, 2);
  EXPECT_EQ(most, 2);  // and the limit is used, not undershot

  // Give the start-limited kind a few seconds: 5 start, 3 wait for the window.
  absl::SleepFor(absl::Seconds(3));
  int started = 0;
  for (const std::string& id : llm) started += Get(id).state() != JOB_STATE_QUEUED;
  std::cout << "py.llm jobs started in their first minute: " << started << " of 8 (limit 5)\n";
  EXPECT_EQ(started, 5);
  for (auto& w : workers) w->Signal(SIGTERM);
  for (auto& w : workers) EXPECT_TRUE(w->Wait(absl::Seconds(20)).ok());
}

// A gateway killed under connected workers: their calls through nginx move
// to the other gateway, no job is lost and each ends SUCCEEDED once (a
// complete the dead gateway never answered is fenced or redelivered after
// the lease, never recorded twice).
TEST_F(PythonWorkerTest, AGatewayKilledUnderConnectedWorkersLosesNoJob) {
  std::vector<std::unique_ptr<Subprocess>> workers;
  for (const char* id : {"py-a", "py-b"}) {
    workers.push_back(StartWorker(id));
    ASSERT_NE(workers.back(), nullptr);
  }
  constexpr int kJobs = 40;
  std::vector<std::string> ids;
  for (int i = 0; i < kJobs; ++i) {
    ids.push_back(Submit(absl::StrCat(R"({"sleep": 0.3, "n": )", i, "}")).id());
  }
  // Kill the second gateway once work is under way on both workers.
  Until(ids[3], Ended, absl::Seconds(60));
  ASSERT_TRUE(suite_->gateway(1).Kill().ok());
  const absl::Time killed = absl::Now();
  int succeeded = 0, redelivered = 0;
  for (const std::string& id : ids) {
    const Job done = Until(id, Ended, absl::Seconds(90));
    EXPECT_EQ(done.state(), JOB_STATE_SUCCEEDED) << done.ShortDebugString();
    succeeded += done.state() == JOB_STATE_SUCCEEDED;
    redelivered += done.attempts() > 1;
    // The recorded result is one attempt's, the one that finished the job.
    EXPECT_TRUE(
        absl::StrContains(done.result_json(), absl::StrCat("\"attempt\": ", done.attempts())) ||
        absl::StrContains(done.result_json(), absl::StrCat("\"attempt\":", done.attempts())))
        << done.result_json();
  }
  std::cout << "[gateway kill] " << succeeded << " of " << kJobs << " succeeded, " << redelivered
            << " delivered again, all done " << absl::ToDoubleSeconds(absl::Now() - killed)
            << " s after the kill" << std::endl;
  EXPECT_EQ(succeeded, kJobs);
  ASSERT_TRUE(suite_->gateway(1).Restart().ok());
  for (auto& w : workers) {
    w->Signal(SIGTERM);
    EXPECT_TRUE(w->Wait(absl::Seconds(20)).ok());
  }
}

}  // namespace
}  // namespace quarry
