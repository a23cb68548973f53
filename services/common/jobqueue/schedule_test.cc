#include "services/common/jobqueue/schedule.h"

#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quarry::jobqueue {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Time Utc(int64_t y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

Schedule Cron(absl::string_view expression) {
  absl::StatusOr<Schedule> schedule = ParseCron(expression);
  EXPECT_TRUE(schedule.ok()) << expression << ": " << schedule.status();
  return schedule.value_or(Schedule());
}

std::string ErrorOf(absl::string_view expression) {
  absl::StatusOr<Schedule> schedule = ParseCron(expression);
  EXPECT_FALSE(schedule.ok()) << expression;
  EXPECT_EQ(schedule.status().code(), absl::StatusCode::kInvalidArgument) << expression;
  return std::string(schedule.status().message());
}

TEST(ParseCronTest, NamesTheFieldAndTheBadToken) {
  EXPECT_EQ(ErrorOf("61 * * * *"), "cron: minute field \"61\" is out of range 0-59");
  EXPECT_EQ(ErrorOf("* 24 * * *"), "cron: hour field \"24\" is out of range 0-23");
  EXPECT_EQ(ErrorOf("* * 0 * *"), "cron: day-of-month field \"0\" is out of range 1-31");
  EXPECT_EQ(ErrorOf("* * * 13 *"), "cron: month field \"13\" is out of range 1-12");
  EXPECT_EQ(ErrorOf("* * * * 8"), "cron: day-of-week field \"8\" is out of range 0-7");
  EXPECT_EQ(ErrorOf("1-70 * * * *"), "cron: minute field \"70\" is out of range 0-59");
  EXPECT_EQ(ErrorOf("x * * * *"), "cron: minute field \"x\" is not a number");
  EXPECT_EQ(ErrorOf("+5 * * * *"), "cron: minute field \"+5\" is not a number");
  EXPECT_EQ(ErrorOf("*/0 * * * *"), "cron: minute field \"*/0\" has a step below 1");
  EXPECT_EQ(ErrorOf("*/x * * * *"), "cron: minute field \"*/x\" has a step that is not a number");
  EXPECT_EQ(ErrorOf("5/15 * * * *"),
            "cron: minute field \"5/15\" has a step without * or a range a-b");
  EXPECT_EQ(ErrorOf("1,,2 * * * *"), "cron: minute field \"1,,2\" has an empty list item");
  EXPECT_EQ(ErrorOf("* 10-5 * * *"),
            "cron: hour field \"10-5\" is a range whose start is after its end");
  EXPECT_THAT(ErrorOf("* * * *"), HasSubstr("expected 5 fields"));
  EXPECT_THAT(ErrorOf("* * * * * *"), HasSubstr("got 6"));
  EXPECT_THAT(ErrorOf(""), HasSubstr("got 0"));
}

TEST(ParseCronTest, RejectsDatesThatNeverExist) {
  EXPECT_EQ(ErrorOf("0 0 30 2 *"),
            "cron: day-of-month field \"30\" never falls in month field \"2\", so it never fires");
  EXPECT_THAT(ErrorOf("0 0 31 4,6,9,11 *"), HasSubstr("never fires"));
  EXPECT_THAT(ErrorOf("0 0 30-31 2 *"), HasSubstr("never fires"));
  // One possible month is enough.
  EXPECT_TRUE(ParseCron("0 0 31 2,3 *").ok());
  // With a restricted weekday the two day fields are ORed: it fires on Mondays.
  EXPECT_TRUE(ParseCron("0 0 30 2 1").ok());
}

TEST(NextTickTest, EveryMinuteIsStrictlyAfter) {
  Schedule s = Cron("* * * * *");
  EXPECT_EQ(s.NextTick(Utc(2026, 3, 1, 10, 0)), Utc(2026, 3, 1, 10, 1));
  EXPECT_EQ(s.NextTick(Utc(2026, 3, 1, 10, 0, 59)), Utc(2026, 3, 1, 10, 1));
  EXPECT_EQ(s.NextTick(Utc(2026, 12, 31, 23, 59, 30)), Utc(2027, 1, 1, 0, 0));
}

