#include "tools/loadgen/driver.h"

#include <atomic>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/common/status/status.h"

namespace quarry::loadgen {
namespace {

std::string CodeName(const grpc::Status& status) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                                 "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                                 "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
                                 "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  int code = status.error_code();
  return code >= 0 && code <= 16 ? kNames[code] : "CODE_" + std::to_string(code);
}

// Shared by every in-flight call of one run.
struct RunState {
  Workload* workload;
  DriveOptions options;
  absl::Time end;
  RunStats stats;
  std::atomic<int64_t> issued{0};
  absl::Mutex mu;
  int outstanding ABSL_GUARDED_BY(mu) = 0;

  bool MayIssue() {
    return absl::Now() < end && issued.fetch_add(1) < options.max_requests;
  }
};

void IssueClosedLoop(std::shared_ptr<RunState> state) {
  const absl::Time start = absl::Now();
  state->workload->Issue([state, start](const grpc::Status& status) {
    state->stats.Record(absl::Now() - start, CodeName(status));
    if (state->MayIssue()) {
      IssueClosedLoop(state);
    } else {
      absl::MutexLock lock(&state->mu);
      --state->outstanding;
    }
  });
}

}  // namespace

std::pair<RunStats::Summary, absl::Duration> Drive(Workload& workload,
                                                   const DriveOptions& options) {
  auto state = std::make_shared<RunState>();
  state->workload = &workload;
  state->options = options;
  const absl::Time start = absl::Now();
  state->end = start + options.max_duration;

  if (options.rate <= 0) {
    for (int i = 0; i < options.concurrency && state->MayIssue(); ++i) {
      {
        absl::MutexLock lock(&state->mu);
        ++state->outstanding;
      }
      IssueClosedLoop(state);
    }
  } else {
    const absl::Duration interval = absl::Seconds(1.0 / options.rate);
    absl::Time next = start;
    while (state->MayIssue()) {
      absl::SleepFor(next - absl::Now());
      next += interval;
      {
        absl::MutexLock lock(&state->mu);
        if (state->outstanding >= options.max_outstanding) {
          state->stats.Record(absl::ZeroDuration(), "CLIENT_OVERLOADED");
          continue;
        }
        ++state->outstanding;
      }
      const absl::Time sent = absl::Now();
      workload.Issue([state, sent](const grpc::Status& status) {
        state->stats.Record(absl::Now() - sent, CodeName(status));
        absl::MutexLock lock(&state->mu);
        --state->outstanding;
      });
    }
  }
  {
    // Calls in flight finish within their deadline; wait for them.
    absl::MutexLock lock(&state->mu);
    auto idle = [&state]() ABSL_SHARED_LOCKS_REQUIRED(state->mu) { return state->outstanding == 0; };
    state->mu.Await(absl::Condition(&idle));
  }
  const absl::Duration elapsed = absl::Now() - start;
  return {state->stats.Summarize(elapsed), elapsed};
}

}  // namespace quarry::loadgen
