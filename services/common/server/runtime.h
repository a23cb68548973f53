#ifndef QUARRY_SERVICES_COMMON_SERVER_RUNTIME_H_
#define QUARRY_SERVICES_COMMON_SERVER_RUNTIME_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/server/options.h"
#include "services/common/server/server.h"
#include "services/common/telemetry/logger.h"
#include "services/common/telemetry/metrics.h"
#include "services/common/telemetry/tracer.h"

namespace quarry::server {

// What every Quarry process has besides its gRPC services: metrics served on
// the admin port, a tracer exporting to OTLP, a JSON logger. A service's
// main() creates the Runtime first (so domain metrics can be registered),
// builds its services, then StartServer() and ServeUntilSignal():
//
//   ShutdownSignals signals;                         // before any thread
//   auto flags = ParseFlagsWithEnvironment(argc, argv);
//   auto runtime = Runtime::Create(QuarryServerOptionsFromFlags("worker"));
//   ... build services with runtime->metrics() ...
//   auto server = runtime->StartServer({&service});
//   return runtime->ServeUntilSignal(signals, **server);
class Runtime {
 public:
  // Validates `options`, starts the admin /metrics endpoint (unless
  // admin_port is -1) and the tracer. Fails naming the flag or the address.
  static absl::StatusOr<std::unique_ptr<Runtime>> Create(const ServerOptions& options);

  const ServerOptions& options() const { return options_; }
  telemetry::Metrics& metrics() { return *metrics_; }
  telemetry::Tracer& tracer() { return *tracer_; }
  telemetry::Logger& logger() { return *logger_; }
  int admin_port() const { return metrics_->admin_port(); }

  // The gRPC server for `services` with metrics, tracing and RPC logs.
  // `first` run before those, so a status they change is what is recorded.
  absl::StatusOr<std::unique_ptr<Server>> StartServer(const std::vector<grpc::Service*>& services,
                                                      Server::InterceptorFactories first = {});

  // A channel to another Quarry service, with round-robin over healthy
  // replicas, retries of `retryable_services` on UNAVAILABLE, and the client
  // metrics and tracing interceptors (so traces continue across the hop).
  std::shared_ptr<grpc::Channel> NewChannel(const std::string& target,
                                            std::vector<std::string> retryable_services);

  // As NewChannel, but to the one replica `target` names and whatever its
  // health: for calls that must reach that replica even while it is not
  // SERVING (the gateway waiting for every replica's watermark, including
  // one still catching up, before it joins the balanced channel).
  std::shared_ptr<grpc::Channel> NewReplicaChannel(const std::string& target,
                                                   std::vector<std::string> retryable_services);

  // Blocks until SIGTERM/SIGINT, then drains: health NOT_SERVING, `on_drain`
  // (stop background work) while calls are still served for the lame-duck
  // period, then in-flight RPCs get the grace period, buffered spans are
  // flushed. Returns the process exit code (0).
  int ServeUntilSignal(ShutdownSignals& signals, Server& server,
                       const std::function<void()>& on_drain = nullptr);

 private:
  explicit Runtime(const ServerOptions& options) : options_(options) {}
  std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                             std::vector<std::string> retryable_services,
                                             bool health_checked_round_robin);

  const ServerOptions options_;
  std::unique_ptr<telemetry::Metrics> metrics_;
  std::unique_ptr<telemetry::Tracer> tracer_;
  std::unique_ptr<telemetry::Logger> logger_;
  // Credentials of outbound channels (null: plaintext), read once at start.
  std::shared_ptr<grpc::ChannelCredentials> channel_credentials_;
};

// Start-up failure: prints "<program>: <what>: <status>" on one line and
// exits with status 1.
[[noreturn]] void ExitOnStartupError(absl::string_view what, const absl::Status& status);

}  // namespace quarry::server

#endif  // QUARRY_SERVICES_COMMON_SERVER_RUNTIME_H_
