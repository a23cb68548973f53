// A tenant's own job kinds run by the Node.js worker runtime (clients/node),
// as real node processes, through nginx and two gateways on a real
// PostgreSQL: results stored, progress seen by WatchJob, retries with
// backoff, dead after the last attempt or a permanent failure, a dead job
// re-driven with RetryJob, a rate-limited answer pausing its kind,
// cancellation reaching the running function (its latency printed), and a
// SIGTERM that hands the running job back for another worker.
//
// node_modules is not a Bazel input: scripts/setup.sh installs it into the
// repository's clients/node, which the runfiles of //clients/node point to.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "quarry/gateway/v1/job_kind_service.grpc.pb.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
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

class NodeWorkerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    missing_ = MissingPrerequisite();
    if (!missing_.empty()) return;
    testing::SuiteOptions options;
    options.gateways = 2;
    options.nginx = true;
    auto suite = Suite::Start(options);
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = suite->release();
  }
  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(missing_.empty()) << missing_;
    ASSERT_NE(suite_, nullptr);
    auto key = suite_->CreateApiKey("node", {"read", "write", "admin"}, 100000.0, 100000);
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *key;
    jobs_ = JobService::NewStub(suite_->channel());
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

  Job Submit(const std::string& payload, const std::string& kind = "") {
    SubmitJobRequest r;
    r.set_kind(kind.empty() ? kind_ : kind);
    r.set_payload_json(payload);
    SubmitJobResponse out;
    grpc::Status s = jobs_->SubmitJob(Suite::Context(key_).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.job();
  }

  Job Get(const std::string& id) {
    GetJobRequest r;
    r.set_id(id);
    GetJobResponse out;
    EXPECT_TRUE(jobs_->GetJob(Suite::Context(key_).get(), r, &out).ok());
    return out.job();
  }

  // Polls until `done(job)` or `timeout`; the job as last read.
  Job Until(const std::string& id, const std::function<bool(const Job&)>& done,
            absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    Job job = Get(id);
    while (!done(job) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
      job = Get(id);
    }
    return job;
  }
  static bool Ended(const Job& job) {
    return job.state() == JOB_STATE_SUCCEEDED || job.state() == JOB_STATE_DEAD ||
           job.state() == JOB_STATE_CANCELLED;
  }
  static bool Running(const Job& job) { return job.state() == JOB_STATE_RUNNING; }

  static inline Suite* suite_ = nullptr;
  static inline std::string missing_;
  const std::string kind_ = "node.echo";
  const std::string limited_kind_ = "node.limited";
  std::string key_;
  std::unique_ptr<JobService::Stub> jobs_;
  std::unique_ptr<JobKindService::Stub> kinds_;
};

TEST_F(NodeWorkerTest, RunsJobsThroughEveryOutcome) {
  auto worker = StartWorker("node-1");
  ASSERT_NE(worker, nullptr);

  // Long enough for a few heartbeats, which carry the progress.
  const Job echo = Submit(R"({"sleep": 2, "ticket": 7})");
  WatchJobRequest watch;
  watch.set_id(echo.id());
  auto context = Suite::Context(key_, absl::Seconds(60));
  auto stream = jobs_->WatchJob(context.get(), watch);
  WatchJobResponse update;
  bool saw_progress = false;
  Job last;
  while (stream->Read(&update)) {
    saw_progress |= Running(update.job()) && update.job().progress() == 0.5 &&
                    update.job().progress_message() == "working";
    last = update.job();
  }
  ASSERT_TRUE(stream->Finish().ok());
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
  const Job limited = Submit(R"({"rate_limited": 3600})", limited_kind_);
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
  CancelJobRequest cancel;
  cancel.set_id(slow.id());
  CancelJobResponse cancelled;
  const absl::Time asked = absl::Now();
  ASSERT_TRUE(jobs_->CancelJob(Suite::Context(key_).get(), cancel, &cancelled).ok());
  Job stopped = Until(slow.id(), Ended, absl::Seconds(20));
  const absl::Duration latency = absl::Now() - asked;
  EXPECT_EQ(stopped.state(), JOB_STATE_CANCELLED);
  // A generous bound for a loaded machine; the figure itself is printed.
  EXPECT_LT(latency, absl::Seconds(5));
  std::cout << "cancel to CANCELLED: " << absl::ToInt64Milliseconds(latency) << " ms\n";

  // The paused job is cancelled too, at once, as it is queued.
  cancel.set_id(limited.id());
  ASSERT_TRUE(jobs_->CancelJob(Suite::Context(key_).get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.job().state(), JOB_STATE_CANCELLED);

  worker->Signal(SIGTERM);
  auto status = worker->Wait(absl::Seconds(20));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
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
