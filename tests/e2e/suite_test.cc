// The whole suite on loopback against a real PostgreSQL: embedding, two
// vector-search shards, a worker and a gateway, driven through the public API.
// Authentication and tenant isolation: security_test.cc; malformed requests:
// bad_input_test.cc.
#include <signal.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "quarry/gateway/v1/admin_service.grpc.pb.h"
#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "quarry/gateway/v1/stats_service.grpc.pb.h"
#include "tests/e2e/e2e_suite.h"
#include "tests/testing/debian_corpus.h"

namespace quarry {
namespace {

using namespace quarry::gateway::v1;  // NOLINT: a test of this API.

class SuiteTest : public e2e::E2eSuite {};

TEST_F(SuiteTest, IngestedDocumentsFindThemselvesAndFiltersAndMinScoreApply) {
  ASSERT_NE(suite_, nullptr);
  testing::CorpusOptions corpus_options;
  corpus_options.limit = 1000;
  corpus_options.min_description_bytes = 40;
  corpus_options.unique_descriptions = true;
  std::vector<std::pair<std::string, std::string>> corpus;
  for (auto& p : testing::ReadDebianPackages(corpus_options)) {
    corpus.emplace_back(std::move(p.name), std::move(p.description));
  }
  ASSERT_GE(corpus.size(), 1000u) << "apt-cache dumpavail gave too few packages";
  CreateCollection(*admin_key_, "debian");
  auto documents = DocumentService::NewStub(Channel());
  for (size_t start = 0; start < corpus.size(); start += 250) {
    UpsertDocumentsRequest request;
    request.set_collection("debian");
    request.set_wait_for_indexed(start + 250 >= corpus.size());
    for (size_t i = start; i < std::min(corpus.size(), start + 250); ++i) {
      auto* doc = request.add_documents();
      doc->set_id(corpus[i].first);
      doc->set_text(corpus[i].second);
      doc->add_tags(i % 10 == 0 ? "tenth" : "rest");
      (*doc->mutable_metadata())["parity"] = i % 2 == 0 ? "even" : "odd";
    }
    UpsertDocumentsResponse response;
    grpc::Status status = documents->UpsertDocuments(Context(*admin_key_, absl::Seconds(120)).get(),
                                                     request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << suite_->worker(0).Log();
    EXPECT_EQ(response.inserted(), static_cast<uint32_t>(request.documents_size()));
  }
  // Wait for every batch (only the last one waited, and batches may index out of order).
  auto stats = StatsService::NewStub(Channel());
  for (int i = 0; i < 600; ++i) {
    GetCollectionStatsRequest request;
    request.set_collection("debian");
    GetCollectionStatsResponse response;
    ASSERT_TRUE(stats->GetCollectionStats(Context(*admin_key_).get(), request, &response).ok());
    if (response.pending() == 0 && response.min_watermark() >= response.latest_sequence()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }

  auto search = SearchService::NewStub(Channel());
  int found_first = 0;
  for (size_t i = 0; i < 50; ++i) {
    const auto& [id, text] = corpus[i * 19];
    SearchRequest request;
    request.set_collection("debian");
    request.set_text(text);
    request.set_top_k(5);
    request.set_include_text(true);
    SearchResponse response;
    grpc::Status status = search->Search(Context(*admin_key_).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(response.partial());
    ASSERT_GT(response.hits_size(), 0);
    if (response.hits(0).id() == id) ++found_first;
    EXPECT_EQ(response.hits(0).text(), text);
  }
  EXPECT_EQ(found_first, 50);

  // By vector (the stored one is found by its own text's embedding: search
  // with a vector from a text query's top hit), with a tag filter and min_score.
  SearchRequest filtered;
  filtered.set_collection("debian");
  filtered.set_text(corpus[3].second);
  filtered.mutable_filter()->add_all_tags("tenth");
  (*filtered.mutable_filter()->mutable_metadata_equals())["parity"] = "even";
  filtered.set_top_k(20);
  filtered.set_include_metadata(true);
  SearchResponse filtered_response;
  ASSERT_TRUE(search->Search(Context(*admin_key_).get(), filtered, &filtered_response).ok());
  ASSERT_GT(filtered_response.hits_size(), 0);
  for (const auto& hit : filtered_response.hits()) {
    ASSERT_EQ(hit.tags_size(), 1);
    EXPECT_EQ(hit.tags(0), "tenth");
    EXPECT_EQ(hit.metadata().at("parity"), "even");
  }
  SearchRequest strict = filtered;
  strict.clear_filter();
  strict.set_min_score(0.99f);
  SearchResponse strict_response;
  ASSERT_TRUE(search->Search(Context(*admin_key_).get(), strict, &strict_response).ok());
  ASSERT_GE(strict_response.hits_size(), 1);
  for (const auto& hit : strict_response.hits()) EXPECT_GE(hit.score(), 0.99f);
  EXPECT_EQ(strict_response.hits(0).id(), corpus[3].first);

  SearchRequest by_vector;
  by_vector.set_collection("debian");
  by_vector.mutable_vector()->add_values(1.0f);
  for (int i = 1; i < 384; ++i) by_vector.mutable_vector()->add_values(0.0f);
  SearchResponse by_vector_response;
  ASSERT_TRUE(search->Search(Context(*admin_key_).get(), by_vector, &by_vector_response).ok());
  EXPECT_EQ(by_vector_response.hits_size(), 10);
  EXPECT_EQ(by_vector_response.shards_size(), 2);

  // SearchBatch answers each query as Search does: texts seen before (cached)
  // and new ones (embedded in one call), a filter, min_score, a vector.
  SearchBatchRequest batch;
  for (size_t i = 0; i < 6; ++i) {
    SearchRequest* query = batch.add_queries();
    query->set_collection("debian");
    query->set_text(corpus[i % 2 == 0 ? i * 19 : 900 + i].second);
    query->set_top_k(5);
    query->set_include_text(i % 3 == 0);
  }
  *batch.add_queries() = filtered;
  *batch.add_queries() = strict;
  *batch.add_queries() = by_vector;
  SearchBatchResponse batched;
  grpc::Status status = search->SearchBatch(Context(*admin_key_).get(), batch, &batched);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(batched.results_size(), batch.queries_size());
  for (int q = 0; q < batch.queries_size(); ++q) {
    SearchResponse single;
    ASSERT_TRUE(search->Search(Context(*admin_key_).get(), batch.queries(q), &single).ok());
    const SearchResponse& got = batched.results(q);
    EXPECT_FALSE(got.partial());
    ASSERT_EQ(got.hits_size(), single.hits_size()) << q;
    ASSERT_GT(got.hits_size(), 0) << q;
    for (int h = 0; h < got.hits_size(); ++h) {
      EXPECT_EQ(got.hits(h).id(), single.hits(h).id()) << q << "/" << h;
      EXPECT_FLOAT_EQ(got.hits(h).score(), single.hits(h).score());
      EXPECT_EQ(got.hits(h).text(), single.hits(h).text());
      EXPECT_EQ(got.hits(h).tags_size(), single.hits(h).tags_size());
    }
    EXPECT_EQ(got.shards_size(), 2);
  }
  EXPECT_EQ(batched.results(0).hits(0).id(), corpus[0].first);
  EXPECT_EQ(batched.results(1).hits(0).id(), corpus[901].first);

  // One bad query fails the batch and is named.
  SearchBatchRequest bad = batch;
  bad.mutable_queries(4)->set_top_k(5000);
  status = search->SearchBatch(Context(*admin_key_).get(), bad, &batched);
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "queries[4].top_k:"))
      << status.error_message();
  bad = batch;
  bad.mutable_queries(2)->set_collection("no-such");
  status = search->SearchBatch(Context(*admin_key_).get(), bad, &batched);
  EXPECT_EQ(status.error_code(), grpc::NOT_FOUND);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "queries[2].collection"))
      << status.error_message();
}

TEST_F(SuiteTest, TenantsScopesRateLimitsAndRevokedKeys) {
  ASSERT_NE(suite_, nullptr);
  CreateCollection(*admin_key_, "private");
  const std::string other = MakeKey("globex", {"read", "write", "admin"});
  const std::string reader = MakeKey("acme", {"read"});
  const std::string slow = MakeKey("acme", {"read"}, 1.0, 1);
  auto collections = CollectionService::NewStub(Channel());
  GetCollectionRequest get;
  get.set_name("private");
  GetCollectionResponse got;
  EXPECT_TRUE(collections->GetCollection(Context(*admin_key_).get(), get, &got).ok());
  EXPECT_EQ(collections->GetCollection(Context(other).get(), get, &got).error_code(),
            grpc::NOT_FOUND);
  EXPECT_EQ(collections->GetCollection(Context("").get(), get, &got).error_code(),
            grpc::UNAUTHENTICATED);
  EXPECT_EQ(collections->GetCollection(Context("qk_bogus.secret").get(), get, &got).error_code(),
            grpc::UNAUTHENTICATED);

  UpsertDocumentsRequest upsert;
  upsert.set_collection("private");
  auto* doc = upsert.add_documents();
  doc->set_id("a");
  doc->set_text("secret plans");
  UpsertDocumentsResponse upserted;
  grpc::Status denied =
      DocumentService::NewStub(Channel())->UpsertDocuments(Context(reader).get(), upsert, &upserted);
  EXPECT_EQ(denied.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(denied.error_message(), "write"));
  EXPECT_EQ(DocumentService::NewStub(Channel())
                ->UpsertDocuments(Context(other).get(), upsert, &upserted)
                .error_code(),
            grpc::NOT_FOUND);

  EXPECT_TRUE(collections->GetCollection(Context(slow).get(), get, &got).ok());
  grpc::Status limited = collections->GetCollection(Context(slow).get(), get, &got);
  EXPECT_EQ(limited.error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(limited.error_message(), "retry in")) << limited.error_message();

  // Revoke through the API: the key stops working within the cache TTL.
  auto admin = AdminService::NewStub(Channel());
  CreateApiKeyRequest create;
  create.mutable_key()->add_scopes(SCOPE_READ);
  CreateApiKeyResponse created;
  ASSERT_TRUE(admin->CreateApiKey(Context(*admin_key_).get(), create, &created).ok());
  EXPECT_TRUE(collections->GetCollection(Context(created.secret()).get(), get, &got).ok());
  RevokeApiKeyRequest revoke;
  revoke.set_id(created.key().id());
  RevokeApiKeyResponse revoked;
  EXPECT_EQ(admin->RevokeApiKey(Context(other).get(), revoke, &revoked).error_code(),
            grpc::NOT_FOUND);
  ASSERT_TRUE(admin->RevokeApiKey(Context(*admin_key_).get(), revoke, &revoked).ok());
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_EQ(collections->GetCollection(Context(created.secret()).get(), get, &got).error_code(),
            grpc::UNAUTHENTICATED);
}

TEST_F(SuiteTest, JobsAreTenantScopedAndWatchStreamsToTheEnd) {
  ASSERT_NE(suite_, nullptr);
  auto jobs = JobService::NewStub(Channel());
  SubmitJobRequest submit;
  submit.set_kind("refresh_stats");
  submit.set_idempotency_key("stats-once");
  SubmitJobResponse first, second;
  ASSERT_TRUE(jobs->SubmitJob(Context(*admin_key_).get(), submit, &first).ok());
  ASSERT_TRUE(jobs->SubmitJob(Context(*admin_key_).get(), submit, &second).ok());
  EXPECT_TRUE(first.created());
  EXPECT_FALSE(second.created());
  EXPECT_EQ(first.job().id(), second.job().id());

  WatchJobRequest watch;
  watch.set_id(first.job().id());
  auto context = Context(*admin_key_);
  auto stream = jobs->WatchJob(context.get(), watch);
  WatchJobResponse update;
  std::vector<JobState> states;
  while (stream->Read(&update)) states.push_back(update.job().state());
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_FALSE(states.empty());
  EXPECT_EQ(states.back(), JOB_STATE_SUCCEEDED);

  const std::string other = MakeKey("initech", {"read", "write", "admin"});
  GetJobRequest get;
  get.set_id(first.job().id());
  GetJobResponse got;
  EXPECT_EQ(jobs->GetJob(Context(other).get(), get, &got).error_code(), grpc::NOT_FOUND);
  CancelJobRequest cancel;
  cancel.set_id(first.job().id());
  CancelJobResponse cancelled;
  EXPECT_EQ(jobs->CancelJob(Context(*admin_key_).get(), cancel, &cancelled).error_code(),
            grpc::FAILED_PRECONDITION);
  SubmitJobRequest bad;
  bad.set_kind("index_documents");
  bad.set_payload_json(R"({"collection": "no-such-collection"})");
  EXPECT_EQ(jobs->SubmitJob(Context(*admin_key_).get(), bad, &first).error_code(),
            grpc::NOT_FOUND);
}

TEST_F(SuiteTest, ReupsertingUnchangedTextDoesNotReembed) {
  ASSERT_NE(suite_, nullptr);
  CreateCollection(*admin_key_, "again");
  UpsertDocumentsRequest request;
  request.set_collection("again");
  request.set_wait_for_indexed(true);
  auto* doc = request.add_documents();
  doc->set_id("same");
  doc->set_text("the same text twice");
  auto documents = DocumentService::NewStub(Channel());
  UpsertDocumentsResponse first, second;
  ASSERT_TRUE(documents->UpsertDocuments(Context(*admin_key_, absl::Seconds(60)).get(), request, &first).ok());
  EXPECT_EQ(first.inserted(), 1u);
  EXPECT_TRUE(absl::StrContains(first.job().result_json(), "\"embedded\": 1"))
      << first.job().result_json();
  ASSERT_TRUE(documents->UpsertDocuments(Context(*admin_key_, absl::Seconds(60)).get(), request, &second).ok());
  EXPECT_EQ(second.unchanged(), 1u);
  EXPECT_EQ(second.inserted() + second.updated(), 0u);
  EXPECT_TRUE(absl::StrContains(second.job().result_json(), "\"embedded\": 0"))
      << second.job().result_json();
}

// The global in-flight limit sheds load instead of queueing without bound.
TEST_F(SuiteTest, CallsBeyondTheInFlightLimitAreShed) {
  ASSERT_NE(suite_, nullptr);
  auto limited = suite_->StartGateway("gateway-limited", {"--max_in_flight=1"});
  ASSERT_TRUE(limited.ok()) << limited.status();
  auto jobs = JobService::NewStub((*limited)->channel());
  // A job scheduled an hour ahead: watching it holds the one slot.
  SubmitJobRequest submit;
  submit.set_kind("refresh_stats");
  submit.mutable_run_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
  SubmitJobResponse submitted;
  ASSERT_TRUE(jobs->SubmitJob(Context(*admin_key_).get(), submit, &submitted).ok());
  WatchJobRequest watch;
  watch.set_id(submitted.job().id());
  auto watch_context = Context(*admin_key_, absl::Seconds(30));
  auto stream = jobs->WatchJob(watch_context.get(), watch);
  WatchJobResponse first;
  ASSERT_TRUE(stream->Read(&first));  // The watch is in flight now.
  GetJobRequest get;
  get.set_id(submitted.job().id());
  GetJobResponse got;
  grpc::Status shed = jobs->GetJob(Context(*admin_key_).get(), get, &got);
  EXPECT_EQ(shed.error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(shed.error_message(), "in flight")) << shed.error_message();
  watch_context->TryCancel();
  stream->Finish();
  // The slot comes back once the watch ends.
  grpc::Status after;
  for (int i = 0; i < 50; ++i) {
    after = jobs->GetJob(Context(*admin_key_).get(), get, &got);
    if (after.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(after.ok()) << after.error_message();
}

// Last: it stops and restarts a shard.
TEST_F(SuiteTest, ZzAShardDownGivesFlaggedPartialResultsThenFullOnesAgain) {
  ASSERT_NE(suite_, nullptr);
  CreateCollection(*admin_key_, "shards");
  UpsertDocumentsRequest upsert;
  upsert.set_collection("shards");
  upsert.set_wait_for_indexed(true);
  for (int i = 0; i < 40; ++i) {
    auto* doc = upsert.add_documents();
    doc->set_id(absl::StrCat("d", i));
    doc->set_text(absl::StrCat("document number ", i, " about shards"));
  }
  UpsertDocumentsResponse upserted;
  ASSERT_TRUE(DocumentService::NewStub(Channel())
                  ->UpsertDocuments(Context(*admin_key_, absl::Seconds(60)).get(), upsert, &upserted)
                  .ok());
  SearchRequest request;
  request.set_collection("shards");
  request.set_text("document about shards");
  request.set_top_k(40);
  auto search = SearchService::NewStub(Channel());
  SearchResponse full;
  ASSERT_TRUE(search->Search(Context(*admin_key_).get(), request, &full).ok());
  EXPECT_EQ(full.hits_size(), 40);
  EXPECT_FALSE(full.partial());

  testing::Subprocess& shard1 = suite_->replica(1, 0).service()->process();
  shard1.Signal(SIGKILL);
  ASSERT_TRUE(shard1.Wait(absl::Seconds(10)).ok());
  SearchResponse partial;
  ASSERT_TRUE(search->Search(Context(*admin_key_, absl::Seconds(5)).get(), request, &partial).ok());
  EXPECT_TRUE(partial.partial());
  EXPECT_LT(partial.hits_size(), 40);
  EXPECT_GT(partial.hits_size(), 0);
  EXPECT_NE(partial.shards(1).outcome(), SHARD_OUTCOME_ANSWERED);
  SearchBatchRequest batch;
  *batch.add_queries() = request;
  *batch.add_queries() = request;
  batch.mutable_queries(1)->set_require_all_shards(true);
  SearchBatchResponse batched;
  grpc::Status status =
      search->SearchBatch(Context(*admin_key_, absl::Seconds(5)).get(), batch, &batched);
  EXPECT_EQ(status.error_code(), grpc::UNAVAILABLE);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "queries[1]: shard 1 did not answer"))
      << status.error_message();
  batch.mutable_queries(1)->set_require_all_shards(false);
  status = search->SearchBatch(Context(*admin_key_, absl::Seconds(5)).get(), batch, &batched);
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (const SearchResponse& result : batched.results()) {
    EXPECT_TRUE(result.partial());
    EXPECT_EQ(result.hits_size(), partial.hits_size());
    EXPECT_NE(result.shards(1).outcome(), SHARD_OUTCOME_ANSWERED);
  }
  request.set_require_all_shards(true);
  SearchResponse all;
  EXPECT_EQ(search->Search(Context(*admin_key_, absl::Seconds(5)).get(), request, &all).error_code(),
            grpc::UNAVAILABLE);

  // The replica comes back on its port; a restarted gateway connects to it at
  // once (the old one's channel to it may still be backing off).
  ASSERT_TRUE(suite_->replica(1, 0).Restart().ok());
  ASSERT_TRUE(suite_->gateway(0).Restart().ok());
  SearchResponse again;
  ASSERT_TRUE(SearchService::NewStub(Channel())->Search(Context(*admin_key_).get(), request, &again).ok());
  EXPECT_FALSE(again.partial());
  EXPECT_EQ(again.hits_size(), 40);
}

}  // namespace
}  // namespace quarry
