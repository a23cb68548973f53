#ifndef QUARRY_SERVICES_COMMON_SERVER_HEALTH_SERVICE_H_
#define QUARRY_SERVICES_COMMON_SERVER_HEALTH_SERVICE_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace quarry::server {

// grpc.health.v1, served by Quarry itself rather than by gRPC's built-in
// service, because a drain must end open Watch streams: gRPC's own service
// keeps them open, so they count as RPCs in flight and hold every graceful
// shutdown for the whole grace period. Clients that balance with health
// checks (the gateway over shard replicas) hold such streams all the time.
class HealthService final : public grpc::health::v1::Health::Service {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // Sets the status of `service` ("" is the server as a whole). Ignored after Shutdown().
  void SetStatus(const std::string& service, ServingStatus status);

  // Every service turns NOT_SERVING, watchers are told so and their streams
  // end; later SetStatus calls are ignored.
  void Shutdown();

  grpc::Status Check(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;
  grpc::Status Watch(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mu_);
  // Bumped on every change so watchers can wait for "anything new".
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace quarry::server

#endif  // QUARRY_SERVICES_COMMON_SERVER_HEALTH_SERVICE_H_
