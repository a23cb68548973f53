// The public worker API through the real gateway on a real PostgreSQL: a
// tenant registers a kind, submits jobs of it, and a worker of its own
// claims, heartbeats (progress visible to GetJob), completes, fails
// (backoff, dead after max attempts, permanent), is fenced off once its
// lease is gone, sees cancellation at its next heartbeat, and a
// rate-limited answer pauses the kind for every worker; a schedule of the
// tenant's enqueues one job per tick for its workers until it is deleted.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "quarry/gateway/v1/job_kind_service.grpc.pb.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "quarry/gateway/v1/schedule_service.grpc.pb.h"
#include "quarry/gateway/v1/worker_service.grpc.pb.h"
#include "tests/e2e/e2e_suite.h"

namespace quarry {
namespace {

using namespace quarry::gateway::v1;  // NOLINT: a test of this API.

class WorkerApiTest : public e2e::E2eSuite {
 protected:
  void SetUp() override {
    ASSERT_NE(suite_, nullptr);
    kinds_ = JobKindService::NewStub(Channel());
    jobs_ = JobService::NewStub(Channel());
    workers_ = WorkerService::NewStub(Channel());
    schedules_ = ScheduleService::NewStub(Channel());
    key_ = MakeKey("workers-" + std::to_string(++tenant_), {"read", "write", "admin"}, 100000.0,
                   100000);
  }

