// A tenant's own job kinds run by the Node.js worker runtime (clients/node),
// as real node processes, through nginx and two gateways on a real
// PostgreSQL: results stored, progress seen by WatchJob, retries with
// backoff, dead after the last attempt or a permanent failure, a dead job
// re-driven with RetryJob, a rate-limited answer pausing its kind,
// cancellation reaching the running function (its latency printed), a
// SIGTERM that hands the running job back for another worker, and the Node
// Client submitting and watching a job.
//
// node_modules is not a Bazel input: scripts/setup.sh installs it into the
// repository's clients/node, which the runfiles of //clients/node point to.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

// The node binary: Subprocess execs a path, not a name to look up.
std::string NodeBinary() {
  const char* path = std::getenv("PATH");
  for (const auto dir : absl::StrSplit(path ? path : "/usr/bin:/usr/local/bin", ':')) {
    const std::string candidate = absl::StrCat(dir, "/node");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// What stops the test before it starts a suite: no node, or no
// node_modules in the repository's clients/node. Empty when all is there.
std::string MissingPrerequisite() {
  if (NodeBinary().empty()) return "node is not installed: run scripts/setup.sh";
  std::error_code error;
  const auto package =
      std::filesystem::canonical(testing::RunfilePath("clients/node/package.json"), error);
  if (error) {
    return absl::StrCat("clients/node/package.json is not in the runfiles: ", error.message());
  }
  const auto modules = package.parent_path() / "node_modules" / "@grpc" / "grpc-js";
  if (!std::filesystem::is_directory(modules)) {
    return absl::StrCat(modules.string(),
                        " is missing: run scripts/setup.sh (it runs npm ci in clients/node)");
  }
  return "";
}

// `name` in the directory Bazel names in `variable` (kept or thrown away).
std::string TestPath(const char* variable, const std::string& name) {
  const char* dir = std::getenv(variable);
  return absl::StrCat(dir ? dir : "/tmp", "/", name);
}

class NodeWorkerTest : public e2e::WorkerProcessesTest {
 protected:
  static void SetUpTestSuite() {
    missing_ = MissingPrerequisite();
    if (missing_.empty()) WorkerProcessesTest::SetUpTestSuite();
  }

  void SetUp() override {
    ASSERT_TRUE(missing_.empty()) << missing_;
    ASSERT_NO_FATAL_FAILURE(UseTenant("node"));
    kinds_ = JobKindService::NewStub(suite_->channel());
    // Backoff without jitter (200 ms, then 400 ms), so the time a job takes
    // to run out of attempts has a floor the test can check.
    JobKind kind;
    kind.set_name(kind_);
    kind.set_max_attempts(3);
    kind.mutable_attempt_timeout()->set_seconds(3);
    kind.mutable_retry()->mutable_initial_backoff()->set_nanos(200'000'000);
    kind.mutable_retry()->set_multiplier(2);
    kind.mutable_retry()->set_jitter(0);
    kind.mutable_retry()->set_jitter_set(true);
    CreateKind(kind);
    JobKind limited;
    limited.set_name(limited_kind_);
    CreateKind(limited);
  }

  void CreateKind(const JobKind& kind) {
    CreateJobKindRequest r;
    *r.mutable_kind() = kind;
    CreateJobKindResponse out;
    grpc::Status s = kinds_->CreateJobKind(Suite::Context(key_).get(), r, &out);
    ASSERT_TRUE(s.ok() || s.error_code() == grpc::ALREADY_EXISTS) << s.error_message();
  }

  std::unique_ptr<Subprocess> StartWorker(const std::string& id) {
    auto worker =
        Subprocess::Start({NodeBinary(), testing::RunfilePath("clients/node/example_worker.js"),
                           "--target", suite_->target(), "--key", key_, "--kind", kind_, "--kind",
                           limited_kind_, "--worker_id", id},
                          TestPath("TEST_UNDECLARED_OUTPUTS_DIR", absl::StrCat(id, ".log")));
    EXPECT_TRUE(worker.ok()) << worker.status();
    return worker.ok() ? *std::move(worker) : nullptr;
  }

  using WorkerProcessesTest::Submit;
  Job Submit(const std::string& payload) { return Submit(kind_, payload); }

  static inline std::string missing_;
  const std::string kind_ = "node.echo";
  const std::string limited_kind_ = "node.limited";
  std::unique_ptr<JobKindService::Stub> kinds_;
};

TEST_F(NodeWorkerTest, RunsJobsThroughEveryOutcome) {
  auto worker = StartWorker("node-1");
  ASSERT_NE(worker, nullptr);

  // Long enough for a few heartbeats, which carry the progress.
  const Job echo = Submit(R"({"sleep": 2, "ticket": 7})");
  const std::vector<Job> updates = Watch(echo.id());
  ASSERT_FALSE(updates.empty());
  const Job& last = updates.back();
  const bool saw_progress = std::any_of(updates.begin(), updates.end(), [](const Job& j) {
    return Running(j) && j.progress() == 0.5 && j.progress_message() == "working";
  });
  EXPECT_TRUE(saw_progress);
  EXPECT_EQ(last.state(), JOB_STATE_SUCCEEDED) << last.ShortDebugString();
  // The gateway stores the result re-serialized, hence the spaces.
  EXPECT_TRUE(absl::StrContains(last.result_json(), R"("ticket": 7)")) << last.result_json();
  EXPECT_TRUE(absl::StrContains(last.result_json(), R"("worker": "node-1")")) << last.result_json();

  // Fails on its first attempt, succeeds on the second after the backoff.
  const Job flaky = Submit(R"({"fail_until_attempt": 2})");
  Job flaky_done = Until(flaky.id(), Ended);
  EXPECT_EQ(flaky_done.state(), JOB_STATE_SUCCEEDED) << flaky_done.ShortDebugString();
  EXPECT_EQ(flaky_done.attempts(), 2);
  EXPECT_TRUE(absl::StrContains(flaky_done.last_error(), "Error: attempt 1 fails on purpose"))
      << flaky_done.last_error();

  const Job hopeless = Submit(R"({"permanent": true})");
  Job dead = Until(hopeless.id(), Ended);
  EXPECT_EQ(dead.state(), JOB_STATE_DEAD);
  EXPECT_EQ(dead.attempts(), 1);
  EXPECT_EQ(dead.last_error(), "this input can never work");

  // Fails while a file it needs is missing: dead after its 3 attempts, no
  // sooner than the two backoffs (0.2 s + 0.4 s) allow; re-driven once the
  // file is there, it succeeds on a fresh first attempt.
  const std::string needed = TestPath("TEST_TMPDIR", "node-needed-file");
  std::filesystem::remove(needed);
  const absl::Time submitted = absl::Now();
  const Job exhausted = Submit(absl::StrCat(R"({"fail_until_file": ")", needed, R"("})"));
  Job exhausted_dead = Until(exhausted.id(), Ended);
  const absl::Duration to_dead = absl::Now() - submitted;
  EXPECT_EQ(exhausted_dead.state(), JOB_STATE_DEAD) << exhausted_dead.ShortDebugString();
  EXPECT_EQ(exhausted_dead.attempts(), 3);
  EXPECT_TRUE(absl::StrContains(exhausted_dead.last_error(), "is missing"))
      << exhausted_dead.last_error();
  EXPECT_GE(to_dead, absl::Milliseconds(600));
  std::cout << "3 attempts to DEAD: " << absl::ToInt64Milliseconds(to_dead) << " ms\n";
  std::ofstream(needed) << "fixed\n";
  RetryJobRequest retry;
  retry.set_id(exhausted.id());
  RetryJobResponse redriven;
  ASSERT_TRUE(jobs_->RetryJob(Suite::Context(key_).get(), retry, &redriven).ok());
  Job recovered = Until(exhausted.id(), Ended);
  EXPECT_EQ(recovered.state(), JOB_STATE_SUCCEEDED) << recovered.ShortDebugString();
  EXPECT_EQ(recovered.attempts(), 1);
  EXPECT_TRUE(absl::StrContains(recovered.result_json(), R"("attempt": 1)"))
      << recovered.result_json();

  // RateLimited(3600) pauses its kind for an hour and gives the job back
  // with the attempt not counted.
  const Job limited = Submit(limited_kind_, R"({"rate_limited": 3600})");
  Job paused = Until(limited.id(), [](const Job& j) { return !j.last_error().empty(); });
  EXPECT_EQ(paused.state(), JOB_STATE_QUEUED) << paused.ShortDebugString();
  EXPECT_EQ(paused.attempts(), 0);
  GetJobKindRequest get_kind;
  get_kind.set_name(limited_kind_);
  GetJobKindResponse limited_kind;
  ASSERT_TRUE(kinds_->GetJobKind(Suite::Context(key_).get(), get_kind, &limited_kind).ok());
  EXPECT_GT(limited_kind.kind().paused_until().seconds(), absl::ToUnixSeconds(absl::Now()) + 3000);

  // Cancelling a running job aborts the function's signal at the next
  // heartbeat (every 0.5 s), which ends its sleep at once.
  const Job slow = Submit(R"({"sleep": 60})");
  ASSERT_EQ(Until(slow.id(), Running).state(), JOB_STATE_RUNNING);
  const absl::Time asked = absl::Now();
  ASSERT_TRUE(Cancel(slow.id()).cancel_requested());
  Job stopped = Until(slow.id(), Ended, absl::Seconds(20));
  const absl::Duration latency = absl::Now() - asked;
  EXPECT_EQ(stopped.state(), JOB_STATE_CANCELLED);
  // A generous bound for a loaded machine; the figure itself is printed.
  EXPECT_LT(latency, absl::Seconds(5));
  std::cout << "cancel to CANCELLED: " << absl::ToInt64Milliseconds(latency) << " ms\n";

  // The paused job is cancelled too, at once, as it is queued.
  EXPECT_EQ(Cancel(limited.id()).state(), JOB_STATE_CANCELLED);

  worker->Signal(SIGTERM);
  auto status = worker->Wait(absl::Seconds(20));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
}

// The Node Client against the real gateway: example_client.js submits a job,
// prints each WatchJob update and the job GetJob reads, one JSON line each.
TEST_F(NodeWorkerTest, TheNodeClientSubmitsAndWatchesAJob) {
  auto worker = StartWorker("node-for-client");
  ASSERT_NE(worker, nullptr);
  const std::string log = TestPath("TEST_TMPDIR", "node-client.log");
  std::filesystem::remove(log);
  auto client = Subprocess::Start(
      {NodeBinary(), testing::RunfilePath("clients/node/example_client.js"), "--target",
       suite_->target(), "--key", key_, "--kind", kind_, "--payload", R"({"n": 3, "sleep": 1.5})"},
      log);
  ASSERT_TRUE(client.ok()) << client.status();
  auto status = (*client)->Wait(absl::Seconds(60));
  ASSERT_TRUE(status.ok()) << status.status();
  std::stringstream printed;
  printed << std::ifstream(log).rdbuf();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << printed.str();
  // Node's JSON.stringify writes no spaces; the payload and result were
  // decoded from the API's JSON strings into objects (the gateway stores them
  // with their keys sorted).
  EXPECT_TRUE(absl::StrContains(printed.str(), R"("state":"RUNNING")")) << printed.str();
  EXPECT_TRUE(absl::StrContains(printed.str(), R"("progress":0.5,"progressMessage":"working")"))
      << printed.str();
  EXPECT_TRUE(absl::StrContains(printed.str(), R"("payload":{"n":3,"sleep":1.5})"))
      << printed.str();
  EXPECT_TRUE(absl::StrContains(printed.str(), R"("result":{"echo":{"n":3,"sleep":1.5})"))
      << printed.str();
  worker->Signal(SIGTERM);
  EXPECT_TRUE(worker->Wait(absl::Seconds(20)).ok());
}

TEST_F(NodeWorkerTest, SigtermHandsTheRunningJobBackForAnotherWorker) {
  auto leaving = StartWorker("node-leaving");
  ASSERT_NE(leaving, nullptr);
  // Longer than the worker's 2 s grace, so it is handed back unfinished.
  const Job job = Submit(R"({"sleep": 4})");
  ASSERT_EQ(Until(job.id(), Running).state(), JOB_STATE_RUNNING);
  const absl::Time asked = absl::Now();
  leaving->Signal(SIGTERM);
  auto status = leaving->Wait(absl::Seconds(20));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  // Released, not left to its 3 s lease: queued again at once, the attempt
  // not counted.
  Job released = Get(job.id());
  EXPECT_EQ(released.state(), JOB_STATE_QUEUED) << released.ShortDebugString();
  EXPECT_EQ(released.attempts(), 0);
  std::cout << "SIGTERM to exit with the job handed back: "
            << absl::ToInt64Milliseconds(absl::Now() - asked) << " ms\n";

  auto heir = StartWorker("node-heir");
  ASSERT_NE(heir, nullptr);
  Job done = Until(job.id(), Ended);
  EXPECT_EQ(done.state(), JOB_STATE_SUCCEEDED) << done.ShortDebugString();
  EXPECT_EQ(done.attempts(), 1);
  EXPECT_TRUE(absl::StrContains(done.result_json(), R"("worker": "node-heir")"))
      << done.result_json();
  heir->Signal(SIGTERM);
  EXPECT_TRUE(heir->Wait(absl::Seconds(20)).ok());
}

}  // namespace
}  // namespace quarry
