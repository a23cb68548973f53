// The whole suite on loopback against a real PostgreSQL: embedding, two
// vector-search shards, a worker and a gateway, driven through the public API.
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
#include "services/common/pg/pool.h"
#include "services/common/pg/testing/postgres_env.h"
#include "services/gateway/api_key.h"
#include "services/gateway/store.h"
#include "tests/testing/debian_corpus.h"
#include "tests/testing/service_process.h"

namespace quarry {
namespace {

using namespace quarry::gateway::v1;  // NOLINT: a test of this API.
using testing::ServiceProcess;

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

// Every public RPC: without a key it is UNAUTHENTICATED; with another
// tenant's key it neither returns nor changes this tenant's data.
TEST_F(SuiteTest, EveryRpcIsAuthenticatedAndTenantIsolated) {
  ASSERT_NE(gateway_, nullptr);
  CreateCollection(*admin_key_, "isolated");
  UpsertDocumentsRequest seed;
  seed.set_collection("isolated");
  seed.set_wait_for_indexed(true);
  auto* doc = seed.add_documents();
  doc->set_id("doc-1");
  doc->set_text("only acme may read this");
  UpsertDocumentsResponse seeded;
  ASSERT_TRUE(DocumentService::NewStub(Channel())
                  ->UpsertDocuments(Context(*admin_key_, absl::Seconds(60)).get(), seed, &seeded)
                  .ok());
  const std::string job_id = seeded.job().id();
  const std::string intruder = MakeKey("umbrella", {"read", "write", "admin"});
  // The intruder's own collection of the same name must not be confused with ours.
  auto collections = CollectionService::NewStub(Channel());
  auto documents = DocumentService::NewStub(Channel());
  auto search = SearchService::NewStub(Channel());
  auto jobs = JobService::NewStub(Channel());
  auto stats = StatsService::NewStub(Channel());
  auto admin = AdminService::NewStub(Channel());

  // One closure per RPC, run with a given key; returns the status.
  std::vector<std::pair<std::string, std::function<grpc::Status(const std::string&)>>> rpcs = {
      {"CreateCollection", [&](const std::string& k) {
         CreateCollectionRequest r;
         r.mutable_collection()->set_name("intruder-made");
         CreateCollectionResponse out;
         return collections->CreateCollection(Context(k).get(), r, &out);
       }},
      {"GetCollection", [&](const std::string& k) {
         GetCollectionRequest r;
         r.set_name("isolated");
         GetCollectionResponse out;
         return collections->GetCollection(Context(k).get(), r, &out);
       }},
      {"ListCollections", [&](const std::string& k) {
         ListCollectionsResponse out;
         grpc::Status s = collections->ListCollections(Context(k).get(), {}, &out);
         for (const auto& c : out.collections()) {
           if (c.name() == "isolated" && k != *admin_key_) return grpc::Status(grpc::INTERNAL, "leak");
         }
         return s;
       }},
      {"DeleteCollection", [&](const std::string& k) {
         DeleteCollectionRequest r;
         r.set_name("isolated");
         DeleteCollectionResponse out;
         return collections->DeleteCollection(Context(k).get(), r, &out);
       }},
      {"UpsertDocuments", [&](const std::string& k) {
         UpsertDocumentsRequest r = seed;
         r.set_wait_for_indexed(false);
         r.mutable_documents(0)->set_text("overwritten by an intruder");
         UpsertDocumentsResponse out;
         return documents->UpsertDocuments(Context(k).get(), r, &out);
       }},
      {"GetDocuments", [&](const std::string& k) {
         GetDocumentsRequest r;
         r.set_collection("isolated");
         r.add_ids("doc-1");
         GetDocumentsResponse out;
         return documents->GetDocuments(Context(k).get(), r, &out);
       }},
      {"DeleteDocuments", [&](const std::string& k) {
         DeleteDocumentsRequest r;
         r.set_collection("isolated");
         r.add_ids("doc-1");
         DeleteDocumentsResponse out;
         return documents->DeleteDocuments(Context(k).get(), r, &out);
       }},
      {"Search", [&](const std::string& k) {
         SearchRequest r;
         r.set_collection("isolated");
         r.set_text("only acme");
         SearchResponse out;
         return search->Search(Context(k).get(), r, &out);
       }},
      {"SubmitJob", [&](const std::string& k) {
         SubmitJobRequest r;
         r.set_kind("reindex_collection");
         r.set_payload_json(R"({"collection": "isolated"})");
         SubmitJobResponse out;
         return jobs->SubmitJob(Context(k).get(), r, &out);
       }},
      {"GetJob", [&](const std::string& k) {
         GetJobRequest r;
         r.set_id(job_id);
         GetJobResponse out;
         return jobs->GetJob(Context(k).get(), r, &out);
       }},
      {"ListJobs", [&](const std::string& k) {
         ListJobsResponse out;
         grpc::Status s = jobs->ListJobs(Context(k).get(), {}, &out);
         for (const auto& j : out.jobs()) {
           if (j.id() == job_id && k != *admin_key_) return grpc::Status(grpc::INTERNAL, "leak");
         }
         return s;
       }},
      {"CancelJob", [&](const std::string& k) {
         CancelJobRequest r;
         r.set_id(job_id);
         CancelJobResponse out;
         return jobs->CancelJob(Context(k).get(), r, &out);
       }},
      {"RetryJob", [&](const std::string& k) {
         RetryJobRequest r;
         r.set_id(job_id);
         RetryJobResponse out;
         return jobs->RetryJob(Context(k).get(), r, &out);
       }},
      {"WatchJob", [&](const std::string& k) {
         WatchJobRequest r;
         r.set_id(job_id);
         auto context = Context(k, absl::Seconds(5));
         auto stream = jobs->WatchJob(context.get(), r);
         WatchJobResponse out;
         while (stream->Read(&out)) {
         }
         return stream->Finish();
       }},
      {"GetCollectionStats", [&](const std::string& k) {
         GetCollectionStatsRequest r;
         r.set_collection("isolated");
         GetCollectionStatsResponse out;
         return stats->GetCollectionStats(Context(k).get(), r, &out);
       }},
      {"GetJobStats", [&](const std::string& k) {
         GetJobStatsResponse out;
         return stats->GetJobStats(Context(k).get(), {}, &out);
       }},
      {"CreateApiKey", [&](const std::string& k) {
         CreateApiKeyRequest r;
         CreateApiKeyResponse out;
         return admin->CreateApiKey(Context(k).get(), r, &out);
       }},
      {"ListApiKeys", [&](const std::string& k) {
         ListApiKeysResponse out;
         grpc::Status s = admin->ListApiKeys(Context(k).get(), {}, &out);
         for (const auto& key : out.keys()) {
           if (k != *admin_key_ && key.id() == std::string(gateway::ApiKeyId(*admin_key_))) {
             return grpc::Status(grpc::INTERNAL, "leak");
           }
         }
         return s;
       }},
      {"RevokeApiKey", [&](const std::string& k) {
         RevokeApiKeyRequest r;
         r.set_id(std::string(gateway::ApiKeyId(*admin_key_)));
         RevokeApiKeyResponse out;
         return admin->RevokeApiKey(Context(k).get(), r, &out);
       }},
  };
  ASSERT_EQ(rpcs.size(), 19u);  // Every RPC of the six public services.

  // Calls that name this tenant's resources must look missing to the intruder;
  // tenant-wide listings and creations act on the intruder's own tenant.
  const std::set<std::string> own_tenant = {"CreateCollection", "ListCollections", "ListJobs",
                                            "GetJobStats", "CreateApiKey", "ListApiKeys"};
  for (const auto& [name, call] : rpcs) {
    SCOPED_TRACE(name);
    EXPECT_EQ(call("").error_code(), grpc::UNAUTHENTICATED);
    EXPECT_EQ(call("qk_0000000000000000.wrong").error_code(), grpc::UNAUTHENTICATED);
    const grpc::Status status = call(intruder);
    if (own_tenant.count(name)) {
      EXPECT_TRUE(status.ok()) << status.error_message();
    } else {
      EXPECT_EQ(status.error_code(), grpc::NOT_FOUND) << status.error_message();
    }
  }

  // Nothing of ours changed.
  GetDocumentsRequest get;
  get.set_collection("isolated");
  get.add_ids("doc-1");
  GetDocumentsResponse got;
  ASSERT_TRUE(documents->GetDocuments(Context(*admin_key_).get(), get, &got).ok());
  ASSERT_EQ(got.documents_size(), 1);
  EXPECT_EQ(got.documents(0).text(), "only acme may read this");
  GetCollectionRequest collection;
  collection.set_name("isolated");
  GetCollectionResponse still;
  EXPECT_TRUE(collections->GetCollection(Context(*admin_key_).get(), collection, &still).ok());
  ListApiKeysResponse keys;
  ASSERT_TRUE(admin->ListApiKeys(Context(*admin_key_).get(), {}, &keys).ok());
  for (const auto& key : keys.keys()) {
    if (key.id() == std::string(gateway::ApiKeyId(*admin_key_))) {
      EXPECT_FALSE(key.has_revoke_time());
    }
  }
}

// Every validation rule of the public API, through the real gateway: the
// exact status code, and a message that starts with the field's name.
TEST_F(SuiteTest, EveryValidationRuleNamesItsFieldThroughTheGateway) {
  ASSERT_NE(gateway_, nullptr);
  CreateCollection(*admin_key_, "rules");
  auto collections = CollectionService::NewStub(Channel());
  auto documents = DocumentService::NewStub(Channel());
  auto search = SearchService::NewStub(Channel());
  auto jobs = JobService::NewStub(Channel());
  auto admin = AdminService::NewStub(Channel());
  const std::string& k = *admin_key_;
  auto doc_request = [](std::function<void(UpsertDocumentsRequest&)> edit) {
    UpsertDocumentsRequest r;
    r.set_collection("rules");
    auto* d = r.add_documents();
    d->set_id("ok");
    d->set_text("fine text");
    edit(r);
    return r;
  };
  auto upsert = [&](UpsertDocumentsRequest r) {
    UpsertDocumentsResponse out;
    return documents->UpsertDocuments(Context(k).get(), r, &out);
  };
  auto search_with = [&](std::function<void(SearchRequest&)> edit) {
    SearchRequest r;
    r.set_collection("rules");
    r.set_text("query");
    edit(r);
    SearchResponse out;
    return search->Search(Context(k).get(), r, &out);
  };
  auto submit = [&](std::function<void(SubmitJobRequest&)> edit) {
    SubmitJobRequest r;
    r.set_kind("refresh_stats");
    edit(r);
    SubmitJobResponse out;
    return jobs->SubmitJob(Context(k).get(), r, &out);
  };
  const std::string big_text(32 * 1024 + 1, 'x');
  struct Case {
    std::string field;
    grpc::StatusCode code;
    std::function<grpc::Status()> call;
  };
  const std::vector<Case> cases = {
      {"collection.name", grpc::INVALID_ARGUMENT, [&] {
         CreateCollectionRequest r;
         r.mutable_collection()->set_name("Bad Name");
         CreateCollectionResponse out;
         return collections->CreateCollection(Context(k).get(), r, &out);
       }},
      {"collection.dimension", grpc::INVALID_ARGUMENT, [&] {
         CreateCollectionRequest r;
         r.mutable_collection()->set_name("dims");
         r.mutable_collection()->set_dimension(5000);
         CreateCollectionResponse out;
         return collections->CreateCollection(Context(k).get(), r, &out);
       }},
      {"collection.dimension", grpc::FAILED_PRECONDITION, [&] {
         CreateCollectionRequest r;
         r.mutable_collection()->set_name("dims");
         r.mutable_collection()->set_dimension(128);  // The model makes 384.
         CreateCollectionResponse out;
         return collections->CreateCollection(Context(k).get(), r, &out);
       }},
      {"page.page_size", grpc::INVALID_ARGUMENT, [&] {
         ListCollectionsRequest r;
         r.mutable_page()->set_page_size(5000);
         ListCollectionsResponse out;
         return collections->ListCollections(Context(k).get(), r, &out);
       }},
      {"page.page_token", grpc::INVALID_ARGUMENT, [&] {
         ListCollectionsRequest r;
         r.mutable_page()->set_page_token("not-a-token");
         ListCollectionsResponse out;
         return collections->ListCollections(Context(k).get(), r, &out);
       }},
      {"documents", grpc::INVALID_ARGUMENT, [&] {
         return upsert(doc_request([](auto& r) { r.clear_documents(); }));
       }},
      {"documents", grpc::INVALID_ARGUMENT, [&] {
         return upsert(doc_request([](auto& r) {
           for (int i = 0; i < 1000; ++i) r.add_documents()->set_id(absl::StrCat("d", i));
         }));
       }},
      {"documents[0].id", grpc::INVALID_ARGUMENT, [&] {
         return upsert(doc_request([](auto& r) { r.mutable_documents(0)->set_id("has space"); }));
       }},
      {"documents[1].id", grpc::INVALID_ARGUMENT, [&] {
         return upsert(doc_request([](auto& r) { *r.add_documents() = r.documents(0); }));
       }},
      {"documents[0].text", grpc::INVALID_ARGUMENT, [&] {
         return upsert(doc_request([](auto& r) { r.mutable_documents(0)->set_text(""); }));
       }},
      {"documents[0].text", grpc::INVALID_ARGUMENT, [&] {
         return upsert(doc_request([&](auto& r) { r.mutable_documents(0)->set_text(big_text); }));
       }},
      {"documents[0].metadata", grpc::INVALID_ARGUMENT, [&] {
         return upsert(doc_request([](auto& r) {
           for (int i = 0; i < 65; ++i) {
             (*r.mutable_documents(0)->mutable_metadata())[absl::StrCat("k", i)] = "v";
           }
         }));
       }},
      {"documents[0].tags[0]", grpc::INVALID_ARGUMENT, [&] {
         return upsert(
             doc_request([](auto& r) { r.mutable_documents(0)->add_tags(std::string(65, 't')); }));
       }},
      {"documents[0].vector.values[0]", grpc::INVALID_ARGUMENT, [&] {
         return upsert(doc_request(
             [](auto& r) { r.mutable_documents(0)->mutable_vector()->add_values(std::nanf("")); }));
       }},
      {"documents[0].vector", grpc::INVALID_ARGUMENT, [&] {
         return upsert(doc_request(
             [](auto& r) { r.mutable_documents(0)->mutable_vector()->add_values(0.5f); }));
       }},
      {"collection", grpc::NOT_FOUND, [&] {
         return upsert(doc_request([](auto& r) { r.set_collection("no-such"); }));
       }},
      {"ids", grpc::INVALID_ARGUMENT, [&] {
         GetDocumentsRequest r;
         r.set_collection("rules");
         GetDocumentsResponse out;
         return documents->GetDocuments(Context(k).get(), r, &out);
       }},
      {"query", grpc::INVALID_ARGUMENT, [&] { return search_with([](auto& r) { r.clear_text(); }); }},
      {"top_k", grpc::INVALID_ARGUMENT, [&] { return search_with([](auto& r) { r.set_top_k(5000); }); }},
      {"effort", grpc::INVALID_ARGUMENT, [&] { return search_with([](auto& r) { r.set_effort(5); }); }},
      {"vector", grpc::INVALID_ARGUMENT, [&] {
         return search_with([](auto& r) {
           for (int i = 0; i < 3; ++i) r.mutable_vector()->add_values(0.1f);
         });
       }},
      {"vector.values[0]", grpc::INVALID_ARGUMENT, [&] {
         return search_with(
             [](auto& r) { r.mutable_vector()->add_values(std::numeric_limits<float>::infinity()); });
       }},
      {"min_score", grpc::INVALID_ARGUMENT, [&] { return search_with([](auto& r) { r.set_min_score(std::nanf("")); }); }},
      {"filter.all_tags[0]", grpc::INVALID_ARGUMENT, [&] {
         return search_with([](auto& r) { r.mutable_filter()->add_all_tags(""); });
       }},
      {"kind", grpc::INVALID_ARGUMENT, [&] { return submit([](auto& r) { r.set_kind("mine_coins"); }); }},
      {"payload_json", grpc::INVALID_ARGUMENT, [&] { return submit([](auto& r) { r.set_payload_json("{oops"); }); }},
      {"priority", grpc::INVALID_ARGUMENT, [&] { return submit([](auto& r) { r.set_priority(99999); }); }},
      {"max_attempts", grpc::INVALID_ARGUMENT, [&] { return submit([](auto& r) { r.set_max_attempts(-3); }); }},
      {"id", grpc::INVALID_ARGUMENT, [&] {
         GetJobRequest r;
         r.set_id("12abc");
         GetJobResponse out;
         return jobs->GetJob(Context(k).get(), r, &out);
       }},
      {"key.rate_limit_per_second", grpc::INVALID_ARGUMENT, [&] {
         CreateApiKeyRequest r;
         r.mutable_key()->set_rate_limit_per_second(-5);
         CreateApiKeyResponse out;
         return admin->CreateApiKey(Context(k).get(), r, &out);
       }},
  };
  for (const Case& c : cases) {
    const grpc::Status status = c.call();
    EXPECT_EQ(status.error_code(), c.code) << c.field << ": " << status.error_message();
    if (c.code == grpc::INVALID_ARGUMENT) {
      EXPECT_EQ(status.error_message().rfind(c.field, 0), 0u)
          << "message does not start with " << c.field << ": " << status.error_message();
    } else {
      EXPECT_FALSE(status.error_message().empty());
    }
  }
}

TEST_F(SuiteTest, ReupsertingUnchangedTextDoesNotReembed) {
  ASSERT_NE(gateway_, nullptr);
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
  ASSERT_NE(gateway_, nullptr);
  auto limited = Start("gateway-limited", "services/gateway/gateway",
                       {"--database_url=" + *conninfo_, "--embedding_target=" + embedding_->address(),
                        "--shard_targets=" + shard0_->address() + ";" + shard1_->address(),
                        "--max_in_flight=1"});
  ASSERT_NE(limited, nullptr);
  std::unique_ptr<ServiceProcess> owned(limited);
  auto jobs = JobService::NewStub(limited->NewChannel());
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
