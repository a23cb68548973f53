#include "services/common/jobqueue/pg_job_store.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/pg/time_column.h"
#include "services/common/sql/text_array.h"

namespace quarry::jobqueue::pgjobs {
namespace {

// Every query returns jobs with these columns, times as unix microseconds.
constexpr char kColumns[] = R"(
  id, tenant_id, kind, payload::text, state, priority,
  (extract(epoch from run_at) * 1000000)::bigint,
  attempts, max_attempts, coalesce(lease_owner, ''),
  (extract(epoch from lease_expires_at) * 1000000)::bigint,
  coalesce(idempotency_key, ''), progress, coalesce(progress_message, ''),
  coalesce(result::text, ''), coalesce(last_error, ''), cancel_requested,
  (extract(epoch from created_at) * 1000000)::bigint,
  (extract(epoch from started_at) * 1000000)::bigint,
  (extract(epoch from finished_at) * 1000000)::bigint, cost, coalesce(traceparent, ''))";

// The jobs a job waits for, as "1,5,9", appended to kColumns by the
// client-facing reads (claims do not need it). job_dependencies has no `id`,
// so `id` is the outer row's whatever the jobs table is called there.
constexpr char kDependsOn[] = R"(
  (SELECT coalesce(string_agg(d.depends_on::text, ',' ORDER BY d.depends_on), '')
   FROM job_dependencies d WHERE d.job_id = id))";
constexpr int kDependsOnColumn = 22;

using ::quarry::pg::OptionalTime;

Job RowToJob(const pqxx::row& row) {
  Job job;
  job.id = row[0].as<int64_t>();
  if (!row[1].is_null()) job.tenant_id = row[1].as<int64_t>();
  job.kind = row[2].as<std::string>();
  job.payload_json = row[3].as<std::string>();
  job.state = ParseJobState(row[4].as<std::string>()).value_or(JobState::kQueued);
  job.priority = row[5].as<int>();
  job.run_at = absl::FromUnixMicros(row[6].as<int64_t>());
  job.attempts = row[7].as<int>();
  job.max_attempts = row[8].as<int>();
  job.lease_owner = row[9].as<std::string>();
  job.lease_expires_at = OptionalTime(row[10]);
  job.idempotency_key = row[11].as<std::string>();
  job.progress = row[12].as<double>();
  job.progress_message = row[13].as<std::string>();
  job.result_json = row[14].as<std::string>();
  job.last_error = row[15].as<std::string>();
  job.cancel_requested = row[16].as<bool>();
  job.created_at = absl::FromUnixMicros(row[17].as<int64_t>());
  job.started_at = OptionalTime(row[18]);
  job.finished_at = OptionalTime(row[19]);
  job.cost = row[20].as<int64_t>();
  job.traceparent = row[21].as<std::string>();
  if (static_cast<int>(row.size()) > kDependsOnColumn) {
    for (absl::string_view id : absl::StrSplit(row[kDependsOnColumn].as<std::string>(), ',',
                                               absl::SkipEmpty())) {
      int64_t value = 0;
      if (absl::SimpleAtoi(id, &value)) job.depends_on.push_back(value);
    }
  }
  return job;
}

std::vector<Job> RowsToJobs(const pqxx::result& result) {
  std::vector<Job> jobs;
  jobs.reserve(result.size());
  for (const auto& row : result) jobs.push_back(RowToJob(row));
  return jobs;
}

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// The lease fence shared by every worker-side update.
constexpr char kHeld[] =
    "id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'running' "
    "AND lease_expires_at >= now()";

// A NULL tenant means system jobs only; the client API always passes one.
constexpr char kTenant[] = "tenant_id IS NOT DISTINCT FROM $1";

}  // namespace

