#include "services/worker/job_handler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace quarry::worker {

bool IsPermanentFailure(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
      return true;
    default:
      return false;
  }
}

absl::Status HandlerRegistry::Register(std::unique_ptr<JobHandler> handler) {
  std::string kind(handler->kind());
  if (!handlers_.emplace(kind, std::move(handler)).second) {
    return absl::AlreadyExistsError(absl::StrCat("job kind \"", kind, "\" registered twice"));
  }
  return absl::OkStatus();
}

JobHandler* HandlerRegistry::Find(absl::string_view kind) const {
  auto it = handlers_.find(kind);
  return it == handlers_.end() ? nullptr : it->second.get();
}

std::vector<std::string> HandlerRegistry::Kinds() const {
  std::vector<std::string> kinds;
  for (const auto& [kind, handler] : handlers_) kinds.push_back(kind);
  std::sort(kinds.begin(), kinds.end());
  return kinds;
}

}  // namespace quarry::worker
