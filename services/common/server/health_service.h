#ifndef QUARRY_SERVICES_COMMON_SERVER_HEALTH_SERVICE_H_
#define QUARRY_SERVICES_COMMON_SERVER_HEALTH_SERVICE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
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

  // Names Check and Watch answer for besides "" (the server as a whole, always
  // answered): the full name of every gRPC service the server serves, as
  // clients such as grpc-js, grpcio and Kubernetes probes with `service:` ask.
  // Any other name is NOT_FOUND on Check and SERVICE_UNKNOWN on Watch, as the
  // health protocol specifies.
  void AddServices(const std::vector<std::string>& names);
  bool Knows(const std::string& service) const;

  // Sets the status of the server and so of every service it serves: they are
  // ready, or drain, together. Starts NOT_SERVING; ignored after Shutdown().
  void SetStatus(ServingStatus status);

  // Turns NOT_SERVING, watchers are told so and their streams end; later
  // SetStatus calls are ignored.
  void Shutdown();

  grpc::Status Check(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;
  grpc::Status Watch(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

 private:
  // The status of `service`: the server's if it is known, SERVICE_UNKNOWN if not.
  ServingStatus StatusOf(const std::string& service) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> services_ ABSL_GUARDED_BY(mu_) = {""};
  ServingStatus status_ ABSL_GUARDED_BY(mu_) =
      grpc::health::v1::HealthCheckResponse::NOT_SERVING;
  // Bumped on every change so watchers can wait for "anything new".
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace quarry::server

#endif  // QUARRY_SERVICES_COMMON_SERVER_HEALTH_SERVICE_H_