namespace {

std::string BigintArray(const std::vector<int64_t>& ids) {
  return absl::StrCat("{", absl::StrJoin(ids, ","), "}");
}

// How many of `ids` (the tenant's jobs) have not succeeded yet, each row
// held FOR SHARE until commit: a dependency cannot finish between being
// counted here and the new job's job_dependencies rows becoming visible to
// its trigger, which would leave the new job waiting for ever.
absl::StatusOr<int> HoldDependencies(pqxx::work& txn, std::optional<int64_t> tenant_id,
                                     const std::vector<int64_t>& ids, absl::string_view field) {
  pqxx::result r = txn.exec_params(
      absl::StrCat("SELECT id, state FROM jobs WHERE ", kTenant,
                   " AND id = ANY($2::bigint[]) ORDER BY id FOR SHARE"),
      tenant_id, BigintArray(ids));
  int unfinished = 0;
  size_t found = 0;
  for (const auto& row : r) {
    ++found;
    const std::string state = row[1].as<std::string>();
    if (state == JobStateName(JobState::kDead) || state == JobStateName(JobState::kCancelled)) {
      return absl::FailedPreconditionError(absl::StrCat(
          field, ": job ", row[0].as<int64_t>(), " already ended ", absl::AsciiStrToUpper(state)));
    }
    if (state != JobStateName(JobState::kSucceeded)) ++unfinished;
  }
  if (found != ids.size()) {
    for (int64_t id : ids) {
      bool present = false;
      for (const auto& row : r) present = present || row[0].as<int64_t>() == id;
      if (!present) {
        return absl::NotFoundError(absl::StrCat(field, ": job ", id, " not found"));
      }
    }
  }
  return unfinished;
}

std::optional<Job> FindByKey(pqxx::work& txn, std::optional<int64_t> tenant_id,
                             const std::string& key) {
  pqxx::result existing = txn.exec_params(
      absl::StrCat("SELECT ", kColumns, ",", kDependsOn, " FROM jobs WHERE ", kTenant,
                   " AND idempotency_key = $2"),
      tenant_id, key);
  if (existing.empty()) return std::nullopt;
  return RowToJob(existing[0]);
}

}  // namespace

absl::StatusOr<EnqueueResult> Enqueue(pqxx::work& txn, const JobSpec& spec,
                                      absl::string_view depends_on_field) {
  const std::optional<std::string> key =
      spec.idempotency_key.empty() ? std::nullopt : std::optional<std::string>(spec.idempotency_key);
  // A replay returns the first job even if its dependencies have ended since.
  if (key.has_value() && !spec.depends_on.empty()) {
    if (std::optional<Job> first = FindByKey(txn, spec.tenant_id, *key)) {
      return EnqueueResult{*std::move(first), false};
    }
  }
  std::vector<int64_t> depends_on = spec.depends_on;
  std::sort(depends_on.begin(), depends_on.end());
  depends_on.erase(std::unique(depends_on.begin(), depends_on.end()), depends_on.end());
  int waiting_for = 0;
  if (!depends_on.empty()) {
    absl::StatusOr<int> unfinished =
        HoldDependencies(txn, spec.tenant_id, depends_on, depends_on_field);
    if (!unfinished.ok()) return unfinished.status();
    waiting_for = *unfinished;
  }
  const std::optional<double> run_at =
      spec.run_at.has_value() ? std::optional<double>(absl::ToUnixMicros(*spec.run_at) / 1e6)
                              : std::nullopt;
  const absl::string_view state =
      JobStateName(waiting_for > 0 ? JobState::kWaiting : JobState::kQueued);
  // ON CONFLICT without a target: whichever unique index holds the key, a
  // duplicate is skipped (after waiting for a concurrent inserter to commit).
  pqxx::result inserted = txn.exec_params(
      absl::StrCat("INSERT INTO jobs (tenant_id, kind, payload, priority, run_at, max_attempts, "
                   "idempotency_key, cost, state, waiting_for, traceparent) VALUES ($1, $2, "
                   "$3::jsonb, $4, coalesce(to_timestamp($5), now()), $6, $7, $8, $9, $10, "
                   "nullif($11, '')) ON CONFLICT DO NOTHING RETURNING ",
                   kColumns),
      spec.tenant_id, spec.kind, spec.payload_json, spec.priority, run_at, spec.max_attempts, key,
      spec.cost, std::string(state), waiting_for, spec.traceparent);
  if (!inserted.empty()) {
    Job job = RowToJob(inserted[0]);
    if (!depends_on.empty()) {
      txn.exec_params("INSERT INTO job_dependencies (job_id, depends_on) "
                      "SELECT $1, unnest($2::bigint[])",
                      job.id, BigintArray(depends_on));
      job.depends_on = depends_on;
    }
    return EnqueueResult{std::move(job), true};
  }
  std::optional<Job> existing = FindByKey(txn, spec.tenant_id, spec.idempotency_key);
  if (!existing.has_value()) {
    throw pqxx::unique_violation("job insert skipped but no job has its idempotency key");
  }
  return EnqueueResult{*std::move(existing), false};
}

