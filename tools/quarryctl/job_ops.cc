#include "tools/quarryctl/job_ops.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace quarry::ctl {

namespace v1 = ::quarry::gateway::v1;

namespace {

int CountedIndex(v1::JobState state) {
  for (size_t i = 0; i < kCountedStates.size(); ++i) {
    if (kCountedStates[i] == state) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

absl::StatusOr<v1::JobState> ParseJobState(absl::string_view flag, absl::string_view text) {
  std::string name = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text));
  if (!absl::StartsWith(name, "JOB_STATE_")) name = "JOB_STATE_" + name;
  v1::JobState state;
  if (!v1::JobState_Parse(name, &state) || state == v1::JOB_STATE_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, ": unknown job state \"", text,
        "\" (waiting, queued, running, succeeded, dead or cancelled)"));
  }
  return state;
}

absl::StatusOr<std::vector<v1::JobState>> ParseJobStates(absl::string_view flag,
                                                         absl::string_view text,
                                                         const std::vector<v1::JobState>& allowed,
                                                         const std::vector<v1::JobState>& fallback) {
  if (absl::StripAsciiWhitespace(text).empty()) return fallback;
  std::vector<v1::JobState> states;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    auto state = ParseJobState(flag, part);
    if (!state.ok()) return state.status();
    if (std::find(allowed.begin(), allowed.end(), *state) == allowed.end()) {
      std::vector<std::string> names;
      for (v1::JobState a : allowed) names.push_back(JobStateName(a));
      return absl::InvalidArgumentError(absl::StrCat("--", flag, " takes ",
                                                     absl::StrJoin(names, ", "), ", not \"",
                                                     absl::StripAsciiWhitespace(part), "\""));
    }
    if (std::find(states.begin(), states.end(), *state) == states.end()) states.push_back(*state);
  }
  return states;
}

std::string JobStateName(v1::JobState state) {
  return absl::AsciiStrToLower(absl::StripPrefix(v1::JobState_Name(state), "JOB_STATE_"));
}

absl::StatusOr<v1::OverlapPolicy> ParseOverlap(absl::string_view text) {
  const std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (name == "skip") return v1::OVERLAP_POLICY_SKIP;
  if (name == "queue") return v1::OVERLAP_POLICY_QUEUE;
  return absl::InvalidArgumentError(
      absl::StrCat("--overlap must be skip or queue, got \"", text, "\""));
}

absl::StatusOr<ScheduleTiming> ParseScheduleTiming(absl::string_view cron, absl::Duration every) {
  const absl::string_view expression = absl::StripAsciiWhitespace(cron);
  const bool has_every = every != absl::ZeroDuration();
  if (expression.empty() == !has_every) {
    return absl::InvalidArgumentError("give exactly one of --cron and --every");
  }
  ScheduleTiming timing;
  if (has_every) {
    // The API takes whole seconds; rounding here would tick at another rate
    // than the operator asked for.
    if (every < absl::Seconds(1) || every % absl::Seconds(1) != absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--every must be a whole number of seconds, at least 1s, got ",
          absl::FormatDuration(every)));
    }
    timing.every = every;
    return timing;
  }
  const std::vector<absl::string_view> fields =
      absl::StrSplit(expression, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.size() != 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--cron needs 5 fields (minute hour day-of-month month day-of-week), got ",
        fields.size(), " in \"", expression, "\""));
  }
  timing.cron = absl::StrJoin(fields, " ");
  return timing;
}

absl::StatusOr<google::protobuf::Duration> ToProtoDuration(absl::string_view flag,
                                                           absl::Duration value) {
  if (value < absl::ZeroDuration() || value == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " must be a finite, non-negative duration"));
  }
  google::protobuf::Duration out;
  const int64_t seconds = absl::IDivDuration(value, absl::Seconds(1), &value);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(value)));
  return out;
}

std::string DurationText(const google::protobuf::Duration& duration) {
  const absl::Duration value =
      absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
  return value == absl::ZeroDuration() ? "-" : absl::FormatDuration(value);
}

std::string TimestampText(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(timestamp.seconds()),
                          absl::UTCTimeZone());
}

void QueueCounts::AddKind(const std::string& kind) { counts_.try_emplace(kind); }

void QueueCounts::Add(const std::string& kind, v1::JobState state, int64_t n) {
  const int index = CountedIndex(state);
  if (index >= 0) counts_[kind][index] += n;
}

void QueueCounts::MarkTruncated(v1::JobState state) {
  if (const int index = CountedIndex(state); index >= 0) truncated_[index] = true;
}

int64_t QueueCounts::Count(const std::string& kind, v1::JobState state) const {
  const auto it = counts_.find(kind);
  const int index = CountedIndex(state);
  return it == counts_.end() || index < 0 ? 0 : it->second[index];
}

bool QueueCounts::truncated(v1::JobState state) const {
  const int index = CountedIndex(state);
  return index >= 0 && truncated_[index];
}

bool QueueCounts::any_truncated() const {
  return std::find(truncated_.begin(), truncated_.end(), true) != truncated_.end();
}

std::vector<std::vector<std::string>> QueueCounts::Rows() const {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"KIND"});
  for (v1::JobState state : kCountedStates) {
    rows[0].push_back(absl::AsciiStrToUpper(JobStateName(state)));
  }
  for (const auto& [kind, counts] : counts_) {
    std::vector<std::string>& row = rows.emplace_back();
    row.push_back(kind);
    for (size_t i = 0; i < counts.size(); ++i) {
      row.push_back(absl::StrCat(counts[i], truncated_[i] ? "+" : ""));
    }
  }
  return rows;
}

std::string QueueCounts::Json() const {
  nlohmann::json kinds = nlohmann::json::array();
  for (const auto& [kind, counts] : counts_) {
    nlohmann::json entry = {{"kind", kind}};
    for (size_t i = 0; i < counts.size(); ++i) entry[JobStateName(kCountedStates[i])] = counts[i];
    kinds.push_back(std::move(entry));
  }
  nlohmann::json truncated = nlohmann::json::array();
  for (size_t i = 0; i < truncated_.size(); ++i) {
    if (truncated_[i]) truncated.push_back(JobStateName(kCountedStates[i]));
  }
  return nlohmann::json{{"kinds", kinds}, {"truncated", truncated}}.dump(2) + "\n";
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows,
                        const std::vector<int>& right_aligned) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (row.size() > widths.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const bool right =
          std::find(right_aligned.begin(), right_aligned.end(), static_cast<int>(i)) !=
          right_aligned.end();
      const bool last = i + 1 == row.size();
      const std::string pad(widths[i] - row[i].size(), ' ');
      if (i > 0) line += "  ";
      if (right) {
        line += pad + row[i];
      } else {
        line += row[i];
        if (!last) line += pad;
      }
    }
    // An empty last cell would leave the separator dangling.
    out += std::string(absl::StripTrailingAsciiWhitespace(line)) + "\n";
  }
  return out;
}

}  // namespace quarry::ctl
