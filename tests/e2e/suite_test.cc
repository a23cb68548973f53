// The whole suite on loopback against a real PostgreSQL: embedding, two
// vector-search shards, a worker and a gateway, driven through the public API.
#include <signal.h>

#include <cstdio>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "quarry/gateway/v1/admin_service.grpc.pb.h"
#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "quarry/gateway/v1/stats_service.grpc.pb.h"
#include "services/common/pg/pool.h"
#include "services/common/pg/testing/postgres_env.h"
#include "services/gateway/api_key.h"
#include "services/gateway/store.h"
#include "tests/testing/service_process.h"

namespace quarry {
namespace {

using namespace quarry::gateway::v1;  // NOLINT: a test of this API.
using testing::ServiceProcess;

// Real text: package descriptions from this machine's Debian archive index.
std::vector<std::pair<std::string, std::string>> DebianDescriptions(size_t limit) {
  std::vector<std::pair<std::string, std::string>> docs;
  FILE* pipe = popen("apt-cache dumpavail 2>/dev/null", "r");
  if (pipe == nullptr) return docs;
  std::set<std::string> seen_ids, seen_texts;
  std::string package, description, line;
  char buffer[65536];
  auto flush = [&] {
    if (!package.empty() && description.size() > 40 && seen_ids.insert(package).second &&
        seen_texts.insert(description).second) {
      docs.emplace_back(package, description);
    }
    package.clear();
    description.clear();
  };
  while (docs.size() < limit && fgets(buffer, sizeof(buffer), pipe) != nullptr) {
    line = std::string(absl::StripTrailingAsciiWhitespace(buffer));
    if (line.empty()) {
      flush();
    } else if (absl::StartsWith(line, "Package: ")) {
      package = line.substr(9);
    } else if (absl::StartsWith(line, "Description: ")) {
      description = line.substr(13);
    } else if (absl::StartsWith(line, " ") && !description.empty() && description.size() < 2000) {
      absl::StrAppend(&description, " ", absl::StripLeadingAsciiWhitespace(line));
    }
  }
  pclose(pipe);
  return docs;
}

class SuiteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto conninfo = pg::TestPostgres().CreateDatabase();
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    conninfo_ = new std::string(*conninfo);
    const std::string db = "--database_url=" + *conninfo_;
    embedding_ = Start("embedding", "services/embedding/embedding", {db});
    shard0_ = Start("shard0", "services/vector_search/vector_search",
                    {db, "--shard_index=0", "--shard_count=2"});
    shard1_ = Start("shard1", "services/vector_search/vector_search",
                    {db, "--shard_index=1", "--shard_count=2"});
    worker_ = Start("worker", "services/worker/worker",
                    {db, "--embedding_target=" + embedding_->address(), "--threads=2"});
    gateway_ = Start("gateway", "services/gateway/gateway",
                     {db, "--embedding_target=" + embedding_->address(),
                      "--shard_targets=" + shard0_->address() + ";" + shard1_->address(),
                      "--key_cache_ttl=200ms"});
    admin_key_ = new std::string(MakeKey("acme", {"read", "write", "admin"}));
  }

  static void TearDownTestSuite() {
    for (ServiceProcess** p : {&gateway_, &worker_, &shard1_, &shard0_, &embedding_}) {
      delete *p;
      *p = nullptr;
    }
  }

  static ServiceProcess* Start(const std::string& name, const std::string& binary,
                               std::vector<std::string> flags) {
    auto process = ServiceProcess::Start(name, binary, std::move(flags));
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return nullptr;
    EXPECT_TRUE((*process)->WaitServing(absl::Seconds(30)).ok()) << (*process)->Log();
    return process->release();
  }