namespace {

// What starting an attempt sets on a claimed job (alias j), the owner and
// the lease in seconds being parameters $owner and $lease. Both claims use
// it: the batched one and the one-kind-at-a-time one of limited kinds.
std::string StartSet(int owner, int lease) {
  return absl::StrCat(
      "SET state = 'running', attempts = j.attempts + 1, lease_owner = $", owner,
      ", lease_expires_at = clock_timestamp() + make_interval(secs => $", lease,
      "), started_at = clock_timestamp(), progress = 0, progress_message = NULL, "
      "updated_at = now()");
}

// Jobs of one tenant, or of every tenant for a NULL $n.
std::string TenantFilter(int param) {
  return absl::StrCat("($", param, "::bigint IS NULL OR tenant_id = $", param, ")");
}

struct KindLimits {
  int64_t id = 0;
  std::string name;
  int max_concurrency = 0;
  int starts_per_minute = 0;
  int64_t cost_per_minute = 0;
  bool paused = false;
  absl::Duration attempt_timeout;
  bool limited() const {
    return max_concurrency > 0 || starts_per_minute > 0 || cost_per_minute > 0;
  }
};

std::string IdArray(const std::vector<int64_t>& ids) {
  std::vector<std::string> texts;
  texts.reserve(ids.size());
  for (int64_t id : ids) texts.push_back(absl::StrCat(id));
  return sql::TextArray(texts);
}

// Claims up to `max_jobs` of one kind within its limits, holding its row.
std::vector<Job> ClaimLimited(pqxx::work& txn, const ClaimRequest& request,
                              const KindLimits& kind, int max_jobs, absl::Duration lease) {
  txn.exec_params("SELECT 1 FROM job_kinds WHERE id = $1 FOR NO KEY UPDATE", kind.id);
  int64_t allowed = max_jobs;
  if (kind.max_concurrency > 0) {
    const int64_t running =
        txn.exec_params1(absl::StrCat("SELECT count(*) FROM jobs WHERE state = 'running' AND "
                                      "kind = $1 AND ",
                                      TenantFilter(2)),
                         kind.name, request.tenant_id)[0]
            .as<int64_t>();
    allowed = std::min(allowed, kind.max_concurrency - running);
  }
  int64_t cost_left = -1;  // no cost budget
  if (kind.starts_per_minute > 0 || kind.cost_per_minute > 0) {
    pqxx::row window = txn.exec_params1(
        "SELECT count(*), coalesce(sum(cost), 0)::bigint FROM job_kind_starts "
        "WHERE kind_id = $1 AND started_at > clock_timestamp() - interval '60 seconds'",
        kind.id);
    if (kind.starts_per_minute > 0) {
      allowed = std::min(allowed, kind.starts_per_minute - window[0].as<int64_t>());
    }
    if (kind.cost_per_minute > 0) cost_left = kind.cost_per_minute - window[1].as<int64_t>();
  }
  if (allowed <= 0 || cost_left == 0) return {};
  pqxx::result candidates = txn.exec_params(
      absl::StrCat("SELECT id, cost FROM jobs WHERE state = 'queued' AND run_at <= now() "
                   "AND kind = $1 AND ",
                   TenantFilter(2),
                   " ORDER BY priority DESC, run_at, id LIMIT $3 FOR UPDATE SKIP LOCKED"),
      kind.name, request.tenant_id, allowed);
  std::vector<int64_t> chosen;
  for (const auto& row : candidates) {
    const int64_t cost = row[1].as<int64_t>();
    // In claim order: a job that does not fit waits, and so do the ones
    // after it, so a costly job is not overtaken for ever.
    if (cost_left >= 0 && cost > cost_left) break;
    if (cost_left >= 0) cost_left -= cost;
    chosen.push_back(row[0].as<int64_t>());
  }
  if (chosen.empty()) return {};
  const std::string ids = IdArray(chosen);
  std::vector<Job> jobs = RowsToJobs(txn.exec_params(
      absl::StrCat("UPDATE jobs j ", StartSet(2, 3), " WHERE j.id = ANY($1::bigint[]) RETURNING ",
                   kColumns),
      ids, request.owner, Seconds(lease)));
  if (kind.starts_per_minute > 0 || kind.cost_per_minute > 0) {
    txn.exec_params(
        "INSERT INTO job_kind_starts (kind_id, started_at, cost) "
        "SELECT $1, clock_timestamp(), cost FROM jobs WHERE id = ANY($2::bigint[])",
        kind.id, ids);
    txn.exec_params(
        "DELETE FROM job_kind_starts WHERE kind_id = $1 "
        "AND started_at < clock_timestamp() - interval '120 seconds'",
        kind.id);
  }
  return jobs;
}

}  // namespace

