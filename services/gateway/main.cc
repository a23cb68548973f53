// The API gateway: Quarry's public gRPC API.
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "services/common/cache/lru_cache.h"
#include "services/common/embedding_client/embedding_client.h"
#include "services/common/jobqueue/pg_job_queue.h"
#include "services/common/server/database.h"
#include "services/common/server/env_flags.h"
#include "services/common/server/runtime.h"
#include "services/common/server/server_flags.h"
#include "services/gateway/api/admin_service.h"
#include "services/gateway/api/admission.h"
#include "services/gateway/api/collection_service.h"
#include "services/gateway/api/document_service.h"
#include "services/gateway/api/job_kind_service.h"
#include "services/gateway/api/job_service.h"
#include "services/gateway/api/schedule_service.h"
#include "services/gateway/api/worker_service.h"
#include "services/gateway/api/search_service.h"
#include "services/gateway/api/stats_service.h"
#include "services/gateway/auth.h"
#include "services/gateway/core/catalog.h"
#include "services/gateway/core/ingest.h"
#include "services/gateway/core/jobs.h"
#include "services/gateway/core/schedules.h"
#include "services/gateway/core/search.h"
#include "services/gateway/job_watch_hub.h"
#include "services/gateway/kind_waker.h"
#include "services/gateway/limits.h"
#include "services/gateway/parse_errors.h"
#include "services/gateway/pg/pg_stores.h"
#include "services/gateway/shards.h"

QUARRY_DEFINE_SERVER_FLAGS(50051, 51051);
ABSL_FLAG(std::string, database_url, "",
          "libpq connection string of PostgreSQL (no password: use a pgpass file).");
ABSL_FLAG(std::string, embedding_target, "127.0.0.1:50061",
          "The embedding service (dns:///name:port for every replica).");
ABSL_FLAG(std::string, shard_targets, "127.0.0.1:50071",
          "One gRPC target per vector-search shard, in shard order, separated by ';' (a target "
          "may list replicas: ipv4:h:p1,h:p2), or by ',' when each is one dns:/// name.");
ABSL_FLAG(absl::Duration, key_cache_ttl, absl::Seconds(5),
          "How long API key lookups are cached; a revoked key stops working within this.");
ABSL_FLAG(int, max_in_flight, 512, "Calls in progress before new ones are shed.");
ABSL_FLAG(double, default_rate_limit_per_second, quarry::gateway::AuthOptions().default_rate_per_second,
          "Calls per second of an API key created without a rate limit, for the whole "
          "deployment (give every gateway the same value).");
ABSL_FLAG(int, default_burst, quarry::gateway::AuthOptions().default_burst,
          "Burst of an API key created without one, for the whole deployment (give every "
          "gateway the same value).");
ABSL_FLAG(int64_t, query_cache_bytes, 64 << 20, "LRU of recent query vectors, in bytes.");
ABSL_FLAG(int, pool_size, 16, "PostgreSQL connections.");