  void Register(const std::string& name, std::function<void(JobKind&)> edit = nullptr) {
    CreateJobKindRequest r;
    r.mutable_kind()->set_name(name);
    if (edit) edit(*r.mutable_kind());
    CreateJobKindResponse out;
    grpc::Status s = kinds_->CreateJobKind(Context(key_).get(), r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  std::string Submit(const std::string& kind, const std::string& payload = "{}") {
    SubmitJobRequest r;
    r.set_kind(kind);
    r.set_payload_json(payload);
    SubmitJobResponse out;
    grpc::Status s = jobs_->SubmitJob(Context(key_).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.job().id();
  }

  std::vector<ClaimedJob> Claim(const std::string& kind, int max_jobs = 10,
                                absl::Duration wait = absl::ZeroDuration(),
                                const std::string& worker = "w1") {
    ClaimJobsRequest r;
    r.set_worker_id(worker);
    r.add_kinds(kind);
    r.set_max_jobs(max_jobs);
    r.mutable_wait()->set_seconds(absl::ToInt64Seconds(wait));
    ClaimJobsResponse out;
    grpc::Status s = workers_->ClaimJobs(Context(key_).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {out.jobs().begin(), out.jobs().end()};
  }

  static JobLease LeaseOf(const ClaimedJob& job, const std::string& worker = "w1") {
    JobLease lease;
    lease.set_job_id(job.job_id());
    lease.set_attempt(job.attempt());
    lease.set_worker_id(worker);
    return lease;
  }

  Job Get(const std::string& id) {
    GetJobRequest r;
    r.set_id(id);
    GetJobResponse out;
    EXPECT_TRUE(jobs_->GetJob(Context(key_).get(), r, &out).ok());
    return out.job();
  }

  grpc::Status Fail(const ClaimedJob& job, FailureKind kind, int64_t retry_after_s = 0) {
    FailJobRequest r;
    *r.mutable_lease() = LeaseOf(job);
    r.set_error("the step failed");
    r.set_kind(kind);
    r.mutable_retry_after()->set_seconds(retry_after_s);
    FailJobResponse out;
    return workers_->FailJob(Context(key_).get(), r, &out);
  }

  grpc::Status Heartbeat(const JobLease& lease, HeartbeatJobResponse* out, double progress = 0) {
    HeartbeatJobRequest r;
    *r.mutable_lease() = lease;
    r.set_progress(progress);
    r.set_progress_message("halfway");
    return workers_->HeartbeatJob(Context(key_).get(), r, out);
  }

  grpc::Status Complete(const JobLease& lease, const std::string& result) {
    CompleteJobRequest r;
    *r.mutable_lease() = lease;
    r.set_result_json(result);
    CompleteJobResponse out;
    return workers_->CompleteJob(Context(key_).get(), r, &out);
  }

  std::unique_ptr<JobKindService::Stub> kinds_;
  std::unique_ptr<JobService::Stub> jobs_;
  std::unique_ptr<WorkerService::Stub> workers_;
  std::unique_ptr<ScheduleService::Stub> schedules_;
  std::string key_;
  static inline int tenant_ = 0;
};

TEST_F(WorkerApiTest, AWorkerRunsAJobOfItsTenantsKindEndToEnd) {
  Register("ticket.triage", [](JobKind& k) { k.mutable_attempt_timeout()->set_seconds(30); });
  const std::string id = Submit("ticket.triage", R"({"ticket": 42})");
  // Claiming waits for work; the job is there at once.
  std::vector<ClaimedJob> claimed = Claim("ticket.triage", 10, absl::Seconds(5));
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].job_id(), id);
  EXPECT_EQ(claimed[0].attempt(), 1);
  EXPECT_EQ(claimed[0].payload_json(), R"({"ticket": 42})");
  EXPECT_GT(claimed[0].lease_deadline().seconds(), absl::ToUnixSeconds(absl::Now()) + 20);
  // Nothing else to claim.
  EXPECT_TRUE(Claim("ticket.triage").empty());

  HeartbeatJobResponse beat;
  ASSERT_TRUE(Heartbeat(LeaseOf(claimed[0]), &beat, 0.5).ok());
  EXPECT_FALSE(beat.cancel_requested());
  Job running = Get(id);
  EXPECT_EQ(running.state(), JOB_STATE_RUNNING);
  EXPECT_DOUBLE_EQ(running.progress(), 0.5);
  EXPECT_EQ(running.progress_message(), "halfway");

  // A result over the kind's limit is refused and nothing is recorded.
  grpc::Status too_big = Complete(LeaseOf(claimed[0]), "{\"a\":\"" + std::string(70000, 'x') + "\"}");
  EXPECT_EQ(too_big.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(too_big.error_message(), "result_json: ")) << too_big.error_message();
  ASSERT_TRUE(Complete(LeaseOf(claimed[0]), R"({"label": "billing"})").ok());
  Job done = Get(id);
  EXPECT_EQ(done.state(), JOB_STATE_SUCCEEDED);
  EXPECT_EQ(done.result_json(), R"({"label": "billing"})");
  // Completed at most once: the lease is gone with the attempt.
  grpc::Status again = Complete(LeaseOf(claimed[0]), R"({"label": "other"})");
  EXPECT_EQ(again.error_code(), grpc::FAILED_PRECONDITION) << again.error_message();
  EXPECT_EQ(Get(id).result_json(), R"({"label": "billing"})");
}

TEST_F(WorkerApiTest, ALostLeaseFencesTheOldWorkerOff) {
  Register("scan");
  const std::string id = Submit("scan");
  std::vector<ClaimedJob> first = Claim("scan");
  ASSERT_EQ(first.size(), 1u);
  // Another worker id under the same key does not hold it.
  HeartbeatJobResponse beat;
  EXPECT_EQ(Heartbeat(LeaseOf(first[0], "w2"), &beat).error_code(), grpc::FAILED_PRECONDITION);
  // Given back (as a stopping worker does) and claimed by another worker:
  // the first holder's calls are refused and record nothing.
  ReleaseJobRequest release;
  *release.mutable_lease() = LeaseOf(first[0]);
  ReleaseJobResponse released;
  ASSERT_TRUE(workers_->ReleaseJob(Context(key_).get(), release, &released).ok());
  std::vector<ClaimedJob> second = Claim("scan", 10, absl::ZeroDuration(), "w2");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].job_id(), id);
  grpc::Status stale = Complete(LeaseOf(first[0]), "{}");
  EXPECT_EQ(stale.error_code(), grpc::FAILED_PRECONDITION) << stale.error_message();
  ASSERT_TRUE(Complete(LeaseOf(second[0], "w2"), "{}").ok());
  EXPECT_EQ(Get(id).state(), JOB_STATE_SUCCEEDED);
}

TEST_F(WorkerApiTest, FailuresRetryWithBackoffThenDieAndPermanentOnesDieAtOnce) {
  Register("flaky", [](JobKind& k) {
    k.set_max_attempts(2);
    k.mutable_retry()->mutable_initial_backoff()->set_seconds(1);
    k.mutable_retry()->set_jitter_set(true);  // jitter 0: exactly 1 s
  });
  const std::string id = Submit("flaky");
  std::vector<ClaimedJob> claimed = Claim("flaky");
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_TRUE(Fail(claimed[0], FAILURE_KIND_RETRYABLE).ok());
  Job queued = Get(id);
  EXPECT_EQ(queued.state(), JOB_STATE_QUEUED);
  EXPECT_EQ(queued.last_error(), "the step failed");
  // Not before its backoff.
  EXPECT_TRUE(Claim("flaky").empty());
  claimed = Claim("flaky", 10, absl::Seconds(5));
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].attempt(), 2);
  ASSERT_TRUE(Fail(claimed[0], FAILURE_KIND_RETRYABLE).ok());
  EXPECT_EQ(Get(id).state(), JOB_STATE_DEAD);  // out of attempts

