#include "services/common/jobqueue/pg_kind_stats.h"

#include <utility>

namespace quarry::jobqueue::pgstats {
namespace {

// One branch per live state so that queued and running are read off
// jobs_kind_claim_idx and jobs_kind_running_idx instead of a scan of the
// whole table, most of which is finished jobs kept for their retention.
constexpr char kStatsSql[] = R"(
WITH live AS (
  SELECT kind, state, run_at FROM jobs WHERE state = 'queued'
  UNION ALL
  SELECT kind, state, NULL FROM jobs WHERE state = 'running'
  UNION ALL
  SELECT kind, state, NULL FROM jobs WHERE state = 'waiting'
), per_kind AS (
  SELECT kind,
         count(*) FILTER (WHERE state = 'queued' AND run_at <= now()) AS due,
         count(*) FILTER (WHERE state = 'queued' AND run_at > now()) AS scheduled,
         count(*) FILTER (WHERE state = 'waiting') AS waiting,
         count(*) FILTER (WHERE state = 'running') AS running,
         min(run_at) FILTER (WHERE state = 'queued' AND run_at <= now()) AS oldest_due
  FROM live GROUP BY kind
), names AS (
  SELECT name AS kind, bool_or(tenant_id IS NULL) AS system,
         coalesce(bool_or(paused_until > now()), false) AS paused
  FROM job_kinds GROUP BY name
)
SELECT coalesce(p.kind, n.kind), coalesce(n.system, false),
       coalesce(p.due, 0), coalesce(p.scheduled, 0), coalesce(p.waiting, 0),
       coalesce(p.running, 0),
       coalesce(extract(epoch FROM now() - p.oldest_due), 0)::double precision,
       coalesce(n.paused, false)
FROM per_kind p FULL JOIN names n ON n.kind = p.kind
ORDER BY coalesce(n.system, false) DESC,
         coalesce(p.due + p.scheduled + p.waiting + p.running, 0) DESC,
         1
LIMIT $1
)";

}  // namespace

std::vector<KindQueueStats> ReadKindQueueStats(pqxx::work& txn, int max_kinds, bool* truncated) {
  if (max_kinds < 0) max_kinds = 0;
  // One row more than asked tells whether the list was cut.
  const pqxx::result rows = txn.exec_params(kStatsSql, max_kinds + 1);
  std::vector<KindQueueStats> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    if (static_cast<int>(out.size()) == max_kinds) break;
    KindQueueStats s;
    s.kind = row[0].as<std::string>();
    s.system = row[1].as<bool>();
    s.due = row[2].as<int64_t>();
    s.scheduled = row[3].as<int64_t>();
    s.waiting = row[4].as<int64_t>();
    s.running = row[5].as<int64_t>();
    s.oldest_due_seconds = row[6].as<double>();
    s.paused = row[7].as<bool>();
    out.push_back(std::move(s));
  }
  if (truncated != nullptr) *truncated = static_cast<int>(rows.size()) > max_kinds;
  return out;
}

}  // namespace quarry::jobqueue::pgstats
