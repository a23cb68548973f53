#ifndef QUARRY_SERVICES_COMMON_SERVER_SERVER_H_
#define QUARRY_SERVICES_COMMON_SERVER_SERVER_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/server/health_service.h"
#include "services/common/server/options.h"

namespace quarry::server {

// A started gRPC server with what every Quarry service shares: the
// grpc.health.v1 health service, server reflection, keepalive and message-size
// settings, the given interceptors (metrics, tracing), and graceful shutdown.
//
// Health starts NOT_SERVING: a service calls SetServing(true) once it is ready
// (model loaded, index caught up), so Kubernetes readiness probes and client
// health checks never route to a replica that is still warming up.
class Server {
 public:
  using InterceptorFactories =
      std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>;

  // Binds options.host:options.port and starts serving `services`, which are
  // not owned and must outlive the Server. Fails with UNAVAILABLE naming the
  // address when the port cannot be bound (in use, no permission).
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                       const std::vector<grpc::Service*>& services,
                                                       InterceptorFactories interceptors = {});

  ~Server();

  // The bound gRPC port (the real one when options.port was 0).
  int port() const { return port_; }
  const ServerOptions& options() const { return options_; }

  // Sets the health status of the server as a whole (""), of every gRPC
  // service it serves by full name ("quarry.search.v1.ShardService"), and of
  // options.service_name. Ignored once shutdown has begun.
  void SetServing(bool serving);
  bool serving() const;

  // Graceful shutdown: health turns NOT_SERVING; calls are still served for
  // `lame_duck` (clients that health-check move away meanwhile, instead of
  // racing the shutdown and failing CANCELLED); then new RPCs are refused
  // (UNAVAILABLE), RPCs in flight get until `grace` to finish and are
  // cancelled after it. Returns once the server has stopped. Safe to call
  // more than once and from any thread.
  void Shutdown(absl::Duration grace, absl::Duration lame_duck = absl::ZeroDuration());

  // A client channel to this server over loopback TCP, for tests and tools.
  std::shared_ptr<grpc::Channel> NewLoopbackChannel() const;

 private:
  Server(const ServerOptions& options, std::unique_ptr<HealthService> health);

  const ServerOptions options_;
  const std::unique_ptr<HealthService> health_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  mutable absl::Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

// The contents of a PEM file named by `flag`; INVALID_ARGUMENT naming the
// flag when it cannot be read or holds no PEM block.
absl::StatusOr<std::string> ReadPemFile(const std::string& flag, const std::string& path);

// Turns SIGTERM and SIGINT into an orderly shutdown. Construct it first thing
// in main(), before any thread exists: it blocks the signals in the calling
// thread, every thread started later inherits that mask, and only Wait() sees
// them (a handler could do almost nothing async-signal-safe).
class ShutdownSignals {
 public:
  ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

  // Blocks until the first SIGTERM or SIGINT and returns its number. From then
  // on a second one ends the process at once with status 128 + signal, for an
  // operator who does not want to wait for the grace period.
  int Wait();
};

}  // namespace quarry::server

#endif  // QUARRY_SERVICES_COMMON_SERVER_SERVER_H_
