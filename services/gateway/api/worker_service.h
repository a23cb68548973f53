#ifndef QUARRY_SERVICES_GATEWAY_API_WORKER_SERVICE_H_
#define QUARRY_SERVICES_GATEWAY_API_WORKER_SERVICE_H_

#include "quarry/gateway/v1/worker_service.grpc.pb.h"
#include "services/gateway/api/admission.h"
#include "services/gateway/core/workers.h"

namespace quarry::gateway {

// quarry.gateway.v1.WorkerService: admit, validate, core/workers.h.
class WorkerServiceImpl final : public quarry::gateway::v1::WorkerService::Service {
 public:
  WorkerServiceImpl(Admitter& admit, Workers& workers) : admit_(admit), workers_(workers) {}
  grpc::Status ClaimJobs(grpc::ServerContext*, const v1::ClaimJobsRequest*,
                         v1::ClaimJobsResponse*) override;
  grpc::Status HeartbeatJob(grpc::ServerContext*, const v1::HeartbeatJobRequest*,
                            v1::HeartbeatJobResponse*) override;
  grpc::Status CompleteJob(grpc::ServerContext*, const v1::CompleteJobRequest*,
                           v1::CompleteJobResponse*) override;
  grpc::Status FailJob(grpc::ServerContext*, const v1::FailJobRequest*,
                       v1::FailJobResponse*) override;
  grpc::Status ReleaseJob(grpc::ServerContext*, const v1::ReleaseJobRequest*,
                          v1::ReleaseJobResponse*) override;
  grpc::Status AcknowledgeCancel(grpc::ServerContext*, const v1::AcknowledgeCancelRequest*,
                                 v1::AcknowledgeCancelResponse*) override;

 private:
  Admitter& admit_;
  Workers& workers_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_API_WORKER_SERVICE_H_
