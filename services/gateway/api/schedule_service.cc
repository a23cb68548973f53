#include "services/gateway/api/schedule_service.h"

#include "services/common/status/macros.h"
#include "services/gateway/api/convert.h"
#include "services/gateway/page_token.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {

grpc::Status ScheduleServiceImpl::CreateSchedule(grpc::ServerContext* context,
                                                 const v1::CreateScheduleRequest* request,
                                                 v1::CreateScheduleResponse* response) {
  return admit_.Run(*context, Scope::kAdmin, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto wanted, FromProto(request->schedule(), "schedule"));
    QUARRY_ASSIGN_OR_RETURN(auto schedule, schedules_.Create(caller.tenant_id, wanted));
    ToProto(schedule, response->mutable_schedule());
    return absl::OkStatus();
  });
}

grpc::Status ScheduleServiceImpl::GetSchedule(grpc::ServerContext* context,
                                              const v1::GetScheduleRequest* request,
                                              v1::GetScheduleResponse* response) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto schedule, schedules_.Get(caller.tenant_id, request->name()));
    ToProto(schedule, response->mutable_schedule());
    return absl::OkStatus();
  });
}

grpc::Status ScheduleServiceImpl::ListSchedules(grpc::ServerContext* context,
                                                const v1::ListSchedulesRequest* request,
                                                v1::ListSchedulesResponse* response) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto size, PageSize("page", request->page()));
    QUARRY_ASSIGN_OR_RETURN(
        auto after, DecodePageToken("page.page_token", "schedules", request->page().page_token()));
    QUARRY_ASSIGN_OR_RETURN(auto page, schedules_.List(caller.tenant_id, after, size));
    for (const auto& schedule : page.schedules) ToProto(schedule, response->add_schedules());
    if (page.next_after.has_value()) {
      response->mutable_page()->set_next_page_token(
          EncodePageToken("schedules", *page.next_after));
    }
    return absl::OkStatus();
  });
}

grpc::Status ScheduleServiceImpl::DeleteSchedule(grpc::ServerContext* context,
                                                 const v1::DeleteScheduleRequest* request,
                                                 v1::DeleteScheduleResponse*) {
  return admit_.Run(*context, Scope::kAdmin, [&](const Principal& caller) -> absl::Status {
    return schedules_.Delete(caller.tenant_id, request->name());
  });
}

}  // namespace quarry::gateway
