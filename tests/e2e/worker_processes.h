// The fixture of the tests that run a client library's worker runtime as real
// processes (python_worker_test, node_worker_test): one suite per binary with
// two gateways behind nginx, so that workers reconnect through a load
// balancer as in production, and the job reads those tests poll with.
#ifndef QUARRY_TESTS_E2E_WORKER_PROCESSES_H_
#define QUARRY_TESTS_E2E_WORKER_PROCESSES_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "tests/testing/suite.h"

namespace quarry::e2e {

class WorkerProcessesTest : public ::testing::Test {
 protected:
  using Job = gateway::v1::Job;

  static void SetUpTestSuite() {
    testing::SuiteOptions options;
    options.gateways = 2;
    options.nginx = true;
    auto suite = testing::Suite::Start(options);
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = suite->release();
  }
  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
  }

  // key_: a key of `tenant` with every scope; jobs_: JobService through nginx.
  void UseTenant(const std::string& tenant) {
    ASSERT_NE(suite_, nullptr);
    auto key = suite_->CreateApiKey(tenant, {"read", "write", "admin"}, 100000.0, 100000);
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *key;
    jobs_ = gateway::v1::JobService::NewStub(suite_->channel());
  }

  Job Submit(const std::string& kind, const std::string& payload) {
    gateway::v1::SubmitJobRequest r;
    r.set_kind(kind);
    r.set_payload_json(payload);
    gateway::v1::SubmitJobResponse out;
    grpc::Status s =
        jobs_->SubmitJob(testing::Suite::Context(key_, absl::Seconds(10)).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.job();
  }

  Job Get(const std::string& id) {
    gateway::v1::GetJobRequest r;
    r.set_id(id);
    gateway::v1::GetJobResponse out;
    EXPECT_TRUE(
        jobs_->GetJob(testing::Suite::Context(key_, absl::Seconds(10)).get(), r, &out).ok());
    return out.job();
  }

  // The job as CancelJob leaves it: CANCELLED if it was queued, RUNNING with
  // cancel_requested if a worker has it.
  Job Cancel(const std::string& id) {
    gateway::v1::CancelJobRequest r;
    r.set_id(id);
    gateway::v1::CancelJobResponse out;
    grpc::Status s = jobs_->CancelJob(testing::Suite::Context(key_).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
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
  // Every update WatchJob streams for the job until it ends (within `timeout`).
  std::vector<Job> Watch(const std::string& id, absl::Duration timeout = absl::Seconds(60)) {
    gateway::v1::WatchJobRequest r;
    r.set_id(id);
    auto context = testing::Suite::Context(key_, timeout);
    auto stream = jobs_->WatchJob(context.get(), r);
    std::vector<Job> updates;
    gateway::v1::WatchJobResponse update;
    while (stream->Read(&update)) updates.push_back(update.job());
    grpc::Status s = stream->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return updates;
  }

  static bool Ended(const Job& job) {
    return job.state() == gateway::v1::JOB_STATE_SUCCEEDED ||
           job.state() == gateway::v1::JOB_STATE_DEAD ||
           job.state() == gateway::v1::JOB_STATE_CANCELLED;
  }
  static bool Running(const Job& job) { return job.state() == gateway::v1::JOB_STATE_RUNNING; }

  static inline testing::Suite* suite_ = nullptr;
  std::string key_;
  std::unique_ptr<gateway::v1::JobService::Stub> jobs_;
};

}  // namespace quarry::e2e

#endif  // QUARRY_TESTS_E2E_WORKER_PROCESSES_H_