std::vector<Job> Claim(pqxx::work& txn, const ClaimRequest& request) {
  // The registered kinds among those asked for, in id order: claimers lock
  // limited kinds' rows in one order, so they never deadlock.
  std::vector<KindLimits> registered;
  for (const auto& row : txn.exec_params(
           "SELECT id, name, max_concurrency, starts_per_minute, cost_per_minute, "
           "coalesce(paused_until > clock_timestamp(), false), attempt_timeout_ms "
           "FROM job_kinds WHERE name = ANY($1::text[]) AND tenant_id IS NOT DISTINCT FROM $2 "
           "ORDER BY id",
           sql::TextArray(request.kinds), request.tenant_id)) {
    KindLimits kind;
    kind.id = row[0].as<int64_t>();
    kind.name = row[1].as<std::string>();
    kind.max_concurrency = row[2].as<int>();
    kind.starts_per_minute = row[3].as<int>();
    kind.cost_per_minute = row[4].as<int64_t>();
    kind.paused = row[5].as<bool>();
    kind.attempt_timeout = absl::Milliseconds(row[6].as<int64_t>());
    registered.push_back(std::move(kind));
  }
  // Kinds without limits, pause or lease of their own share one statement;
  // the others are claimed one kind at a time.
  std::vector<std::string> batched;
  std::vector<const KindLimits*> one_by_one;
  for (const std::string& name : request.kinds) {
    const KindLimits* found = nullptr;
    for (const KindLimits& kind : registered) {
      if (kind.name == name) found = &kind;
    }
    if (found == nullptr) {
      // Not registered: only Quarry's worker runs such kinds (its tests and
      // benchmarks name their own); a tenant's worker may claim only kinds
      // the tenant registered.
      if (!request.tenant_id.has_value()) batched.push_back(name);
    } else if (found->paused) {
      continue;
    } else if (found->limited() || request.lease_from_kind) {
      one_by_one.push_back(found);
    } else {
      batched.push_back(name);
    }
  }
  std::vector<Job> jobs;
  if (!batched.empty()) {
    jobs = RowsToJobs(txn.exec_params(
        absl::StrCat(R"(
          WITH next AS (
            SELECT id AS next_id FROM jobs
            WHERE state = 'queued' AND run_at <= now() AND kind = ANY($1::text[]) AND )",
                     TenantFilter(5), R"(
            ORDER BY priority DESC, run_at, id
            LIMIT $2
            FOR UPDATE SKIP LOCKED)
          UPDATE jobs j )",
                     StartSet(3, 4), " FROM next WHERE j.id = next.next_id RETURNING ", kColumns),
        sql::TextArray(batched), request.max_jobs, request.owner, Seconds(request.lease),
        request.tenant_id));
  }
  for (const KindLimits* kind : one_by_one) {
    const int left = request.max_jobs - static_cast<int>(jobs.size());
    if (left <= 0) break;
    std::vector<Job> more = ClaimLimited(
        txn, request, *kind, left, request.lease_from_kind ? kind->attempt_timeout : request.lease);
    for (Job& job : more) jobs.push_back(std::move(job));
  }
  return jobs;
}

std::vector<Job> Claim(pqxx::work& txn, const std::string& owner,
                       const std::vector<std::string>& kinds, int max_jobs, absl::Duration lease) {
  ClaimRequest request;
  request.owner = owner;
  request.kinds = kinds;
  request.max_jobs = max_jobs;
  request.lease = lease;
  return Claim(txn, request);
}

bool Postpone(pqxx::work& txn, const Job& claimed, const std::string& error, absl::Time run_at) {
  return txn
             .exec_params(absl::StrCat("UPDATE jobs SET state = 'queued', attempts = attempts - 1, "
                                       "lease_owner = NULL, lease_expires_at = NULL, "
                                       "last_error = $4, run_at = to_timestamp($5), "
                                       "updated_at = now() WHERE ",
                                       kHeld),
                          claimed.id, claimed.lease_owner, claimed.attempts, error,
                          absl::ToUnixMicros(run_at) / 1e6)
             .affected_rows() == 1;
}

