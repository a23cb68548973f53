#include "tools/quarryctl/job_ops.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace quarry::ctl {
namespace {

namespace v1 = ::quarry::gateway::v1;

TEST(JobOpsTest, JobStatesParseByShortOrFullNameInAnyCase) {
  EXPECT_EQ(*ParseJobState("state", "dead"), v1::JOB_STATE_DEAD);
  EXPECT_EQ(*ParseJobState("state", " Waiting "), v1::JOB_STATE_WAITING);
  EXPECT_EQ(*ParseJobState("state", "JOB_STATE_QUEUED"), v1::JOB_STATE_QUEUED);
  const auto bad = ParseJobState("state", "finished");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "--state")) << bad.status();
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "\"finished\"")) << bad.status();
  EXPECT_FALSE(ParseJobState("state", "unspecified").ok());
  EXPECT_FALSE(ParseJobState("state", "").ok());
  EXPECT_EQ(JobStateName(v1::JOB_STATE_CANCELLED), "cancelled");
}

TEST(JobOpsTest, StateListsTakeTheFallbackWhenEmptyAndOnlyAllowedStates) {
  const std::vector<v1::JobState> cancellable = {v1::JOB_STATE_QUEUED, v1::JOB_STATE_WAITING,
                                                 v1::JOB_STATE_RUNNING};
  EXPECT_EQ(*ParseJobStates("state", "", cancellable, cancellable), cancellable);
  EXPECT_EQ(*ParseJobStates("state", "running, queued,running", cancellable, cancellable),
            (std::vector<v1::JobState>{v1::JOB_STATE_RUNNING, v1::JOB_STATE_QUEUED}));
  const auto dead = ParseJobStates("state", "queued,dead", cancellable, cancellable);
  ASSERT_FALSE(dead.ok());
  EXPECT_EQ(dead.status().message(),
            "--state takes queued, waiting, running, not \"dead\"");
}

TEST(JobOpsTest, OverlapIsSkipOrQueue) {
  EXPECT_EQ(*ParseOverlap("skip"), v1::OVERLAP_POLICY_SKIP);
  EXPECT_EQ(*ParseOverlap("QUEUE"), v1::OVERLAP_POLICY_QUEUE);
  EXPECT_FALSE(ParseOverlap("").ok());
  EXPECT_FALSE(ParseOverlap("replace").ok());
}

TEST(JobOpsTest, ScheduleTimingIsExactlyOneOfCronAndEvery) {
  auto cron = ParseScheduleTiming("  */5  * * * 1-5 ", absl::ZeroDuration());
  ASSERT_TRUE(cron.ok()) << cron.status();
  EXPECT_EQ(cron->cron, "*/5 * * * 1-5");
  EXPECT_EQ(cron->every, absl::ZeroDuration());

  auto every = ParseScheduleTiming("", absl::Minutes(5));
  ASSERT_TRUE(every.ok()) << every.status();
  EXPECT_EQ(every->every, absl::Seconds(300));
  EXPECT_TRUE(every->cron.empty());

  EXPECT_EQ(ParseScheduleTiming("", absl::ZeroDuration()).status().message(),
            "give exactly one of --cron and --every");
  EXPECT_FALSE(ParseScheduleTiming("0 * * * *", absl::Minutes(1)).ok());
  const auto fields = ParseScheduleTiming("0 * * *", absl::ZeroDuration());
  ASSERT_FALSE(fields.ok());
  EXPECT_TRUE(absl::StrContains(fields.status().message(), "5 fields")) << fields.status();
  EXPECT_FALSE(ParseScheduleTiming("0 0 * * * *", absl::ZeroDuration()).ok());
  // Whole seconds only, and positive.
  EXPECT_FALSE(ParseScheduleTiming("", absl::Milliseconds(1500)).ok());
  EXPECT_FALSE(ParseScheduleTiming("", absl::Milliseconds(500)).ok());
  EXPECT_FALSE(ParseScheduleTiming("", -absl::Seconds(5)).ok());
}

TEST(JobOpsTest, DurationsConvertToProtoAndBack) {
  auto attempt = ToProtoDuration("attempt_timeout", absl::Milliseconds(61500));
  ASSERT_TRUE(attempt.ok());
  EXPECT_EQ(attempt->seconds(), 61);
  EXPECT_EQ(attempt->nanos(), 500000000);
  EXPECT_EQ(DurationText(*attempt), "1m1.5s");
  EXPECT_EQ(DurationText(google::protobuf::Duration()), "-");
  const auto negative = ToProtoDuration("retention", -absl::Seconds(1));
  ASSERT_FALSE(negative.ok());
  EXPECT_TRUE(absl::StrContains(negative.status().message(), "--retention"));
  EXPECT_FALSE(ToProtoDuration("retention", absl::InfiniteDuration()).ok());

  google::protobuf::Timestamp t;
  EXPECT_EQ(TimestampText(t), "-");
  t.set_seconds(1700000000);
  EXPECT_EQ(TimestampText(t), "2023-11-14T22:13:20Z");
}

TEST(JobOpsTest, QueueCountsListEveryKindAndMarkTruncatedStates) {
  QueueCounts counts;
  counts.AddKind("resize");
  counts.Add("embed", v1::JOB_STATE_DEAD);
  counts.Add("embed", v1::JOB_STATE_DEAD);
  counts.Add("embed", v1::JOB_STATE_SUCCEEDED, 10);
  counts.MarkTruncated(v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(counts.Count("embed", v1::JOB_STATE_DEAD), 2);
  EXPECT_EQ(counts.Count("resize", v1::JOB_STATE_DEAD), 0);
  EXPECT_EQ(counts.Count("nope", v1::JOB_STATE_DEAD), 0);
  EXPECT_TRUE(counts.truncated(v1::JOB_STATE_SUCCEEDED));
  EXPECT_FALSE(counts.truncated(v1::JOB_STATE_DEAD));
  EXPECT_TRUE(counts.any_truncated());

  EXPECT_EQ(FormatTable(counts.Rows(), {1, 2, 3, 4, 5, 6}),
            "KIND    WAITING  QUEUED  RUNNING  SUCCEEDED  DEAD  CANCELLED\n"
            "embed         0       0        0        10+     2          0\n"
            "resize        0       0        0         0+     0          0\n");

  const nlohmann::json json = nlohmann::json::parse(counts.Json());
  ASSERT_EQ(json["kinds"].size(), 2u);
  EXPECT_EQ(json["kinds"][0]["kind"], "embed");
  EXPECT_EQ(json["kinds"][0]["dead"], 2);
  EXPECT_EQ(json["kinds"][0]["waiting"], 0);
  EXPECT_EQ(json["truncated"], nlohmann::json::array({"succeeded"}));
}

TEST(JobOpsTest, TablesPadColumnsButNotTheLast) {
  EXPECT_EQ(FormatTable({{"NAME", "N", "NOTE"}, {"a", "10", "x"}, {"longer", "2", ""}}, {1}),
            "NAME     N  NOTE\n"
            "a       10  x\n"
            "longer   2\n");
}

}  // namespace
}  // namespace quarry::ctl