  const std::string hopeless = Submit("flaky");
  claimed = Claim("flaky");
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_TRUE(Fail(claimed[0], FAILURE_KIND_PERMANENT).ok());
  EXPECT_EQ(Get(hopeless).state(), JOB_STATE_DEAD);
  EXPECT_EQ(Get(hopeless).attempts(), 1);
}

TEST_F(WorkerApiTest, CancellationReachesTheWorkerAtItsNextHeartbeat) {
  Register("long.run");
  const std::string id = Submit("long.run");
  std::vector<ClaimedJob> claimed = Claim("long.run");
  ASSERT_EQ(claimed.size(), 1u);
  CancelJobRequest cancel;
  cancel.set_id(id);
  CancelJobResponse cancelled;
  ASSERT_TRUE(jobs_->CancelJob(Context(key_).get(), cancel, &cancelled).ok());
  EXPECT_TRUE(cancelled.job().cancel_requested());
  HeartbeatJobResponse beat;
  ASSERT_TRUE(Heartbeat(LeaseOf(claimed[0]), &beat).ok());
  EXPECT_TRUE(beat.cancel_requested());
  AcknowledgeCancelRequest ack;
  *ack.mutable_lease() = LeaseOf(claimed[0]);
  AcknowledgeCancelResponse acked;
  ASSERT_TRUE(workers_->AcknowledgeCancel(Context(key_).get(), ack, &acked).ok());
  EXPECT_EQ(Get(id).state(), JOB_STATE_CANCELLED);
}

TEST_F(WorkerApiTest, ARateLimitedAnswerPausesTheKindWithoutUsingAnAttempt) {
  Register("llm.call", [](JobKind& k) { k.set_max_attempts(1); });
  const std::string first = Submit("llm.call");
  const std::string second = Submit("llm.call");
  std::vector<ClaimedJob> claimed = Claim("llm.call", 1);
  ASSERT_EQ(claimed.size(), 1u);
  // RATE_LIMITED needs to say for how long.
  EXPECT_EQ(Fail(claimed[0], FAILURE_KIND_RATE_LIMITED).error_code(), grpc::INVALID_ARGUMENT);
  ASSERT_TRUE(Fail(claimed[0], FAILURE_KIND_RATE_LIMITED, /*retry_after_s=*/3600).ok());
  // The job is queued again with its attempt given back (max_attempts 1
  // would have made it dead), and no worker starts a job of the kind.
  Job paused = Get(claimed[0].job_id());
  EXPECT_EQ(paused.state(), JOB_STATE_QUEUED);
  EXPECT_EQ(paused.attempts(), 0);
  EXPECT_TRUE(Claim("llm.call", 10, absl::ZeroDuration(), "another-worker").empty());
  GetJobKindRequest get;
  get.set_name("llm.call");
  GetJobKindResponse kind;
  ASSERT_TRUE(kinds_->GetJobKind(Context(key_).get(), get, &kind).ok());
  EXPECT_GT(kind.kind().paused_until().seconds(), absl::ToUnixSeconds(absl::Now()) + 3000);
}