std::optional<bool> Heartbeat(pqxx::work& txn, const Job& claimed, absl::Duration lease) {
  pqxx::result r = txn.exec_params(
      absl::StrCat("UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $4), "
                   "updated_at = now() WHERE ",
                   kHeld, " RETURNING cancel_requested"),
      claimed.id, claimed.lease_owner, claimed.attempts, Seconds(lease));
  if (r.empty()) return std::nullopt;
  return r[0][0].as<bool>();
}

bool SetProgress(pqxx::work& txn, const Job& claimed, double fraction,
                 const std::string& message) {
  return txn
             .exec_params(absl::StrCat("UPDATE jobs SET progress = $4, progress_message = $5, "
                                       "updated_at = now() WHERE ",
                                       kHeld),
                          claimed.id, claimed.lease_owner, claimed.attempts, fraction, message)
             .affected_rows() == 1;
}

namespace {

// What ending a job as succeeded sets, but for the result (both completes).
constexpr char kSucceededSet[] =
    "state = 'succeeded', progress = 1, lease_owner = NULL, lease_expires_at = NULL, "
    "finished_at = now(), updated_at = now()";

std::string ResultOrEmpty(const std::string& result_json) {
  return result_json.empty() ? std::string("{}") : result_json;
}

}  // namespace

bool Complete(pqxx::work& txn, const Job& claimed, const std::string& result_json) {
  return txn
             .exec_params(absl::StrCat("UPDATE jobs SET ", kSucceededSet,
                                       ", result = $4::jsonb WHERE ", kHeld),
                          claimed.id, claimed.lease_owner, claimed.attempts,
                          ResultOrEmpty(result_json))
             .affected_rows() == 1;
}

std::vector<bool> CompleteBatch(pqxx::work& txn, absl::Span<const JobQueue::Completion> done) {
  if (done.empty()) return {};
  std::vector<int64_t> ids;
  std::vector<std::string> owners, attempts, results;
  for (const JobQueue::Completion& c : done) {
    ids.push_back(c.claimed->id);
    owners.push_back(c.claimed->lease_owner);
    attempts.push_back(absl::StrCat(c.claimed->attempts));
    results.push_back(ResultOrEmpty(c.result_json));
  }
  // kHeld per row of the batch. A job held twice (a stale attempt and the
  // current one) joins at most one row here, as only one attempt matches.
  pqxx::result updated = txn.exec_params(
      absl::StrCat("UPDATE jobs SET ", kSucceededSet, ", result = d.result::jsonb "
                   "FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[]) "
                   "AS d(id, owner, attempts, result) "
                   "WHERE jobs.id = d.id AND jobs.lease_owner = d.owner AND "
                   "jobs.attempts = d.attempts AND jobs.state = 'running' AND "
                   "jobs.lease_expires_at >= now() RETURNING jobs.id, jobs.attempts"),
      BigintArray(ids), sql::TextArray(owners), sql::TextArray(attempts),
      sql::TextArray(results));
  std::vector<bool> recorded(done.size(), false);
  for (const auto& row : updated) {
    const int64_t id = row[0].as<int64_t>();
    const int attempt = row[1].as<int>();
    for (size_t i = 0; i < done.size(); ++i) {
      if (done[i].claimed->id == id && done[i].claimed->attempts == attempt) recorded[i] = true;
    }
  }
  return recorded;
}

bool Fail(pqxx::work& txn, const Job& claimed, const std::string& error, bool permanent,
          absl::Duration retry_delay) {
  return txn
             .exec_params(absl::StrCat(R"(
        UPDATE jobs SET last_error = $4, lease_owner = NULL, lease_expires_at = NULL,
          updated_at = now(),
          state = CASE WHEN $5 OR attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
          run_at = CASE WHEN $5 OR attempts >= max_attempts THEN run_at
                        ELSE now() + make_interval(secs => $6) END,
          finished_at = CASE WHEN $5 OR attempts >= max_attempts THEN now() END
        WHERE )",
                                       kHeld),
                          claimed.id, claimed.lease_owner, claimed.attempts, error, permanent,
                          Seconds(retry_delay))
             .affected_rows() == 1;
}

