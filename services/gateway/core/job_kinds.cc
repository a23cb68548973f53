#include "services/gateway/core/job_kinds.h"

#include "services/common/status/macros.h"

namespace quarry::gateway {

absl::StatusOr<jobqueue::JobKind> JobKinds::Create(int64_t tenant_id,
                                                   const jobqueue::JobKind& kind) {
  QUARRY_RETURN_IF_ERROR(jobqueue::ValidateJobKind("kind", kind));
  return kinds_.Create(tenant_id, kind);
}

absl::StatusOr<jobqueue::JobKind> JobKinds::Get(int64_t tenant_id, const std::string& name) {
  QUARRY_RETURN_IF_ERROR(jobqueue::ValidateJobKindName("name", name));
  return kinds_.Get(tenant_id, name);
}

absl::StatusOr<JobKinds::Page> JobKinds::List(int64_t tenant_id, const std::string& after_name,
                                              int size) {
  // One more than a page tells whether there is a next one.
  QUARRY_ASSIGN_OR_RETURN(auto kinds, kinds_.List(tenant_id, after_name, size + 1));
  Page page;
  if (static_cast<int>(kinds.size()) > size) {
    kinds.resize(size);
    page.next_after = kinds.back().name;
  }
  page.kinds = std::move(kinds);
  return page;
}

absl::StatusOr<jobqueue::JobKind> JobKinds::Update(int64_t tenant_id,
                                                   const jobqueue::JobKind& kind) {
  QUARRY_RETURN_IF_ERROR(jobqueue::ValidateJobKind("kind", kind));
  return kinds_.Update(tenant_id, kind);
}

absl::Status JobKinds::Delete(int64_t tenant_id, const std::string& name) {
  QUARRY_RETURN_IF_ERROR(jobqueue::ValidateJobKindName("name", name));
  return kinds_.Delete(tenant_id, name);
}

}  // namespace quarry::gateway
