// A waiting ClaimJobs call wakes on PostgreSQL's 'jobs_new' notification
// instead of polling: through two real gateways on one database, a claim
// waiting on one returns a job submitted through either soon after the
// submit, and a delayed job is still claimed once due (nothing announces
// that moment; the gateway's slow unannounced poll covers it). Timing is
// printed, and asserted only loosely: machines are noisy.
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "quarry/gateway/v1/job_kind_service.grpc.pb.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "quarry/gateway/v1/worker_service.grpc.pb.h"
#include "tests/testing/suite.h"

namespace quarry {
namespace {

using namespace quarry::gateway::v1;  // NOLINT: a test of this API.
using testing::Suite;

class ClaimWakeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::SuiteOptions options;
    options.gateways = 2;
    auto suite = Suite::Start(options);
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = suite->release();
  }
  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(suite_, nullptr);
    auto key = suite_->CreateApiKey("claim-wake-" + std::to_string(++tenant_),
                                    {"read", "write", "admin"}, 100000.0, 100000);
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *key;
    for (int g = 0; g < 2; ++g) {
      jobs_[g] = JobService::NewStub(suite_->gateway(g).channel());
      workers_[g] = WorkerService::NewStub(suite_->gateway(g).channel());
    }
    CreateJobKindRequest r;
    r.mutable_kind()->set_name(kKind);
    CreateJobKindResponse out;
    auto kinds = JobKindService::NewStub(suite_->gateway(0).channel());
    grpc::Status s = kinds->CreateJobKind(Suite::Context(key_, absl::Seconds(10)).get(), r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  std::string Submit(int gateway, absl::Time run_at = absl::InfinitePast()) {
    SubmitJobRequest r;
    r.set_kind(kKind);
    r.set_payload_json("{}");
    if (run_at != absl::InfinitePast()) {
      const int64_t nanos = absl::ToUnixNanos(run_at);
      r.mutable_run_at()->set_seconds(nanos / 1000000000);
      r.mutable_run_at()->set_nanos(static_cast<int>(nanos % 1000000000));
    }
    SubmitJobResponse out;
    grpc::Status s = jobs_[gateway]->SubmitJob(Suite::Context(key_, absl::Seconds(10)).get(), r,
                                               &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.job().id();
  }

  // A claim waiting up to `wait` on `gateway`, in its own thread.
  struct Waiting {
    std::thread thread;
    std::vector<ClaimedJob> claimed;
    absl::Time returned;
  };
  std::unique_ptr<Waiting> StartClaim(int gateway, absl::Duration wait) {
    auto waiting = std::make_unique<Waiting>();
    waiting->thread = std::thread([this, gateway, wait, w = waiting.get()] {
      ClaimJobsRequest r;
      r.set_worker_id("w1");
      r.add_kinds(kKind);
      r.set_max_jobs(1);
      r.mutable_wait()->set_seconds(absl::ToInt64Seconds(wait));
      ClaimJobsResponse out;
      grpc::Status s = workers_[gateway]->ClaimJobs(
          Suite::Context(key_, wait + absl::Seconds(10)).get(), r, &out);
      w->returned = absl::Now();
      EXPECT_TRUE(s.ok()) << s.error_message();
      w->claimed.assign(out.jobs().begin(), out.jobs().end());
    });
    // Long enough for the claim to have found nothing and be waiting.
    absl::SleepFor(absl::Milliseconds(300));
    return waiting;
  }

  // Submits (through `submit_gateway`) while a claim waits on
  // `claim_gateway`; the time from the submit to the claim's answer.
  absl::Duration SubmitWhileWaiting(int claim_gateway, int submit_gateway) {
    std::unique_ptr<Waiting> waiting = StartClaim(claim_gateway, absl::Seconds(10));
    const absl::Time submitted = absl::Now();
    const std::string id = Submit(submit_gateway);
    waiting->thread.join();
    EXPECT_EQ(waiting->claimed.size(), 1u);
    if (!waiting->claimed.empty()) {
      EXPECT_EQ(waiting->claimed[0].job_id(), id);
    }
    // It was waiting, not answering before the job existed.
    EXPECT_GT(waiting->returned, submitted);
    return waiting->returned - submitted;
  }

  static constexpr char kKind[] = "wake.me";
  static inline Suite* suite_ = nullptr;
  static inline int tenant_ = 0;
  std::string key_;
  std::unique_ptr<JobService::Stub> jobs_[2];
  std::unique_ptr<WorkerService::Stub> workers_[2];
};

TEST_F(ClaimWakeTest, AWaitingClaimTakesAJobSubmittedThroughEitherGatewaySoonAfter) {
  for (const auto& [claim_on, submit_on] : std::vector<std::pair<int, int>>{{0, 0}, {0, 1}}) {
    std::vector<absl::Duration> latencies;
    for (int round = 0; round < 5; ++round) {
      latencies.push_back(SubmitWhileWaiting(claim_on, submit_on));
    }
    std::sort(latencies.begin(), latencies.end());
    std::cout << "submit -> waiting claim answered (claim on gateway " << claim_on
              << ", submit on gateway " << submit_on << "): median "
              << absl::FormatDuration(latencies[latencies.size() / 2]) << ", max "
              << absl::FormatDuration(latencies.back()) << std::endl;
    // Loose: the old poll's worst case was 250 ms, the unannounced poll's 1 s.
    for (absl::Duration latency : latencies) EXPECT_LT(latency, absl::Seconds(2));
  }
}

TEST_F(ClaimWakeTest, ADelayedJobIsClaimedOnceDueThoughNothingAnnouncesIt) {
  std::unique_ptr<Waiting> waiting = StartClaim(0, absl::Seconds(10));
  // Not a whole number of unannounced polls after the submit (which woke the
  // claim), so the figure shows how late the poll can be.
  const absl::Time due = absl::Now() + absl::Milliseconds(2500);
  const std::string id = Submit(1, due);
  waiting->thread.join();
  ASSERT_EQ(waiting->claimed.size(), 1u);
  EXPECT_EQ(waiting->claimed[0].job_id(), id);
  std::cout << "delayed job claimed " << absl::FormatDuration(waiting->returned - due)
            << " after it fell due" << std::endl;
  EXPECT_GE(waiting->returned, due - absl::Milliseconds(50));
  EXPECT_LT(waiting->returned, due + absl::Seconds(3));
}

}  // namespace
}  // namespace quarry
