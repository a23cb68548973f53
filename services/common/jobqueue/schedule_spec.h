#ifndef QUARRY_SERVICES_COMMON_JOBQUEUE_SCHEDULE_SPEC_H_
#define QUARRY_SERVICES_COMMON_JOBQUEUE_SCHEDULE_SPEC_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/jobqueue/job.h"
#include "services/common/jobqueue/schedule.h"

namespace quarry::jobqueue {

// Periodic jobs as records, without SQL: what the gateway's domain layer and
// the scheduler pass around. pg_schedule_store.h stores them.

// What to do with a tick while the schedule's previous job is unfinished.
enum class OverlapPolicy { kSkip, kQueue };

// A periodic job as a client defines it. Exactly one of `cron` and
// `interval` is set (both UTC; see schedule.h).
struct ScheduleSpec {
  std::optional<int64_t> tenant_id;  // nullopt: a system schedule
  std::string name;                  // unique per tenant
  std::string kind;
  std::string payload_json = "{}";  // a JSON object
  std::string cron;                 // empty: use `interval`
  absl::Duration interval = absl::ZeroDuration();
  OverlapPolicy overlap = OverlapPolicy::kSkip;
  bool catch_up = false;
  int priority = 0;
  int max_attempts = 5;
};

// A schedule as stored in job_schedules.
struct StoredSchedule {
  int64_t id = 0;
  ScheduleSpec spec;
  bool enabled = true;
  std::optional<absl::Time> next_run_at;  // nullopt: not computed yet
  std::optional<absl::Time> last_tick_at;
  std::optional<int64_t> last_job_id;
  int64_t skipped_ticks = 0;
  std::string last_error;
  absl::Time created_at;

  // The parsed cron or interval; INVALID_ARGUMENT for a row SQL wrote badly.
  absl::StatusOr<Schedule> Timing() const;
};

// The longest fixed interval: a schedule that fires less often than yearly is
// better written as cron.
inline constexpr absl::Duration kMaxScheduleInterval = absl::Hours(24 * 366);

// The rules for a schedule's fields, each error INVALID_ARGUMENT naming the
// field under `prefix` (e.g. "schedule.cron") and its limit: name and kind
// as job kind names, exactly one of a cron expression (ParseCron) and a
// whole-second interval in [1 s, kMaxScheduleInterval], priority and
// max_attempts in the job bounds of model/limits.h. The payload is checked
// where it arrives (it is JSON text here).
absl::Status ValidateScheduleSpec(absl::string_view prefix, const ScheduleSpec& spec);

// The idempotency key of the job of `schedule_id`'s tick at `tick`:
// "schedule:<id>:<tick unix seconds>". One tick, one key, one job.
std::string ScheduleTickKey(int64_t schedule_id, absl::Time tick);

// The job one tick of `schedule` enqueues.
JobSpec TickJobSpec(const StoredSchedule& schedule, absl::Time tick);

}  // namespace quarry::jobqueue

#endif  // QUARRY_SERVICES_COMMON_JOBQUEUE_SCHEDULE_SPEC_H_
