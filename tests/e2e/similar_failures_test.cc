// The "similar past failures" example (examples/similar_failures) run for
// real: the suite with its hashing-384 embedding service on a real
// PostgreSQL, the example's rate-limited advisor stand-in on a free loopback
// port, its Python triage worker and its client script as processes. Every
// triage job must succeed naming the past failure it is a near copy of, and
// the advisor's 429s must pause the kind (paused_until set, no request to
// the advisor until the pause ends) without costing any job an attempt.
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "quarry/gateway/v1/job_kind_service.grpc.pb.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/suite.h"

namespace quarry {
namespace {

using namespace quarry::gateway::v1;  // NOLINT: a test of this API.
using testing::RunfilePath;
using testing::Subprocess;
using testing::Suite;

constexpr char kKind[] = "failures.triage";
// The advisor allows 3 requests in any 20 s: the client's 5 jobs overrun it
// at once, and the pause it asks for stays short enough for a test.
constexpr int kAdvisorLimit = 3;
constexpr int kAdvisorWindowSeconds = 20;

std::string OutputPath(const std::string& name) {
  const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// One request the advisor saw, from its --requests_log.
struct AdvisorRequest {
  double at = 0;  // seconds since the epoch
  int status = 0;
  int retry_after = 0;
  std::string job;
};

std::vector<AdvisorRequest> AdvisorRequests(const std::string& log_path) {
  std::vector<AdvisorRequest> requests;
  std::istringstream lines(ReadFile(log_path));
  for (std::string line; std::getline(lines, line);) {
    // A line being written may be cut short; it is read on the next pass.
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (entry.is_discarded()) continue;
    requests.push_back({entry["at"].get<double>(), entry["status"].get<int>(),
                        entry["retry_after"].get<int>(), entry["job"].get<std::string>()});
  }
  return requests;
}

class SimilarFailuresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Two shards: the worker's searches fan out and merge like in production.
    auto suite = Suite::Start(testing::SuiteOptions{});
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = *std::move(suite);
    auto key = suite_->CreateApiKey("triage", {"read", "write", "admin"}, 100000.0, 100000);
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *key;
  }

  std::unique_ptr<Subprocess> StartPython(const std::string& script,
                                          std::vector<std::string> flags,
                                          const std::string& log_name) {
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     RunfilePath("examples/similar_failures/" + script)};
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto process = Subprocess::Start(argv, OutputPath(log_name));
    EXPECT_TRUE(process.ok()) << process.status();
    return process.ok() ? *std::move(process) : nullptr;
  }

  std::unique_ptr<Suite> suite_;
  std::string key_;
};

