// Authentication, scopes and tenant isolation of every public RPC, through the
// real gateway: no key, wrong keys, malformed authorization headers, a revoked
// key, another tenant's key and keys with too few scopes. Afterwards every
// resource of the victim tenant (collections, documents, search results,
// jobs, job stats, keys) is exactly as it was. Keys have no expiry in this
// API, so there is no expired-key case.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "quarry/gateway/v1/admin_service.grpc.pb.h"
#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/job_kind_service.grpc.pb.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "quarry/gateway/v1/schedule_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "quarry/gateway/v1/stats_service.grpc.pb.h"
#include "quarry/gateway/v1/worker_service.grpc.pb.h"
#include "services/gateway/api_key.h"
#include "tests/e2e/e2e_suite.h"

namespace quarry {
namespace {

using namespace quarry::gateway::v1;  // NOLINT: a test of this API.

using MakeContext = std::function<std::unique_ptr<grpc::ClientContext>()>;

// kWorker: the worker API, which keys with the write scope or a worker key
// naming the kind may use.
enum class Needs { kRead, kWrite, kAdmin, kWorker };

struct Rpc {
  std::string name;
  Needs needs;
  // Acts on the tenant of the key (lists, creations) rather than naming a
  // resource of the victim's.
  bool tenant_wide;
  std::function<grpc::Status(const MakeContext&)> call;
};

class SecurityTest : public e2e::E2eSuite {
 protected:
  void SetUp() override {
    ASSERT_NE(suite_, nullptr);
    collections_ = CollectionService::NewStub(Channel());
    documents_ = DocumentService::NewStub(Channel());
    search_ = SearchService::NewStub(Channel());
    jobs_ = JobService::NewStub(Channel());
    kinds_ = JobKindService::NewStub(Channel());
    workers_ = WorkerService::NewStub(Channel());
    schedules_ = ScheduleService::NewStub(Channel());
    stats_ = StatsService::NewStub(Channel());
    admin_ = AdminService::NewStub(Channel());
  }

  static MakeContext WithKey(const std::string& key) {
    return [key] { return Context(key, absl::Seconds(10)); };
  }
  static MakeContext WithHeader(const std::string& value) {
    return [value] { return RawAuthContext(value); };
  }

  // Everything the victim tenant has, as text, for a before/after comparison.
  std::string VictimState(const std::string& key) {
    std::string state;
    auto add = [&](absl::string_view what, const grpc::Status& status,
                   const google::protobuf::Message& message) {
      EXPECT_TRUE(status.ok()) << what << ": " << status.error_message();
      absl::StrAppend(&state, what, ": ", message.ShortDebugString(), "\n");
    };
    {
      GetCollectionRequest r;
      r.set_name("isolated");
      GetCollectionResponse out;
      add("collection", collections_->GetCollection(Context(key).get(), r, &out), out);
    }
    {
      ListCollectionsRequest r;
      r.mutable_page()->set_page_size(1000);
      ListCollectionsResponse out;
      add("collections", collections_->ListCollections(Context(key).get(), r, &out), out);
    }
    {
      GetDocumentsRequest r;
      r.set_collection("isolated");
      r.add_ids("doc-1");
      r.add_ids("doc-2");
      GetDocumentsResponse out;
      add("documents", documents_->GetDocuments(Context(key).get(), r, &out), out);
    }
    {
      SearchRequest r;
      r.set_collection("isolated");
      r.set_text("only the victim may read this");
      r.set_include_text(true);
      r.set_include_metadata(true);
      SearchResponse out;
      grpc::Status status = search_->Search(Context(key).get(), r, &out);
      for (auto& shard : *out.mutable_shards()) {  // Timing and watermarks move on.
        shard.clear_latency_us();
        shard.clear_watermark();
      }
      out.clear_embed_latency_us();
      add("search", status, out);
    }
    {
      GetCollectionStatsRequest r;
      r.set_collection("isolated");
      GetCollectionStatsResponse out;
      grpc::Status status = stats_->GetCollectionStats(Context(key).get(), r, &out);
      out.clear_min_watermark();  // Global: moves with any tenant's writes.
      add("stats", status, out);
    }
    {
      ListJobsRequest r;
      r.mutable_page()->set_page_size(1000);
      ListJobsResponse out;
      add("jobs", jobs_->ListJobs(Context(key).get(), r, &out), out);
    }
    {
      GetJobStatsResponse out;
      add("job stats", stats_->GetJobStats(Context(key).get(), {}, &out), out);
    }
    {
      ListApiKeysResponse out;
      add("keys", admin_->ListApiKeys(Context(key).get(), {}, &out), out);
    }
    {
      ListJobKindsResponse out;
      add("job kinds", kinds_->ListJobKinds(Context(key).get(), {}, &out), out);
    }
    {
      ListSchedulesResponse out;
      add("schedules", schedules_->ListSchedules(Context(key).get(), {}, &out), out);
    }
    return state;
  }

