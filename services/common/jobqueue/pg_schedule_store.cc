#include "services/common/jobqueue/pg_schedule_store.h"

#include "absl/strings/str_cat.h"
#include "services/common/pg/time_column.h"

namespace quarry::jobqueue {
namespace {

constexpr char kSkip[] = "skip";
constexpr char kQueue[] = "queue";

// Every query returns schedules with these columns (of job_schedules s),
// times as unix microseconds.
constexpr char kColumns[] = R"(
  s.id, s.tenant_id, s.name, s.kind, s.payload::text, coalesce(s.cron, ''),
  coalesce(s.interval_seconds, 0), s.overlap, s.catch_up, s.priority, s.max_attempts,
  s.enabled, (extract(epoch from s.next_run_at) * 1000000)::bigint,
  (extract(epoch from s.last_tick_at) * 1000000)::bigint, s.last_job_id, s.skipped_ticks,
  coalesce(s.last_error, ''), (extract(epoch from s.created_at) * 1000000)::bigint)";
constexpr int kColumnCount = 18;

using ::quarry::pg::OptionalTime;

// NULL for nullopt and for the never of Schedule::NextTick (timestamptz has
// no room for it).
std::optional<double> UnixSeconds(std::optional<absl::Time> t) {
  if (!t.has_value() || *t == absl::InfiniteFuture()) return std::nullopt;
  return absl::ToUnixMicros(*t) / 1e6;
}

StoredSchedule RowToSchedule(const pqxx::row& row) {
  StoredSchedule s;
  s.id = row[0].as<int64_t>();
  if (!row[1].is_null()) s.spec.tenant_id = row[1].as<int64_t>();
  s.spec.name = row[2].as<std::string>();
  s.spec.kind = row[3].as<std::string>();
  s.spec.payload_json = row[4].as<std::string>();
  s.spec.cron = row[5].as<std::string>();
  s.spec.interval = absl::Seconds(row[6].as<int64_t>());
  s.spec.overlap = row[7].as<std::string>() == kQueue ? OverlapPolicy::kQueue : OverlapPolicy::kSkip;
  s.spec.catch_up = row[8].as<bool>();
  s.spec.priority = row[9].as<int>();
  s.spec.max_attempts = row[10].as<int>();
  s.enabled = row[11].as<bool>();
  s.next_run_at = OptionalTime(row[12]);
  s.last_tick_at = OptionalTime(row[13]);
  if (!row[14].is_null()) s.last_job_id = row[14].as<int64_t>();
  s.skipped_ticks = row[15].as<int64_t>();
  s.last_error = row[16].as<std::string>();
  s.created_at = absl::FromUnixMicros(row[17].as<int64_t>());
  return s;
}

// A NULL tenant means system schedules only, as in pgjobs.
constexpr char kTenant[] = "s.tenant_id IS NOT DISTINCT FROM $1";

}  // namespace

