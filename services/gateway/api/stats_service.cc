#include "services/gateway/api/stats_service.h"

#include "services/common/status/macros.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {

grpc::Status StatsServiceImpl::GetCollectionStats(grpc::ServerContext* context,
                                                  const v1::GetCollectionStatsRequest* request,
                                                  v1::GetCollectionStatsResponse* response) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) -> absl::Status {
    QUARRY_RETURN_IF_ERROR(ValidateCollectionName("collection", request->collection()));
    QUARRY_ASSIGN_OR_RETURN(auto stats, catalog_.GetStats(caller.tenant_id, request->collection()));
    response->set_documents(stats.counts.documents);
    response->set_indexed(stats.counts.indexed);
    response->set_pending(stats.counts.pending);
    response->set_deleted(stats.counts.deleted);
    response->set_latest_sequence(stats.counts.latest_sequence);
    response->set_min_watermark(stats.min_watermark);
    return absl::OkStatus();
  });
}

grpc::Status StatsServiceImpl::GetJobStats(grpc::ServerContext* context,
                                           const v1::GetJobStatsRequest* request,
                                           v1::GetJobStatsResponse* response) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto rows, jobs_.KindStats(caller.tenant_id));
    for (const auto& row : rows) {
      auto* out = response->add_kinds();
      out->set_kind(row.kind);
      out->set_queued(row.queued);
      out->set_running(row.running);
      out->set_succeeded(row.succeeded);
      out->set_dead(row.dead);
      out->set_cancelled(row.cancelled);
      out->set_success_rate(row.success_rate);
      out->set_mean_attempts(row.mean_attempts);
      response->set_refreshed_at(row.refreshed_at);
    }
    return absl::OkStatus();
  });
}

}  // namespace quarry::gateway
