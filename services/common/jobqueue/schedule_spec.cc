#include "services/common/jobqueue/schedule_spec.h"

#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "services/common/jobqueue/job_kind.h"
#include "services/common/model/limits.h"

namespace quarry::jobqueue {
namespace {

absl::Status Invalid(absl::string_view prefix, absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(prefix, ".", field, ": ", why));
}

}  // namespace

absl::Status ValidateScheduleSpec(absl::string_view prefix, const ScheduleSpec& spec) {
  if (absl::Status s = ValidateJobKindName(absl::StrCat(prefix, ".name"), spec.name); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateJobKindName(absl::StrCat(prefix, ".kind"), spec.kind); !s.ok()) {
    return s;
  }
  const bool has_interval = spec.interval != absl::ZeroDuration();
  if (spec.cron.empty() == !has_interval) {
    return Invalid(prefix, "cron", "exactly one of cron and interval is required");
  }
  if (!spec.cron.empty()) {
    absl::StatusOr<Schedule> cron = ParseCron(spec.cron);
    if (!cron.ok()) {
      // ParseCron names its field "cron"; say where it sits in the request.
      absl::string_view why = cron.status().message();
      absl::ConsumePrefix(&why, "cron: ");
      return Invalid(prefix, "cron", why);
    }
  } else if (spec.interval < absl::Seconds(1) || spec.interval > kMaxScheduleInterval ||
             spec.interval != absl::Seconds(absl::ToInt64Seconds(spec.interval))) {
    return Invalid(prefix, "interval",
                   absl::StrCat("must be a whole number of seconds in [1s, ",
                                absl::FormatDuration(kMaxScheduleInterval), "], got ",
                                absl::FormatDuration(spec.interval)));
  }
  if (spec.priority < model::kMinPriority || spec.priority > model::kMaxPriority) {
    return Invalid(prefix, "priority",
                   absl::StrCat("must be in [", model::kMinPriority, ", ", model::kMaxPriority,
                                "], got ", spec.priority));
  }
  if (spec.max_attempts < 1 || spec.max_attempts > model::kMaxMaxAttempts) {
    return Invalid(prefix, "max_attempts",
                   absl::StrCat("must be in [1, ", model::kMaxMaxAttempts, "], got ",
                                spec.max_attempts));
  }
  return absl::OkStatus();
}

absl::StatusOr<Schedule> StoredSchedule::Timing() const {
  if (!spec.cron.empty()) return ParseCron(spec.cron);
  return FixedInterval(spec.interval);
}

std::string ScheduleTickKey(int64_t schedule_id, absl::Time tick) {
  return absl::StrCat("schedule:", schedule_id, ":", absl::ToUnixSeconds(tick));
}

JobSpec TickJobSpec(const StoredSchedule& schedule, absl::Time tick) {
  JobSpec job;
  job.tenant_id = schedule.spec.tenant_id;
  job.kind = schedule.spec.kind;
  job.payload_json = schedule.spec.payload_json;
  job.priority = schedule.spec.priority;
  // Not before its tick, even from a scheduler whose clock runs ahead.
  job.run_at = tick;
  job.max_attempts = schedule.spec.max_attempts;
  job.idempotency_key = ScheduleTickKey(schedule.id, tick);
  return job;
}

}  // namespace quarry::jobqueue