TEST_F(WorkerApiTest, WorkersClaimOnlyTheirTenantsOwnKinds) {
  ClaimJobsRequest r;
  r.set_worker_id("w1");
  r.add_kinds("index_documents");
  r.set_max_jobs(1);
  ClaimJobsResponse out;
  grpc::Status system = workers_->ClaimJobs(Context(key_).get(), r, &out);
  EXPECT_EQ(system.error_code(), grpc::PERMISSION_DENIED) << system.error_message();
  EXPECT_TRUE(absl::StartsWith(system.error_message(), "kinds[0]: ")) << system.error_message();
  r.set_kinds(0, "not.registered");
  EXPECT_EQ(workers_->ClaimJobs(Context(key_).get(), r, &out).error_code(), grpc::NOT_FOUND);
}

TEST_F(WorkerApiTest, AScheduleEnqueuesOneJobPerTickForTheTenantsWorkers) {
  Register("digest.hourly", [](JobKind& k) { k.set_max_attempts(4); });
  CreateScheduleRequest create;
  Schedule* wanted = create.mutable_schedule();
  wanted->set_name("every.second");
  wanted->set_kind("digest.hourly");
  wanted->set_payload_json(R"({"team": "infra"})");
  wanted->mutable_interval()->set_seconds(1);
  wanted->set_overlap(OVERLAP_POLICY_QUEUE);
  CreateScheduleResponse created;
  grpc::Status s = schedules_->CreateSchedule(Context(key_).get(), create, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(created.schedule().max_attempts(), 4);  // the kind's
  EXPECT_GT(created.schedule().next_run_time().seconds(), absl::ToUnixSeconds(absl::Now()) - 1);

  // The worker's scheduler enqueues each tick's job; the tenant's worker
  // runs them. Three ticks, each its own job, each carrying the payload.
  std::set<std::string> ids;
  std::set<int64_t> ticks;
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (ids.size() < 3 && absl::Now() < give_up) {
    for (const ClaimedJob& job : Claim("digest.hourly", 10, absl::Seconds(2))) {
      EXPECT_EQ(job.payload_json(), R"({"team": "infra"})");
      EXPECT_TRUE(ids.insert(job.job_id()).second) << "job " << job.job_id() << " claimed twice";
      ASSERT_TRUE(Complete(LeaseOf(job), "{}").ok());
      ticks.insert(Get(job.job_id()).run_at().seconds());
    }
  }
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ticks.size(), ids.size()) << "two jobs for one tick";

  GetScheduleRequest get;
  get.set_name("every.second");
  GetScheduleResponse got;
  ASSERT_TRUE(schedules_->GetSchedule(Context(key_).get(), get, &got).ok());
  EXPECT_FALSE(got.schedule().last_job_id().empty());
  EXPECT_TRUE(got.schedule().last_error().empty()) << got.schedule().last_error();
  EXPECT_GE(got.schedule().last_tick_time().seconds(), *ticks.rbegin());

  DeleteScheduleRequest del;
  del.set_name("every.second");
  DeleteScheduleResponse deleted;
  ASSERT_TRUE(schedules_->DeleteSchedule(Context(key_).get(), del, &deleted).ok());
  // A pass that claimed the schedule before the delete may still enqueue
  // its tick; after that, nothing.
  absl::SleepFor(absl::Milliseconds(1500));
  for (const ClaimedJob& job : Claim("digest.hourly")) ASSERT_TRUE(Complete(LeaseOf(job), "{}").ok());
  EXPECT_TRUE(Claim("digest.hourly", 10, absl::Seconds(2)).empty());
  ListSchedulesResponse listed;
  ASSERT_TRUE(schedules_->ListSchedules(Context(key_).get(), {}, &listed).ok());
  EXPECT_EQ(listed.schedules_size(), 0);
}