namespace pgschedules {

absl::StatusOr<StoredSchedule> Create(pqxx::work& txn, const ScheduleSpec& spec,
                                      absl::Time now) {
  if (absl::Status valid = ValidateScheduleSpec("schedule", spec); !valid.ok()) return valid;
  StoredSchedule draft;
  draft.spec = spec;
  absl::StatusOr<Schedule> timing = draft.Timing();
  if (!timing.ok()) return timing.status();
  const absl::Time first = timing->NextTick(now);
  if (first == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError("schedule: never fires");
  }
  const std::optional<std::string> cron =
      spec.cron.empty() ? std::nullopt : std::optional<std::string>(spec.cron);
  const std::optional<int64_t> interval =
      spec.cron.empty() ? std::optional<int64_t>(absl::ToInt64Seconds(spec.interval))
                        : std::nullopt;
  pqxx::result r = txn.exec_params(
      absl::StrCat("INSERT INTO job_schedules AS s (tenant_id, name, kind, payload, cron, "
                   "interval_seconds, overlap, catch_up, priority, max_attempts, next_run_at) "
                   "VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, to_timestamp($11)) "
                   "RETURNING ",
                   kColumns),
      spec.tenant_id, spec.name, spec.kind, spec.payload_json, cron, interval,
      spec.overlap == OverlapPolicy::kQueue ? kQueue : kSkip, spec.catch_up, spec.priority,
      spec.max_attempts, UnixSeconds(first));
  return RowToSchedule(r[0]);
}

std::optional<StoredSchedule> Get(pqxx::work& txn, std::optional<int64_t> tenant_id,
                                  const std::string& name) {
  pqxx::result r = txn.exec_params(
      absl::StrCat("SELECT ", kColumns, " FROM job_schedules s WHERE ", kTenant,
                   " AND s.name = $2"),
      tenant_id, name);
  if (r.empty()) return std::nullopt;
  return RowToSchedule(r[0]);
}

std::vector<StoredSchedule> List(pqxx::work& txn, std::optional<int64_t> tenant_id,
                                 const std::string& after_name, int limit) {
  // NULL lifts the limit.
  const std::optional<int> bound = limit > 0 ? std::optional<int>(limit) : std::nullopt;
  pqxx::result r = txn.exec_params(
      absl::StrCat("SELECT ", kColumns, " FROM job_schedules s WHERE ", kTenant,
                   " AND s.name > $2 ORDER BY s.name LIMIT $3"),
      tenant_id, after_name, bound);
  std::vector<StoredSchedule> out;
  out.reserve(r.size());
  for (const auto& row : r) out.push_back(RowToSchedule(row));
  return out;
}

bool Delete(pqxx::work& txn, std::optional<int64_t> tenant_id, const std::string& name) {
  return txn
             .exec_params(absl::StrCat("DELETE FROM job_schedules s WHERE ", kTenant,
                                       " AND s.name = $2"),
                          tenant_id, name)
             .affected_rows() == 1;
}

std::vector<DueSchedule> ClaimDue(pqxx::work& txn, absl::Time now, int limit) {
  pqxx::result r = txn.exec_params(
      absl::StrCat("SELECT ", kColumns, R"(, j.state
        FROM job_schedules s LEFT JOIN jobs j ON j.id = s.last_job_id
        WHERE s.enabled AND (s.next_run_at IS NULL OR s.next_run_at <= to_timestamp($1))
        ORDER BY s.next_run_at NULLS FIRST, s.id
        LIMIT $2
        FOR UPDATE OF s SKIP LOCKED)"),
      absl::ToUnixMicros(now) / 1e6, limit);
  std::vector<DueSchedule> due;
  due.reserve(r.size());
  for (const auto& row : r) {
    DueSchedule d{RowToSchedule(row), std::nullopt};
    if (!row[kColumnCount].is_null()) {
      absl::StatusOr<JobState> state = ParseJobState(row[kColumnCount].as<std::string>());
      if (state.ok()) d.last_job_state = *state;
    }
    due.push_back(std::move(d));
  }
  return due;
}

void RecordPass(pqxx::work& txn, int64_t id, const PassResult& pass) {
  const std::optional<std::string> error =
      pass.error.empty() ? std::nullopt : std::optional<std::string>(pass.error);
  txn.exec_params(R"(
    UPDATE job_schedules SET next_run_at = to_timestamp($2),
      enabled = enabled AND $2 IS NOT NULL,
      last_tick_at = coalesce(to_timestamp($3), last_tick_at),
      last_job_id = coalesce($4, last_job_id),
      skipped_ticks = skipped_ticks + $5,
      last_skipped_at = coalesce(to_timestamp($6), last_skipped_at),
      last_error = $7, updated_at = now()
    WHERE id = $1)",
                  id, UnixSeconds(pass.next_run_at), UnixSeconds(pass.last_tick_at),
                  pass.last_job_id, pass.skipped, UnixSeconds(pass.last_skipped_at), error);
}

}  // namespace pgschedules
}  // namespace quarry::jobqueue
