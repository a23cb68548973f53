#include "services/common/jobqueue/schedule.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"

namespace quarry::jobqueue {
namespace {

// How far NextTick looks. Every expression ParseCron accepts fires within
// it: the rarest is a 29 February that must also be one weekday, which can be
// 40 years apart around a century that is not a leap year (2088 -> 2128).
constexpr int kSearchYears = 50;

struct FieldSpec {
  const char* name;
  int min;
  int max;
};

constexpr FieldSpec kMinute = {"minute", 0, 59};
constexpr FieldSpec kHour = {"hour", 0, 23};
constexpr FieldSpec kDayOfMonth = {"day-of-month", 1, 31};
constexpr FieldSpec kMonth = {"month", 1, 12};
// 7 is Sunday too; folded onto 0 after parsing.
constexpr FieldSpec kDayOfWeek = {"day-of-week", 0, 7};

absl::Status FieldError(const FieldSpec& field, absl::string_view token,
                        absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("cron: ", field.name, " field \"", token, "\" ", problem));
}

// Digits only: SimpleAtoi alone would take "+5" and " 5".
bool ParseDigits(absl::string_view text, int& value) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
         absl::SimpleAtoi(text, &value);
}

absl::StatusOr<int> ParseNumber(const FieldSpec& field, absl::string_view token) {
  int value = 0;
  if (!ParseDigits(token, value)) return FieldError(field, token, "is not a number");
  if (value < field.min || value > field.max) {
    return FieldError(field, token, absl::StrCat("is out of range ", field.min, "-", field.max));
  }
  return value;
}

// Sets in `bits` (indexed by value) every value the field selects.
absl::Status ParseField(const FieldSpec& field, absl::string_view text, std::bitset<64>& bits) {
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    if (item.empty()) return FieldError(field, text, "has an empty list item");
    absl::string_view range = item;
    int step = 1;
    if (size_t slash = item.find('/'); slash != absl::string_view::npos) {
      range = item.substr(0, slash);
      if (!ParseDigits(item.substr(slash + 1), step)) {
        return FieldError(field, item, "has a step that is not a number");
      }
      if (step < 1) return FieldError(field, item, "has a step below 1");
      if (range != "*" && range.find('-') == absl::string_view::npos) {
        return FieldError(field, item, "has a step without * or a range a-b");
      }
    }
    int low = field.min;
    int high = field.max;
    if (range != "*") {
      if (size_t dash = range.find('-'); dash != absl::string_view::npos) {
        absl::StatusOr<int> a = ParseNumber(field, range.substr(0, dash));
        if (!a.ok()) return a.status();
        absl::StatusOr<int> b = ParseNumber(field, range.substr(dash + 1));
        if (!b.ok()) return b.status();
        if (*a > *b) return FieldError(field, item, "is a range whose start is after its end");
        low = *a;
        high = *b;
      } else {
        absl::StatusOr<int> a = ParseNumber(field, range);
        if (!a.ok()) return a.status();
        low = high = *a;
      }
    }
    for (int v = low; v <= high; v += step) bits.set(v);
  }
  return absl::OkStatus();
}

template <size_t N>
std::bitset<N> Narrow(const std::bitset<64>& wide) {
  std::bitset<N> out;
  for (size_t i = 0; i < N; ++i) out[i] = wide[i];
  return out;
}

// The most days `month` has in any year (29 for February).
int MaxDaysInMonth(int month) {
  static constexpr int kDays[] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kDays[month];
}

}  // namespace

absl::StatusOr<Schedule> ParseCron(absl::string_view expression) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(expression, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.size() != 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cron: expected 5 fields (minute hour day-of-month month day-of-week), got ",
        fields.size(), " in \"", expression, "\""));
  }
  const FieldSpec* specs[] = {&kMinute, &kHour, &kDayOfMonth, &kMonth, &kDayOfWeek};
  std::bitset<64> bits[5];
  for (int i = 0; i < 5; ++i) {
    if (absl::Status s = ParseField(*specs[i], fields[i], bits[i]); !s.ok()) return s;
  }
  Schedule schedule;
  schedule.minutes_ = Narrow<60>(bits[0]);
  schedule.hours_ = Narrow<24>(bits[1]);
  schedule.days_of_month_ = Narrow<32>(bits[2]);
  schedule.months_ = Narrow<13>(bits[3]);
  if (bits[4][7]) bits[4].set(0);
  schedule.days_of_week_ = Narrow<7>(bits[4]);
  schedule.dom_restricted_ = fields[2][0] != '*';
  schedule.dow_restricted_ = fields[4][0] != '*';

  // Only a restricted day-of-month with an unrestricted day-of-week can rule
  // out every day: every month has every weekday, and a '*' day-of-month
  // always includes the 1st.
  if (schedule.dom_restricted_ && !schedule.dow_restricted_) {
    bool possible = false;
    for (int month = 1; month <= 12 && !possible; ++month) {
      if (!schedule.months_[month]) continue;
      for (int day = 1; day <= MaxDaysInMonth(month) && !possible; ++day) {
        possible = schedule.days_of_month_[day];
      }
    }
    if (!possible) {
      return absl::InvalidArgumentError(absl::StrCat("cron: day-of-month field \"", fields[2],
                                                     "\" never falls in month field \"",
                                                     fields[3], "\", so it never fires"));
    }
  }
  return schedule;
}

