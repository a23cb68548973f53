#ifndef QUARRY_SERVICES_GATEWAY_API_STATS_SERVICE_H_
#define QUARRY_SERVICES_GATEWAY_API_STATS_SERVICE_H_

#include "quarry/gateway/v1/stats_service.grpc.pb.h"
#include "services/gateway/api/admission.h"
#include "services/gateway/core/catalog.h"
#include "services/gateway/core/jobs.h"

namespace quarry::gateway {

// quarry.gateway.v1.StatsService: admit, validate, core/catalog.h (collection
// stats) and core/jobs.h (job stats).
class StatsServiceImpl final : public quarry::gateway::v1::StatsService::Service {
 public:
  StatsServiceImpl(Admitter& admit, Catalog& catalog, Jobs& jobs)
      : admit_(admit), catalog_(catalog), jobs_(jobs) {}
  grpc::Status GetCollectionStats(grpc::ServerContext*, const v1::GetCollectionStatsRequest*,
                                  v1::GetCollectionStatsResponse*) override;
  grpc::Status GetJobStats(grpc::ServerContext*, const v1::GetJobStatsRequest*,
                           v1::GetJobStatsResponse*) override;

 private:
  Admitter& admit_;
  Catalog& catalog_;
  Jobs& jobs_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_API_STATS_SERVICE_H_
