#ifndef QUARRY_SERVICES_COMMON_JOBQUEUE_SCHEDULE_H_
#define QUARRY_SERVICES_COMMON_JOBQUEUE_SCHEDULE_H_

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace quarry::jobqueue {

// When a periodic job fires: a 5-field cron expression or a fixed interval,
// both in UTC. Ticks are a pure function of the schedule (no "last run"
// state), so every replica computes the same ticks and a tick can be named by
// its time (see ScheduleTickKey in pg_schedule_store.h).
class Schedule {
 public:
  // The first tick strictly after `after`; absl::InfiniteFuture() if there is
  // none within the search bound (ParseCron rejects the expressions that can
  // never fire, so that is only reachable through an impossible calendar).
  absl::Time NextTick(absl::Time after) const;

  bool is_interval() const { return interval_ > absl::ZeroDuration(); }
  absl::Duration interval() const { return interval_; }

 private:
  friend absl::StatusOr<Schedule> ParseCron(absl::string_view expression);
  friend absl::StatusOr<Schedule> FixedInterval(absl::Duration interval);

  absl::Time NextCronTick(absl::Time after) const;
  bool DayMatches(int64_t year, int month, int day) const;

  // Zero for a cron schedule.
  absl::Duration interval_ = absl::ZeroDuration();
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // bits 1-31
  std::bitset<13> months_;         // bits 1-12
  std::bitset<7> days_of_week_;    // 0 = Sunday
  // A day field written starting with '*' does not restrict the day (Vixie
  // cron): when both day fields restrict, a day matching either fires.
  bool dom_restricted_ = false;
  bool dow_restricted_ = false;
};

// Parses "minute hour day-of-month month day-of-week" (fields separated by
// blanks). Each field is a comma list of `*`, `n`, `a-b`, `*/s` or `a-b/s`;
// day-of-week takes 0-7 with both 0 and 7 Sunday. No names (JAN, MON) or
// macros (@daily). INVALID_ARGUMENT naming the field and the bad token, e.g.
//   cron: minute field "61" is out of range 0-59
// also for a day-of-month and month that never coincide ("0 0 30 2 *").
absl::StatusOr<Schedule> ParseCron(absl::string_view expression);

// Ticks at every whole multiple of `interval` since the Unix epoch, so that
// ticks do not depend on when the schedule was created or polled.
// INVALID_ARGUMENT unless `interval` is a whole number of seconds >= 1.
absl::StatusOr<Schedule> FixedInterval(absl::Duration interval);

// Which ticks of a due schedule fire in one pass, and where it resumes.
struct TickPlan {
  std::vector<absl::Time> ticks;  // oldest first; empty if not due
  absl::Time next_run_at;         // the first tick not covered by `ticks`
};

// The ticks of `schedule` due at `now` when `due` (its stored next_run_at) is
// the oldest one not yet fired. Without `catch_up` a schedule that missed many
// ticks (downtime) fires once, for `due`, and resumes at the first tick after
// `now`: no burst. With it, each missed tick fires, at most `max_ticks` of
// them; next_run_at is then the first one left, possibly still <= now, so the
// next pass continues.
TickPlan PlanDueTicks(const Schedule& schedule, absl::Time due, absl::Time now, bool catch_up,
                      int max_ticks);

}  // namespace quarry::jobqueue

#endif  // QUARRY_SERVICES_COMMON_JOBQUEUE_SCHEDULE_H_