  // A key of `tenant` with `scopes`, created like `quarryctl admin bootstrap` does.
  static std::string MakeKey(const std::string& tenant, std::vector<std::string> scopes,
                             std::optional<double> rate = std::nullopt,
                             std::optional<int> burst = std::nullopt) {
    pg::PoolOptions options;
    options.conninfo = *conninfo_;
    auto pool = pg::Pool::Create(options);
    EXPECT_TRUE(pool.ok());
    const auto key = gateway::GenerateApiKey();
    auto stored = (*pool)->WithTransaction([&](pqxx::work& txn) -> absl::Status {
      gateway::store::KeyRecord record;
      record.id = key.id;
      record.tenant_id = gateway::store::EnsureTenant(txn, tenant);
      record.scopes = scopes;
      record.rate_limit_per_second = rate;
      record.burst = burst;
      gateway::store::InsertKey(txn, record, key.hash);
      return absl::OkStatus();
    });
    EXPECT_TRUE(stored.ok()) << stored;
    return key.secret;
  }

  static std::unique_ptr<grpc::ClientContext> Context(const std::string& key,
                                                      absl::Duration deadline = absl::Seconds(30)) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(deadline));
    if (!key.empty()) context->AddMetadata("authorization", "Bearer " + key);
    return context;
  }

  static std::shared_ptr<grpc::Channel> Channel() { return gateway_->NewChannel(); }

  static void CreateCollection(const std::string& key, const std::string& name) {
    CreateCollectionRequest request;
    request.mutable_collection()->set_name(name);
    CreateCollectionResponse response;
    grpc::Status status =
        CollectionService::NewStub(Channel())->CreateCollection(Context(key).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.collection().model(), "hashing-384");
    EXPECT_EQ(response.collection().dimension(), 384u);
  }

  static inline std::string* conninfo_ = nullptr;
  static inline std::string* admin_key_ = nullptr;
  static inline ServiceProcess* embedding_ = nullptr;
  static inline ServiceProcess* shard0_ = nullptr;
  static inline ServiceProcess* shard1_ = nullptr;
  static inline ServiceProcess* worker_ = nullptr;
  static inline ServiceProcess* gateway_ = nullptr;
};

TEST_F(SuiteTest, IngestedDocumentsFindThemselvesAndFiltersAndMinScoreApply) {
  ASSERT_NE(gateway_, nullptr);
  const auto corpus = DebianDescriptions(1000);
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
    ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << worker_->Log();
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
}

TEST_F(SuiteTest, TenantsScopesRateLimitsAndRevokedKeys) {
  ASSERT_NE(gateway_, nullptr);
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
  ASSERT_NE(gateway_, nullptr);
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

// Last: it stops and restarts a shard.
TEST_F(SuiteTest, ZzAShardDownGivesFlaggedPartialResultsThenFullOnesAgain) {
  ASSERT_NE(gateway_, nullptr);
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

  shard1_->process().Signal(SIGKILL);
  ASSERT_TRUE(shard1_->process().Wait(absl::Seconds(10)).ok());
  SearchResponse partial;
  ASSERT_TRUE(search->Search(Context(*admin_key_, absl::Seconds(5)).get(), request, &partial).ok());
  EXPECT_TRUE(partial.partial());
  EXPECT_LT(partial.hits_size(), 40);
  EXPECT_GT(partial.hits_size(), 0);
  EXPECT_NE(partial.shards(1).outcome(), SHARD_OUTCOME_ANSWERED);
  request.set_require_all_shards(true);
  SearchResponse all;
  EXPECT_EQ(search->Search(Context(*admin_key_, absl::Seconds(5)).get(), request, &all).error_code(),
            grpc::UNAVAILABLE);

  // The replica comes back (on another port: restart the gateway's view by
  // pointing a new gateway at it).
  delete shard1_;
  shard1_ = Start("shard1-again", "services/vector_search/vector_search",
                  {"--database_url=" + *conninfo_, "--shard_index=1", "--shard_count=2"});
  ASSERT_NE(shard1_, nullptr);
  delete gateway_;
  gateway_ = Start("gateway-again", "services/gateway/gateway",
                   {"--database_url=" + *conninfo_, "--embedding_target=" + embedding_->address(),
                    "--shard_targets=" + shard0_->address() + ";" + shard1_->address()});
  ASSERT_NE(gateway_, nullptr);
  SearchResponse again;
  ASSERT_TRUE(SearchService::NewStub(Channel())->Search(Context(*admin_key_).get(), request, &again).ok());
  EXPECT_FALSE(again.partial());
  EXPECT_EQ(again.hits_size(), 40);
}

}  // namespace
}  // namespace quarry
