#include "services/gateway/core/stores.h"

#include "absl/strings/str_cat.h"

namespace quarry::gateway {

absl::Status CollectionNotFound(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("collection \"", name, "\" not found"));
}

absl::Status ScheduleNotFound(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("schedule \"", name, "\" not found"));
}

}  // namespace quarry::gateway
