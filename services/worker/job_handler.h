#ifndef QUARRY_SERVICES_WORKER_JOB_HANDLER_H_
#define QUARRY_SERVICES_WORKER_JOB_HANDLER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/jobqueue/job.h"

namespace quarry::worker {

// What a running handler can see and do.
class JobContext {
 public:
  virtual ~JobContext() = default;
  virtual const jobqueue::Job& job() const = 0;
  // True when the handler should stop at its next step: a client cancelled
  // the job, the lease was lost, or the worker is draining past its grace.
  // A handler that stops returns CancelledError.
  virtual bool ShouldStop() const = 0;
  // Stores and publishes progress (fraction in [0, 1]).
  virtual absl::Status SetProgress(double fraction, const std::string& message) = 0;
};

// One job kind. Handlers must be idempotent: delivery is at least once, and a
// retry after a crash must have no visible effect beyond the first run.
class JobHandler {
 public:
  virtual ~JobHandler() = default;
  virtual absl::string_view kind() const = 0;
  // Runs one attempt and returns the result as a JSON object. Errors:
  // INVALID_ARGUMENT / FAILED_PRECONDITION / NOT_FOUND mean the job can never
  // succeed (a bad payload, a deleted collection) and it goes DEAD at once;
  // CANCELLED means it stopped because ShouldStop(); anything else is retried
  // with backoff until max_attempts.
  virtual absl::StatusOr<std::string> Run(JobContext& context) = 0;
};

// Whether a handler error should end the job without retries.
bool IsPermanentFailure(const absl::Status& status);

// The handlers this worker runs: main.cc registers one per kind, and the
// runner claims only registered kinds. Which kinds exist is defined in
// services/common/model/job_kinds.h, shared with the gateway and metrics.
class HandlerRegistry {
 public:
  // ALREADY_EXISTS if the kind is registered twice.
  absl::Status Register(std::unique_ptr<JobHandler> handler);
  // nullptr for an unknown kind.
  JobHandler* Find(absl::string_view kind) const;
  std::vector<std::string> Kinds() const;

 private:
  absl::flat_hash_map<std::string, std::unique_ptr<JobHandler>> handlers_;
};

}  // namespace quarry::worker

#endif  // QUARRY_SERVICES_WORKER_JOB_HANDLER_H_
