#include "services/common/jobqueue/pg_job_kind_store.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/model/job_kinds.h"
#include "services/common/status/macros.h"

namespace quarry::jobqueue::pgkinds {
namespace {

// Every query returns kinds with these columns, times as unix microseconds.
constexpr char kColumns[] = R"(
  id, tenant_id, name, description, max_attempts, priority,
  backoff_initial_ms, backoff_multiplier, backoff_max_ms, backoff_jitter,
  attempt_timeout_ms, max_concurrency, starts_per_minute, cost_per_minute,
  max_result_bytes, retention_seconds,
  (extract(epoch from paused_until) * 1000000)::bigint,
  (extract(epoch from created_at) * 1000000)::bigint,
  (extract(epoch from updated_at) * 1000000)::bigint)";

// The kinds a tenant sees: its own and the system kinds.
constexpr char kVisible[] = "(tenant_id = $1 OR tenant_id IS NULL)";

JobKind RowToKind(const pqxx::row& row) {
  JobKind kind;
  kind.id = row[0].as<int64_t>();
  if (!row[1].is_null()) kind.tenant_id = row[1].as<int64_t>();
  kind.name = row[2].as<std::string>();
  kind.description = row[3].as<std::string>();
  kind.max_attempts = row[4].as<int>();
  kind.priority = row[5].as<int>();
  kind.backoff.initial = absl::Milliseconds(row[6].as<int64_t>());
  kind.backoff.multiplier = row[7].as<double>();
  kind.backoff.max = absl::Milliseconds(row[8].as<int64_t>());
  kind.backoff.jitter = row[9].as<double>();
  kind.attempt_timeout = absl::Milliseconds(row[10].as<int64_t>());
  kind.max_concurrency = row[11].as<int>();
  kind.starts_per_minute = row[12].as<int>();
  kind.cost_per_minute = row[13].as<int64_t>();
  kind.max_result_bytes = row[14].as<int>();
  kind.retention = absl::Seconds(row[15].as<int64_t>());
  if (!row[16].is_null()) kind.paused_until = absl::FromUnixMicros(row[16].as<int64_t>());
  kind.created_at = absl::FromUnixMicros(row[17].as<int64_t>());
  kind.updated_at = absl::FromUnixMicros(row[18].as<int64_t>());
  return kind;
}

absl::Status NotFound(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("job kind \"", name, "\" not found"));
}

absl::StatusOr<JobKind> FirstVisible(const pqxx::result& r, const std::string& name) {
  if (r.empty()) return NotFound(name);
  return RowToKind(r[0]);
}

// What a tenant sets of a kind, in the order WithSettings binds them.
constexpr char kSettingColumns[] =
    "description, max_attempts, priority, backoff_initial_ms, backoff_multiplier, "
    "backoff_max_ms, backoff_jitter, attempt_timeout_ms, max_concurrency, starts_per_minute, "
    "cost_per_minute, max_result_bytes, retention_seconds";

// Runs `sql` with $1 the tenant, $2 the kind's name and $3..$15 its
// settings (kSettingColumns).
pqxx::result WithSettings(pqxx::work& txn, const std::string& sql, int64_t tenant_id,
                          const JobKind& kind) {
  return txn.exec_params(sql, tenant_id, kind.name, kind.description, kind.max_attempts,
                         kind.priority, absl::ToInt64Milliseconds(kind.backoff.initial),
                         kind.backoff.multiplier, absl::ToInt64Milliseconds(kind.backoff.max),
                         kind.backoff.jitter, absl::ToInt64Milliseconds(kind.attempt_timeout),
                         kind.max_concurrency, kind.starts_per_minute, kind.cost_per_minute,
                         kind.max_result_bytes, absl::ToInt64Seconds(kind.retention));
}

// The tenant's own rows sort before the system row of the same name (none
// exists while registration refuses system names; the order keeps a
// tenant's kind its own should one appear).
constexpr char kOwnFirst[] = " ORDER BY tenant_id NULLS LAST LIMIT 1";

}  // namespace

absl::StatusOr<JobKind> Create(pqxx::work& txn, int64_t tenant_id, const JobKind& kind,
                               const std::string& field) {
  if (absl::StartsWith(kind.name, model::kSystemKindPrefix)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": names starting with \"",
                                                   model::kSystemKindPrefix,
                                                   "\" are reserved for Quarry's own kinds"));
  }
  if (!txn.exec_params("SELECT 1 FROM job_kinds WHERE tenant_id IS NULL AND name = $1", kind.name)
           .empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", kind.name, "\" is the name of one of Quarry's own kinds"));
  }
  // $1 tenant, $2 name, then the settings.
  pqxx::result r = WithSettings(
      txn,
      absl::StrCat("INSERT INTO job_kinds (tenant_id, name, ", kSettingColumns,
                   ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
                   "ON CONFLICT DO NOTHING RETURNING ",
                   kColumns),
      tenant_id, kind);
  if (r.empty()) {
    return absl::AlreadyExistsError(absl::StrCat("job kind \"", kind.name, "\" already exists"));
  }
  return RowToKind(r[0]);
}

