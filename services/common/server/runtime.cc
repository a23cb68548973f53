#include "services/common/server/runtime.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/common/client/channel.h"
#include "services/common/status/macros.h"
#include "services/common/telemetry/grpc_interceptors.h"

namespace quarry::server {

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::Create(const ServerOptions& options) {
  QUARRY_RETURN_IF_ERROR(options.Validate());
  // Debian builds Abseil without NDEBUG, which leaves Mutex deadlock
  // detection on: every lock acquisition then updates one process-wide
  // lock-order graph under a global lock (3% of a vector-search replica's CPU
  // in a profile, and a serialisation point across request threads). Servers
  // turn it off; unit tests, which do not start a Runtime, keep it.
  // QUARRY_MUTEX_DEADLOCK_DETECTION=1 keeps it on here too.
  if (const char* keep = std::getenv("QUARRY_MUTEX_DEADLOCK_DETECTION");
      keep == nullptr || std::string(keep) != "1") {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
  auto runtime = std::unique_ptr<Runtime>(new Runtime(options));
  runtime->logger_ = std::make_unique<telemetry::Logger>(options.service_name);
  runtime->logger_->set_rpc_logging(options.log_rpcs);
  runtime->metrics_ = std::make_unique<telemetry::Metrics>();
  if (options.admin_port >= 0) {
    const std::string address = absl::StrCat(options.host, ":", options.admin_port);
    if (absl::Status status = runtime->metrics_->StartAdminServer(address); !status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("--admin_port: cannot serve /metrics on ", address, ": ", status.message()));
    }
  }
  telemetry::TracerOptions tracer_options;
  tracer_options.service_name = options.service_name;
  tracer_options.otlp_endpoint = options.otlp_endpoint;
  tracer_options.sampling_ratio = options.trace_sample_ratio;
  if (!options.internal_tls_ca_file.empty()) {
    QUARRY_ASSIGN_OR_RETURN(std::string ca,
                            ReadPemFile("--internal_tls_ca", options.internal_tls_ca_file));
    std::string cert, key;
    if (!options.internal_tls_cert_file.empty()) {
      QUARRY_ASSIGN_OR_RETURN(cert,
                              ReadPemFile("--internal_tls_cert", options.internal_tls_cert_file));
      QUARRY_ASSIGN_OR_RETURN(key,
                              ReadPemFile("--internal_tls_key", options.internal_tls_key_file));
    }
    runtime->channel_credentials_ = client::TlsChannelCredentials(ca, cert, key);
  }
  QUARRY_ASSIGN_OR_RETURN(runtime->tracer_,
                          telemetry::Tracer::Create(tracer_options, runtime->metrics_.get()));
  return runtime;
}

absl::StatusOr<std::unique_ptr<Server>> Runtime::StartServer(
    const std::vector<grpc::Service*>& services, Server::InterceptorFactories first) {
  Server::InterceptorFactories interceptors = std::move(first);
  interceptors.push_back(telemetry::NewServerInterceptorFactory(
      {metrics_.get(), tracer_.get(), logger_.get()}));
  auto server = Server::Start(options_, services, std::move(interceptors));
  if (server.ok()) {
    logger_->Info("serving", {{"port", absl::StrCat((*server)->port())},
                              {"admin_port", absl::StrCat(admin_port())}});
  }
  return server;
}

std::shared_ptr<grpc::Channel> Runtime::NewChannel(const std::string& target,
                                                   std::vector<std::string> retryable_services) {
  return MakeChannel(target, std::move(retryable_services), /*health_checked_round_robin=*/true);
}

std::shared_ptr<grpc::Channel> Runtime::NewReplicaChannel(
    const std::string& target, std::vector<std::string> retryable_services) {
  return MakeChannel(target, std::move(retryable_services), /*health_checked_round_robin=*/false);
}

std::shared_ptr<grpc::Channel> Runtime::MakeChannel(const std::string& target,
                                                    std::vector<std::string> retryable_services,
                                                    bool health_checked_round_robin) {
  client::ChannelOptions channel_options;
  channel_options.health_checked_round_robin = health_checked_round_robin;
  channel_options.retryable_services = std::move(retryable_services);
  channel_options.max_message_bytes = options_.max_message_bytes;
  channel_options.credentials = channel_credentials_;
  channel_options.interceptors.push_back(
      telemetry::NewClientInterceptorFactory({metrics_.get(), tracer_.get()}));
  return client::NewInternalChannel(target, std::move(channel_options));
}

int Runtime::ServeUntilSignal(ShutdownSignals& signals, Server& server,
                              const std::function<void()>& on_drain) {
  const int signal = signals.Wait();
  logger_->Info("draining", {{"signal", absl::StrCat(signal)},
                             {"lame_duck", absl::FormatDuration(options_.lame_duck)},
                             {"grace", absl::FormatDuration(options_.shutdown_grace)}});
  const absl::Time lame_duck_end = absl::Now() + options_.lame_duck;
  server.SetServing(false);
  if (on_drain) on_drain();
  server.Shutdown(options_.shutdown_grace,
                  std::max(absl::ZeroDuration(), lame_duck_end - absl::Now()));
  (void)tracer_->Shutdown(absl::Seconds(2));
  logger_->Info("stopped");
  return 0;
}

void ExitOnStartupError(absl::string_view what, const absl::Status& status) {
  // One line, even when libpq's message spans several.
  std::string message = status.ToString();
  for (char& c : message) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  std::fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, std::string(what).c_str(),
               message.c_str());
  std::exit(1);
}

}  // namespace quarry::server
