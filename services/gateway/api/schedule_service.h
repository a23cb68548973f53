#ifndef QUARRY_SERVICES_GATEWAY_API_SCHEDULE_SERVICE_H_
#define QUARRY_SERVICES_GATEWAY_API_SCHEDULE_SERVICE_H_

#include "quarry/gateway/v1/schedule_service.grpc.pb.h"
#include "services/gateway/api/admission.h"
#include "services/gateway/core/schedules.h"

namespace quarry::gateway {

// quarry.gateway.v1.ScheduleService: admit, convert, core/schedules.h.
class ScheduleServiceImpl final : public quarry::gateway::v1::ScheduleService::Service {
 public:
  ScheduleServiceImpl(Admitter& admit, Schedules& schedules)
      : admit_(admit), schedules_(schedules) {}
  grpc::Status CreateSchedule(grpc::ServerContext*, const v1::CreateScheduleRequest*,
                              v1::CreateScheduleResponse*) override;
  grpc::Status GetSchedule(grpc::ServerContext*, const v1::GetScheduleRequest*,
                           v1::GetScheduleResponse*) override;
  grpc::Status ListSchedules(grpc::ServerContext*, const v1::ListSchedulesRequest*,
                             v1::ListSchedulesResponse*) override;
  grpc::Status DeleteSchedule(grpc::ServerContext*, const v1::DeleteScheduleRequest*,
                              v1::DeleteScheduleResponse*) override;

 private:
  Admitter& admit_;
  Schedules& schedules_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_API_SCHEDULE_SERVICE_H_
