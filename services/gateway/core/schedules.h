#ifndef QUARRY_SERVICES_GATEWAY_CORE_SCHEDULES_H_
#define QUARRY_SERVICES_GATEWAY_CORE_SCHEDULES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/gateway/core/stores.h"

namespace quarry::gateway {

// A tenant's periodic jobs. A schedule runs one of the tenant's own kinds:
// Quarry's system kinds run on its own schedules (refresh_stats) or need a
// collection resolved at submit, which a tick cannot do.
class Schedules {
 public:
  Schedules(ScheduleStore& schedules, JobKindStore& kinds) : schedules_(schedules), kinds_(kinds) {}

  // Checks the fields (jobqueue::ValidateScheduleSpec and the payload) and
  // the kind, fills the priority and attempts a schedule left at 0 from the
  // kind, and stores it for `tenant_id`.
  absl::StatusOr<jobqueue::StoredSchedule> Create(int64_t tenant_id, jobqueue::ScheduleSpec spec);
  absl::StatusOr<jobqueue::StoredSchedule> Get(int64_t tenant_id, const std::string& name);

  struct Page {
    std::vector<jobqueue::StoredSchedule> schedules;
    std::optional<std::string> next_after;  // the last name, when there are more
  };
  absl::StatusOr<Page> List(int64_t tenant_id, const std::string& after_name, int size);

  absl::Status Delete(int64_t tenant_id, const std::string& name);

 private:
  ScheduleStore& schedules_;
  JobKindStore& kinds_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_CORE_SCHEDULES_H_
