// Fault: SIGTERM of every service in turn under load, each drained and then
// restarted so the next one still has a twin (tests/fault/README.md).
// A draining process turns NOT_SERVING, lets in-flight calls finish within its
// grace period and exits 0; clients see at most UNAVAILABLE while it drains;
// a draining worker finishes or releases its jobs; nothing acknowledged is lost.
#include <signal.h>
#include <sys/wait.h>

#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "services/common/client/channel.h"
#include "tests/fault/fault_report.h"
#include "tests/testing/suite.h"

namespace quarry {
namespace {

namespace v1 = ::quarry::gateway::v1;
using testing::CallRecord;
using testing::Load;
using testing::LoadOptions;
using testing::Node;
using testing::Suite;
using testing::SuiteOptions;

constexpr absl::Duration kGrace = absl::Seconds(5);
// A process must be gone this long after SIGTERM (the worker drains its jobs
// and then its server, each within the grace, but both are quick here).
const absl::Duration kExitBound = absl::Seconds(8);  // kGrace + 3 s
// Stated bound: a restarted process is SERVING again within this.
constexpr absl::Duration kRestartBound = absl::Seconds(20);

// The value of `field` in the last JSON log line whose message is `message`.
std::string LastLogField(const std::string& log, const std::string& message,
                         const std::string& field) {
  std::string value;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_object() && json.value("message", "") == message) value = json.value(field, "");
  }
  return value;
}

class DrainTest : public ::testing::Test {
 protected:
  // SIGTERMs `node` under load, checks how it drained, restarts it.
  void DrainAndRestart(Node& node, const std::string& fault, Load& load) {
    SCOPED_TRACE(fault);
    ASSERT_TRUE(node.running()) << node.name();
    const pid_t pid = node.pid();
    fault::FaultReport report;
    report.fault = fault;
    int64_t running_jobs = -1;
    std::thread resume;
    if (node.kind() == Node::Kind::kWorker) {
      // Catch the worker with jobs in flight: pause the embedding service so
      // its jobs wait on their embed calls, SIGTERM it with them running, and
      // let the embedding go on a second later, well within the grace.
      ASSERT_TRUE(suite_->embedding().Kill(SIGSTOP).ok());
      const absl::Time paused = absl::Now();
      // The load's threads soon all wait on searches (the embedding is
      // paused), so queue the jobs here: more than both workers' threads take.
      QueueIndexJobs(3 * suite_->options().workers * suite_->options().worker_threads);
      for (int i = 0; i < 40 && JobsLeasedBy(pid) <= 0; ++i) absl::SleepFor(absl::Milliseconds(50));
      running_jobs = JobsLeasedBy(pid);
      resume = std::thread([this, paused] {
        absl::SleepFor(absl::Seconds(1));
        (void)suite_->embedding().Kill(SIGCONT);
        embedding_paused_ = absl::Now() - paused;
      });
    }

    report.fault_begin = absl::Now();
    absl::Status exited = node.Kill(SIGTERM, kExitBound);
    report.fault_end = absl::Now();
    if (resume.joinable()) {
      resume.join();
      report.figures["embedding_paused_s"] = absl::ToDoubleSeconds(embedding_paused_);
    }
    ASSERT_TRUE(exited.ok()) << node.name() << " still running " << absl::FormatDuration(kExitBound)
                             << " after SIGTERM\n"
                             << node.Log();
    absl::StatusOr<int> status = node.service()->process().Wait(absl::ZeroDuration());
    ASSERT_TRUE(status.ok());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << node.name() << " wait status " << *status << "\n"
        << node.Log();
    const std::string log = node.Log();
    EXPECT_TRUE(absl::StrContains(log, "\"draining\"")) << log;
    EXPECT_TRUE(absl::StrContains(log, "\"stopped\"")) << log;

    if (node.kind() == Node::Kind::kWorker) {
      // Whatever it held was finished or handed back, never left leased.
      EXPECT_EQ(JobsLeasedBy(pid), 0) << log;
      EXPECT_GT(running_jobs, 0) << "the worker had no job in flight at SIGTERM";
      report.figures["jobs_running_at_sigterm"] = static_cast<double>(running_jobs);
      double finished = 0, released = 0;
      (void)absl::SimpleAtod(LastLogField(log, "worker drained", "finished"), &finished);
      (void)absl::SimpleAtod(LastLogField(log, "worker drained", "released"), &released);
      report.figures["jobs_finished_in_drain"] = finished;
      report.figures["jobs_released_in_drain"] = released;
    }

    const absl::Time restart_begin = absl::Now();
    ASSERT_TRUE(node.Restart(kRestartBound).ok()) << node.Log();
    report.recovery_seconds = absl::ToDoubleSeconds(absl::Now() - report.fault_end);
    report.figures["exit_s"] = absl::ToDoubleSeconds(report.fault_end - report.fault_begin);
    report.figures["restart_s"] = absl::ToDoubleSeconds(absl::Now() - restart_begin);
    // The next fault starts with this one's calls settled.
    absl::SleepFor(absl::Seconds(2));
    reports_.push_back(report);
  }

