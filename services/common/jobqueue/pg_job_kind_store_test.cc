// The job_kinds table and the limit-aware claim on a real, migrated
// PostgreSQL: registration rules, tenant isolation, and the cluster-wide
// concurrency and per-minute limits with several claimers competing.
#include "services/common/jobqueue/pg_job_kind_store.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/jobqueue/pg_job_store.h"
#include "services/common/model/job_kinds.h"
#include "services/common/pg/testing/postgres_env.h"

namespace quarry::jobqueue {
namespace {

using pgjobs::ClaimRequest;

class PgJobKindStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = pg::NewTestDatabase(/*pool_size=*/8);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    for (const char* name : {"acme", "other"}) {
      auto id = db_.pool->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
        return txn.exec_params1("INSERT INTO tenants (name) VALUES ($1) RETURNING id", name)[0]
            .as<int64_t>();
      });
      ASSERT_TRUE(id.ok()) << id.status();
      tenants_.push_back(*id);
    }
  }

  template <typename F>
  auto Txn(F f) {
    return db_.pool->WithTransaction(f);
  }

  absl::StatusOr<JobKind> Create(int64_t tenant, JobKind kind) {
    return Txn([&](pqxx::work& txn) { return pgkinds::Create(txn, tenant, kind, "kind.name"); });
  }

  void Enqueue(int64_t tenant, const std::string& kind, int n, int64_t cost = 1) {
    auto done = Txn([&](pqxx::work& txn) -> absl::Status {
      for (int i = 0; i < n; ++i) {
        txn.exec_params("INSERT INTO jobs (tenant_id, kind, cost) VALUES ($1, $2, $3)", tenant,
                        kind, cost);
      }
      return absl::OkStatus();
    });
    ASSERT_TRUE(done.ok()) << done;
  }

  absl::StatusOr<std::vector<Job>> Claim(const ClaimRequest& request) {
    return Txn([&](pqxx::work& txn) -> absl::StatusOr<std::vector<Job>> {
      return pgjobs::Claim(txn, request);
    });
  }

  ClaimRequest For(int64_t tenant, const std::string& kind, int max_jobs) {
    ClaimRequest request;
    request.owner = "w";
    request.kinds = {kind};
    request.max_jobs = max_jobs;
    request.tenant_id = tenant;
    request.lease_from_kind = true;
    return request;
  }

  pg::TestDatabase db_;
  std::vector<int64_t> tenants_;
};