int main(int argc, char** argv) {
  quarry::server::ShutdownSignals signals;
  quarry::server::ParseFlagsWithEnvironment(argc, argv);
  using quarry::server::ExitOnStartupError;

  const std::string database_url = absl::GetFlag(FLAGS_database_url);
  const std::vector<std::string> shard_targets =
      quarry::gateway::SplitShardTargets(absl::GetFlag(FLAGS_shard_targets));
  if (shard_targets.empty()) {
    ExitOnStartupError("--shard_targets", absl::InvalidArgumentError("names no shard"));
  }
  if (absl::GetFlag(FLAGS_max_in_flight) < 1) {
    ExitOnStartupError("--max_in_flight", absl::InvalidArgumentError("must be at least 1"));
  }
  if (const double rate = absl::GetFlag(FLAGS_default_rate_limit_per_second);
      !(rate >= 1 && rate <= quarry::gateway::kMaxRateLimitPerSecond)) {
    ExitOnStartupError("--default_rate_limit_per_second",
                       absl::InvalidArgumentError(absl::StrCat(
                           "must be in [1, ", quarry::gateway::kMaxRateLimitPerSecond, "], got ",
                           rate)));
  }
  if (const int burst = absl::GetFlag(FLAGS_default_burst);
      burst < 1 || burst > quarry::gateway::kMaxBurst) {
    ExitOnStartupError("--default_burst",
                       absl::InvalidArgumentError(absl::StrCat(
                           "must be in [1, ", quarry::gateway::kMaxBurst, "], got ", burst)));
  }

  auto runtime = quarry::server::Runtime::Create(QuarryServerOptionsFromFlags("gateway"));
  if (!runtime.ok()) ExitOnStartupError("configuration", runtime.status());

  auto pool = quarry::server::OpenDatabaseOrExit(database_url, absl::GetFlag(FLAGS_pool_size),
                                                 absl::Seconds(30));

  quarry::jobqueue::PgJobQueue jobs(*pool, database_url);
  quarry::GrpcEmbeddingClient embedder((*runtime)->NewChannel(
      absl::GetFlag(FLAGS_embedding_target), {"quarry.embedding.v1.EmbeddingService"}));
  // Searches balance over a shard's healthy replicas; read-your-writes
  // waits reach each replica on its own channel, whatever its health.
  auto shards = quarry::gateway::ShardFanout::Create(
      shard_targets,
      [&](const std::string& target) {
        return (*runtime)->NewChannel(target, {"quarry.search.v1.ShardService"});
      },
      [&](const std::string& target) {
        return (*runtime)->NewReplicaChannel(target, {"quarry.search.v1.ShardService"});
      });
  if (!shards.ok()) ExitOnStartupError("--shard_targets", shards.status());
  quarry::gateway::AuthOptions auth_options;
  auth_options.key_cache_ttl = absl::GetFlag(FLAGS_key_cache_ttl);
  auth_options.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  auth_options.default_rate_per_second = absl::GetFlag(FLAGS_default_rate_limit_per_second);
  auth_options.default_burst = absl::GetFlag(FLAGS_default_burst);
  quarry::gateway::Gatekeeper gate(*pool, auth_options, &(*runtime)->logger());
  quarry::gateway::JobWatchHub watch_hub(database_url);
  // Waiting ClaimJobs calls wake on 'jobs_new' instead of polling.
  quarry::gateway::KindWaker claim_waker;
  quarry::gateway::JobsNewListener claim_listener(database_url, claim_waker);
  quarry::LruCache<std::vector<float>, quarry::FloatVectorSizer> query_cache(
      static_cast<size_t>(absl::GetFlag(FLAGS_query_cache_bytes)));

  // The wiring of the public API, outside in: api/ adapters (admission, proto
  // conversion) -> core/ domain logic -> stores (pg/) and clients.
  namespace gw = quarry::gateway;
  gw::PgCollectionStore collection_store(*pool);
  gw::PgDocumentStore document_store(*pool);
  gw::PgJobStore job_store(*pool, jobs);
  gw::PgKeyStore key_store(*pool);
  gw::PgJobKindStore kind_store(*pool);
  gw::PgWorkerStore worker_store(*pool, jobs);
  gw::PgScheduleStore schedule_store(*pool);
  gw::CollectionCache collection_cache(absl::Seconds(1));
  // A deleted collection's documents are purged this long after the delete,
  // once every replica has certainly dropped them.
  gw::Catalog catalog(collection_store, embedder, **shards, collection_cache, absl::Hours(1));
  gw::Ingest ingest(collection_store, document_store, job_store, watch_hub, **shards);
  gw::Jobs job_logic(job_store, watch_hub);
  gw::JobKinds kind_logic(kind_store);
  gw::Workers worker_logic(kind_store, worker_store, claim_waker);
  gw::Schedules schedule_logic(schedule_store, kind_store);
  gw::Searcher searcher(collection_store, document_store, embedder, **shards, collection_cache,
                        query_cache);
  // Deadline of calls whose client sends none.
  gw::Admitter admit(gate, absl::Seconds(30));
  gw::CollectionServiceImpl collections(admit, catalog);
  gw::DocumentServiceImpl documents(admit, ingest);
  gw::SearchServiceImpl search(admit, searcher);
  gw::JobServiceImpl job_service(admit, job_logic);
  gw::JobKindServiceImpl job_kind_service(admit, kind_logic);
  gw::WorkerServiceImpl worker_service(admit, worker_logic);
  gw::ScheduleServiceImpl schedule_service(admit, schedule_logic);
  gw::StatsServiceImpl stats(admit, catalog, job_logic);
  gw::AdminServiceImpl admin(admit, key_store);
  quarry::server::Server::InterceptorFactories first;
  first.push_back(quarry::gateway::NewParseErrorInterceptorFactory());
  auto server = (*runtime)->StartServer(
      {&collections, &documents, &search, &job_service, &job_kind_service, &worker_service,
       &schedule_service, &stats, &admin},
      std::move(first));
  if (!server.ok()) ExitOnStartupError("gRPC server", server.status());
  (*server)->SetServing(true);
  (*runtime)->logger().Info("gateway ready",
                            {{"shards", absl::StrCat(shard_targets.size())}});
  return (*runtime)->ServeUntilSignal(signals, **server);
}
