#include "services/common/jobqueue/pg_job_store.h"

#include "absl/strings/str_cat.h"
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
  (extract(epoch from finished_at) * 1000000)::bigint)";

std::optional<absl::Time> OptionalTime(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return absl::FromUnixMicros(field.as<int64_t>());
}

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

EnqueueResult Enqueue(pqxx::work& txn, const JobSpec& spec) {
  const std::optional<std::string> key =
      spec.idempotency_key.empty() ? std::nullopt : std::optional<std::string>(spec.idempotency_key);
  const std::optional<double> run_at =
      spec.run_at.has_value() ? std::optional<double>(absl::ToUnixMicros(*spec.run_at) / 1e6)
                              : std::nullopt;
  // ON CONFLICT without a target: whichever unique index holds the key, a
  // duplicate is skipped (after waiting for a concurrent inserter to commit).
  pqxx::result inserted = txn.exec_params(
      absl::StrCat("INSERT INTO jobs (tenant_id, kind, payload, priority, run_at, max_attempts, "
                   "idempotency_key) VALUES ($1, $2, $3::jsonb, $4, "
                   "coalesce(to_timestamp($5), now()), $6, $7) ON CONFLICT DO NOTHING RETURNING ",
                   kColumns),
      spec.tenant_id, spec.kind, spec.payload_json, spec.priority, run_at, spec.max_attempts, key);
  if (!inserted.empty()) return {RowToJob(inserted[0]), true};
  pqxx::result existing = txn.exec_params(
      absl::StrCat("SELECT ", kColumns, " FROM jobs WHERE ", kTenant, " AND idempotency_key = $2"),
      spec.tenant_id, spec.idempotency_key);
  if (existing.empty()) {
    throw pqxx::unique_violation("job insert skipped but no job has its idempotency key");
  }
  return {RowToJob(existing[0]), false};
}

std::vector<Job> Claim(pqxx::work& txn, const std::string& owner,
                       const std::vector<std::string>& kinds, int max_jobs, absl::Duration lease) {
  const std::string kinds_array = sql::TextArray(kinds);
  return RowsToJobs(txn.exec_params(
      absl::StrCat(R"(
        WITH next AS (
          SELECT id AS next_id FROM jobs
          WHERE state = 'queued' AND run_at <= now() AND kind = ANY($1::text[])
          ORDER BY priority DESC, run_at, id
          LIMIT $2
          FOR UPDATE SKIP LOCKED)
        UPDATE jobs j SET state = 'running', attempts = j.attempts + 1, lease_owner = $3,
          lease_expires_at = now() + make_interval(secs => $4), started_at = now(),
          progress = 0, progress_message = NULL, updated_at = now()
        FROM next WHERE j.id = next.next_id
        RETURNING )",
                   kColumns),
      kinds_array, max_jobs, owner, Seconds(lease)));
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

bool Complete(pqxx::work& txn, const Job& claimed, const std::string& result_json) {
  return txn
             .exec_params(
                 absl::StrCat("UPDATE jobs SET state = 'succeeded', result = $4::jsonb, "
                              "progress = 1, lease_owner = NULL, lease_expires_at = NULL, "
                              "finished_at = now(), updated_at = now() WHERE ",
                              kHeld),
                 claimed.id, claimed.lease_owner, claimed.attempts,
                 result_json.empty() ? std::string("{}") : result_json)
             .affected_rows() == 1;
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
      absl::StrCat("SELECT ", kColumns, " FROM jobs WHERE ", kTenant, " AND id = $2"), tenant_id,
      id);
  if (r.empty()) return std::nullopt;
  return RowToJob(r[0]);
}

std::optional<Job> Cancel(pqxx::work& txn, std::optional<int64_t> tenant_id, int64_t id) {
  txn.exec_params(absl::StrCat(R"(
    UPDATE jobs SET updated_at = now(),
      state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
      finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END,
      cancel_requested = CASE WHEN state = 'running' THEN true ELSE cancel_requested END
    WHERE )",
                               kTenant, " AND id = $2 AND state IN ('queued', 'running')"),
                  tenant_id, id);
  return Get(txn, tenant_id, id);
}

std::optional<Job> Retry(pqxx::work& txn, std::optional<int64_t> tenant_id, int64_t id) {
  txn.exec_params(absl::StrCat("UPDATE jobs SET state = 'queued', attempts = 0, run_at = now(), "
                               "finished_at = NULL, cancel_requested = false, updated_at = now() "
                               "WHERE ",
                               kTenant, " AND id = $2 AND state = 'dead'"),
                  tenant_id, id);
  return Get(txn, tenant_id, id);
}

std::vector<Job> List(pqxx::work& txn, std::optional<int64_t> tenant_id,
                      const ListFilter& filter) {
  std::vector<std::string> states;
  for (JobState state : filter.states) states.emplace_back(JobStateName(state));
  const std::string states_array = sql::TextArray(states);
  return RowsToJobs(txn.exec_params(
      absl::StrCat("SELECT ", kColumns, " FROM jobs WHERE ", kTenant,
                   " AND ($2 = '{}' OR state = ANY($2::text[]))"
                   " AND ($3 = '' OR kind = $3)"
                   " AND ($4 = 0 OR id < $4)"
                   " ORDER BY id DESC LIMIT $5"),
      tenant_id, states_array, filter.kind, filter.before_id, filter.limit));
}

}  // namespace quarry::jobqueue::pgjobs