TEST_F(PgJobKindStoreTest, TheSystemKindsAreSeededWithQuarrysOwnNames) {
  auto names = Txn([](pqxx::work& txn) -> absl::StatusOr<std::vector<std::string>> {
    std::vector<std::string> out;
    for (const auto& row :
         txn.exec("SELECT name FROM job_kinds WHERE tenant_id IS NULL ORDER BY name")) {
      out.push_back(row[0].as<std::string>());
    }
    return out;
  });
  ASSERT_TRUE(names.ok()) << names.status();
  std::vector<std::string> expected(model::kJobKinds.begin(), model::kJobKinds.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(*names, expected);
}

TEST_F(PgJobKindStoreTest, RegistrationIsPerTenantAndKeepsOutOfTheSystemNamespace) {
  JobKind kind;
  kind.name = "email.send";
  kind.max_concurrency = 3;
  auto created = Create(tenants_[0], kind);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->tenant_id, tenants_[0]);
  EXPECT_EQ(created->max_concurrency, 3);
  EXPECT_EQ(Create(tenants_[0], kind).status().code(), absl::StatusCode::kAlreadyExists);
  // The other tenant may use the same name for a kind of its own.
  EXPECT_TRUE(Create(tenants_[1], kind).ok());
  // ...but sees only its own: a tenant's kind is invisible to the other.
  JobKind private_kind;
  private_kind.name = "acme.only";
  ASSERT_TRUE(Create(tenants_[0], private_kind).ok());
  auto theirs = Txn([&](pqxx::work& txn) { return pgkinds::Get(txn, tenants_[1], "acme.only"); });
  EXPECT_EQ(theirs.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(theirs.status().message(), "job kind \"acme.only\" not found");

  for (const char* reserved : {"index_documents", "quarry.future"}) {
    JobKind system;
    system.name = reserved;
    absl::Status s = Create(tenants_[0], system).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << reserved;
    EXPECT_EQ(s.message().substr(0, 11), "kind.name: ") << s;
  }
  // System kinds are visible to every tenant, and cannot be changed or deleted.
  auto system = Txn([&](pqxx::work& txn) { return pgkinds::Get(txn, tenants_[1], "purge_deleted"); });
  ASSERT_TRUE(system.ok()) << system.status();
  EXPECT_TRUE(system->system());
  JobKind change;
  change.name = "purge_deleted";
  EXPECT_EQ(Txn([&](pqxx::work& txn) { return pgkinds::Update(txn, tenants_[0], change); })
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Txn([&](pqxx::work& txn) { return pgkinds::Delete(txn, tenants_[0], "purge_deleted"); })
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(PgJobKindStoreTest, UpdateReplacesSettingsAndDeleteWaitsForUnfinishedJobs) {
  JobKind kind;
  kind.name = "report";
  ASSERT_TRUE(Create(tenants_[0], kind).ok());
  kind.description = "weekly report";
  kind.starts_per_minute = 60;
  auto updated = Txn([&](pqxx::work& txn) { return pgkinds::Update(txn, tenants_[0], kind); });
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->description, "weekly report");
  EXPECT_EQ(updated->starts_per_minute, 60);
  EXPECT_EQ(Txn([&](pqxx::work& txn) { return pgkinds::Update(txn, tenants_[1], kind); })
                .status()
                .code(),
            absl::StatusCode::kNotFound);

  Enqueue(tenants_[0], "report", 1);
  absl::Status refused =
      Txn([&](pqxx::work& txn) { return pgkinds::Delete(txn, tenants_[0], "report"); });
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("1 queued or running"), std::string::npos) << refused;
  ASSERT_TRUE(Txn([&](pqxx::work& txn) -> absl::Status {
                txn.exec("UPDATE jobs SET state = 'cancelled', finished_at = now()");
                return absl::OkStatus();
              }).ok());
  EXPECT_TRUE(Txn([&](pqxx::work& txn) { return pgkinds::Delete(txn, tenants_[0], "report"); })
                  .ok());
  EXPECT_EQ(Txn([&](pqxx::work& txn) { return pgkinds::Get(txn, tenants_[0], "report"); })
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(PgJobKindStoreTest, ATenantsWorkerClaimsOnlyItsTenantsJobsOfItsOwnKinds) {
  JobKind kind;
  kind.name = "scan";
  kind.attempt_timeout = absl::Seconds(90);
  ASSERT_TRUE(Create(tenants_[0], kind).ok());
  ASSERT_TRUE(Create(tenants_[1], kind).ok());
  Enqueue(tenants_[0], "scan", 2);
  Enqueue(tenants_[1], "scan", 2);
  Enqueue(tenants_[0], "index_documents", 2);  // a system kind: Quarry's worker runs it
  auto claimed = Claim(ClaimRequest{"w", {"scan", "index_documents"}, 10, absl::Seconds(30),
                                    tenants_[0], /*lease_from_kind=*/true});
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 2u);
  for (const Job& job : *claimed) {
    EXPECT_EQ(job.tenant_id, tenants_[0]);
    EXPECT_EQ(job.kind, "scan");
    ASSERT_TRUE(job.lease_expires_at.has_value());
    // Leased for the kind's attempt timeout, not the request's default.
    EXPECT_GT(*job.lease_expires_at - *job.started_at, absl::Seconds(80));
  }
}

TEST_F(PgJobKindStoreTest, MaxConcurrencyHoldsWithClaimersCompeting) {
  JobKind kind;
  kind.name = "gpu";
  kind.max_concurrency = 3;
  ASSERT_TRUE(Create(tenants_[0], kind).ok());
  Enqueue(tenants_[0], "gpu", 20);
  // Six claimers at once, each asking for up to 4.
  std::atomic<int> total{0};
  std::vector<std::thread> claimers;
  for (int i = 0; i < 6; ++i) {
    claimers.emplace_back([&] {
      auto claimed = Claim(For(tenants_[0], "gpu", 4));
      EXPECT_TRUE(claimed.ok()) << claimed.status();
      if (claimed.ok()) total += static_cast<int>(claimed->size());
    });
  }
  for (auto& t : claimers) t.join();
  EXPECT_EQ(total.load(), 3);
  // One finishes: exactly one more may start.
  ASSERT_TRUE(Txn([&](pqxx::work& txn) -> absl::Status {
                txn.exec("UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE id = "
                         "(SELECT min(id) FROM jobs WHERE state = 'running')");
                return absl::OkStatus();
              }).ok());
  auto more = Claim(For(tenants_[0], "gpu", 4));
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(more->size(), 1u);
}

TEST_F(PgJobKindStoreTest, StartsAndCostPerMinuteHoldWithClaimersCompeting) {
  JobKind kind;
  kind.name = "llm";
  kind.starts_per_minute = 5;
  ASSERT_TRUE(Create(tenants_[0], kind).ok());
  Enqueue(tenants_[0], "llm", 12);
  std::atomic<int> total{0};
  std::vector<std::thread> claimers;
  for (int i = 0; i < 4; ++i) {
    claimers.emplace_back([&] {
      for (int round = 0; round < 3; ++round) {
        auto claimed = Claim(For(tenants_[0], "llm", 2));
        EXPECT_TRUE(claimed.ok()) << claimed.status();
        if (claimed.ok()) total += static_cast<int>(claimed->size());
      }
    });
  }
  for (auto& t : claimers) t.join();
  EXPECT_EQ(total.load(), 5);

  // Cost: a budget of 10 units a minute, jobs costing 4: two fit, a third waits.
  JobKind tokens;
  tokens.name = "tokens";
  tokens.cost_per_minute = 10;
  ASSERT_TRUE(Create(tenants_[0], tokens).ok());
  Enqueue(tenants_[0], "tokens", 5, /*cost=*/4);
  auto first = Claim(For(tenants_[0], "tokens", 5));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 2u);
  auto second = Claim(For(tenants_[0], "tokens", 5));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->size(), 0u);
  // The window slides: starts older than a minute no longer count.
  ASSERT_TRUE(Txn([&](pqxx::work& txn) -> absl::Status {
                txn.exec("UPDATE job_kind_starts SET started_at = started_at - interval '61 s'");
                return absl::OkStatus();
              }).ok());
  auto later = Claim(For(tenants_[0], "tokens", 5));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->size(), 2u);
}

TEST_F(PgJobKindStoreTest, APausedKindStartsNothingUntilThePauseEnds) {
  JobKind kind;
  kind.name = "crawl";
  auto created = Create(tenants_[0], kind);
  ASSERT_TRUE(created.ok());
  Enqueue(tenants_[0], "crawl", 2);
  ASSERT_TRUE(Txn([&](pqxx::work& txn) -> absl::Status {
                pgkinds::PauseUntil(txn, created->id, absl::Now() + absl::Hours(1));
                return absl::OkStatus();
              }).ok());
  auto claimed = Claim(For(tenants_[0], "crawl", 2));
  ASSERT_TRUE(claimed.ok());
  EXPECT_TRUE(claimed->empty());
  ASSERT_TRUE(Txn([&](pqxx::work& txn) -> absl::Status {
                txn.exec("UPDATE job_kinds SET paused_until = now() - interval '1 s'");
                return absl::OkStatus();
              }).ok());
  claimed = Claim(For(tenants_[0], "crawl", 2));
  ASSERT_TRUE(claimed.ok());
  EXPECT_EQ(claimed->size(), 2u);
}

}  // namespace
}  // namespace quarry::jobqueue