absl::StatusOr<Schedule> FixedInterval(absl::Duration interval) {
  if (interval < absl::Seconds(1) || interval == absl::InfiniteDuration() ||
      absl::Trunc(interval, absl::Seconds(1)) != interval) {
    return absl::InvalidArgumentError(
        absl::StrCat("interval: must be a whole number of seconds, at least 1s, got ",
                     absl::FormatDuration(interval)));
  }
  Schedule schedule;
  schedule.interval_ = interval;
  return schedule;
}

absl::Time Schedule::NextTick(absl::Time after) const {
  if (after == absl::InfiniteFuture()) return after;
  if (!is_interval()) return NextCronTick(after);
  const int64_t period = absl::ToInt64Seconds(interval_);
  // ToUnixSeconds rounds toward the past, and so does this division, so
  // (k + 1) * period is the first multiple strictly after `after`.
  const int64_t seconds = absl::ToUnixSeconds(after);
  int64_t k = seconds / period;
  if (seconds % period != 0 && seconds < 0) --k;
  return absl::FromUnixSeconds((k + 1) * period);
}

bool Schedule::DayMatches(int64_t year, int month, int day) const {
  const absl::Weekday weekday = absl::GetWeekday(absl::CivilDay(year, month, day));
  // absl counts from Monday = 0; cron from Sunday = 0.
  const int cron_weekday = (static_cast<int>(weekday) + 1) % 7;
  const bool dom = days_of_month_[day];
  const bool dow = days_of_week_[cron_weekday];
  return dom_restricted_ && dow_restricted_ ? dom || dow : dom && dow;
}

absl::Time Schedule::NextCronTick(absl::Time after) const {
  const absl::TimeZone utc = absl::UTCTimeZone();
  // Civil arithmetic normalises (31 April is 1 May), so stepping by months,
  // days and hours visits only real dates: each step skips a whole unit that
  // cannot match, which bounds the loop by the units in kSearchYears.
  absl::CivilMinute m = absl::ToCivilMinute(after, utc) + 1;
  const int64_t last_year = m.year() + kSearchYears;
  while (m.year() <= last_year) {
    if (!months_[m.month()]) {
      m = absl::CivilMinute(absl::CivilMonth(m) + 1);
      continue;
    }
    if (!DayMatches(m.year(), m.month(), m.day())) {
      m = absl::CivilMinute(absl::CivilDay(m) + 1);
      continue;
    }
    if (hours_[m.hour()]) {
      for (int minute = m.minute(); minute < 60; ++minute) {
        if (minutes_[minute]) {
          return absl::FromCivil(
              absl::CivilMinute(m.year(), m.month(), m.day(), m.hour(), minute), utc);
        }
      }
    }
    m = absl::CivilMinute(absl::CivilHour(m) + 1);
  }
  return absl::InfiniteFuture();
}

TickPlan PlanDueTicks(const Schedule& schedule, absl::Time due, absl::Time now, bool catch_up,
                      int max_ticks) {
  TickPlan plan;
  if (due > now) {
    plan.next_run_at = due;
    return plan;
  }
  if (!catch_up) {
    plan.ticks.push_back(due);
    plan.next_run_at = schedule.NextTick(now);
    return plan;
  }
  absl::Time tick = due;
  while (tick <= now && static_cast<int>(plan.ticks.size()) < std::max(max_ticks, 1)) {
    plan.ticks.push_back(tick);
    tick = schedule.NextTick(tick);
  }
  plan.next_run_at = tick;
  return plan;
}

}  // namespace quarry::jobqueue
