// What the kinds, schedules and jobs commands compute without a server: flag
// values turned into API values (checked here so that a typo is a usage
// error naming the flag rather than a round trip), per-kind queue counts, and
// aligned text tables. Kept apart from the commands so it is unit-tested.
#ifndef TOOLS_QUARRYCTL_JOB_OPS_H_
#define TOOLS_QUARRYCTL_JOB_OPS_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "quarry/gateway/v1/job_service.pb.h"
#include "quarry/gateway/v1/schedule_service.pb.h"

namespace quarry::ctl {

// "queued", "RUNNING", "job_state_dead" ... to the enum; INVALID_ARGUMENT
// naming `flag` otherwise.
absl::StatusOr<gateway::v1::JobState> ParseJobState(absl::string_view flag,
                                                    absl::string_view text);
// A comma-separated list of states (empty: `fallback`), each one of
// `allowed`; INVALID_ARGUMENT naming `flag` and the allowed ones otherwise.
absl::StatusOr<std::vector<gateway::v1::JobState>> ParseJobStates(
    absl::string_view flag, absl::string_view text,
    const std::vector<gateway::v1::JobState>& allowed,
    const std::vector<gateway::v1::JobState>& fallback);
// "queued" for JOB_STATE_QUEUED.
std::string JobStateName(gateway::v1::JobState state);

absl::StatusOr<gateway::v1::OverlapPolicy> ParseOverlap(absl::string_view text);

// When a schedule ticks: exactly one of a cron expression (five fields) and
// a whole, positive number of seconds.
struct ScheduleTiming {
  std::string cron;
  absl::Duration every = absl::ZeroDuration();
};
absl::StatusOr<ScheduleTiming> ParseScheduleTiming(absl::string_view cron, absl::Duration every);

// A non-negative duration flag to the proto; `flag` names it in the error.
absl::StatusOr<google::protobuf::Duration> ToProtoDuration(absl::string_view flag,
                                                           absl::Duration value);
// "90s" -> "1m30s"; "-" for an unset (zero) duration.
std::string DurationText(const google::protobuf::Duration& duration);
// RFC 3339 in UTC; "-" for an unset timestamp.
std::string TimestampText(const google::protobuf::Timestamp& timestamp);

// Per kind, jobs per state, counted from listings that may stop early.
inline constexpr std::array<gateway::v1::JobState, 6> kCountedStates = {
    gateway::v1::JOB_STATE_WAITING,   gateway::v1::JOB_STATE_QUEUED,
    gateway::v1::JOB_STATE_RUNNING,   gateway::v1::JOB_STATE_SUCCEEDED,
    gateway::v1::JOB_STATE_DEAD,      gateway::v1::JOB_STATE_CANCELLED};
class QueueCounts {
 public:
  // A kind shown even with no jobs (e.g. every registered kind).
  void AddKind(const std::string& kind);
  void Add(const std::string& kind, gateway::v1::JobState state, int64_t n = 1);
  // The listing of `state` stopped before its end: its counts are lower bounds.
  void MarkTruncated(gateway::v1::JobState state);

  int64_t Count(const std::string& kind, gateway::v1::JobState state) const;
  bool truncated(gateway::v1::JobState state) const;
  bool any_truncated() const;
  // A row per kind, by name: KIND WAITING QUEUED RUNNING SUCCEEDED DEAD
  // CANCELLED, counts of a truncated state suffixed with '+'.
  std::vector<std::vector<std::string>> Rows() const;
  // {"kinds": [{"kind": ..., "waiting": n, ...}], "truncated": [state names]}.
  std::string Json() const;

 private:
  std::map<std::string, std::array<int64_t, kCountedStates.size()>> counts_;
  std::array<bool, kCountedStates.size()> truncated_{};
};

// Columns padded to their widest cell, two spaces apart, the last column not
// padded, nor trailing blanks; columns listed in `right_aligned` (0-based) are right-aligned.
// rows[0] is the header.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows,
                        const std::vector<int>& right_aligned = {});

}  // namespace quarry::ctl

#endif  // TOOLS_QUARRYCTL_JOB_OPS_H_
