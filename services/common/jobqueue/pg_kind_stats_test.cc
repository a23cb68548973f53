// The per-kind queue snapshot on a real, migrated PostgreSQL: due against
// scheduled against waiting against running, the oldest due job's age, the
// rate-limit pause, and which names are listed.
#include "services/common/jobqueue/pg_kind_stats.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/common/pg/testing/postgres_env.h"

namespace quarry::jobqueue {
namespace {

using pgstats::KindQueueStats;

class PgKindStatsTest : public pg::DatabaseTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(DatabaseTest::SetUp());
    for (const char* name : {"acme", "other"}) {
      auto id = pool_->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
        return txn.exec_params1("INSERT INTO tenants (name) VALUES ($1) RETURNING id", name)[0]
            .as<int64_t>();
      });
      ASSERT_TRUE(id.ok()) << id.status();
      tenants_.push_back(*id);
    }
  }

  // `n` jobs of `kind` in `state`, runnable at now() + `run_at_offset`
  // (an SQL interval).
  void Insert(std::optional<int64_t> tenant, const std::string& kind, const std::string& state,
              const std::string& run_at_offset, int n = 1) {
    auto done = pool_->WithTransaction([&](pqxx::work& txn) -> absl::Status {
      for (int i = 0; i < n; ++i) {
        txn.exec_params(
            "INSERT INTO jobs (tenant_id, kind, state, run_at, waiting_for) "
            "VALUES ($1, $2, $3, now() + $4::interval, CASE WHEN $3 = 'waiting' THEN 1 ELSE 0 END)",
            tenant, kind, state, run_at_offset);
      }
      return absl::OkStatus();
    });
    ASSERT_TRUE(done.ok()) << done;
  }

  void Sql(const std::string& sql) {
    absl::Status done = pool_->Execute(sql);
    ASSERT_TRUE(done.ok()) << done;
  }

  std::vector<KindQueueStats> Read(int max_kinds = 100, bool* truncated = nullptr) {
    auto stats = pool_->WithTransaction(
        [&](pqxx::work& txn) -> absl::StatusOr<std::vector<KindQueueStats>> {
          return pgstats::ReadKindQueueStats(txn, max_kinds, truncated);
        });
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : std::vector<KindQueueStats>{};
  }

  static std::map<std::string, KindQueueStats> ByKind(const std::vector<KindQueueStats>& stats) {
    std::map<std::string, KindQueueStats> out;
    for (const auto& s : stats) out[s.kind] = s;
    return out;
  }

  std::vector<int64_t> tenants_;
};

TEST_F(PgKindStatsTest, SeparatesDueScheduledWaitingAndRunning) {
  Insert(std::nullopt, "index_documents", "queued", "-90 seconds");
  Insert(std::nullopt, "index_documents", "queued", "-5 seconds", 2);
  Insert(std::nullopt, "index_documents", "queued", "+1 hour", 4);  // a retry backing off
  Insert(std::nullopt, "index_documents", "waiting", "0 seconds", 3);
  Insert(std::nullopt, "index_documents", "running", "-1 minute", 5);
  // Finished jobs are history, not queue.
  for (const char* state : {"succeeded", "dead", "cancelled"}) {
    Insert(std::nullopt, "index_documents", state, "-1 day", 2);
  }

  auto stats = ByKind(Read());
  const KindQueueStats& index = stats.at("index_documents");
  EXPECT_TRUE(index.system);
  EXPECT_EQ(index.due, 3);
  EXPECT_EQ(index.scheduled, 4);
  EXPECT_EQ(index.waiting, 3);
  EXPECT_EQ(index.running, 5);
  // The -90 s job, measured a moment after it was inserted.
  EXPECT_GE(index.oldest_due_seconds, 90);
  EXPECT_LT(index.oldest_due_seconds, 120);
  EXPECT_FALSE(index.paused);
}

