// quarryctl and loadgen against the real suite (PostgreSQL, embedding, a
// shard, a worker, a gateway): what a user sees when ingesting a real-looking
// corpus (WordNet-style numeric ids, precomputed vectors, bad lines), the
// summary line and JSON, exit codes, the search table, and that loadgen
// writes into its own collection unless told otherwise; kinds, schedules,
// the per-kind queue counts and bulk retry and cancel of jobs.
#include <sys/wait.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/job_kind_service.grpc.pb.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "quarry/gateway/v1/schedule_service.grpc.pb.h"
#include "quarry/gateway/v1/stats_service.grpc.pb.h"
#include "quarry/gateway/v1/worker_service.grpc.pb.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/suite.h"

namespace quarry {
namespace {

namespace v1 = ::quarry::gateway::v1;
using testing::Suite;
using testing::SuiteOptions;

struct ToolRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& arg) {
  return "'" + absl::StrReplaceAll(arg, {{"'", "'\\''"}}) + "'";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string TmpDir() { return std::getenv("TEST_TMPDIR"); }

// Runs a tool from the runfiles with stdout and stderr apart (neither is a
// terminal, as in CI logs), bounded in time.
ToolRun RunTool(const std::string& binary, const std::vector<std::string>& args) {
  static int runs = 0;
  const std::string base = absl::StrCat(TmpDir(), "/run", ++runs);
  std::vector<std::string> quoted = {Quote(testing::RunfilePath(binary))};
  for (const auto& arg : args) quoted.push_back(Quote(arg));
  const std::string command =
      absl::StrCat(absl::StrJoin(quoted, " "), " >", base, ".out 2>", base, ".err </dev/null");
  ToolRun run;
  auto process = testing::Subprocess::Start({"/bin/sh", "-c", command});
  if (!process.ok()) {
    run.err = process.status().ToString();
    return run;
  }
  auto status = (*process)->Wait(absl::Seconds(120));
  if (status.ok() && WIFEXITED(*status)) run.exit_code = WEXITSTATUS(*status);
  run.out = ReadAll(base + ".out");
  run.err = ReadAll(base + ".err");
  return run;
}

std::string WriteFile(const std::string& name, const std::string& content) {
  const std::string path = TmpDir() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return path;
}

class ToolsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SuiteOptions options;
    options.shards = 1;
    options.workers = 1;
    auto suite = Suite::Start(options);
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = suite->release();
    auto key = suite_->CreateApiKey("acme", {"read", "write", "admin"});
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = new std::string(*key);
  }
  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
  }

  static ToolRun Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--target=" + suite_->target(), "--api_key=" + *key_,
                               "--deadline=60s"});
    return RunTool("tools/quarryctl/quarryctl", args);
  }

  static void CreateCollection(const std::string& name) {
    ASSERT_TRUE(suite_->CreateCollection(*key_, name).ok()) << name;
  }

  static int Dimension(const std::string& collection) {
    v1::GetCollectionRequest request;
    request.set_name(collection);
    v1::GetCollectionResponse response;
    auto status = v1::CollectionService::NewStub(suite_->channel())
                      ->GetCollection(Suite::Context(*key_).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return static_cast<int>(response.collection().dimension());
  }

  static int64_t Documents(const std::string& collection) {
    v1::GetCollectionStatsRequest request;
    request.set_collection(collection);
    v1::GetCollectionStatsResponse response;
    auto status = v1::StatsService::NewStub(suite_->channel())
                      ->GetCollectionStats(Suite::Context(*key_).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.documents();
  }

  static std::vector<std::string> CollectionNames() {
    v1::ListCollectionsResponse response;
    auto status = v1::CollectionService::NewStub(suite_->channel())
                      ->ListCollections(Suite::Context(*key_).get(), {}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> names;
    for (const auto& c : response.collections()) names.push_back(c.name());
    return names;
  }

  static std::string Submit(const std::string& kind) {
    v1::SubmitJobRequest request;
    request.set_kind(kind);
    v1::SubmitJobResponse response;
    auto status = v1::JobService::NewStub(suite_->channel())
                      ->SubmitJob(Suite::Context(*key_).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.job().id();
  }

  // Claims `n` jobs of `kind` as a tenant's worker would.
  static std::vector<v1::ClaimedJob> Claim(const std::string& kind, int n) {
    std::vector<v1::ClaimedJob> claimed;
    auto workers = v1::WorkerService::NewStub(suite_->channel());
    for (int round = 0; round < 10 && static_cast<int>(claimed.size()) < n; ++round) {
      v1::ClaimJobsRequest request;
      request.set_worker_id("tools-e2e");
      request.add_kinds(kind);
      request.set_max_jobs(n - static_cast<int>(claimed.size()));
      request.mutable_wait()->set_seconds(2);
      v1::ClaimJobsResponse response;
      auto status = workers->ClaimJobs(Suite::Context(*key_).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      claimed.insert(claimed.end(), response.jobs().begin(), response.jobs().end());
    }
    return claimed;
  }

  static void FailPermanently(const v1::ClaimedJob& job) {
    v1::FailJobRequest request;
    request.mutable_lease()->set_job_id(job.job_id());
    request.mutable_lease()->set_attempt(job.attempt());
    request.mutable_lease()->set_worker_id("tools-e2e");
    request.set_error("the image is corrupt");
    request.set_kind(v1::FAILURE_KIND_PERMANENT);
    v1::FailJobResponse response;
    auto status = v1::WorkerService::NewStub(suite_->channel())
                      ->FailJob(Suite::Context(*key_).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  static std::vector<v1::Job> JobsOf(const std::string& kind, v1::JobState state) {
    v1::ListJobsRequest request;
    request.set_kind(kind);
    request.add_states(state);
    request.mutable_page()->set_page_size(1000);
    v1::ListJobsResponse response;
    auto status = v1::JobService::NewStub(suite_->channel())
                      ->ListJobs(Suite::Context(*key_).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.jobs().begin(), response.jobs().end()};
  }

  static std::vector<std::string> ScheduleNames() {
    v1::ListSchedulesResponse response;
    auto status = v1::ScheduleService::NewStub(suite_->channel())
                      ->ListSchedules(Suite::Context(*key_).get(), {}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> names;
    for (const auto& s : response.schedules()) names.push_back(s.name());
    return names;
  }

  static inline Suite* suite_ = nullptr;
  static inline std::string* key_ = nullptr;
};

// The line of `out` whose first word is `first`, split on blanks.
std::vector<std::string> RowOf(const std::string& out, const std::string& first) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (!words.empty() && words[0] == first) return words;
  }
  return {};
}

// WordNet-like lines: numeric synset offsets as ids, glosses as text.
std::string Glosses(int n, int first_id) {
  std::string content;
  for (int i = 0; i < n; ++i) {
    content += absl::StrCat(R"({"id": )", first_id + i, R"(, "text": "gloss number )", i,
                            R"( about a small domesticated animal"})", "\n");
  }
  return content;
}

TEST_F(ToolsE2eTest, IngestSummarisesAcceptsNumericIdsAndVectorsAndExitsByOutcome) {
  CreateCollection("wordnet");
  const int dimension = Dimension("wordnet");
  ASSERT_GT(dimension, 0);
  std::vector<std::string> values(dimension, "0.25");
  const std::string with_vector = absl::StrCat(
      R"({"id": "dog.n.01", "text": "a member of the genus Canis", "vector": [)",
      absl::StrJoin(values, ", "), "]}\n");
  const std::string path = WriteFile("glosses.jsonl", Glosses(25, 2084071) + with_vector);

  ToolRun run = Ctl({"ingest", path, "--collection=wordnet", "--batch=10", "--verbose"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, "26 ingested, 0 skipped, 0 failed in")) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "docs/s")) << run.out;
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(run.out, '\n', absl::SkipEmpty())).size(), 1u)
      << "one summary line: " << run.out;
  EXPECT_TRUE(absl::StrContains(run.err, "batch 3: 6 documents acknowledged")) << run.err;
  EXPECT_FALSE(absl::StrContains(run.err, "\r")) << "no carriage returns off a terminal";
  EXPECT_EQ(Documents("wordnet"), 26);
  v1::GetDocumentsRequest get;
  get.set_collection("wordnet");
  get.add_ids("2084071");
  get.add_ids("dog.n.01");
  v1::GetDocumentsResponse got;
  ASSERT_TRUE(v1::DocumentService::NewStub(suite_->channel())
                  ->GetDocuments(Suite::Context(*key_).get(), get, &got)
                  .ok());
  EXPECT_EQ(got.documents_size(), 2);

  // Without --verbose: no per-batch lines; run again: resumes at the end, nothing sent.
  run = Ctl({"ingest", path, "--collection=wordnet", "--batch=10"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_FALSE(absl::StrContains(run.err, "batch 1:")) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "resuming")) << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, "0 ingested, 0 skipped, 0 failed")) << run.out;

  // The vector is really sent: one of the wrong length is refused by the gateway.
  const std::string short_vector = WriteFile(
      "short.jsonl", R"({"id": 99, "text": "t", "vector": [1, 2, 3]})" "\n");
  run = Ctl({"ingest", short_vector, "--collection=wordnet"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "INVALID_ARGUMENT")) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "vector")) << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, "0 ingested, 0 skipped, 1 failed")) << run.out;
}

