#ifndef QUARRY_SERVICES_COMMON_JOBQUEUE_PG_JOB_KIND_STORE_H_
#define QUARRY_SERVICES_COMMON_JOBQUEUE_PG_JOB_KIND_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/jobqueue/job_kind.h"

namespace quarry::jobqueue::pgkinds {

// The job_kinds table's SQL (migrations/0004_job_kinds.sql). Like pgjobs,
// each function runs inside a transaction it is given and may throw libpqxx
// exceptions; call them through pg::Pool. A tenant sees its own kinds and the
// system kinds; another tenant's kind is indistinguishable from a missing one.

// Registers `kind` for `tenant_id` (kind.tenant_id is ignored).
// ALREADY_EXISTS when the tenant has the name; INVALID_ARGUMENT naming
// `field` when the name is a system kind's or in the system namespace.
absl::StatusOr<JobKind> Create(pqxx::work& txn, int64_t tenant_id, const JobKind& kind,
                               const std::string& field);

// The kind named `name` that `tenant_id` sees: its own, or the system kind of
// that name. nullopt tenant: system kinds only. NOT_FOUND naming it otherwise.
absl::StatusOr<JobKind> Get(pqxx::work& txn, std::optional<int64_t> tenant_id,
                            const std::string& name);

// As Get, and holds the kind (FOR KEY SHARE) until the transaction ends, so
// that a job enqueued in it cannot outlive a concurrent delete of its kind.
absl::StatusOr<JobKind> HoldForSubmit(pqxx::work& txn, int64_t tenant_id, const std::string& name);

// The tenant's kinds and the system kinds, by name, after `after_name`.
std::vector<JobKind> List(pqxx::work& txn, int64_t tenant_id, const std::string& after_name,
                          int limit);

// Replaces the settings of the tenant's kind `kind.name`. NOT_FOUND when the
// tenant has none; PERMISSION_DENIED for a system kind.
absl::StatusOr<JobKind> Update(pqxx::work& txn, int64_t tenant_id, const JobKind& kind);

// Deletes the tenant's kind; its finished jobs stay. FAILED_PRECONDITION
// while jobs of it are queued or running; PERMISSION_DENIED for a system kind.
absl::Status Delete(pqxx::work& txn, int64_t tenant_id, const std::string& name);

// No job of the kind starts before `until` (a later pause already set wins).
void PauseUntil(pqxx::work& txn, int64_t kind_id, absl::Time until);

}  // namespace quarry::jobqueue::pgkinds

#endif  // QUARRY_SERVICES_COMMON_JOBQUEUE_PG_JOB_KIND_STORE_H_
