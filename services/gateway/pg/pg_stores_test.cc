// The PostgreSQL stores on a real, migrated database: the behaviours the
// core relies on and the fakes (testing/fakes.h) copy, so that core_test's
// fakes stay true to what PostgreSQL does.
#include "services/gateway/pg/pg_stores.h"

#include <memory>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/pg/testing/postgres_env.h"
#include "services/gateway/store.h"

namespace quarry::gateway {
namespace {

namespace v1 = quarry::gateway::v1;

class PgStoresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = pg::NewTestDatabase(/*pool_size=*/4);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    queue_ = std::make_unique<jobqueue::PgJobQueue>(*db_.pool, db_.conninfo);
    collections_ = std::make_unique<PgCollectionStore>(*db_.pool);
    documents_ = std::make_unique<PgDocumentStore>(*db_.pool);
    jobs_ = std::make_unique<PgJobStore>(*db_.pool, *queue_);
    for (const char* name : {"acme", "other"}) {
      auto id = db_.pool->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
        return store::EnsureTenant(txn, name);
      });
      ASSERT_TRUE(id.ok()) << id.status();
      tenants_.push_back(*id);
    }
  }

  store::CollectionRecord Create(const std::string& name) {
    store::CollectionRecord wanted;
    wanted.tenant_id = tenants_[0];
    wanted.name = name;
    wanted.dimension = 4;
    wanted.metric = "cosine";
    wanted.model = "hashing-4";
    auto created = collections_->Insert(wanted);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : store::CollectionRecord{};
  }

  DocumentStore::JobFor IndexJob() {
    return [this](const store::CollectionRecord& collection) -> absl::StatusOr<jobqueue::JobSpec> {
      jobqueue::JobSpec spec;
      spec.tenant_id = tenants_[0];
      spec.kind = "index_documents";
      spec.payload_json = absl::StrCat(R"({"collection_id":)", collection.id, "}");
      return spec;
    };
  }

  static google::protobuf::RepeatedPtrField<v1::Document> Docs(
      const std::vector<std::pair<std::string, std::string>>& docs) {
    google::protobuf::RepeatedPtrField<v1::Document> out;
    for (const auto& [id, text] : docs) {
      v1::Document* doc = out.Add();
      doc->set_id(id);
      doc->set_text(text);
    }
    return out;
  }

  static JobStore::KindRule AnyKind() {
    return [](const jobqueue::JobKind&, jobqueue::JobSpec&) { return absl::OkStatus(); };
  }

  // One job through the batch interface, as Jobs::Submit sends it.
  absl::StatusOr<jobqueue::pgjobs::EnqueueResult> EnqueueOne(
      const jobqueue::JobSpec& spec, const std::optional<std::string>& collection,
      JobStore::Bind bind, JobStore::KindRule rule) {
    JobStore::NewJob job;
    job.spec = spec;
    job.collection = collection;
    job.bind = std::move(bind);
    job.rule = std::move(rule);
    auto enqueued = jobs_->Enqueue({std::move(job)});
    if (!enqueued.ok()) return enqueued.status();
    return enqueued->front();
  }

  std::string StateOf(int64_t id) {
    auto job = jobs_->Get(tenants_[0], id);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? std::string(jobqueue::JobStateName(job->state)) : "";
  }

  void Finish(int64_t id, const std::string& state) {
    auto done = db_.pool->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int> {
      txn.exec_params("UPDATE jobs SET state = $2, finished_at = now() WHERE id = $1", id, state);
      return 0;
    });
    ASSERT_TRUE(done.ok()) << done.status();
  }

  int64_t JobCount() {
    auto count = db_.pool->WithTransaction([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
      return txn.exec1("SELECT count(*) FROM jobs")[0].as<int64_t>();
    });
    EXPECT_TRUE(count.ok()) << count.status();
    return count.value_or(-1);
  }

  pg::TestDatabase db_;
  std::unique_ptr<jobqueue::PgJobQueue> queue_;
  std::unique_ptr<PgCollectionStore> collections_;
  std::unique_ptr<PgDocumentStore> documents_;
  std::unique_ptr<PgJobStore> jobs_;
  std::vector<int64_t> tenants_;
};