TEST_F(ToolsE2eTest, BadLinesStopTheRunUnlessSkipped) {
  CreateCollection("bad-lines");
  const std::string path =
      WriteFile("mixed.jsonl", Glosses(3, 100) + R"({"id": [1], "text": "x"})" "\n" +
                                   Glosses(2, 200) + R"({"id": 7, "text": null})" "\n" +
                                   Glosses(1, 300));
  ToolRun run = Ctl({"ingest", path, "--collection=bad-lines"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(
      run.err, path + ":4: field \"id\" must be a string or an integer, got array"))
      << run.err;
  // The documents before the bad line are ingested and checkpointed.
  EXPECT_TRUE(absl::StrContains(run.out, "3 ingested, 0 skipped, 1 failed")) << run.out;

  run = Ctl({"--output=json", "ingest", path, "--collection=bad-lines", "--skip_bad"});
  // Skipped lines were not ingested: still a failure for the exit status.
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, path + ":7: field \"text\" must be a string, got null"))
      << run.err;
  const nlohmann::json summary = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_TRUE(summary.is_object()) << run.out;
  EXPECT_EQ(summary["ingested"], 3) << run.out;  // after the checkpoint: 2 + 1
  EXPECT_EQ(summary["skipped"], 2) << run.out;
  EXPECT_EQ(summary["failed"], 0) << run.out;
  EXPECT_EQ(summary["complete"], true) << run.out;
  EXPECT_GT(summary["resumed_from_byte"].get<int64_t>(), 0) << run.out;
  EXPECT_TRUE(summary["docs_per_second"].is_number()) << run.out;
  EXPECT_TRUE(summary["seconds"].is_number()) << run.out;
  EXPECT_EQ(Documents("bad-lines"), 6);
}

