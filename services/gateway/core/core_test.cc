// The gateway's domain logic against in-memory stores and shards
// (testing/fakes.h): what a handler does between admission and the reply.
#include <functional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/gateway/core/catalog.h"
#include "services/gateway/core/ingest.h"
#include "services/gateway/core/job_kinds.h"
#include "services/gateway/core/jobs.h"
#include "services/gateway/core/schedules.h"
#include "services/gateway/core/search.h"
#include "services/gateway/limits.h"
#include "services/gateway/testing/fakes.h"

namespace quarry::gateway {
namespace {

namespace v1 = quarry::gateway::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kTenant = 7;

class CoreTest : public ::testing::Test {
 protected:
  explicit CoreTest(std::vector<testing::FakeShards::Script> shards = {{}})
      : shards_(std::move(shards)) {}

  store::CollectionRecord MakeCollection(const std::string& name) {
    store::CollectionRecord wanted;
    wanted.name = name;
    wanted.metric = "cosine";
    auto created = catalog_.Create(kTenant, wanted);
    EXPECT_TRUE(created.ok()) << created.status();
    return *created;
  }

  absl::Time Soon() { return absl::Now() + absl::Seconds(10); }

  testing::FakeCollectionStore collections_;
  testing::FakeJobKindStore kinds_;
  testing::FakeJobStore jobs_{collections_, kinds_};
  testing::FakeDocumentStore documents_{collections_, jobs_};
  testing::FakeJobWatcher watcher_;
  testing::FakeEmbedder embedder_{"hashing-4", 4};
  testing::FakeShards shards_;
  CollectionCache collection_cache_{absl::Seconds(1)};
  LruCache<std::vector<float>, FloatVectorSizer> query_cache_{1 << 20};
  Catalog catalog_{collections_, embedder_, shards_, collection_cache_, absl::Hours(1)};
  Ingest ingest_{collections_, documents_, jobs_, watcher_, shards_};
  Jobs job_service_{jobs_, watcher_};
  Searcher searcher_{collections_, documents_, embedder_, shards_, collection_cache_,
                     query_cache_};
};

// ------------------------------------------------------------------- search

class SearchWithFailedShardTest : public CoreTest {
 protected:
  SearchWithFailedShardTest()
      : CoreTest({{absl::OkStatus(), {{"a", 0.9f}, {"c", 0.5f}}},
                  {absl::UnavailableError("connection refused"), {}},
                  {absl::OkStatus(), {{"b", 0.7f}, {"d", 0.1f}}}}) {}
};

TEST_F(SearchWithFailedShardTest, MergesTheShardsThatAnsweredAndReportsTheFailedOne) {
  MakeCollection("docs");
  v1::SearchRequest request;
  request.set_collection("docs");
  request.set_text("hello");
  request.set_top_k(3);
  v1::SearchResponse response;
  ASSERT_TRUE(searcher_.Search(kTenant, request, Soon(), &response).ok());

  std::vector<std::string> ids;
  for (const auto& hit : response.hits()) ids.push_back(hit.id());
  EXPECT_THAT(ids, ElementsAre("a", "b", "c"));  // global top 3 by score
  EXPECT_EQ(response.hits(1).shard(), 2u);
  EXPECT_TRUE(response.partial());
  ASSERT_EQ(response.shards_size(), 3);
  EXPECT_EQ(response.shards(0).outcome(), v1::SHARD_OUTCOME_ANSWERED);
  EXPECT_EQ(response.shards(1).outcome(), v1::SHARD_OUTCOME_FAILED);
  EXPECT_EQ(response.shards(2).outcome(), v1::SHARD_OUTCOME_ANSWERED);

  // Every shard got the embedded query, k = top_k; the text was embedded once
  // and the second search takes its vector from the query cache.
  ASSERT_EQ(shards_.requests().size(), 1u);
  EXPECT_EQ(shards_.requests()[0].k(), 3u);
  EXPECT_EQ(shards_.requests()[0].vector().values_size(), 4);
  v1::SearchResponse again;
  ASSERT_TRUE(searcher_.Search(kTenant, request, Soon(), &again).ok());
  EXPECT_EQ(embedder_.calls(), 1);
}

TEST_F(SearchWithFailedShardTest, RequireAllShardsFailsNamingTheShard) {
  MakeCollection("docs");
  v1::SearchRequest request;
  request.set_collection("docs");
  request.set_text("hello");
  request.set_require_all_shards(true);
  v1::SearchResponse response;
  absl::Status status = searcher_.Search(kTenant, request, Soon(), &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("shard 1 did not answer (require_all_shards)"));
}

TEST_F(SearchWithFailedShardTest, AnotherTenantsCollectionIsNotFound) {
  MakeCollection("docs");
  v1::SearchRequest request;
  request.set_collection("docs");
  request.set_text("hello");
  v1::SearchResponse response;
  absl::Status status = searcher_.Search(kTenant + 1, request, Soon(), &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "collection \"docs\" not found");
}

// ------------------------------------------------------------------- ingest

v1::UpsertDocumentsRequest Upsert(const std::vector<std::pair<std::string, std::string>>& docs) {
  v1::UpsertDocumentsRequest request;
  request.set_collection("docs");
  for (const auto& [id, text] : docs) {
    auto* doc = request.add_documents();
    doc->set_id(id);
    doc->set_text(text);
  }
  return request;
}

TEST_F(CoreTest, UpsertOfUnchangedDocumentsLeavesThemAlone) {
  const store::CollectionRecord collection = MakeCollection("docs");
  auto first = ingest_.Upsert(kTenant, Upsert({{"a", "alpha"}, {"b", "beta"}}), Soon());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->result.inserted, 2);
  EXPECT_GT(first->sequence, 0);