TEST(NextTickTest, ListsRangesAndSteps) {
  Schedule s = Cron("*/15 9-17/4 * * *");  // minutes 0,15,30,45; hours 9,13,17
  EXPECT_EQ(s.NextTick(Utc(2026, 3, 1, 8, 50)), Utc(2026, 3, 1, 9, 0));
  EXPECT_EQ(s.NextTick(Utc(2026, 3, 1, 9, 45)), Utc(2026, 3, 1, 13, 0));
  EXPECT_EQ(s.NextTick(Utc(2026, 3, 1, 17, 45)), Utc(2026, 3, 2, 9, 0));

  Schedule list = Cron("5,10,50-52 0 * * *");
  std::vector<absl::Time> ticks;
  absl::Time t = Utc(2026, 3, 1);
  for (int i = 0; i < 6; ++i) ticks.push_back(t = list.NextTick(t));
  EXPECT_THAT(ticks, ElementsAre(Utc(2026, 3, 1, 0, 5), Utc(2026, 3, 1, 0, 10),
                                 Utc(2026, 3, 1, 0, 50), Utc(2026, 3, 1, 0, 51),
                                 Utc(2026, 3, 1, 0, 52), Utc(2026, 3, 2, 0, 5)));
}

TEST(NextTickTest, DayOfWeekZeroAndSevenAreSunday) {
  // 2026-03-01 is a Sunday.
  EXPECT_EQ(Cron("0 0 * * 0").NextTick(Utc(2026, 2, 27)), Utc(2026, 3, 1));
  EXPECT_EQ(Cron("0 0 * * 7").NextTick(Utc(2026, 2, 27)), Utc(2026, 3, 1));
  // Friday to Sunday, written with 7.
  Schedule weekend = Cron("0 12 * * 5-7");
  absl::Time t = Utc(2026, 3, 1, 13);  // Sunday afternoon
  EXPECT_EQ(t = weekend.NextTick(t), Utc(2026, 3, 6, 12));  // Friday
  EXPECT_EQ(t = weekend.NextTick(t), Utc(2026, 3, 7, 12));
  EXPECT_EQ(t = weekend.NextTick(t), Utc(2026, 3, 8, 12));
  EXPECT_EQ(weekend.NextTick(t), Utc(2026, 3, 13, 12));
}

TEST(NextTickTest, BothDayFieldsRestrictedMeansEither) {
  // The 13th or any Friday.
  Schedule s = Cron("0 0 13 * 5");
  absl::Time t = Utc(2026, 3, 1);
  EXPECT_EQ(t = s.NextTick(t), Utc(2026, 3, 6));   // Friday
  EXPECT_EQ(t = s.NextTick(t), Utc(2026, 3, 13));  // Friday the 13th, once
  EXPECT_EQ(t = s.NextTick(t), Utc(2026, 3, 20));
  EXPECT_EQ(t = s.NextTick(t), Utc(2026, 3, 27));
  EXPECT_EQ(s.NextTick(t), Utc(2026, 4, 3));
  // A day field starting with '*' does not restrict: both must match.
  Schedule odd_mondays = Cron("0 0 */2 * 1");
  EXPECT_EQ(odd_mondays.NextTick(Utc(2026, 3, 1)), Utc(2026, 3, 9));
}

TEST(NextTickTest, LeapDaysOnlyInLeapYears) {
  Schedule s = Cron("0 0 29 2 *");
  EXPECT_EQ(s.NextTick(Utc(2026, 1, 1)), Utc(2028, 2, 29));
  EXPECT_EQ(s.NextTick(Utc(2028, 2, 29)), Utc(2032, 2, 29));
  // 2100 is not a leap year: eight years between leap days.
  EXPECT_EQ(s.NextTick(Utc(2096, 2, 29)), Utc(2104, 2, 29));
  // 2000 was.
  EXPECT_EQ(s.NextTick(Utc(1999, 1, 1)), Utc(2000, 2, 29));
}

TEST(NextTickTest, RarestAcceptedExpressionIsFound) {
  // 29 February on a Sunday: 2088, then 2128 across the 2100 non-leap year.
  Schedule s = Cron("0 0 29 2 */7");
  EXPECT_EQ(s.NextTick(Utc(2088, 3, 1)), Utc(2128, 2, 29));
}

TEST(NextTickTest, ThirtyFirstSkipsShortMonths) {
  Schedule s = Cron("30 6 31 * *");
  absl::Time t = Utc(2026, 1, 31, 7);
  EXPECT_EQ(t = s.NextTick(t), Utc(2026, 3, 31, 6, 30));
  EXPECT_EQ(t = s.NextTick(t), Utc(2026, 5, 31, 6, 30));
  EXPECT_EQ(s.NextTick(Utc(2026, 7, 31, 6, 30)), Utc(2026, 8, 31, 6, 30));
}

