// The per-kind gauges from a real, migrated PostgreSQL, as /metrics serves
// them: the labels, the values, and a name that drops out reading 0.
#include "services/worker/kind_queue_metrics.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "services/common/pg/testing/postgres_env.h"

namespace quarry::worker {
namespace {

class KindQueueMetricsTest : public pg::DatabaseTest {
 protected:
  void Sql(const std::string& sql) {
    absl::Status done = pool_->Execute(sql);
    ASSERT_TRUE(done.ok()) << done;
  }

  // The scrape has `line` exactly.
  ::testing::AssertionResult Has(const std::string& line) {
    const std::string scrape = metrics_.Scrape();
    if (absl::StrContains(scrape, "\n" + line + "\n")) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "no line '" << line << "' in:\n" << scrape;
  }

  telemetry::Metrics metrics_;
};

TEST_F(KindQueueMetricsTest, ExportsEachKindsQueueWithKindAndSystemLabels) {
  Sql("INSERT INTO jobs (kind, state, run_at) VALUES "
      "('index_documents', 'queued', now() - interval '30 seconds'), "
      "('index_documents', 'queued', now()), "
      "('index_documents', 'queued', now() + interval '1 hour'), "
      "('index_documents', 'running', now()), "
      "('purge_deleted', 'waiting', now())");
  Sql("INSERT INTO tenants (name) VALUES ('acme')");
  Sql("INSERT INTO job_kinds (tenant_id, name, paused_until) "
      "SELECT id, 'triage', now() + interval '1 minute' FROM tenants WHERE name = 'acme'");

  KindQueueMetrics kind_metrics(metrics_, *pool_);
  ASSERT_TRUE(kind_metrics.Refresh().ok());
  EXPECT_TRUE(Has(R"(quarry_jobs_due{kind="index_documents",system="true"} 2)"));
  EXPECT_TRUE(Has(R"(quarry_jobs_scheduled{kind="index_documents",system="true"} 1)"));
  EXPECT_TRUE(Has(R"(quarry_jobs_running{kind="index_documents",system="true"} 1)"));
  EXPECT_TRUE(Has(R"(quarry_jobs_waiting{kind="purge_deleted",system="true"} 1)"));
  EXPECT_TRUE(Has(R"(quarry_jobs_due{kind="triage",system="false"} 0)"));
  EXPECT_TRUE(Has(R"(quarry_job_kind_paused{kind="triage",system="false"} 1)"));
  EXPECT_TRUE(Has(R"(quarry_job_kind_paused{kind="index_documents",system="true"} 0)"));
  EXPECT_TRUE(Has("quarry_job_kind_stats_truncated 0"));
  EXPECT_TRUE(absl::StrContains(
      metrics_.Scrape(), R"(quarry_jobs_oldest_due_seconds{kind="index_documents",system="true"} )"));

  // The tenant's kind goes away with its jobs: its gauges read 0, not their
  // last value.
  Sql("INSERT INTO jobs (tenant_id, kind) SELECT id, 'triage' FROM tenants WHERE name = 'acme'");
  ASSERT_TRUE(kind_metrics.Refresh().ok());
  EXPECT_TRUE(Has(R"(quarry_jobs_due{kind="triage",system="false"} 1)"));
  Sql("DELETE FROM jobs WHERE kind = 'triage'");
  Sql("DELETE FROM job_kinds WHERE name = 'triage'");
  ASSERT_TRUE(kind_metrics.Refresh().ok());
  EXPECT_TRUE(Has(R"(quarry_jobs_due{kind="triage",system="false"} 0)"));
  EXPECT_TRUE(Has(R"(quarry_job_kind_paused{kind="triage",system="false"} 0)"));
}

TEST_F(KindQueueMetricsTest, NamesBeyondTheMaximumAreLeftOutAndSaidSo) {
  KindQueueMetricsOptions options;
  options.max_kinds = 2;
  KindQueueMetrics kind_metrics(metrics_, *pool_, options);
  ASSERT_TRUE(kind_metrics.Refresh().ok());
  EXPECT_TRUE(Has("quarry_job_kind_stats_truncated 1"));
}

TEST_F(KindQueueMetricsTest, AFailedSnapshotIsCounted) {
  KindQueueMetrics kind_metrics(metrics_, *pool_);
  Sql("ALTER TABLE job_kinds RENAME TO job_kinds_gone");
  EXPECT_FALSE(kind_metrics.Refresh().ok());
  EXPECT_TRUE(Has("quarry_job_kind_stats_failures_total 1"));
}

}  // namespace
}  // namespace quarry::worker