  auto same = ingest_.Upsert(kTenant, Upsert({{"a", "alpha"}, {"b", "beta"}}), Soon());
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->result.inserted, 0);
  EXPECT_EQ(same->result.updated, 0);
  EXPECT_EQ(same->result.unchanged, 2);
  EXPECT_EQ(same->sequence, 0);  // nothing written, no new seq

  auto changed = ingest_.Upsert(kTenant, Upsert({{"a", "alpha"}, {"b", "beta 2"}}), Soon());
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->result.updated, 1);
  EXPECT_EQ(changed->result.unchanged, 1);
  EXPECT_GT(changed->sequence, first->sequence);

  // Each write enqueued its indexing job naming the collection by id and
  // the ids written.
  std::vector<jobqueue::Job> jobs = jobs_.All();
  ASSERT_EQ(jobs.size(), 3u);
  for (const auto& job : jobs) {
    EXPECT_EQ(job.kind, "index_documents");
    EXPECT_EQ(nlohmann::json::parse(job.payload_json),
              (nlohmann::json{{"collection_id", collection.id}, {"ids", {"a", "b"}}}));
  }
}

TEST_F(CoreTest, UpsertWithVectorsOfTheWrongDimensionWritesNothing) {
  MakeCollection("docs");
  v1::UpsertDocumentsRequest request = Upsert({{"a", "alpha"}});
  request.mutable_documents(0)->mutable_vector()->add_values(1.0f);  // dimension is 4
  auto written = ingest_.Upsert(kTenant, request, Soon());
  EXPECT_EQ(written.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(jobs_.All().empty());
}

TEST_F(CoreTest, WaitForIndexedReportsADeadJob) {
  MakeCollection("docs");
  auto written = ingest_.Upsert(kTenant, Upsert({{"a", "alpha"}}), Soon());
  ASSERT_TRUE(written.ok());
  jobs_.SetState(written->job.id, jobqueue::JobState::kDead);
  absl::Status waited = ingest_.WaitForJob(kTenant, written->job.id, Soon());
  EXPECT_EQ(waited.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(waited.message(), HasSubstr("the write is durable but its indexing job"));
}

// --------------------------------------------------------------------- jobs

TEST_F(CoreTest, SubmitWithAnIdempotencyKeyReturnsTheFirstJob) {
  const store::CollectionRecord collection = MakeCollection("docs");
  Jobs::Submission submission;
  submission.kind = "reindex_collection";
  submission.payload_json = R"({"collection": "docs"})";
  submission.idempotency_key = "nightly-2026-12-06";
  auto first = job_service_.Submit(kTenant, submission);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);
  // The client's name became the tenant's collection id.
  EXPECT_EQ(nlohmann::json::parse(first->job.payload_json),
            (nlohmann::json{{"collection_id", collection.id}}));
  EXPECT_EQ(first->job.max_attempts, kDefaultMaxAttempts);

  auto again = job_service_.Submit(kTenant, submission);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->job.id, first->job.id);
  EXPECT_EQ(jobs_.All().size(), 1u);

  // The same key of another tenant is another job (and its collection).
  Jobs::Submission other = submission;
  other.kind = "refresh_stats";
  other.payload_json = "";
  auto theirs = job_service_.Submit(kTenant + 1, other);
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  EXPECT_TRUE(theirs->created);
}