TEST_F(PgStoresTest, CollectionsAreTheTenantsOwn) {
  Create("docs");
  store::CollectionRecord again;
  again.tenant_id = tenants_[0];
  again.name = "docs";
  again.dimension = 4;
  again.metric = "cosine";
  again.model = "hashing-4";
  EXPECT_EQ(collections_->Insert(again).status().code(), absl::StatusCode::kAlreadyExists);
  auto theirs = collections_->Find(tenants_[1], "docs");
  EXPECT_EQ(theirs.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(theirs.status().message(), "collection \"docs\" not found");
}

TEST_F(PgStoresTest, UpsertOfUnchangedDocumentsLeavesThemAloneButEnqueuesTheJob) {
  Create("docs");
  auto first = documents_->Upsert(tenants_[0], "docs", Docs({{"a", "alpha"}, {"b", "beta"}}),
                                  IndexJob());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->result.inserted, 2);
  EXPECT_GT(first->result.max_seq, 0);
  auto same = documents_->Upsert(tenants_[0], "docs", Docs({{"a", "alpha"}, {"b", "beta"}}),
                                 IndexJob());
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->result.unchanged, 2);
  EXPECT_EQ(same->result.max_seq, 0);
  EXPECT_EQ(JobCount(), 2);
}

TEST_F(PgStoresTest, AWriteRefusedByItsJobCheckWritesNothing) {
  Create("docs");
  auto refused = documents_->Upsert(
      tenants_[0], "docs", Docs({{"a", "alpha"}}),
      [](const store::CollectionRecord&) -> absl::StatusOr<jobqueue::JobSpec> {
        return absl::InvalidArgumentError("documents[0].vector: wrong dimension");
      });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JobCount(), 0);
  auto collection = collections_->Find(tenants_[0], "docs");
  ASSERT_TRUE(collection.ok());
  auto docs = documents_->Get(collection->id, {"a"});
  ASSERT_TRUE(docs.ok());
  EXPECT_TRUE(docs->empty());
}

TEST_F(PgStoresTest, NoWriteLandsInADeletedCollection) {
  const store::CollectionRecord collection = Create("docs");
  jobqueue::JobSpec purge;
  purge.tenant_id = tenants_[0];
  purge.kind = "purge_deleted";
  auto deleted = collections_->Delete(tenants_[0], "docs", purge);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->collection.id, collection.id);
  EXPECT_GT(deleted->purge_job_id, 0);
  auto live = collections_->LiveIds({collection.id});
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE(live->empty());
  auto upsert = documents_->Upsert(tenants_[0], "docs", Docs({{"a", "alpha"}}), IndexJob());
  EXPECT_EQ(upsert.status().code(), absl::StatusCode::kNotFound);
  jobqueue::JobSpec reindex;
  reindex.tenant_id = tenants_[0];
  reindex.kind = "reindex_collection";
  auto job = EnqueueOne(reindex, "docs",
                        [](const store::CollectionRecord&, jobqueue::JobSpec&) {}, AnyKind());
  EXPECT_EQ(job.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(JobCount(), 1);  // the purge only
}