TEST_F(WorkerApiTest, ABatchGraphRunsInDependencyOrderAndAFailureEndsItsDependents) {
  Register("pipeline.step", [](JobKind& k) { k.set_max_attempts(1); });
  SubmitJobsRequest r;
  auto step = [&](const std::string& ref, std::vector<std::string> after) {
    BatchJob* job = r.add_jobs();
    job->set_ref(ref);
    job->mutable_job()->set_kind("pipeline.step");
    job->mutable_job()->set_payload_json(absl::StrCat(R"({"step": ")", ref, R"("})"));
    for (const auto& a : after) job->add_after(a);
  };
  step("deploy", {"build", "test"});
  step("test", {"build"});
  step("build", {});
  SubmitJobsResponse submitted;
  grpc::Status s = jobs_->SubmitJobs(Context(key_).get(), r, &submitted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(submitted.jobs_size(), 3);
  EXPECT_EQ(submitted.jobs(0).job().state(), JOB_STATE_WAITING);
  EXPECT_EQ(submitted.jobs(0).job().depends_on_size(), 2);
  EXPECT_EQ(submitted.jobs(2).job().state(), JOB_STATE_QUEUED);
  const std::string deploy = submitted.jobs(0).job().id();

  // Only what is ready can be claimed, one step at a time.
  std::vector<std::string> ran;
  for (int round = 0; round < 3; ++round) {
    std::vector<ClaimedJob> ready = Claim("pipeline.step", 10, absl::Seconds(5));
    ASSERT_EQ(ready.size(), 1u) << "round " << round;
    ran.push_back(ready[0].payload_json());
    ASSERT_TRUE(Complete(LeaseOf(ready[0]), "{}").ok());
  }
  EXPECT_EQ(ran, (std::vector<std::string>{R"({"step": "build"})", R"({"step": "test"})",
                                          R"({"step": "deploy"})"}));
  EXPECT_EQ(Get(deploy).state(), JOB_STATE_SUCCEEDED);

  // A step that fails for good ends the steps after it, naming it.
  SubmitJobRequest first;
  first.set_kind("pipeline.step");
  SubmitJobResponse first_out;
  ASSERT_TRUE(jobs_->SubmitJob(Context(key_).get(), first, &first_out).ok());
  SubmitJobRequest second;
  second.set_kind("pipeline.step");
  second.add_depends_on(first_out.job().id());
  SubmitJobResponse second_out;
  ASSERT_TRUE(jobs_->SubmitJob(Context(key_).get(), second, &second_out).ok());
  EXPECT_EQ(second_out.job().state(), JOB_STATE_WAITING);
  std::vector<ClaimedJob> failing = Claim("pipeline.step", 10, absl::Seconds(5));
  ASSERT_EQ(failing.size(), 1u);
  ASSERT_TRUE(Fail(failing[0], FAILURE_KIND_PERMANENT).ok());
  Job dead = Get(second_out.job().id());
  EXPECT_EQ(dead.state(), JOB_STATE_DEAD);
  EXPECT_EQ(dead.last_error(), absl::StrCat("dependency ", first_out.job().id(), " ended DEAD"));
  // Nothing is left to run, and a job after the dead one is refused.
  EXPECT_TRUE(Claim("pipeline.step").empty());
  SubmitJobResponse refused;
  grpc::Status late = jobs_->SubmitJob(Context(key_).get(), second, &refused);
  EXPECT_EQ(late.error_code(), grpc::FAILED_PRECONDITION) << late.error_message();
}

TEST_F(WorkerApiTest, AJobCarriesItsSubmitsTraceToTheWorker) {
  Register("traced.step");
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  auto context = Context(key_);
  context->AddMetadata("traceparent", absl::StrCat("00-", trace_id, "-00f067aa0ba902b7-01"));
  SubmitJobRequest r;
  r.set_kind("traced.step");
  SubmitJobResponse submitted;
  ASSERT_TRUE(jobs_->SubmitJob(context.get(), r, &submitted).ok());
  // The stored context is the gateway's span of the submit, in the caller's
  // trace.
  const std::string stored = submitted.job().traceparent();
  EXPECT_TRUE(absl::StartsWith(stored, absl::StrCat("00-", trace_id, "-"))) << stored;
  EXPECT_EQ(stored.size(), 55u) << stored;
  EXPECT_NE(stored, absl::StrCat("00-", trace_id, "-00f067aa0ba902b7-01"));
  std::vector<ClaimedJob> claimed = Claim("traced.step", 1, absl::Seconds(5));
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].traceparent(), stored);
  ASSERT_TRUE(Complete(LeaseOf(claimed[0]), "{}").ok());
  EXPECT_EQ(Get(claimed[0].job_id()).traceparent(), stored);
}

}  // namespace
}  // namespace quarry