TEST_F(CoreTest, SubmitNamingAMissingCollectionIsNotFound) {
  Jobs::Submission submission;
  submission.kind = "index_documents";
  submission.payload_json = R"({"collection": "nope"})";
  auto submitted = job_service_.Submit(kTenant, submission);
  EXPECT_EQ(submitted.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(submitted.status().message(), "collection \"nope\" not found");
  EXPECT_TRUE(jobs_.All().empty());
}

TEST_F(CoreTest, SubmitTakesTheKindsDefaultsAndRefusesUnknownKindsAndOverBudgetCosts) {
  JobKinds kinds(kinds_);
  jobqueue::JobKind kind;
  kind.name = "llm.summarise";
  kind.max_attempts = 3;
  kind.priority = 7;
  kind.cost_per_minute = 1000;
  ASSERT_TRUE(kinds.Create(kTenant, kind).ok());

  Jobs::Submission submission;
  submission.kind = "llm.summarise";
  submission.cost = 400;
  auto submitted = job_service_.Submit(kTenant, submission);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  EXPECT_EQ(submitted->job.max_attempts, 3);
  EXPECT_EQ(submitted->job.priority, 7);
  EXPECT_EQ(submitted->job.cost, 400);
  // The job's own settings win over the kind's.
  submission.max_attempts = 1;
  submission.priority = -2;
  submitted = job_service_.Submit(kTenant, submission);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  EXPECT_EQ(submitted->job.max_attempts, 1);
  EXPECT_EQ(submitted->job.priority, -2);

  submission.cost = 1001;
  auto costly = job_service_.Submit(kTenant, submission);
  EXPECT_EQ(costly.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(costly.status().message(),
            "cost: 1001 is beyond kind \"llm.summarise\"'s budget of 1000 per minute");

  // Another tenant does not see the kind; nobody sees an unregistered one.
  submission.cost = 0;
  auto theirs = job_service_.Submit(kTenant + 1, submission);
  EXPECT_EQ(theirs.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(theirs.status().message(), "job kind \"llm.summarise\" not found");
  submission.kind = "never.registered";
  EXPECT_EQ(job_service_.Submit(kTenant, submission).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(jobs_.All().size(), 2u);
}

TEST_F(CoreTest, KindRegistrationChecksItsFieldsAndPagesOwnAndSystemKinds) {
  JobKinds kinds(kinds_);
  jobqueue::JobKind bad;
  bad.name = "Bad Name";
  auto refused = kinds.Create(kTenant, bad);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message().substr(0, 11), "kind.name: ");
  jobqueue::JobKind mine;
  mine.name = "a.first";
  ASSERT_TRUE(kinds.Create(kTenant, mine).ok());
  // Pages of two: a.first, index_documents | purge_deleted, refresh_stats |
  // reindex_collection.
  std::vector<std::string> names;
  std::string after;
  for (int page = 0; page < 5; ++page) {
    auto listed = kinds.List(kTenant, after, 2);
    ASSERT_TRUE(listed.ok()) << listed.status();
    for (const auto& kind : listed->kinds) names.push_back(kind.name);
    if (!listed->next_after.has_value()) break;
    after = *listed->next_after;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a.first", "index_documents", "purge_deleted",
                                             "refresh_stats", "reindex_collection"}));
}

TEST_F(CoreTest, ScheduleTakesTheKindsDefaultsAndRefusesBadFieldsAndSystemKinds) {
  testing::FakeScheduleStore store;
  Schedules schedules(store, kinds_);
  jobqueue::JobKind kind;
  kind.name = "digest";
  kind.priority = 9;
  kind.max_attempts = 2;
  ASSERT_TRUE(kinds_.Create(kTenant, kind).ok());

  jobqueue::ScheduleSpec spec;
  spec.name = "nightly";
  spec.kind = "digest";
  spec.cron = "30 2 * * *";
  spec.max_attempts = 0;  // the kind's
  auto created = schedules.Create(kTenant, spec);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->spec.tenant_id, kTenant);
  EXPECT_EQ(created->spec.priority, 9);
  EXPECT_EQ(created->spec.max_attempts, 2);
  EXPECT_EQ(created->spec.payload_json, "{}");
  ASSERT_TRUE(created->next_run_at.has_value());
  EXPECT_GT(*created->next_run_at, absl::Now());
  EXPECT_EQ(schedules.Create(kTenant, spec).status().code(), absl::StatusCode::kAlreadyExists);
  // Another tenant neither sees it nor can delete it.
  EXPECT_EQ(schedules.Get(kTenant + 1, "nightly").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(schedules.Delete(kTenant + 1, "nightly").code(), absl::StatusCode::kNotFound);

  struct Case {
    std::function<void(jobqueue::ScheduleSpec&)> change;
    absl::StatusCode code;
    std::string message_start;
  };
  const std::vector<Case> cases = {
      {[](auto& s) { s.name = "Nightly"; }, absl::StatusCode::kInvalidArgument, "schedule.name: "},
      {[](auto& s) { s.kind = "missing"; }, absl::StatusCode::kNotFound, "job kind \"missing\""},
      {[](auto& s) { s.kind = "refresh_stats"; }, absl::StatusCode::kInvalidArgument,
       "schedule.kind: \"refresh_stats\" is one of Quarry's own kinds"},
      {[](auto& s) { s.cron = "61 * * * *"; }, absl::StatusCode::kInvalidArgument,
       "schedule.cron: minute field \"61\""},
      {[](auto& s) { s.interval = absl::Minutes(1); }, absl::StatusCode::kInvalidArgument,
       "schedule.cron: exactly one of cron and interval"},
      {[](auto& s) { s.cron.clear(); }, absl::StatusCode::kInvalidArgument,
       "schedule.cron: exactly one of cron and interval"},
      {[](auto& s) { s.cron.clear(); s.interval = absl::Milliseconds(1500); },
       absl::StatusCode::kInvalidArgument, "schedule.interval: must be a whole number of seconds"},
      {[](auto& s) { s.payload_json = "[1]"; }, absl::StatusCode::kInvalidArgument,
       "schedule.payload_json: "},
      {[](auto& s) { s.max_attempts = 101; }, absl::StatusCode::kInvalidArgument,
       "schedule.max_attempts: must be in [1, 100]"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    jobqueue::ScheduleSpec bad = spec;
    bad.name = "bad" + std::to_string(i);
    cases[i].change(bad);
    auto refused = schedules.Create(kTenant, bad);
    EXPECT_EQ(refused.status().code(), cases[i].code) << i << ": " << refused.status();
    EXPECT_THAT(std::string(refused.status().message()), ::testing::StartsWith(cases[i].message_start))
        << i;
  }

  jobqueue::ScheduleSpec every = spec;
  every.name = "often";
  every.cron.clear();
  every.interval = absl::Seconds(90);
  ASSERT_TRUE(schedules.Create(kTenant, every).ok());
  auto first = schedules.List(kTenant, "", 1);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->schedules.size(), 1u);
  EXPECT_EQ(first->schedules[0].spec.name, "nightly");
  ASSERT_TRUE(first->next_after.has_value());
  auto second = schedules.List(kTenant, *first->next_after, 1);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->schedules.size(), 1u);
  EXPECT_EQ(second->schedules[0].spec.name, "often");
  EXPECT_FALSE(second->next_after.has_value());
  EXPECT_TRUE(schedules.Delete(kTenant, "often").ok());
  EXPECT_EQ(schedules.Get(kTenant, "often").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CoreTest, ABatchRunsInDependencyOrderAndRefusesCyclesAndUnknownRefs) {
  auto job = [](std::string ref, std::vector<std::string> after) {
    Jobs::BatchJob b;
    b.ref = std::move(ref);
    b.submission.kind = "refresh_stats";
    b.after = std::move(after);
    return b;
  };
  // Listed report-first: the core stores fetch, then parse, then report.
  auto graph = job_service_.SubmitBatch(
      kTenant, {job("report", {"parse", "fetch"}), job("parse", {"fetch"}), job("fetch", {})});
  ASSERT_TRUE(graph.ok()) << graph.status();
  ASSERT_EQ(graph->size(), 3u);
  const auto& report = (*graph)[0].job;
  const auto& parse = (*graph)[1].job;
  const auto& fetch = (*graph)[2].job;
  EXPECT_LT(fetch.id, parse.id);
  EXPECT_LT(parse.id, report.id);
  EXPECT_THAT(parse.depends_on, ElementsAre(fetch.id));
  EXPECT_THAT(report.depends_on, ::testing::UnorderedElementsAre(parse.id, fetch.id));
  EXPECT_EQ(fetch.state, jobqueue::JobState::kQueued);
  EXPECT_EQ(report.state, jobqueue::JobState::kWaiting);

  const size_t stored = jobs_.All().size();
  auto cycle = job_service_.SubmitBatch(
      kTenant, {job("a", {"c"}), job("b", {"a"}), job("c", {"b"}), job("free", {})});
  EXPECT_EQ(cycle.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cycle.status().message(), "jobs[0].after: a cycle among refs \"a\", \"b\", \"c\"");
  auto self = job_service_.SubmitBatch(kTenant, {job("a", {"a"})});
  EXPECT_EQ(self.status().message(), "jobs[0].after: a cycle among refs \"a\"");
  auto unknown = job_service_.SubmitBatch(kTenant, {job("a", {}), job("b", {"z"})});
  EXPECT_EQ(unknown.status().message(), "jobs[1].after: no job of the batch has ref \"z\"");
  auto twice = job_service_.SubmitBatch(kTenant, {job("a", {}), job("a", {})});
  EXPECT_EQ(twice.status().message(), "jobs[1].ref: \"a\" names another job of the batch too");
  // A refusal of one job's fields names it and stores none of the batch.
  Jobs::BatchJob bad = job("", {});
  bad.submission.kind = "index_documents";
  auto refused = job_service_.SubmitBatch(kTenant, {job("ok", {}), bad});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::StartsWith("jobs[1].job.payload_json.collection: "));
  EXPECT_EQ(jobs_.All().size(), stored);
}

}  // namespace
}  // namespace quarry::gateway