  // `n` upserts of one document each: one index job each.
  void QueueIndexJobs(int n) {
    auto documents = v1::DocumentService::NewStub(suite_->channel());
    for (int i = 0; i < n; ++i) {
      v1::UpsertDocumentsRequest request;
      request.set_collection(collection_);
      auto* doc = request.add_documents();
      doc->set_id(absl::StrCat("queued-", queued_++));
      doc->set_text(Load::TextFor(doc->id()));
      v1::UpsertDocumentsResponse response;
      grpc::Status status =
          documents->UpsertDocuments(Suite::Context(key_, absl::Seconds(5)).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
  }

  // Jobs in state running whose lease names process `pid` ("host:pid:nonce").
  int64_t JobsLeasedBy(pid_t pid) {
    auto rows = suite_->pool().Query(absl::StrCat(
        "SELECT count(*) FROM jobs WHERE state = 'running' AND lease_owner LIKE '%:", pid,
        ":%'"));
    return rows.ok() ? (*rows)[0][0].as<int64_t>() : -1;
  }

  std::unique_ptr<Suite> suite_;
  std::vector<fault::FaultReport> reports_;
  absl::Duration embedding_paused_;
  std::string key_;
  std::string collection_ = "drain";
  int queued_ = 0;
};

TEST_F(DrainTest, EveryServiceDrainsOnSigtermWithOnlyUnavailableAndRestarts) {
  SuiteOptions options;
  options.shards = 1;
  options.replicas = 2;
  options.workers = 2;
  options.gateways = 2;
  const std::string grace = "--shutdown_grace=" + absl::FormatDuration(kGrace);
  for (const char* service : {"embedding", "vector_search", "worker", "gateway"}) {
    options.extra_flags[service].push_back(grace);
  }
  auto suite = Suite::Start(options);
  ASSERT_TRUE(suite.ok()) << suite.status();
  suite_ = std::move(*suite);
  auto key = suite_->CreateApiKey("acme", {"read", "write", "admin"},
                                /*rate_per_second=*/1e6, /*burst=*/1000000);
  ASSERT_TRUE(key.ok()) << key.status();
  key_ = *key;
  const std::string collection = collection_;
  ASSERT_TRUE(suite_->CreateCollection(*key, collection).ok());

  // The client balances over both gateways itself, skipping one that is not
  // SERVING, and does not retry: every failure is seen as it happened.
  client::ChannelOptions channel_options;
  channel_options.health_checked_round_robin = true;
  auto channel = client::NewInternalChannel(
      absl::StrCat("ipv4:", suite_->gateway(0).address(), ",", suite_->gateway(1).address()),
      std::move(channel_options));

  LoadOptions load_options;
  load_options.api_key = *key;
  load_options.collection = collection;
  load_options.id_prefix = "drain";
  load_options.threads = 4;
  load_options.upsert_batch = 2;
  load_options.pause = absl::Milliseconds(10);
  load_options.call_deadline = absl::Seconds(5);
  load_options.max_duration = absl::Seconds(90);
  load_options.max_calls = 40000;
  absl::Status warm = fault::WarmUp(channel, *key, collection);
  ASSERT_TRUE(warm.ok()) << warm;
  Load load(channel, load_options);
  load.Start();
  absl::SleepFor(absl::Seconds(3));

  const absl::Time start = absl::Now();
  DrainAndRestart(suite_->gateway(0), "drain_gateway", load);
  DrainAndRestart(suite_->replica(0, 0), "drain_vector_search", load);
  DrainAndRestart(suite_->worker(0), "drain_worker", load);
  DrainAndRestart(suite_->embedding(), "drain_embedding", load);
  const absl::Time drains_done = absl::Now();
  load.Stop();
  const std::vector<CallRecord> records = load.records();
  const std::vector<std::string> acked = load.acked_ids();
  ASSERT_FALSE(acked.empty());

  for (fault::FaultReport& report : reports_) {
    fault::Tally(records, report);
    report.figures["acked_ids"] = static_cast<double>(acked.size());
  }
  for (const CallRecord& r : records) {
    if (r.code == grpc::StatusCode::OK) continue;
    // While a process drains, the only failure is UNAVAILABLE.
    for (const fault::FaultReport& report : reports_) {
      if (r.end >= report.fault_begin && r.start <= report.fault_end) {
        EXPECT_EQ(r.code, grpc::StatusCode::UNAVAILABLE)
            << report.fault << ": " << fault::CodeName(r.code) << ": " << r.message;
      }
    }
    // Before and after the faults, nothing fails at all; in between only
    // with a retryable code (e.g. searches while the embedding is restarting).
    if (r.end < start || r.start > drains_done) {
      ADD_FAILURE() << "outside the faults: " << fault::CodeName(r.code) << ": " << r.message;
    }
    EXPECT_TRUE(fault::RetryableDuringFault(r.code)) << fault::CodeName(r.code) << ": " << r.message;
  }

  // Every acknowledged upsert is searchable; every job ran to success.
  ASSERT_TRUE(suite_->WaitJobsSettled(absl::Seconds(30)).ok());
  ASSERT_TRUE(suite_->WaitIndexed(*key, collection, absl::Seconds(30)).ok());
  auto search = v1::SearchService::NewStub(suite_->channel());
  int64_t missing = 0;
  for (const std::string& id : acked) {
    v1::SearchRequest request;
    request.set_collection(collection);
    request.set_text(Load::TextFor(id));
    request.set_top_k(10);
    request.set_require_all_shards(true);
    v1::SearchResponse response;
    grpc::Status status =
        search->Search(Suite::Context(*key, absl::Seconds(5)).get(), request, &response);
    bool found = false;
    for (const auto& hit : response.hits()) found = found || hit.id() == id;
    if (!status.ok() || !found) {
      ++missing;
      ADD_FAILURE() << id << " acknowledged but not found: " << status.error_message();
      if (missing > 10) break;
    }
  }
  auto jobs = suite_->pool().Query(
      "SELECT count(*) FILTER (WHERE state <> 'succeeded'), count(*), "
      "count(*) FILTER (WHERE attempts > 1) FROM jobs");
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ((*jobs)[0][0].as<int64_t>(), 0) << "jobs not succeeded";
  for (fault::FaultReport& report : reports_) {
    report.figures["acked_not_found"] = static_cast<double>(missing);
    report.figures["jobs"] = static_cast<double>((*jobs)[0][1].as<int64_t>());
    report.figures["jobs_retried"] = static_cast<double>((*jobs)[0][2].as<int64_t>());
    fault::Publish(report);
  }
}

}  // namespace
}  // namespace quarry