absl::StatusOr<JobKind> Get(pqxx::work& txn, std::optional<int64_t> tenant_id,
                            const std::string& name) {
  return FirstVisible(
      txn.exec_params(absl::StrCat("SELECT ", kColumns, " FROM job_kinds WHERE ", kVisible,
                                   " AND name = $2", kOwnFirst),
                      tenant_id, name),
      name);
}

absl::StatusOr<JobKind> HoldForSubmit(pqxx::work& txn, int64_t tenant_id,
                                      const std::string& name) {
  return FirstVisible(
      txn.exec_params(absl::StrCat("SELECT ", kColumns, " FROM job_kinds WHERE ", kVisible,
                                   " AND name = $2", kOwnFirst, " FOR KEY SHARE"),
                      tenant_id, name),
      name);
}

std::vector<JobKind> List(pqxx::work& txn, int64_t tenant_id, const std::string& after_name,
                          int limit) {
  std::vector<JobKind> kinds;
  for (const auto& row :
       txn.exec_params(absl::StrCat("SELECT ", kColumns, " FROM job_kinds WHERE ", kVisible,
                                    " AND name > $2 ORDER BY name, tenant_id NULLS LAST LIMIT $3"),
                       tenant_id, after_name, limit)) {
    kinds.push_back(RowToKind(row));
  }
  return kinds;
}

// PERMISSION_DENIED when `name` is a system kind (which tenants may use but
// not change), NOT_FOUND when the tenant has no kind of that name.
absl::Status RefuseUnlessOwn(pqxx::work& txn, int64_t tenant_id, const std::string& name,
                             absl::string_view verb) {
  QUARRY_ASSIGN_OR_RETURN(JobKind visible, Get(txn, tenant_id, name));
  if (visible.system()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "job kind \"", name, "\" is one of Quarry's own kinds; it cannot be ", verb));
  }
  return absl::OkStatus();
}

absl::StatusOr<JobKind> Update(pqxx::work& txn, int64_t tenant_id, const JobKind& kind) {
  QUARRY_RETURN_IF_ERROR(RefuseUnlessOwn(txn, tenant_id, kind.name, "changed"));
  pqxx::result r = WithSettings(
      txn,
      absl::StrCat("UPDATE job_kinds SET (", kSettingColumns,
                   ", updated_at) = ($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
                   "now()) WHERE tenant_id = $1 AND name = $2 RETURNING ",
                   kColumns),
      tenant_id, kind);
  if (r.empty()) return NotFound(kind.name);
  return RowToKind(r[0]);
}

absl::Status Delete(pqxx::work& txn, int64_t tenant_id, const std::string& name) {
  QUARRY_RETURN_IF_ERROR(RefuseUnlessOwn(txn, tenant_id, name, "deleted"));
  // FOR UPDATE waits for submits holding the kind (HoldForSubmit), so the
  // count below sees every job they enqueue.
  pqxx::result locked = txn.exec_params(
      "SELECT id FROM job_kinds WHERE tenant_id = $1 AND name = $2 FOR UPDATE", tenant_id, name);
  if (locked.empty()) return NotFound(name);
  const int64_t unfinished =
      txn.exec_params1("SELECT count(*) FROM jobs WHERE tenant_id = $1 AND kind = $2 "
                       "AND state IN ('queued', 'running')",
                       tenant_id, name)[0]
          .as<int64_t>();
  if (unfinished > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job kind \"", name, "\" has ", unfinished,
        " queued or running jobs; cancel them or let them finish before deleting it"));
  }
  txn.exec_params("DELETE FROM job_kinds WHERE id = $1", locked[0][0].as<int64_t>());
  return absl::OkStatus();
}

void PauseUntil(pqxx::work& txn, int64_t kind_id, absl::Time until) {
  txn.exec_params(
      "UPDATE job_kinds SET paused_until = greatest(paused_until, to_timestamp($2)) "
      "WHERE id = $1",
      kind_id, absl::ToUnixMicros(until) / 1e6);
}

}  // namespace quarry::jobqueue::pgkinds