TEST_F(PgStoresTest, EnqueueBindsTheCollectionAndHonoursTheIdempotencyKey) {
  const store::CollectionRecord collection = Create("docs");
  jobqueue::JobSpec spec;
  spec.tenant_id = tenants_[0];
  spec.kind = "reindex_collection";
  spec.idempotency_key = "nightly";
  auto bind = [](const store::CollectionRecord& c, jobqueue::JobSpec& bound) {
    bound.payload_json = absl::StrCat(R"({"collection_id": )", c.id, "}");
  };
  auto first = EnqueueOne(spec, "docs", bind, AnyKind());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);
  EXPECT_THAT(first->job.payload_json, ::testing::HasSubstr(absl::StrCat(collection.id)));
  auto again = EnqueueOne(spec, "docs", bind, AnyKind());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->job.id, first->job.id);
  // Another tenant cannot read it.
  EXPECT_EQ(jobs_->Get(tenants_[1], first->job.id).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PgStoresTest, EnqueueNeedsAKindTheTenantSeesAndAppliesItsRule) {
  PgJobKindStore kinds(*db_.pool);
  jobqueue::JobKind mine;
  mine.name = "ticket.triage";
  mine.max_attempts = 9;
  ASSERT_TRUE(kinds.Create(tenants_[0], mine).ok());
  jobqueue::JobSpec spec;
  spec.tenant_id = tenants_[0];
  spec.kind = "ticket.triage";
  auto defaults = [](const jobqueue::JobKind& kind, jobqueue::JobSpec& bound) {
    bound.max_attempts = kind.max_attempts;
    return absl::OkStatus();
  };
  auto enqueued = EnqueueOne(spec, std::nullopt, nullptr, defaults);
  ASSERT_TRUE(enqueued.ok()) << enqueued.status();
  EXPECT_EQ(enqueued->job.max_attempts, 9);
  // The other tenant does not see the kind.
  spec.tenant_id = tenants_[1];
  auto theirs = EnqueueOne(spec, std::nullopt, nullptr, defaults);
  EXPECT_EQ(theirs.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(theirs.status().message(), "job kind \"ticket.triage\" not found");
  // A refusing rule enqueues nothing.
  spec.tenant_id = tenants_[0];
  auto refused = EnqueueOne(spec, std::nullopt, nullptr,
                            [](const jobqueue::JobKind&, jobqueue::JobSpec&) {
                              return absl::InvalidArgumentError("cost: too much");
                            });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JobCount(), 1);
  // The kind cannot go while its job is queued.
  EXPECT_EQ(kinds.Delete(tenants_[0], "ticket.triage").code(),
            absl::StatusCode::kFailedPrecondition);
}

// A collection delete tombstones every document of the collection while the
// worker writes embeddings into some of them. Both lock document rows and the
// document-order lock; taken in different orders (a row, then the order
// lock) they deadlocked, and PostgreSQL aborted one of them.
TEST_F(PgStoresTest, ADeleteRacingAnotherDocumentWriterDoesNotDeadlock) {
  Create("docs");
  ASSERT_TRUE(
      documents_->Upsert(tenants_[0], "docs", Docs({{"a", "alpha"}, {"b", "beta"}}), IndexJob())
          .ok());
  // The other writer, as the worker's embedding write does it: no collection
  // lock, a document row first (and, through the trigger, the order lock).
  pqxx::connection other(db_.conninfo);
  pqxx::work writer(other);
  writer.exec("UPDATE documents SET embedding_model = 'm' WHERE doc_id = 'b'");

  jobqueue::JobSpec purge;
  purge.tenant_id = tenants_[0];
  purge.kind = "purge_deleted";
  absl::StatusOr<DeletedCollection> deleted;
  std::thread deleter([&] { deleted = collections_->Delete(tenants_[0], "docs", purge); });
  absl::SleepFor(absl::Milliseconds(500));  // the delete is waiting now
  // The writer goes on to a row the delete's statement reaches first.
  writer.exec("UPDATE documents SET embedding_model = 'm' WHERE doc_id = 'a'");
  writer.commit();
  deleter.join();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  auto live = db_.pool->WithTransaction([](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    return txn.exec1("SELECT count(*) FROM documents WHERE NOT deleted")[0].as<int64_t>();
  });
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(*live, 0);
}