TEST_F(SimilarFailuresTest, TriageJobsFindTheirPastFailureAndA429PausesTheKind) {
  const std::string port_file = absl::StrCat(suite_->temp_dir(), "/advisor.port");
  const std::string requests_log = OutputPath("advisor_requests.jsonl");
  std::remove(requests_log.c_str());
  auto advisor = StartPython(
      "advisor.py",
      {"--port", "0", "--port_file", port_file, "--requests_log", requests_log, "--limit",
       absl::StrCat(kAdvisorLimit), "--window", absl::StrCat(kAdvisorWindowSeconds)},
      "advisor.log");
  ASSERT_NE(advisor, nullptr);
  std::string port;
  for (const absl::Time until = absl::Now() + absl::Seconds(30);
       port.empty() && absl::Now() < until && advisor->running();) {
    absl::SleepFor(absl::Milliseconds(50));
    port = ReadFile(port_file);
  }
  ASSERT_FALSE(port.empty()) << "the advisor did not start: "
                             << ReadFile(OutputPath("advisor.log"));

  // One job at a time, so that no job is already talking to the advisor
  // when a 429 pauses the kind: from then on it must see nothing until the
  // pause is over, exactly.
  auto worker = StartPython("triage_worker.py",
                            {"--target", suite_->target(), "--key", key_, "--advisor",
                             absl::StrCat("http://127.0.0.1:", port), "--worker_id",
                             "triage-1", "--concurrency", "1"},
                            "triage_worker.log");
  ASSERT_NE(worker, nullptr);
  const std::string summary_path = absl::StrCat(suite_->temp_dir(), "/summary.json");
  auto client = StartPython("triage.py",
                            {"--target", suite_->target(), "--key", key_, "--summary",
                             summary_path, "--timeout", "150"},
                            "triage_client.log");
  ASSERT_NE(client, nullptr);

  // While the client runs: once the advisor has answered 429, the kind must
  // show the pause.
  auto kinds = JobKindService::NewStub(suite_->channel());
  absl::Time paused_until = absl::InfinitePast();
  absl::Time first_429_seen = absl::InfinitePast();
  for (const absl::Time until = absl::Now() + absl::Seconds(200);
       client->running() && absl::Now() < until;) {
    absl::SleepFor(absl::Milliseconds(100));
    if (paused_until != absl::InfinitePast()) continue;
    bool saw_429 = false;
    for (const AdvisorRequest& r : AdvisorRequests(requests_log)) saw_429 |= r.status == 429;
    if (!saw_429) continue;
    if (first_429_seen == absl::InfinitePast()) first_429_seen = absl::Now();
    GetJobKindRequest get;
    get.set_name(kKind);
    GetJobKindResponse kind;
    grpc::Status s = kinds->GetJobKind(Suite::Context(key_).get(), get, &kind);
    ASSERT_TRUE(s.ok()) << s.error_message();
    if (kind.kind().has_paused_until()) {
      paused_until = absl::FromUnixSeconds(kind.kind().paused_until().seconds()) +
                     absl::Nanoseconds(kind.kind().paused_until().nanos());
    } else {
      // The worker's FailJob follows the 429 within moments.
      ASSERT_LT(absl::Now() - first_429_seen, absl::Seconds(10)) << "the kind never paused";
    }
  }
  auto exit = client->Wait(absl::Seconds(10));
  ASSERT_TRUE(exit.ok()) << "the client did not finish: " << exit.status();
  const std::string client_log = ReadFile(OutputPath("triage_client.log"));
  std::cout << client_log;
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << *exit << "\n" << client_log;
  ASSERT_NE(paused_until, absl::InfinitePast()) << "no 429, or no pause seen";

  // Every job succeeded on its first counted attempt, the nearest past
  // failure first (the one it is a near copy of) and the advice naming it.
  nlohmann::json summary = nlohmann::json::parse(ReadFile(summary_path), nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << ReadFile(summary_path);
  const std::set<std::string> expected = {
      "2025-11-03/pg-connection-refused", "2026-01-05/disk-full-uploads",
      "2025-12-01/tls-certificate-expired", "2026-03-04/redis-maxmemory",
      "2025-12-15/kafka-commit-failed"};
  std::set<std::string> matched;
  std::map<std::string, Job> jobs;
  auto job_service = JobService::NewStub(suite_->channel());
  for (const nlohmann::json& entry : summary["jobs"]) {
    GetJobRequest get;
    get.set_id(entry["id"].get<std::string>());
    GetJobResponse out;
    ASSERT_TRUE(job_service->GetJob(Suite::Context(key_).get(), get, &out).ok());
    const Job& job = out.job();
    jobs[job.id()] = job;
    ASSERT_EQ(job.state(), JOB_STATE_SUCCEEDED) << job.ShortDebugString();
    EXPECT_EQ(job.attempts(), 1) << job.ShortDebugString();
    nlohmann::json result = nlohmann::json::parse(job.result_json(), nullptr, false);
    ASSERT_FALSE(result.is_discarded()) << job.result_json();
    ASSERT_EQ(result["similar"].size(), 3u) << job.result_json();
    const std::string nearest = result["similar"][0]["id"].get<std::string>();
    EXPECT_EQ(nearest, entry["expect"].get<std::string>()) << job.result_json();
    EXPECT_TRUE(absl::StrContains(result["advice"].get<std::string>(), nearest))
        << job.result_json();
    matched.insert(nearest);
  }
  EXPECT_EQ(matched, expected);

  // The advisor's view: each job got its advice once; every 429 went to a
  // job that then succeeded without the 429 counting as an attempt, and the
  // next request came only once the pause it asked for was over.
  const std::vector<AdvisorRequest> requests = AdvisorRequests(requests_log);
  int answered = 0, refused = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const AdvisorRequest& r = requests[i];
    if (r.status == 200) {
      ++answered;
      continue;
    }
    ASSERT_EQ(r.status, 429);
    ++refused;
    ASSERT_TRUE(jobs.contains(r.job)) << r.job;
    const Job& job = jobs[r.job];
    EXPECT_EQ(job.attempts(), 1) << job.ShortDebugString();
    EXPECT_TRUE(absl::StrContains(job.last_error(), "429")) << job.ShortDebugString();
    ASSERT_LT(i + 1, requests.size()) << "the postponed job never asked again";
    // 0.25 s for the rounding of two clocks' readings of the same time.
    EXPECT_GE(requests[i + 1].at, r.at + r.retry_after - 0.25)
        << "a request " << requests[i + 1].at - r.at << " s after a 429 asking for "
        << r.retry_after << " s";
  }
  EXPECT_EQ(answered, static_cast<int>(expected.size()));
  ASSERT_GE(refused, 1);
  // The pause seen is at least the one the first 429 asked for (later ones
  // only extend it).
  for (const AdvisorRequest& r : requests) {
    if (r.status != 429) continue;
    EXPECT_GE(absl::ToUnixMicros(paused_until) / 1e6, r.at + r.retry_after - 0.25);
    break;
  }
  std::cout << "advisor: " << answered << " answered, " << refused << " refused with 429; kind "
            << kKind << " paused until " << absl::FormatTime(paused_until) << "\n";

  worker->Signal(SIGTERM);
  EXPECT_TRUE(worker->Wait(absl::Seconds(20)).ok());
  advisor->Signal(SIGTERM);
  EXPECT_TRUE(advisor->Wait(absl::Seconds(10)).ok());
}

}  // namespace
}  // namespace quarry
