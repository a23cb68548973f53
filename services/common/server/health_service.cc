#include "services/common/server/health_service.h"

#include "absl/time/time.h"

namespace quarry::server {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

void HealthService::AddServices(const std::vector<std::string>& names) {
  absl::MutexLock lock(&mu_);
  services_.insert(names.begin(), names.end());
  ++version_;  // A watcher of a name that was unknown learns its status.
}

bool HealthService::Knows(const std::string& service) const {
  absl::ReaderMutexLock lock(&mu_);
  return services_.contains(service);
}

void HealthService::SetStatus(ServingStatus status) {
  absl::MutexLock lock(&mu_);
  if (shutdown_) return;
  status_ = status;
  ++version_;
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutdown_ = true;
  status_ = HealthCheckResponse::NOT_SERVING;
  ++version_;
}

HealthService::ServingStatus HealthService::StatusOf(const std::string& service) const {
  return services_.contains(service) ? status_ : HealthCheckResponse::SERVICE_UNKNOWN;
}

grpc::Status HealthService::Check(grpc::ServerContext* context, const HealthCheckRequest* request,
                                  HealthCheckResponse* response) {
  absl::ReaderMutexLock lock(&mu_);
  if (!services_.contains(request->service())) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "unknown service \"" + request->service() + "\"");
  }
  response->set_status(status_);
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* context, const HealthCheckRequest* request,
                                  grpc::ServerWriter<HealthCheckResponse>* writer) {
  uint64_t seen = 0;
  bool first = true;
  ServingStatus last = HealthCheckResponse::UNKNOWN;
  while (true) {
    ServingStatus current;
    bool shutdown;
    {
      absl::MutexLock lock(&mu_);
      // Wake on a change, or every 200 ms to notice a cancelled client.
      auto changed = [this, &seen]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return version_ != seen; };
      if (!first) mu_.AwaitWithTimeout(absl::Condition(&changed), absl::Milliseconds(200));
      seen = version_;
      current = StatusOf(request->service());
      shutdown = shutdown_;
    }
    if (context->IsCancelled()) return grpc::Status::CANCELLED;
    if (first || current != last) {
      HealthCheckResponse response;
      response.set_status(current);
      if (!writer->Write(response)) return grpc::Status::CANCELLED;
      last = current;
      first = false;
    }
    if (shutdown) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down");
  }
}

}  // namespace quarry::server