TEST_F(PgStoresTest, AJobWaitsForItsDependenciesAndDiesWithThem) {
  // A batch: fetch, then parse after fetch, then report after parse and an
  // outside job; all in one transaction.
  jobqueue::JobSpec base;
  base.tenant_id = tenants_[0];
  base.kind = "refresh_stats";
  auto outside = EnqueueOne(base, std::nullopt, nullptr, AnyKind());
  ASSERT_TRUE(outside.ok()) << outside.status();
  std::vector<JobStore::NewJob> batch(3);
  for (auto& job : batch) {
    job.spec = base;
    job.rule = AnyKind();
  }
  batch[1].after = {0};
  batch[2].after = {1};
  batch[2].spec.depends_on = {outside->job.id};
  auto graph = jobs_->Enqueue(batch);
  ASSERT_TRUE(graph.ok()) << graph.status();
  ASSERT_EQ(graph->size(), 3u);
  const int64_t fetch = (*graph)[0].job.id, parse = (*graph)[1].job.id,
                report = (*graph)[2].job.id;
  EXPECT_EQ(StateOf(fetch), "queued");
  EXPECT_EQ(StateOf(parse), "waiting");
  EXPECT_EQ(StateOf(report), "waiting");
  auto read = jobs_->Get(tenants_[0], report);
  ASSERT_TRUE(read.ok());
  EXPECT_THAT(read->depends_on, ::testing::UnorderedElementsAre(outside->job.id, parse));

  // Each success releases what waited only for it.
  Finish(fetch, "succeeded");
  EXPECT_EQ(StateOf(parse), "queued");
  EXPECT_EQ(StateOf(report), "waiting");
  Finish(parse, "succeeded");
  EXPECT_EQ(StateOf(report), "waiting");  // the outside job still runs
  Finish(outside->job.id, "succeeded");
  EXPECT_EQ(StateOf(report), "queued");

  // A dead dependency kills its waiting dependents down the graph.
  auto root = EnqueueOne(base, std::nullopt, nullptr, AnyKind());
  ASSERT_TRUE(root.ok());
  jobqueue::JobSpec child = base;
  child.depends_on = {root->job.id};
  auto mid = EnqueueOne(child, std::nullopt, nullptr, AnyKind());
  ASSERT_TRUE(mid.ok());
  child.depends_on = {mid->job.id};
  auto leaf = EnqueueOne(child, std::nullopt, nullptr, AnyKind());
  ASSERT_TRUE(leaf.ok());
  Finish(root->job.id, "dead");
  EXPECT_EQ(StateOf(mid->job.id), "dead");
  EXPECT_EQ(StateOf(leaf->job.id), "dead");
  auto dead_leaf = jobs_->Get(tenants_[0], leaf->job.id);
  ASSERT_TRUE(dead_leaf.ok());
  EXPECT_EQ(dead_leaf->last_error, absl::StrCat("dependency ", mid->job.id, " ended DEAD"));

  // Submitting after a job that already ended DEAD, or one of another
  // tenant's, is refused and stores nothing.
  const int64_t before = JobCount();
  child.depends_on = {root->job.id};
  auto late = EnqueueOne(child, std::nullopt, nullptr, AnyKind());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition) << late.status();
  EXPECT_EQ(late.status().message(),
            absl::StrCat("depends_on: job ", root->job.id, " already ended DEAD"));
  jobqueue::JobSpec theirs = base;
  theirs.tenant_id = tenants_[1];
  theirs.depends_on = {fetch};
  EXPECT_EQ(EnqueueOne(theirs, std::nullopt, nullptr, AnyKind()).status().code(),
            absl::StatusCode::kNotFound);
  // All or none: the second job's refusal takes the first with it.
  std::vector<JobStore::NewJob> half(2);
  for (auto& job : half) {
    job.spec = base;
    job.rule = AnyKind();
  }
  half[1].spec.depends_on = {root->job.id};
  half[1].depends_on_field = "jobs[1].job.depends_on";
  auto refused = jobs_->Enqueue(half);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::StartsWith("jobs[1].job.depends_on: "));
  EXPECT_EQ(JobCount(), before);

  // Re-driving a dead dependent waits again for what has not succeeded.
  auto retried = jobs_->Retry(tenants_[0], mid->job.id);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->state, jobqueue::JobState::kWaiting);
  auto retried_root = jobs_->Retry(tenants_[0], root->job.id);
  ASSERT_TRUE(retried_root.ok());
  EXPECT_EQ(retried_root->state, jobqueue::JobState::kQueued);
  Finish(root->job.id, "succeeded");
  EXPECT_EQ(StateOf(mid->job.id), "queued");
  // Cancelling a waiting job ends it at once.
  auto waiting = EnqueueOne(child, std::nullopt, nullptr, AnyKind());
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  EXPECT_EQ(waiting->job.state, jobqueue::JobState::kQueued);  // root succeeded
  child.depends_on = {mid->job.id};
  auto waits = EnqueueOne(child, std::nullopt, nullptr, AnyKind());
  ASSERT_TRUE(waits.ok());
  EXPECT_EQ(waits->job.state, jobqueue::JobState::kWaiting);
  auto cancelled = jobs_->Cancel(tenants_[0], waits->job.id);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->state, jobqueue::JobState::kCancelled);
}

}  // namespace
}  // namespace quarry::gateway
