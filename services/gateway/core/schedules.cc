#include "services/gateway/core/schedules.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/status/macros.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {

absl::StatusOr<jobqueue::StoredSchedule> Schedules::Create(int64_t tenant_id,
                                                           jobqueue::ScheduleSpec spec) {
  spec.tenant_id = tenant_id;
  if (spec.payload_json.empty()) spec.payload_json = "{}";
  QUARRY_RETURN_IF_ERROR(ValidatePayloadJson("schedule.payload_json", spec.payload_json));
  // The kind's defaults stand in for unset fields before the bounds are
  // checked, so a schedule is stored as its jobs will run.
  QUARRY_RETURN_IF_ERROR(jobqueue::ValidateJobKindName("schedule.kind", spec.kind));
  QUARRY_ASSIGN_OR_RETURN(jobqueue::JobKind kind, kinds_.Get(tenant_id, spec.kind));
  if (kind.system()) {
    return absl::InvalidArgumentError(
        absl::StrCat("schedule.kind: \"", kind.name,
                     "\" is one of Quarry's own kinds; schedules run the tenant's own kinds"));
  }
  if (spec.priority == 0) spec.priority = kind.priority;
  if (spec.max_attempts == 0) spec.max_attempts = kind.max_attempts;
  QUARRY_RETURN_IF_ERROR(jobqueue::ValidateScheduleSpec("schedule", spec));
  return schedules_.Create(spec);
}

absl::StatusOr<jobqueue::StoredSchedule> Schedules::Get(int64_t tenant_id,
                                                        const std::string& name) {
  QUARRY_RETURN_IF_ERROR(jobqueue::ValidateJobKindName("name", name));
  return schedules_.Get(tenant_id, name);
}

absl::StatusOr<Schedules::Page> Schedules::List(int64_t tenant_id, const std::string& after_name,
                                                int size) {
  // One more than a page tells whether there is a next one.
  QUARRY_ASSIGN_OR_RETURN(auto schedules, schedules_.List(tenant_id, after_name, size + 1));
  Page page;
  if (static_cast<int>(schedules.size()) > size) {
    schedules.resize(size);
    page.next_after = schedules.back().spec.name;
  }
  page.schedules = std::move(schedules);
  return page;
}

absl::Status Schedules::Delete(int64_t tenant_id, const std::string& name) {
  QUARRY_RETURN_IF_ERROR(jobqueue::ValidateJobKindName("name", name));
  return schedules_.Delete(tenant_id, name);
}

}  // namespace quarry::gateway