TEST(NextTickTest, ManyTicksStayOrderedAndMatch) {
  // Walking a year tick by tick never goes back and only lands on matches.
  Schedule s = Cron("0 */6 1,15 * *");
  absl::Time t = Utc(2026, 1, 1);
  int count = 0;
  for (absl::Time next = s.NextTick(t); next < Utc(2027, 1, 1); next = s.NextTick(next)) {
    ASSERT_GT(next, t);
    absl::CivilSecond c = absl::ToCivilSecond(next, absl::UTCTimeZone());
    EXPECT_TRUE(c.day() == 1 || c.day() == 15) << c;
    EXPECT_EQ(c.hour() % 6, 0) << c;
    EXPECT_EQ(c.minute(), 0) << c;
    t = next;
    ++count;
  }
  // 24 days, 4 ticks each, minus midnight of 1 January 2026 (not after t).
  EXPECT_EQ(count, 24 * 4 - 1);
}

TEST(FixedIntervalTest, TicksAreMultiplesSinceTheEpoch) {
  absl::StatusOr<Schedule> s = FixedInterval(absl::Minutes(5));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->is_interval());
  EXPECT_EQ(s->NextTick(Utc(2026, 3, 1, 10, 2, 30)), Utc(2026, 3, 1, 10, 5));
  EXPECT_EQ(s->NextTick(Utc(2026, 3, 1, 10, 5)), Utc(2026, 3, 1, 10, 10));
  EXPECT_EQ(s->NextTick(Utc(2026, 3, 1, 10, 4, 59) + absl::Milliseconds(999)),
            Utc(2026, 3, 1, 10, 5));
  EXPECT_EQ(s->NextTick(absl::FromUnixSeconds(-1)), absl::FromUnixSeconds(0));
  EXPECT_EQ(s->NextTick(absl::FromUnixSeconds(-301)), absl::FromUnixSeconds(-300));

  absl::StatusOr<Schedule> every_second = FixedInterval(absl::Seconds(1));
  ASSERT_TRUE(every_second.ok());
  EXPECT_EQ(every_second->NextTick(absl::FromUnixMillis(1500)), absl::FromUnixSeconds(2));
}

TEST(FixedIntervalTest, RejectsSubSecondAndFractionalIntervals) {
  EXPECT_EQ(FixedInterval(absl::Milliseconds(500)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FixedInterval(absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FixedInterval(absl::Milliseconds(1500)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FixedInterval(-absl::Seconds(5)).status().message(), HasSubstr("at least 1s"));
}

TEST(PlanDueTicksTest, NotDueFiresNothing) {
  Schedule s = *FixedInterval(absl::Minutes(1));
  TickPlan plan = PlanDueTicks(s, Utc(2026, 3, 1, 10, 5), Utc(2026, 3, 1, 10, 4), false, 100);
  EXPECT_TRUE(plan.ticks.empty());
  EXPECT_EQ(plan.next_run_at, Utc(2026, 3, 1, 10, 5));
}

TEST(PlanDueTicksTest, DowntimeFiresOnceAndJumpsToTheFuture) {
  Schedule s = *FixedInterval(absl::Minutes(1));
  const absl::Time due = Utc(2026, 3, 1, 7);
  const absl::Time now = Utc(2026, 3, 1, 10, 0, 30);
  TickPlan plan = PlanDueTicks(s, due, now, /*catch_up=*/false, 100);
  EXPECT_THAT(plan.ticks, ElementsAre(due));
  EXPECT_EQ(plan.next_run_at, Utc(2026, 3, 1, 10, 1));
}

TEST(PlanDueTicksTest, CatchUpFiresEachMissedTickBounded) {
  Schedule s = *FixedInterval(absl::Minutes(1));
  const absl::Time due = Utc(2026, 3, 1, 10);
  TickPlan plan = PlanDueTicks(s, due, Utc(2026, 3, 1, 10, 3), /*catch_up=*/true, 100);
  EXPECT_THAT(plan.ticks, ElementsAre(due, Utc(2026, 3, 1, 10, 1), Utc(2026, 3, 1, 10, 2),
                                      Utc(2026, 3, 1, 10, 3)));
  EXPECT_EQ(plan.next_run_at, Utc(2026, 3, 1, 10, 4));

  // Three hours missed, 100 per pass: the rest waits for the next pass.
  plan = PlanDueTicks(s, due, Utc(2026, 3, 1, 13), /*catch_up=*/true, 100);
  ASSERT_EQ(plan.ticks.size(), 100u);
  EXPECT_EQ(plan.ticks.back(), Utc(2026, 3, 1, 11, 39));
  EXPECT_EQ(plan.next_run_at, Utc(2026, 3, 1, 11, 40));
}

}  // namespace
}  // namespace quarry::jobqueue
