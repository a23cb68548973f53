#ifndef QUARRY_SERVICES_GATEWAY_CORE_JOB_KINDS_H_
#define QUARRY_SERVICES_GATEWAY_CORE_JOB_KINDS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/gateway/core/stores.h"

namespace quarry::gateway {

// A tenant's job kinds: registration with the field rules of
// jobqueue::ValidateJobKind, and listing its own kinds beside the system ones.
class JobKinds {
 public:
  explicit JobKinds(JobKindStore& kinds) : kinds_(kinds) {}

  absl::StatusOr<jobqueue::JobKind> Create(int64_t tenant_id, const jobqueue::JobKind& kind);
  absl::StatusOr<jobqueue::JobKind> Get(int64_t tenant_id, const std::string& name);

  struct Page {
    std::vector<jobqueue::JobKind> kinds;
    std::optional<std::string> next_after;  // the last name, when there are more
  };
  absl::StatusOr<Page> List(int64_t tenant_id, const std::string& after_name, int size);

  absl::StatusOr<jobqueue::JobKind> Update(int64_t tenant_id, const jobqueue::JobKind& kind);
  absl::Status Delete(int64_t tenant_id, const std::string& name);

 private:
  JobKindStore& kinds_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_CORE_JOB_KINDS_H_