  std::unique_ptr<CollectionService::Stub> collections_;
  std::unique_ptr<DocumentService::Stub> documents_;
  std::unique_ptr<SearchService::Stub> search_;
  std::unique_ptr<JobService::Stub> jobs_;
  std::unique_ptr<JobKindService::Stub> kinds_;
  std::unique_ptr<WorkerService::Stub> workers_;
  std::unique_ptr<ScheduleService::Stub> schedules_;
  std::unique_ptr<StatsService::Stub> stats_;
  std::unique_ptr<AdminService::Stub> admin_;
};

TEST_F(SecurityTest, NoIntruderReadsOrChangesAnotherTenantsDataThroughAnyRpc) {
  // The victim: a collection with two documents, a finished indexing job, a
  // queued job an hour ahead, and three keys.
  const std::string victim = MakeKey("victim", {"read", "write", "admin"}, 100000.0, 100000);
  const std::string victim_reader = MakeKey("victim", {"read"}, 100000.0, 100000);
  const std::string victim_writer = MakeKey("victim", {"read", "write"}, 100000.0, 100000);
  CreateCollection(victim, "isolated");
  UpsertDocumentsRequest seed;
  seed.set_collection("isolated");
  seed.set_wait_for_indexed(true);
  for (const char* id : {"doc-1", "doc-2"}) {
    auto* doc = seed.add_documents();
    doc->set_id(id);
    doc->set_text(absl::StrCat("only the victim may read this: ", id));
    (*doc->mutable_metadata())["owner"] = "victim";
    doc->add_tags("secret");
  }
  UpsertDocumentsResponse seeded;
  ASSERT_TRUE(documents_->UpsertDocuments(Context(victim, absl::Seconds(60)).get(), seed, &seeded)
                  .ok());
  const std::string done_job = seeded.job().id();
  SubmitJobRequest later;
  later.set_kind("refresh_stats");
  later.mutable_run_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
  SubmitJobResponse queued;
  ASSERT_TRUE(jobs_->SubmitJob(Context(victim).get(), later, &queued).ok());
  const std::string queued_job = queued.job().id();
  // A kind of the victim's own, with a job of it waiting.
  CreateJobKindRequest own_kind;
  own_kind.mutable_kind()->set_name("victim.secret");
  own_kind.mutable_kind()->set_description("the victim's own work");
  CreateJobKindResponse own_kind_out;
  ASSERT_TRUE(kinds_->CreateJobKind(Context(victim).get(), own_kind, &own_kind_out).ok());
  SubmitJobRequest own_job;
  own_job.set_kind("victim.secret");
  own_job.mutable_run_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
  ASSERT_TRUE(jobs_->SubmitJob(Context(victim).get(), own_job, &queued).ok());
  const std::string own_kind_job = queued.job().id();
  // A schedule of it that fires once a year, so never during the test.
  CreateScheduleRequest own_schedule;
  own_schedule.mutable_schedule()->set_name("victim.yearly");
  own_schedule.mutable_schedule()->set_kind("victim.secret");
  own_schedule.mutable_schedule()->set_cron("0 0 1 1 *");
  CreateScheduleResponse own_schedule_out;
  ASSERT_TRUE(
      schedules_->CreateSchedule(Context(victim).get(), own_schedule, &own_schedule_out).ok());
  // A lease on the victim's job, as its worker would name it.
  JobLease victim_lease;
  victim_lease.set_job_id(own_kind_job);
  victim_lease.set_attempt(1);
  victim_lease.set_worker_id("victim-worker");
  const std::string victim_key_id(gateway::ApiKeyId(victim));
  ListApiKeysResponse victim_keys;
  ASSERT_TRUE(admin_->ListApiKeys(Context(victim).get(), {}, &victim_keys).ok());
  ASSERT_EQ(victim_keys.keys_size(), 3);
  std::set<std::string> victim_key_ids;
  for (const auto& key : victim_keys.keys()) victim_key_ids.insert(key.id());

  const std::string before = VictimState(victim);
  ASSERT_TRUE(absl::StrContains(before, "only the victim may read this: doc-1")) << before;

  const std::string intruder = MakeKey("umbrella", {"read", "write", "admin"}, 100000.0, 100000);
  // Whether the caller is outside the victim's tenant: then a listing that
  // shows any of the victim's resources is a leak.
  bool outsider = true;
  // Every RPC of the eight public services, each aimed at the victim's
  // resources (or, for tenant-wide ones, checking nothing of the victim's shows).
  const std::vector<Rpc> rpcs = {
      {"CreateCollection", Needs::kWrite, true, [&](const MakeContext& c) {
         CreateCollectionRequest r;
         r.mutable_collection()->set_name("intruder-made");
         CreateCollectionResponse out;
         return collections_->CreateCollection(c().get(), r, &out);
       }},
      {"GetCollection", Needs::kRead, false, [&](const MakeContext& c) {
         GetCollectionRequest r;
         r.set_name("isolated");
         GetCollectionResponse out;
         return collections_->GetCollection(c().get(), r, &out);
       }},
      {"ListCollections", Needs::kRead, true, [&](const MakeContext& c) {
         ListCollectionsResponse out;
         grpc::Status s = collections_->ListCollections(c().get(), {}, &out);
         for (const auto& collection : out.collections()) {
           if (outsider && collection.name() == "isolated") {
             return grpc::Status(grpc::INTERNAL, "leak");
           }
         }
         return s;
       }},
      {"DeleteCollection", Needs::kAdmin, false, [&](const MakeContext& c) {
         DeleteCollectionRequest r;
         r.set_name("isolated");
         DeleteCollectionResponse out;
         return collections_->DeleteCollection(c().get(), r, &out);
       }},
      {"UpsertDocuments", Needs::kWrite, false, [&](const MakeContext& c) {
         UpsertDocumentsRequest r = seed;
         r.set_wait_for_indexed(false);
         r.mutable_documents(0)->set_text("overwritten by an intruder");
         UpsertDocumentsResponse out;
         return documents_->UpsertDocuments(c().get(), r, &out);
       }},
      {"GetDocuments", Needs::kRead, false, [&](const MakeContext& c) {
         GetDocumentsRequest r;
         r.set_collection("isolated");
         r.add_ids("doc-1");
         GetDocumentsResponse out;
         return documents_->GetDocuments(c().get(), r, &out);
       }},
      {"DeleteDocuments", Needs::kWrite, false, [&](const MakeContext& c) {
         DeleteDocumentsRequest r;
         r.set_collection("isolated");
         r.add_ids("doc-1");
         DeleteDocumentsResponse out;
         return documents_->DeleteDocuments(c().get(), r, &out);
       }},
      {"Search", Needs::kRead, false, [&](const MakeContext& c) {
         SearchRequest r;
         r.set_collection("isolated");
         r.set_text("only the victim");
         SearchResponse out;
         return search_->Search(c().get(), r, &out);
       }},
      {"SearchBatch", Needs::kRead, false, [&](const MakeContext& c) {
         SearchBatchRequest r;
         SearchRequest* q = r.add_queries();
         q->set_collection("isolated");
         q->set_text("only the victim");
         SearchBatchResponse out;
         return search_->SearchBatch(c().get(), r, &out);
       }},
      {"SubmitJob", Needs::kWrite, false, [&](const MakeContext& c) {
         SubmitJobRequest r;
         r.set_kind("reindex_collection");
         r.set_payload_json(R"({"collection": "isolated"})");
         SubmitJobResponse out;
         return jobs_->SubmitJob(c().get(), r, &out);
       }},
      {"SubmitJob of a tenant's own kind", Needs::kWrite, false, [&](const MakeContext& c) {
         SubmitJobRequest r;
         r.set_kind("victim.secret");
         SubmitJobResponse out;
         return jobs_->SubmitJob(c().get(), r, &out);
       }},
      // After the victim's queued job, which another tenant cannot see.
      {"SubmitJob after another tenant's job", Needs::kWrite, false,
       [&](const MakeContext& c) {
         SubmitJobRequest r;
         r.set_kind("refresh_stats");
         r.add_depends_on(queued_job);
         SubmitJobResponse out;
         return jobs_->SubmitJob(c().get(), r, &out);
       }},
      {"SubmitJobs", Needs::kWrite, false, [&](const MakeContext& c) {
         SubmitJobsRequest r;
         BatchJob* first = r.add_jobs();
         first->set_ref("first");
         first->mutable_job()->set_kind("refresh_stats");
         BatchJob* second = r.add_jobs();
         second->mutable_job()->set_kind("victim.secret");
         second->add_after("first");
         SubmitJobsResponse out;
         return jobs_->SubmitJobs(c().get(), r, &out);
       }},
      {"CreateJobKind", Needs::kAdmin, true, [&](const MakeContext& c) {
         CreateJobKindRequest r;
         r.mutable_kind()->set_name("intruder.kind");
         CreateJobKindResponse out;
         return kinds_->CreateJobKind(c().get(), r, &out);
       }},
      {"GetJobKind", Needs::kRead, false, [&](const MakeContext& c) {
         GetJobKindRequest r;
         r.set_name("victim.secret");
         GetJobKindResponse out;
         return kinds_->GetJobKind(c().get(), r, &out);
       }},
      {"ListJobKinds", Needs::kRead, true, [&](const MakeContext& c) {
         ListJobKindsResponse out;
         grpc::Status s = kinds_->ListJobKinds(c().get(), {}, &out);
         for (const auto& kind : out.kinds()) {
           if (outsider && kind.name() == "victim.secret") {
             return grpc::Status(grpc::INTERNAL, "leak");
           }
         }
         return s;
       }},
      {"UpdateJobKind", Needs::kAdmin, false, [&](const MakeContext& c) {
         UpdateJobKindRequest r;
         r.mutable_kind()->set_name("victim.secret");
         r.mutable_kind()->set_max_concurrency(1);
         UpdateJobKindResponse out;
         return kinds_->UpdateJobKind(c().get(), r, &out);
       }},
      {"DeleteJobKind", Needs::kAdmin, false, [&](const MakeContext& c) {
         DeleteJobKindRequest r;
         r.set_name("victim.secret");
         DeleteJobKindResponse out;
         return kinds_->DeleteJobKind(c().get(), r, &out);
       }},
      // Names the victim's kind, which another tenant cannot see.
      {"CreateSchedule", Needs::kAdmin, false, [&](const MakeContext& c) {
         CreateScheduleRequest r;
         r.mutable_schedule()->set_name("intruder.schedule");
         r.mutable_schedule()->set_kind("victim.secret");
         r.mutable_schedule()->set_cron("* * * * *");
         CreateScheduleResponse out;
         return schedules_->CreateSchedule(c().get(), r, &out);
       }},
      {"GetSchedule", Needs::kRead, false, [&](const MakeContext& c) {
         GetScheduleRequest r;
         r.set_name("victim.yearly");
         GetScheduleResponse out;
         return schedules_->GetSchedule(c().get(), r, &out);
       }},
      {"ListSchedules", Needs::kRead, true, [&](const MakeContext& c) {
         ListSchedulesResponse out;
         grpc::Status s = schedules_->ListSchedules(c().get(), {}, &out);
         if (outsider && out.schedules_size() > 0) return grpc::Status(grpc::INTERNAL, "leak");
         return s;
       }},
      {"DeleteSchedule", Needs::kAdmin, false, [&](const MakeContext& c) {
         DeleteScheduleRequest r;
         r.set_name("victim.yearly");
         DeleteScheduleResponse out;
         return schedules_->DeleteSchedule(c().get(), r, &out);
       }},
      {"ClaimJobs", Needs::kWorker, false, [&](const MakeContext& c) {
         ClaimJobsRequest r;
         r.set_worker_id("victim-worker");
         r.add_kinds("victim.secret");
         r.set_max_jobs(10);
         ClaimJobsResponse out;
         return workers_->ClaimJobs(c().get(), r, &out);
       }},
      {"HeartbeatJob", Needs::kWorker, false, [&](const MakeContext& c) {
         HeartbeatJobRequest r;
         *r.mutable_lease() = victim_lease;
         HeartbeatJobResponse out;
         return workers_->HeartbeatJob(c().get(), r, &out);
       }},
      {"CompleteJob", Needs::kWorker, false, [&](const MakeContext& c) {
         CompleteJobRequest r;
         *r.mutable_lease() = victim_lease;
         CompleteJobResponse out;
         return workers_->CompleteJob(c().get(), r, &out);
       }},
      {"FailJob", Needs::kWorker, false, [&](const MakeContext& c) {
         FailJobRequest r;
         *r.mutable_lease() = victim_lease;
         r.set_error("intruded");
         r.set_kind(FAILURE_KIND_PERMANENT);
         FailJobResponse out;
         return workers_->FailJob(c().get(), r, &out);
       }},
      {"ReleaseJob", Needs::kWorker, false, [&](const MakeContext& c) {
         ReleaseJobRequest r;
         *r.mutable_lease() = victim_lease;
         ReleaseJobResponse out;
         return workers_->ReleaseJob(c().get(), r, &out);
       }},
      {"AcknowledgeCancel", Needs::kWorker, false, [&](const MakeContext& c) {
         AcknowledgeCancelRequest r;
         *r.mutable_lease() = victim_lease;
         AcknowledgeCancelResponse out;
         return workers_->AcknowledgeCancel(c().get(), r, &out);
       }},
      {"GetJob", Needs::kRead, false, [&](const MakeContext& c) {
         GetJobRequest r;
         r.set_id(done_job);
         GetJobResponse out;
         return jobs_->GetJob(c().get(), r, &out);
       }},
      {"ListJobs", Needs::kRead, true, [&](const MakeContext& c) {
         ListJobsResponse out;
         grpc::Status s = jobs_->ListJobs(c().get(), {}, &out);
         for (const auto& job : out.jobs()) {
           if (outsider && (job.id() == done_job || job.id() == queued_job)) {
             return grpc::Status(grpc::INTERNAL, "leak");
           }
         }
         return s;
       }},
      {"CancelJob", Needs::kWrite, false, [&](const MakeContext& c) {
         CancelJobRequest r;
         r.set_id(queued_job);
         CancelJobResponse out;
         return jobs_->CancelJob(c().get(), r, &out);
       }},
      {"RetryJob", Needs::kAdmin, false, [&](const MakeContext& c) {
         RetryJobRequest r;
         r.set_id(queued_job);
         RetryJobResponse out;
         return jobs_->RetryJob(c().get(), r, &out);
       }},
      {"WatchJob", Needs::kRead, false, [&](const MakeContext& c) {
         WatchJobRequest r;
         r.set_id(done_job);
         auto context = c();
         auto stream = jobs_->WatchJob(context.get(), r);
         WatchJobResponse out;
         while (stream->Read(&out)) {
         }
         return stream->Finish();
       }},
      {"GetCollectionStats", Needs::kRead, false, [&](const MakeContext& c) {
         GetCollectionStatsRequest r;
         r.set_collection("isolated");
         GetCollectionStatsResponse out;
         return stats_->GetCollectionStats(c().get(), r, &out);
       }},
      {"GetJobStats", Needs::kRead, true, [&](const MakeContext& c) {
         GetJobStatsResponse out;
         return stats_->GetJobStats(c().get(), {}, &out);
       }},
      {"CreateApiKey", Needs::kAdmin, true, [&](const MakeContext& c) {
         CreateApiKeyRequest r;
         r.mutable_key()->add_scopes(SCOPE_ADMIN);
         CreateApiKeyResponse out;
         return admin_->CreateApiKey(c().get(), r, &out);
       }},
      {"ListApiKeys", Needs::kAdmin, true, [&](const MakeContext& c) {
         ListApiKeysResponse out;
         grpc::Status s = admin_->ListApiKeys(c().get(), {}, &out);
         for (const auto& key : out.keys()) {
           if (outsider && victim_key_ids.count(key.id())) {
             return grpc::Status(grpc::INTERNAL, "leak");
           }
         }
         return s;
       }},
      {"RevokeApiKey", Needs::kAdmin, false, [&](const MakeContext& c) {
         RevokeApiKeyRequest r;
         r.set_id(victim_key_id);
         RevokeApiKeyResponse out;
         return admin_->RevokeApiKey(c().get(), r, &out);
       }},
  };
  // The 36 public RPCs, SubmitJob three times (a system kind, the tenant's
  // own, and after another tenant's job).
  ASSERT_EQ(rpcs.size(), 38u);

  // A key of the victim's, revoked through the API: past the gateway's key
  // cache TTL (200 ms here) it is refused like any unknown key.
  CreateApiKeyRequest create;
  create.mutable_key()->set_name("soon revoked");
  for (Scope scope : {SCOPE_READ, SCOPE_WRITE, SCOPE_ADMIN}) create.mutable_key()->add_scopes(scope);
  create.mutable_key()->set_rate_limit_per_second(100000);
  create.mutable_key()->set_burst(100000);
  CreateApiKeyResponse created;
  ASSERT_TRUE(admin_->CreateApiKey(Context(victim).get(), create, &created).ok());
  const std::string revoked = created.secret();
  {
    GetCollectionRequest r;
    r.set_name("isolated");
    GetCollectionResponse out;
    ASSERT_TRUE(collections_->GetCollection(Context(revoked).get(), r, &out).ok());
    RevokeApiKeyRequest revoke;
    revoke.set_id(created.key().id());
    RevokeApiKeyResponse out_revoke;
    ASSERT_TRUE(admin_->RevokeApiKey(Context(victim).get(), revoke, &out_revoke).ok());
    EXPECT_TRUE(out_revoke.key().has_revoke_time());
    absl::SleepFor(absl::Milliseconds(400));
  }
  // A key of the victim's own workers, for a kind other than victim.secret.
  CreateApiKeyRequest worker_create;
  worker_create.mutable_key()->set_name("other team's workers");
  worker_create.mutable_key()->add_scopes(SCOPE_WORKER);
  worker_create.mutable_key()->add_worker_kinds("victim.other");
  worker_create.mutable_key()->set_rate_limit_per_second(100000);
  worker_create.mutable_key()->set_burst(100000);
  CreateApiKeyResponse worker_created;
  ASSERT_TRUE(admin_->CreateApiKey(Context(victim).get(), worker_create, &worker_created).ok());
  ASSERT_EQ(worker_created.key().worker_kinds_size(), 1);
  const std::string victim_worker = worker_created.secret();
  const std::string before_with_revoked = VictimState(victim);

  const std::string secret_part = victim.substr(victim.find('.') + 1);
  const std::map<std::string, MakeContext> unauthenticated = {
      {"no key", [] { return Context(""); }},
      {"unknown key", WithKey("qk_0000000000000000.wrong")},
      {"the victim's key id with a wrong secret",
       WithKey(victim_key_id + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")},
      {"the victim's key, truncated", WithKey(victim.substr(0, victim.size() - 1))},
      {"the victim's key, extended", WithKey(victim + "A")},
      {"the victim's key id alone", WithKey(victim_key_id)},
      {"a revoked key", WithKey(revoked)},
      {"empty authorization", WithHeader("")},
      {"no Bearer scheme", WithHeader(victim)},
      {"Basic scheme", WithHeader("Basic dmljdGltOnBhc3N3b3Jk")},
      {"Token scheme", WithHeader("Token " + victim)},
      {"Bearer without a key", WithHeader("Bearer")},
      {"Bearer and spaces", WithHeader("Bearer    ")},
      {"Bearer without a space", WithHeader("Bearer" + victim)},
      {"two keys", WithHeader("Bearer " + victim + " " + victim)},
      {"garbage", WithHeader("%%%garbage%%%")},
      {"not a Quarry key", WithHeader("Bearer eyJhbGciOiJIUzI1NiJ9.e30.signature")},
      {"an overlong key", WithHeader("Bearer qk_" + std::string(400, 'a') + ".b")},
  };
  for (const Rpc& rpc : rpcs) {
    SCOPED_TRACE(rpc.name);
    for (const auto& [what, context] : unauthenticated) {
      const grpc::Status status = rpc.call(context);
      EXPECT_EQ(status.error_code(), grpc::UNAUTHENTICATED) << what << ": " << status.error_message();
      EXPECT_FALSE(absl::StrContains(status.error_message(), secret_part))
          << what << ": the message echoes the secret";
    }
    // Another tenant's key with every scope: the victim's resources do not
    // exist for it; tenant-wide calls act on its own tenant only.
    const grpc::Status status = rpc.call(WithKey(intruder));
    if (rpc.tenant_wide) {
      EXPECT_TRUE(status.ok()) << "another tenant: " << status.error_message();
    } else {
      EXPECT_EQ(status.error_code(), grpc::NOT_FOUND) << "another tenant: " << status.error_message();
    }
  }

  // Scopes within the victim's own tenant: a read-only key reads but cannot
  // write or administer; a read-write key cannot administer. The calls that a
  // scope allows and that would change data are not made.
  outsider = false;
  for (const Rpc& rpc : rpcs) {
    SCOPED_TRACE(rpc.name);
    const grpc::Status as_reader = rpc.call(WithKey(victim_reader));
    if (rpc.needs == Needs::kRead) {
      EXPECT_TRUE(as_reader.ok()) << "read-only key: " << as_reader.error_message();
    } else {
      EXPECT_EQ(as_reader.error_code(), grpc::PERMISSION_DENIED) << as_reader.error_message();
      EXPECT_TRUE(absl::StrContains(as_reader.error_message(),
                                    rpc.needs == Needs::kWrite    ? "write scope"
                                    : rpc.needs == Needs::kWorker ? "worker scope"
                                                                  : "admin scope"))
          << as_reader.error_message();
    }
    if (rpc.needs == Needs::kAdmin) {
      const grpc::Status as_writer = rpc.call(WithKey(victim_writer));
      EXPECT_EQ(as_writer.error_code(), grpc::PERMISSION_DENIED) << as_writer.error_message();
      EXPECT_TRUE(absl::StrContains(as_writer.error_message(), "admin scope"))
          << as_writer.error_message();
    } else if (rpc.needs == Needs::kRead) {
      const grpc::Status as_writer = rpc.call(WithKey(victim_writer));
      EXPECT_TRUE(as_writer.ok()) << "read-write key: " << as_writer.error_message();
    }
  }

  // A worker key of the victim's for another kind: no RPC outside the
  // worker API, no claim of victim.secret, no hold on its job.
  for (const Rpc& rpc : rpcs) {
    SCOPED_TRACE(rpc.name);
    const grpc::Status as_worker = rpc.call(WithKey(victim_worker));
    if (rpc.needs != Needs::kWorker) {
      EXPECT_EQ(as_worker.error_code(), grpc::PERMISSION_DENIED) << as_worker.error_message();
    } else if (rpc.name == "ClaimJobs") {
      EXPECT_EQ(as_worker.error_code(), grpc::PERMISSION_DENIED) << as_worker.error_message();
      EXPECT_TRUE(absl::StrContains(as_worker.error_message(), "\"victim.secret\""))
          << as_worker.error_message();
    } else {
      // Another key's lease: not held by this one.
      EXPECT_EQ(as_worker.error_code(), grpc::FAILED_PRECONDITION) << as_worker.error_message();
    }
  }

  // The intruder's tenant saw none of the victim's jobs in its job stats.
  GetJobStatsResponse intruder_stats;
  ASSERT_TRUE(stats_->GetJobStats(Context(intruder).get(), {}, &intruder_stats).ok());
  EXPECT_EQ(intruder_stats.kinds_size(), 0) << intruder_stats.ShortDebugString();

  // A collection and document of the same names in the intruder's tenant are
  // its own: writing them touches nothing of the victim's.
  CreateCollection(intruder, "isolated");
  UpsertDocumentsRequest own = seed;
  own.mutable_documents()->RemoveLast();
  own.mutable_documents(0)->set_text("the intruder's own document");
  UpsertDocumentsResponse owned;
  ASSERT_TRUE(
      documents_->UpsertDocuments(Context(intruder, absl::Seconds(60)).get(), own, &owned).ok());
  GetDocumentsRequest get;
  get.set_collection("isolated");
  get.add_ids("doc-1");
  GetDocumentsResponse got;
  ASSERT_TRUE(documents_->GetDocuments(Context(intruder).get(), get, &got).ok());
  ASSERT_EQ(got.documents_size(), 1);
  EXPECT_EQ(got.documents(0).text(), "the intruder's own document");
  SearchRequest query;
  query.set_collection("isolated");
  query.set_text("only the victim may read this");
  query.set_include_text(true);
  SearchResponse found;
  ASSERT_TRUE(search_->Search(Context(intruder).get(), query, &found).ok());
  for (const auto& hit : found.hits()) {
    EXPECT_FALSE(absl::StrContains(hit.text(), "only the victim")) << hit.ShortDebugString();
  }

  // Nothing of the victim's changed: collections, documents, search results,
  // stats, jobs, job stats and keys are exactly as before.
  EXPECT_EQ(VictimState(victim), before_with_revoked);
  GetCollectionRequest still;
  still.set_name("isolated");
  GetCollectionResponse still_there;
  EXPECT_TRUE(collections_->GetCollection(Context(victim).get(), still, &still_there).ok());
}

}  // namespace
}  // namespace quarry
