#ifndef QUARRY_SERVICES_WORKER_ADMIN_SERVICE_H_
#define QUARRY_SERVICES_WORKER_ADMIN_SERVICE_H_

#include "quarry/jobs/v1/worker_admin_service.grpc.pb.h"
#include "services/worker/runner.h"

namespace quarry::worker {

// quarry.jobs.v1.WorkerAdminService: a thin adapter over the Runner.
class AdminService final : public quarry::jobs::v1::WorkerAdminService::Service {
 public:
  AdminService(Runner& runner, absl::Duration default_grace)
      : runner_(runner), default_grace_(default_grace) {}

  grpc::Status GetWorkerStatus(grpc::ServerContext* context,
                               const quarry::jobs::v1::GetWorkerStatusRequest* request,
                               quarry::jobs::v1::GetWorkerStatusResponse* response) override;
  grpc::Status Drain(grpc::ServerContext* context, const quarry::jobs::v1::DrainRequest* request,
                     quarry::jobs::v1::DrainResponse* response) override;

 private:
  Runner& runner_;
  const absl::Duration default_grace_;
};

}  // namespace quarry::worker

#endif  // QUARRY_SERVICES_WORKER_ADMIN_SERVICE_H_