bool MarkCancelled(pqxx::work& txn, const Job& claimed) {
  return txn
             .exec_params(absl::StrCat("UPDATE jobs SET state = 'cancelled', lease_owner = NULL, "
                                       "lease_expires_at = NULL, finished_at = now(), "
                                       "updated_at = now() WHERE ",
                                       kHeld),
                          claimed.id, claimed.lease_owner, claimed.attempts)
             .affected_rows() == 1;
}

bool Release(pqxx::work& txn, const Job& claimed) {
  return txn
             .exec_params(absl::StrCat("UPDATE jobs SET state = 'queued', attempts = attempts - 1, "
                                       "lease_owner = NULL, lease_expires_at = NULL, "
                                       "run_at = now(), updated_at = now() WHERE ",
                                       kHeld),
                          claimed.id, claimed.lease_owner, claimed.attempts)
             .affected_rows() == 1;
}

int RecoverExpiredLeases(pqxx::work& txn) {
  return static_cast<int>(txn.exec(R"(
    UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
      last_error = 'lease expired: the worker running it stopped heartbeating',
      state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
      finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
      run_at = now()
    WHERE state = 'running' AND lease_expires_at < now())").affected_rows());
}

std::optional<Job> Get(pqxx::work& txn, std::optional<int64_t> tenant_id, int64_t id) {
  pqxx::result r = txn.exec_params(
      absl::StrCat("SELECT ", kColumns, ",", kDependsOn, " FROM jobs WHERE ", kTenant,
                   " AND id = $2"),
      tenant_id, id);
  if (r.empty()) return std::nullopt;
  return RowToJob(r[0]);
}

std::optional<Job> Cancel(pqxx::work& txn, std::optional<int64_t> tenant_id, int64_t id) {
  txn.exec_params(absl::StrCat(R"(
    UPDATE jobs SET updated_at = now(),
      state = CASE WHEN state = 'running' THEN state ELSE 'cancelled' END,
      finished_at = CASE WHEN state = 'running' THEN finished_at ELSE now() END,
      waiting_for = 0,
      cancel_requested = CASE WHEN state = 'running' THEN true ELSE cancel_requested END
    WHERE )",
                               kTenant, " AND id = $2 AND state IN ('waiting', 'queued', 'running')"),
                  tenant_id, id);
  return Get(txn, tenant_id, id);
}

std::optional<Job> Retry(pqxx::work& txn, std::optional<int64_t> tenant_id, int64_t id) {
  // Its dependencies are held as at submit, so none finishes between the
  // count and the commit; one still DEAD keeps it waiting until that one is
  // re-driven and succeeds.
  pqxx::result waiting = txn.exec_params(
      "SELECT count(*) FILTER (WHERE p.state <> 'succeeded') FROM "
      "(SELECT p.state FROM job_dependencies d JOIN jobs p ON p.id = d.depends_on "
      " WHERE d.job_id = $1 ORDER BY p.id FOR SHARE OF p) p",
      id);
  const int waiting_for = waiting[0][0].as<int>();
  txn.exec_params(absl::StrCat("UPDATE jobs SET state = CASE WHEN $3 > 0 THEN 'waiting' ELSE "
                               "'queued' END, waiting_for = $3, attempts = 0, run_at = now(), "
                               "finished_at = NULL, cancel_requested = false, updated_at = now() "
                               "WHERE ",
                               kTenant, " AND id = $2 AND state = 'dead'"),
                  tenant_id, id, waiting_for);
  return Get(txn, tenant_id, id);
}

std::vector<Job> List(pqxx::work& txn, std::optional<int64_t> tenant_id,
                      const ListFilter& filter) {
  std::vector<std::string> states;
  for (JobState state : filter.states) states.emplace_back(JobStateName(state));
  const std::string states_array = sql::TextArray(states);
  return RowsToJobs(txn.exec_params(
      absl::StrCat("SELECT ", kColumns, ",", kDependsOn, " FROM jobs WHERE ", kTenant,
                   " AND ($2 = '{}' OR state = ANY($2::text[]))"
                   " AND ($3 = '' OR kind = $3)"
                   " AND ($4 = 0 OR id < $4)"
                   " ORDER BY id DESC LIMIT $5"),
      tenant_id, states_array, filter.kind, filter.before_id, filter.limit));
}

}  // namespace quarry::jobqueue::pgjobs
