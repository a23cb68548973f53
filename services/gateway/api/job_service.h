#ifndef QUARRY_SERVICES_GATEWAY_API_JOB_SERVICE_H_
#define QUARRY_SERVICES_GATEWAY_API_JOB_SERVICE_H_

#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "services/gateway/api/admission.h"
#include "services/gateway/core/jobs.h"

namespace quarry::gateway {

// quarry.gateway.v1.JobService: admit, validate, core/jobs.h.
class JobServiceImpl final : public quarry::gateway::v1::JobService::Service {
 public:
  JobServiceImpl(Admitter& admit, Jobs& jobs) : admit_(admit), jobs_(jobs) {}
  grpc::Status SubmitJob(grpc::ServerContext*, const v1::SubmitJobRequest*,
                         v1::SubmitJobResponse*) override;
  grpc::Status SubmitJobs(grpc::ServerContext*, const v1::SubmitJobsRequest*,
                          v1::SubmitJobsResponse*) override;
  grpc::Status GetJob(grpc::ServerContext*, const v1::GetJobRequest*, v1::GetJobResponse*) override;
  grpc::Status ListJobs(grpc::ServerContext*, const v1::ListJobsRequest*,
                        v1::ListJobsResponse*) override;
  grpc::Status CancelJob(grpc::ServerContext*, const v1::CancelJobRequest*,
                         v1::CancelJobResponse*) override;
  grpc::Status RetryJob(grpc::ServerContext*, const v1::RetryJobRequest*,
                        v1::RetryJobResponse*) override;
  grpc::Status WatchJob(grpc::ServerContext*, const v1::WatchJobRequest*,
                        grpc::ServerWriter<v1::WatchJobResponse>*) override;

 private:
  Admitter& admit_;
  Jobs& jobs_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_API_JOB_SERVICE_H_
