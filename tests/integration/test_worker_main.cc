// A worker process for the multi-process queue tests: the real Runner and
// PgJobQueue with two test job kinds whose effects are recorded in
// PostgreSQL, so the test can count how often each job ran and took effect.
//   effect: records one execution and its (idempotent) effect.
//   slow:   like effect, after --slow_ms (stopping early if asked to).
// Runs until SIGTERM, then drains (exit 0).
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "services/common/jobqueue/pg_job_queue.h"
#include "services/common/pg/pool.h"
#include "services/common/server/server.h"
#include "services/worker/runner.h"

ABSL_FLAG(std::string, conninfo, "", "PostgreSQL connection string.");
ABSL_FLAG(std::string, owner, "test-worker", "Lease owner id.");
ABSL_FLAG(int, threads, 4, "Handler threads.");
ABSL_FLAG(absl::Duration, lease, absl::Seconds(30), "Lease length.");
ABSL_FLAG(absl::Duration, heartbeat, absl::Seconds(5), "Heartbeat interval.");
ABSL_FLAG(int, slow_ms, 3000, "Run time of a slow job.");

namespace {

// Records one execution (every run) and the job's effect (once per job).
absl::Status RecordEffect(quarry::pg::Pool& pool, int64_t job_id, const std::string& owner) {
  return pool.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    txn.exec_params("INSERT INTO test_executions (job_id, worker) VALUES ($1, $2)", job_id, owner);
    txn.exec_params("INSERT INTO test_effects (job_id) VALUES ($1) ON CONFLICT DO NOTHING", job_id);
    return absl::OkStatus();
  });
}

class EffectHandler final : public quarry::worker::JobHandler {
 public:
  EffectHandler(quarry::pg::Pool& pool, std::string kind, absl::Duration delay)
      : pool_(pool), kind_(std::move(kind)), delay_(delay) {}
  absl::string_view kind() const override { return kind_; }
  absl::StatusOr<std::string> Run(quarry::worker::JobContext& context) override {
    const absl::Time end = absl::Now() + delay_;
    while (absl::Now() < end) {
      if (context.ShouldStop()) return absl::CancelledError("stopped");
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (absl::Status s = RecordEffect(pool_, context.job().id, absl::GetFlag(FLAGS_owner));
        !s.ok()) {
      return s;
    }
    return std::string("{}");
  }

 private:
  quarry::pg::Pool& pool_;
  const std::string kind_;
  const absl::Duration delay_;
};

}  // namespace

int main(int argc, char** argv) {
  quarry::server::ShutdownSignals signals;
  absl::ParseCommandLine(argc, argv);
  quarry::pg::PoolOptions pool_options;
  pool_options.conninfo = absl::GetFlag(FLAGS_conninfo);
  pool_options.size = absl::GetFlag(FLAGS_threads) + 2;
  auto pool = quarry::pg::Pool::Create(pool_options);
  if (!pool.ok()) {
    std::cerr << "test_worker: " << pool.status() << "\n";
    return 1;
  }
  quarry::jobqueue::PgJobQueue queue(**pool, pool_options.conninfo);
  quarry::worker::HandlerRegistry registry;
  (void)registry.Register(std::make_unique<EffectHandler>(**pool, "effect", absl::ZeroDuration()));
  (void)registry.Register(std::make_unique<EffectHandler>(
      **pool, "slow", absl::Milliseconds(absl::GetFlag(FLAGS_slow_ms))));
  quarry::worker::RunnerOptions options;
  options.owner = absl::GetFlag(FLAGS_owner);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.lease = absl::GetFlag(FLAGS_lease);
  options.heartbeat = absl::GetFlag(FLAGS_heartbeat);
  options.poll_interval = absl::Milliseconds(500);
  options.recover_interval = absl::Milliseconds(500);
  quarry::worker::Runner runner(queue, registry, options);
  runner.Start();
  std::cerr << "test_worker " << options.owner << " running\n";
  signals.Wait();
  auto [finished, released] = runner.Drain(absl::Seconds(5));
  std::cerr << "test_worker " << options.owner << " drained: " << finished << " finished, "
            << released << " released\n";
  return 0;
}