TEST_F(PgKindStatsTest, OnlyScheduledJobsAreNotDueAndHaveNoAge) {
  Insert(std::nullopt, "refresh_stats", "queued", "+10 minutes", 2);
  const KindQueueStats& stats = ByKind(Read()).at("refresh_stats");
  EXPECT_EQ(stats.due, 0);
  EXPECT_EQ(stats.scheduled, 2);
  EXPECT_EQ(stats.oldest_due_seconds, 0);
}

TEST_F(PgKindStatsTest, EveryRegisteredNameIsListedEvenWithoutJobs) {
  Sql("INSERT INTO job_kinds (tenant_id, name) VALUES (" + std::to_string(tenants_[0]) +
      ", 'triage')");
  auto stats = ByKind(Read());
  for (const char* kind : {"index_documents", "reindex_collection", "refresh_stats",
                           "purge_deleted"}) {
    ASSERT_TRUE(stats.count(kind)) << kind;
    EXPECT_TRUE(stats.at(kind).system) << kind;
    EXPECT_EQ(stats.at(kind).due + stats.at(kind).running, 0) << kind;
  }
  ASSERT_TRUE(stats.count("triage"));
  EXPECT_FALSE(stats.at("triage").system);
  EXPECT_EQ(stats.at("triage").due, 0);
}

TEST_F(PgKindStatsTest, TenantKindsOfOneNameAreCountedTogether) {
  for (int64_t tenant : tenants_) {
    Sql("INSERT INTO job_kinds (tenant_id, name) VALUES (" + std::to_string(tenant) +
        ", 'triage')");
    Insert(tenant, "triage", "queued", "-1 second", 2);
  }
  auto stats = Read();
  auto by_kind = ByKind(stats);
  EXPECT_EQ(by_kind.at("triage").due, 4);
  int rows = 0;
  for (const auto& s : stats) rows += s.kind == "triage";
  EXPECT_EQ(rows, 1);
}

TEST_F(PgKindStatsTest, APausedKindReadsPausedUntilThePauseEnds) {
  Sql("UPDATE job_kinds SET paused_until = now() + interval '1 minute' "
      "WHERE name = 'reindex_collection'");
  Sql("UPDATE job_kinds SET paused_until = now() - interval '1 minute' "
      "WHERE name = 'purge_deleted'");
  auto stats = ByKind(Read());
  EXPECT_TRUE(stats.at("reindex_collection").paused);
  EXPECT_FALSE(stats.at("purge_deleted").paused);
  EXPECT_FALSE(stats.at("index_documents").paused);
}

TEST_F(PgKindStatsTest, AJobOfAnUnregisteredNameIsListedAsNotSystem) {
  Insert(tenants_[0], "gone", "queued", "-1 second");
  const KindQueueStats& stats = ByKind(Read()).at("gone");
  EXPECT_FALSE(stats.system);
  EXPECT_EQ(stats.due, 1);
}

TEST_F(PgKindStatsTest, TheListIsCutAfterSystemKindsAndTheBusiestNames) {
  for (const char* name : {"quiet", "busy", "busier"}) {
    Sql("INSERT INTO job_kinds (tenant_id, name) VALUES (" + std::to_string(tenants_[0]) +
        ", '" + name + "')");
  }
  Insert(tenants_[0], "busy", "queued", "-1 second", 1);
  Insert(tenants_[0], "busier", "running", "-1 second", 2);

  bool truncated = false;
  auto stats = Read(/*max_kinds=*/6, &truncated);
  EXPECT_TRUE(truncated);
  ASSERT_EQ(stats.size(), 6u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(stats[i].system) << stats[i].kind;
  EXPECT_EQ(stats[4].kind, "busier");
  EXPECT_EQ(stats[5].kind, "busy");

  Read(/*max_kinds=*/7, &truncated);
  EXPECT_FALSE(truncated);
}

}  // namespace
}  // namespace quarry::jobqueue
