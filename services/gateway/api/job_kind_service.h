#ifndef QUARRY_SERVICES_GATEWAY_API_JOB_KIND_SERVICE_H_
#define QUARRY_SERVICES_GATEWAY_API_JOB_KIND_SERVICE_H_

#include "quarry/gateway/v1/job_kind_service.grpc.pb.h"
#include "services/gateway/api/admission.h"
#include "services/gateway/core/job_kinds.h"

namespace quarry::gateway {

// quarry.gateway.v1.JobKindService: admit, convert, core/job_kinds.h.
class JobKindServiceImpl final : public quarry::gateway::v1::JobKindService::Service {
 public:
  JobKindServiceImpl(Admitter& admit, JobKinds& kinds) : admit_(admit), kinds_(kinds) {}
  grpc::Status CreateJobKind(grpc::ServerContext*, const v1::CreateJobKindRequest*,
                             v1::CreateJobKindResponse*) override;
  grpc::Status GetJobKind(grpc::ServerContext*, const v1::GetJobKindRequest*,
                          v1::GetJobKindResponse*) override;
  grpc::Status ListJobKinds(grpc::ServerContext*, const v1::ListJobKindsRequest*,
                            v1::ListJobKindsResponse*) override;
  grpc::Status UpdateJobKind(grpc::ServerContext*, const v1::UpdateJobKindRequest*,
                             v1::UpdateJobKindResponse*) override;
  grpc::Status DeleteJobKind(grpc::ServerContext*, const v1::DeleteJobKindRequest*,
                             v1::DeleteJobKindResponse*) override;

 private:
  Admitter& admit_;
  JobKinds& kinds_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_API_JOB_KIND_SERVICE_H_
