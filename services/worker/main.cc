// The worker service: runs jobs claimed from the PostgreSQL queue.
#include <unistd.h>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "services/common/crypto/sha256.h"
#include "services/common/embedding_client/embedding_client.h"
#include "services/common/jobqueue/pg_job_queue.h"
#include "services/common/server/database.h"
#include "services/common/server/env_flags.h"
#include "services/common/server/runtime.h"
#include "services/common/server/server_flags.h"
#include "services/worker/admin_service.h"
#include "services/worker/handlers/handlers.h"
#include "services/worker/kind_queue_metrics.h"
#include "services/worker/runner.h"
#include "services/worker/scheduler.h"
#include "services/worker/worker_metrics.h"
#include "services/worker/worker_options.h"

QUARRY_DEFINE_SERVER_FLAGS(50081, 51081);
ABSL_FLAG(std::string, database_url, "",
          "libpq connection string of PostgreSQL (no password: use a pgpass file).");
ABSL_FLAG(std::string, embedding_target, "127.0.0.1:50061",
          "The embedding service (dns:///name:port for every replica).");
ABSL_FLAG(int, threads, 4, "Jobs run at once by this process.");
ABSL_FLAG(absl::Duration, lease, absl::Seconds(30),
          "How long a claimed job stays ours without a heartbeat.");
ABSL_FLAG(bool, scheduler, true,
          "Run the periodic-job scheduler here (safe on every replica).");
ABSL_FLAG(absl::Duration, scheduler_poll, absl::Seconds(5),
          "How often the scheduler looks for due schedules.");
ABSL_FLAG(absl::Duration, purge_retention, absl::Hours(1),
          "Tombstones younger than this are kept by purge_deleted.");

int main(int argc, char** argv) {
  quarry::server::ShutdownSignals signals;
  quarry::server::ParseFlagsWithEnvironment(argc, argv);
  using quarry::server::ExitOnStartupError;

  quarry::worker::WorkerOptions worker;
  worker.database_url = absl::GetFlag(FLAGS_database_url);
  worker.embedding_target = absl::GetFlag(FLAGS_embedding_target);
  worker.threads = absl::GetFlag(FLAGS_threads);
  worker.lease = absl::GetFlag(FLAGS_lease);
  worker.purge_retention = absl::GetFlag(FLAGS_purge_retention);
  worker.scheduler = absl::GetFlag(FLAGS_scheduler);
  worker.scheduler_poll = absl::GetFlag(FLAGS_scheduler_poll);
  if (absl::Status valid = worker.Validate(); !valid.ok()) {
    ExitOnStartupError("configuration", valid);
  }

  auto runtime = quarry::server::Runtime::Create(QuarryServerOptionsFromFlags("worker"));
  if (!runtime.ok()) ExitOnStartupError("configuration", runtime.status());

  // Connections for the handlers, heartbeats, the dispatcher, metrics, the
  // per-kind snapshot and the scheduler.
  auto pool = quarry::server::OpenDatabaseOrExit(worker.database_url, worker.threads + 5,
                                                 absl::Seconds(60));

  quarry::jobqueue::PgJobQueue queue(*pool, worker.database_url);
  // Jobs wait out an embedding outage (up to the embed timeout) instead of
  // spending their attempts on it.
  quarry::GrpcEmbeddingClient embedder(
      (*runtime)->NewChannel(worker.embedding_target,
                             {"quarry.embedding.v1.EmbeddingService"}),
      /*wait_for_ready=*/true);
  quarry::worker::HandlerRegistry registry;
  quarry::worker::HandlerOptions handler_options;
  handler_options.purge_retention = worker.purge_retention;
  if (auto status = quarry::worker::RegisterHandlers(registry, *pool, embedder, handler_options);
      !status.ok()) {
    ExitOnStartupError("handlers", status);
  }

  quarry::worker::WorkerMetrics metrics((*runtime)->metrics(), *pool);
  char host[256] = "worker";
  gethostname(host, sizeof(host) - 1);
  quarry::worker::RunnerOptions options;
  options.owner = absl::StrCat(host, ":", getpid(), ":",
                               quarry::crypto::Sha256Hex(quarry::crypto::RandomBytes(8)).substr(0, 8));
  options.threads = worker.threads;
  options.lease = worker.lease;
  options.heartbeat = worker.lease / 4;
  options.backoff.initial = absl::Seconds(2);
  options.on_event = [&metrics](const quarry::worker::JobEvent& e) { metrics.OnEvent(e); };
  options.on_leases_recovered = [&metrics](int n) { metrics.OnLeasesRecovered(n); };
  quarry::worker::Runner runner(queue, registry, options);

  const absl::Duration grace = absl::GetFlag(FLAGS_shutdown_grace);
  quarry::worker::AdminService admin(runner, grace);
  auto server = (*runtime)->StartServer({&admin});
  if (!server.ok()) ExitOnStartupError("gRPC server", server.status());
  runner.Start();
  quarry::worker::SchedulerOptions scheduler_options;
  scheduler_options.poll = worker.scheduler_poll;
  scheduler_options.on_tick = [&metrics](const quarry::worker::TickEvent& e) { metrics.OnTick(e); };
  quarry::worker::Scheduler scheduler(*pool, scheduler_options);
  if (worker.scheduler) scheduler.Start();
  metrics.StartQueueDepthPolling(absl::Seconds(5));
  // Every replica exports the same whole-queue gauges; the autoscalers take
  // max() over pods (k8s/README.md).
  quarry::worker::KindQueueMetrics kind_metrics((*runtime)->metrics(), *pool);
  kind_metrics.Start();
  (*server)->SetServing(true);
  (*runtime)->logger().Info("worker running", {{"owner", options.owner},
                                              {"threads", absl::StrCat(worker.threads)}});

  return (*runtime)->ServeUntilSignal(signals, **server, [&] {
    // Stop claiming, let running jobs finish within the grace, release the rest.
    scheduler.Stop();
    auto [finished, released] = runner.Drain(grace);
    (*runtime)->logger().Info("worker drained", {{"finished", absl::StrCat(finished)},
                                                {"released", absl::StrCat(released)}});
  });
}
