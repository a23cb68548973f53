#ifndef QUARRY_SERVICES_COMMON_JOBQUEUE_PG_KIND_STATS_H_
#define QUARRY_SERVICES_COMMON_JOBQUEUE_PG_KIND_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/pqxx>

namespace quarry::jobqueue::pgstats {

// The live queue of one job kind name, as the per-kind gauges export it.
// Tenant kinds of the same name are counted together: jobs.kind holds the
// name only, and a tenant label would make the series count grow with the
// tenants (see services/worker/kind_queue_metrics.h).
struct KindQueueStats {
  std::string kind;
  // A system kind (job_kinds.tenant_id IS NULL), run by Quarry's worker.
  bool system = false;
  int64_t due = 0;        // queued, run_at <= now: claimable now (or held by a limit)
  int64_t scheduled = 0;  // queued, run_at > now: retries backing off, delayed submits
  int64_t waiting = 0;    // waiting on dependencies
  int64_t running = 0;
  // now - the oldest due job's run_at; 0 without due jobs.
  double oldest_due_seconds = 0;
  // job_kinds.paused_until > now for the name (a provider rate-limited it).
  bool paused = false;
};

// One snapshot, in one statement at one now(): every registered kind name
// (even with no jobs, so its gauges read 0 rather than vanish) and every
// name with live jobs, system kinds first, then the busiest. At most
// `max_kinds` rows; `*truncated` (if given) says whether more existed. The
// queued and running rows are counted off their partial indexes; waiting
// jobs have none and are found by a scan. Runs inside `txn`; may throw
// libpqxx exceptions (call it through pg::Pool).
std::vector<KindQueueStats> ReadKindQueueStats(pqxx::work& txn, int max_kinds,
                                               bool* truncated = nullptr);

}  // namespace quarry::jobqueue::pgstats

#endif  // QUARRY_SERVICES_COMMON_JOBQUEUE_PG_KIND_STATS_H_
