#ifndef QUARRY_SERVICES_COMMON_JOBQUEUE_PG_SCHEDULE_STORE_H_
#define QUARRY_SERVICES_COMMON_JOBQUEUE_PG_SCHEDULE_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/jobqueue/schedule_spec.h"

namespace quarry::jobqueue {

// The SQL of job_schedules (migration 0005). Like pgjobs, every function runs
// in a transaction it is given and may throw libpqxx exceptions (pg::Pool
// maps them: a duplicate name is ALREADY_EXISTS).
namespace pgschedules {

// Validates `spec` (INVALID_ARGUMENT naming the bad field) and inserts it with
// next_run_at the first tick after `now`.
absl::StatusOr<StoredSchedule> Create(pqxx::work& txn, const ScheduleSpec& spec, absl::Time now);

// Scoped to a tenant like pgjobs (nullopt: system schedules only); by name,
// which is unique per tenant.
std::optional<StoredSchedule> Get(pqxx::work& txn, std::optional<int64_t> tenant_id,
                                  const std::string& name);
// By name, those after `after_name`; at most `limit` (0: all).
std::vector<StoredSchedule> List(pqxx::work& txn, std::optional<int64_t> tenant_id,
                                 const std::string& after_name = "", int limit = 0);
// True if it existed. Jobs already enqueued by it are left alone.
bool Delete(pqxx::work& txn, std::optional<int64_t> tenant_id, const std::string& name);

// The scheduler's side. A due schedule, locked for this transaction, with
// the state of its latest job (nullopt: none, or purged).
struct DueSchedule {
  StoredSchedule schedule;
  std::optional<JobState> last_job_state;
};

// Up to `limit` enabled schedules of every tenant whose next_run_at is NULL
// or <= `now`, locked FOR UPDATE SKIP LOCKED: a row another scheduler holds
// is left to it, so replicas never fire one tick twice.
std::vector<DueSchedule> ClaimDue(pqxx::work& txn, absl::Time now, int limit);

// What a pass did to a claimed schedule.
struct PassResult {
  // absl::InfiniteFuture() (a schedule that never fires again) disables it.
  absl::Time next_run_at;
  std::optional<absl::Time> last_tick_at;  // the newest tick fired or skipped
  std::optional<int64_t> last_job_id;
  int skipped = 0;
  std::optional<absl::Time> last_skipped_at;
  std::string error;  // empty: none
};
void RecordPass(pqxx::work& txn, int64_t id, const PassResult& pass);

}  // namespace pgschedules
}  // namespace quarry::jobqueue

#endif  // QUARRY_SERVICES_COMMON_JOBQUEUE_PG_SCHEDULE_STORE_H_
