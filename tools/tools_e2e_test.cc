// quarryctl and loadgen against the real suite (PostgreSQL, embedding, a
// shard, a worker, a gateway): what a user sees when ingesting a real-looking
// corpus (WordNet-style numeric ids, precomputed vectors, bad lines), the
// summary line and JSON, exit codes, the search table, and that loadgen
// writes into its own collection unless told otherwise.
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
#include "quarry/gateway/v1/stats_service.grpc.pb.h"
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

  static inline Suite* suite_ = nullptr;
  static inline std::string* key_ = nullptr;
};

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

}  // namespace
}  // namespace quarry