TEST_F(ToolsE2eTest, SearchPrintsATableOrJson) {
  CreateCollection("search-table");
  const std::string path = WriteFile(
      "search.jsonl",
      "{\"id\": 1, \"text\": \"terminal file manager with vi key bindings\"}\n"
      "{\"id\": 2, \"text\": \"library for parsing command line options in C\"}\n");
  ASSERT_EQ(Ctl({"ingest", path, "--collection=search-table", "--wait"}).exit_code, 0);
  ASSERT_TRUE(suite_->WaitIndexed(*key_, "search-table").ok());
  ToolRun run = Ctl({"search", "--collection=search-table", "--top_k=2",
                 "file manager with vi key bindings"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::string> lines = absl::StrSplit(run.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << run.out;
  EXPECT_TRUE(absl::StartsWith(lines[0], "rank  score")) << run.out;
  EXPECT_TRUE(absl::StrContains(lines[0], "id")) << run.out;
  EXPECT_TRUE(absl::StrContains(lines[0], "text")) << run.out;
  EXPECT_TRUE(absl::StartsWith(lines[1], "   1  ")) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "terminal file manager with vi key bindings")) << run.out;

  run = Ctl({"--output=json", "search", "--collection=search-table", "--top_k=2", "vi keys"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json json = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_TRUE(json.is_object()) << run.out;
  EXPECT_EQ(json["hits"].size(), 2u) << run.out;
}

TEST_F(ToolsE2eTest, LoadgenUpsertsIntoItsOwnCollectionUnlessTold) {
  CreateCollection("under-test");
  const std::vector<std::string> common = {"--target=" + suite_->target(), "--api_key=" + *key_,
                                           "--collection=under-test", "--rpc=search:1,upsert:1",
                                           "--requests=20",          "--concurrency=2",
                                           "--duration=60s",         "--batch=2"};
  ToolRun run = RunTool("tools/loadgen/loadgen", common);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "upserting into its own collection under-test-loadgen-"))
      << run.err;
  EXPECT_EQ(Documents("under-test"), 0) << "loadgen wrote into the collection under test";
  for (const auto& name : CollectionNames()) {
    EXPECT_FALSE(absl::StartsWith(name, "under-test-loadgen-")) << name << " was not deleted";
  }

  std::vector<std::string> told = common;
  told[3] = "--rpc=upsert";
  told.push_back("--upsert_collection=under-test");
  run = RunTool("tools/loadgen/loadgen", told);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(Documents("under-test"), 40);
}

TEST_F(ToolsE2eTest, KindsAndSchedulesAreCreatedListedAndDeleted) {
  ToolRun run = Ctl({"kinds", "create", "thumbnails", "--max_attempts=3", "--max_concurrency=4",
                     "--starts_per_minute=30", "--attempt_timeout=90s"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const nlohmann::json created = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_TRUE(created.is_object()) << run.out;
  EXPECT_EQ(created["kind"]["name"], "thumbnails") << run.out;
  EXPECT_EQ(created["kind"]["attempt_timeout"], "90s") << run.out;
  v1::GetJobKindRequest get;
  get.set_name("thumbnails");
  v1::GetJobKindResponse got;
  ASSERT_TRUE(v1::JobKindService::NewStub(suite_->channel())
                  ->GetJobKind(Suite::Context(*key_).get(), get, &got)
                  .ok());
  EXPECT_EQ(got.kind().max_concurrency(), 4);
  EXPECT_EQ(got.kind().starts_per_minute(), 30);
  EXPECT_EQ(got.kind().max_attempts(), 3);
  EXPECT_EQ(got.kind().attempt_timeout().seconds(), 90);

  run = Ctl({"kinds", "create", "thumbnails"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(absl::StartsWith(run.err, "ALREADY_EXISTS: ")) << run.err;
  run = Ctl({"kinds", "create", "negative", "--attempt_timeout=-5s"});
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "--attempt_timeout")) << run.err;

  run = Ctl({"kinds", "list"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(absl::StartsWith(run.out, "NAME")) << run.out;
  EXPECT_EQ(RowOf(run.out, "thumbnails"),
            (std::vector<std::string>{"thumbnails", "tenant", "3", "0", "4", "30", "-",
                                      "1m30s", "-"}))
      << run.out;
  EXPECT_EQ(RowOf(run.out, "index_documents").at(1), "system") << run.out;

  ASSERT_EQ(Ctl({"kinds", "create", "reports"}).exit_code, 0);
  run = Ctl({"schedules", "create", "nightly", "--kind=reports", "--cron=0 3 * * *"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  run = Ctl({"schedules", "create", "often", "--kind=reports", "--every=6h", "--overlap=queue",
             "--catch_up", "--payload={\"format\": \"pdf\"}"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const nlohmann::json often = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_TRUE(often.is_object()) << run.out;
  EXPECT_EQ(often["schedule"]["interval"], "21600s") << run.out;
  EXPECT_EQ(often["schedule"]["overlap"], "OVERLAP_POLICY_QUEUE") << run.out;
  EXPECT_EQ(often["schedule"]["catch_up"], true) << run.out;

  // Usage errors before any call; the gateway's own refusal with its status.
  run = Ctl({"schedules", "create", "both", "--kind=reports", "--cron=0 3 * * *", "--every=5m"});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "exactly one of --cron and --every")) << run.err;
  run = Ctl({"schedules", "create", "fraction", "--kind=reports", "--every=1.5s"});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  run = Ctl({"schedules", "create", "orphan", "--kind=no-such-kind", "--every=1h"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_TRUE(absl::StartsWith(run.err, "NOT_FOUND: ")) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "no-such-kind")) << run.err;

  run = Ctl({"schedules", "list"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::string> nightly = RowOf(run.out, "nightly");
  ASSERT_GE(nightly.size(), 9u) << run.out;
  EXPECT_EQ(absl::StrJoin(nightly.begin() + 1, nightly.begin() + 9, " "),
            "reports cron 0 3 * * * skip")
      << run.out;
  std::vector<std::string> row = RowOf(run.out, "often");
  ASSERT_GE(row.size(), 5u) << run.out;
  EXPECT_EQ(absl::StrJoin(row.begin() + 1, row.begin() + 5, " "), "reports every 6h queue")
      << run.out;

  run = Ctl({"schedules", "delete", "nightly"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "schedule nightly deleted\n");
  EXPECT_EQ(ScheduleNames(), std::vector<std::string>{"often"});
  run = Ctl({"schedules", "get", "nightly"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(absl::StartsWith(run.err, "NOT_FOUND: ")) << run.err;
  run = Ctl({"--output=json", "schedules", "list"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json listed = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_TRUE(listed.is_object()) << run.out;
  EXPECT_EQ(listed["schedules"].size(), 1u) << run.out;

  ASSERT_EQ(Ctl({"kinds", "create", "short-lived"}).exit_code, 0);
  run = Ctl({"kinds", "delete", "short-lived"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "kind short-lived deleted\n");
}

TEST_F(ToolsE2eTest, JobsCountsPerKindAndRetriesOrCancelsInBulk) {
  ASSERT_EQ(Ctl({"kinds", "create", "resize", "--max_attempts=1"}).exit_code, 0);
  for (int i = 0; i < 3; ++i) Submit("resize");
  std::vector<v1::ClaimedJob> claimed = Claim("resize", 3);
  ASSERT_EQ(claimed.size(), 3u);
  for (const auto& job : claimed) FailPermanently(job);
  for (int i = 0; i < 2; ++i) Submit("resize");
  ASSERT_EQ(JobsOf("resize", v1::JOB_STATE_DEAD).size(), 3u);

  ToolRun run = Ctl({"jobs", "--kind=resize"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(absl::StartsWith(
      run.out, "KIND    WAITING  QUEUED  RUNNING  SUCCEEDED  DEAD  CANCELLED\n"))
      << run.out;
  EXPECT_EQ(RowOf(run.out, "resize"),
            (std::vector<std::string>{"resize", "0", "2", "0", "0", "3", "0"}))
      << run.out;
  EXPECT_TRUE(run.err.empty()) << run.err;

  // Bounded: a state with more jobs than --limit is marked and said so.
  run = Ctl({"jobs", "--kind=resize", "--limit=2"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(RowOf(run.out, "resize"),
            (std::vector<std::string>{"resize", "0", "2", "0", "0", "2+", "0"}))
      << run.out;
  EXPECT_TRUE(absl::StrContains(run.err, "--limit=2")) << run.err;

  // Every kind the tenant sees, idle ones too.
  run = Ctl({"--output=json", "jobs"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json counts = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_TRUE(counts.is_object()) << run.out;
  bool resize_seen = false, system_seen = false;
  for (const auto& kind : counts["kinds"]) {
    if (kind["kind"] == "resize") {
      resize_seen = true;
      EXPECT_EQ(kind["dead"], 3) << run.out;
      EXPECT_EQ(kind["queued"], 2) << run.out;
    }
    if (kind["kind"] == "index_documents") system_seen = true;
  }
  EXPECT_TRUE(resize_seen) << run.out;
  EXPECT_TRUE(system_seen) << run.out;
  EXPECT_EQ(counts["truncated"].size(), 0u) << run.out;

  // Retry: a key without the admin scope fails on the first job and stops.
  auto reader = suite_->CreateApiKey("acme", {"read", "write"});
  ASSERT_TRUE(reader.ok()) << reader.status();
  run = RunTool("tools/quarryctl/quarryctl",
                {"--target=" + suite_->target(), "--api_key=" + *reader, "jobs", "retry",
                 "--kind=resize"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "PERMISSION_DENIED: ")) << run.err;
  EXPECT_EQ(run.out,
            "retry: 0 done, 0 skipped, 1 failed of 3 dead jobs of kind resize (2 not "
            "attempted)\n");

  run = Ctl({"jobs", "retry", "--kind=resize", "--dry_run"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, "dry run: would retry 3 dead jobs of kind resize"))
      << run.out;
  for (const auto& job : claimed) {
    EXPECT_TRUE(absl::StrContains(run.out, "would retry " + job.job_id() + " (dead)")) << run.out;
  }
  EXPECT_EQ(JobsOf("resize", v1::JOB_STATE_DEAD).size(), 3u) << "a dry run changed jobs";

  run = Ctl({"jobs", "retry", "--kind=resize", "--state=dead"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.out, "retry: 3 done, 0 skipped, 0 failed of 3 dead jobs of kind resize\n");
  EXPECT_TRUE(JobsOf("resize", v1::JOB_STATE_DEAD).empty());
  EXPECT_EQ(JobsOf("resize", v1::JOB_STATE_QUEUED).size(), 5u);

  // Cancel: queued ones at once, a running one at its next step.
  std::vector<v1::ClaimedJob> running = Claim("resize", 1);
  ASSERT_EQ(running.size(), 1u);
  run = Ctl({"--output=json", "jobs", "cancel", "--kind=resize"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  const nlohmann::json cancel = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_TRUE(cancel.is_object()) << run.out;
  EXPECT_EQ(cancel["matched"], 5) << run.out;
  EXPECT_EQ(cancel["done"], 5) << run.out;
  EXPECT_EQ(cancel["skipped"], 0) << run.out;
  EXPECT_EQ(cancel["failed"], 0) << run.out;
  EXPECT_EQ(JobsOf("resize", v1::JOB_STATE_CANCELLED).size(), 4u);
  const std::vector<v1::Job> still_running = JobsOf("resize", v1::JOB_STATE_RUNNING);
  ASSERT_EQ(still_running.size(), 1u);
  EXPECT_EQ(still_running[0].id(), running[0].job_id());
  EXPECT_TRUE(still_running[0].cancel_requested());

  // Nothing left in those states: nothing done, exit 0; a state retry cannot take.
  run = Ctl({"jobs", "cancel", "--kind=resize", "--state=queued,waiting"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out,
            "cancel: 0 done, 0 skipped, 0 failed of 0 queued/waiting jobs of kind resize\n");
  run = Ctl({"jobs", "retry", "--kind=resize", "--state=queued"});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "--state takes dead")) << run.err;
}

}  // namespace
}  // namespace quarry
