#include "services/worker/worker_options.h"

#include "absl/strings/str_cat.h"

namespace quarry::worker {

absl::Status WorkerOptions::Validate() const {
  if (embedding_target.empty()) {
    return absl::InvalidArgumentError("--embedding_target: required");
  }
  if (threads < kMinThreads || threads > kMaxThreads) {
    return absl::InvalidArgumentError(
        absl::StrCat("--threads: must be in [", kMinThreads, ", ", kMaxThreads, "], got ", threads));
  }
  if (lease < kMinLease) {
    return absl::InvalidArgumentError(absl::StrCat("--lease: must be at least ",
                                                   absl::FormatDuration(kMinLease), ", got ",
                                                   absl::FormatDuration(lease)));
  }
  if (purge_retention < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("--purge_retention: must not be negative, got ",
                                                   absl::FormatDuration(purge_retention)));
  }
  if (scheduler && scheduler_poll < kMinSchedulerPoll) {
    return absl::InvalidArgumentError(absl::StrCat("--scheduler_poll: must be at least ",
                                                   absl::FormatDuration(kMinSchedulerPoll),
                                                   ", got ", absl::FormatDuration(scheduler_poll)));
  }
  return absl::OkStatus();
}

}  // namespace quarry::worker
