#include "services/common/server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/impl/server_initializer.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/status/macros.h"

namespace quarry::server {

absl::StatusOr<std::string> ReadPemFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  }
  if (contents.find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " is not a PEM file"));
  }
  return contents;
}

namespace {

// TLS (and, with a client CA, mutual TLS) when configured; plaintext otherwise.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const ServerOptions& options) {
  if (options.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  QUARRY_ASSIGN_OR_RETURN(std::string cert, ReadPemFile("--tls_cert", options.tls_cert_file));
  QUARRY_ASSIGN_OR_RETURN(std::string key, ReadPemFile("--tls_key", options.tls_key_file));
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!options.tls_client_ca_file.empty()) {
    QUARRY_ASSIGN_OR_RETURN(ssl.pem_root_certs,
                            ReadPemFile("--tls_client_ca", options.tls_client_ca_file));
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  ssl.pem_key_cert_pairs.push_back({key, cert});
  return grpc::SslServerCredentials(ssl);
}

void ConfigureChannel(const ServerOptions& options, grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  // gRPC sets SO_REUSEPORT by default, which lets a second server silently
  // share a port that is already in use. We want that to be a start-up error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Ping idle connections every 30 s (10 s to answer) so that a peer that
  // vanished without closing (a killed pod, a dropped NAT entry, a load
  // balancer that recycled its side) is noticed in under a minute instead of
  // the kernel's two hours, and its resources and streams are released.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  // Quarry's own clients send keepalive pings every 20 s, also between calls;
  // without these two settings the server would treat that as abuse and close
  // the connection with GOAWAY "too_many_pings".
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
  // Recycle connections after 5 minutes (streams in flight may finish): a
  // client balancing round-robin over DNS only re-resolves when a connection
  // goes away, so without this, replicas added by a scale-out would never get
  // traffic from long-lived clients.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 5 * 60 * 1000);
}

// Tells `health` the full name of every service registered on the server
// ("quarry.gateway.v1.CollectionService", the health and reflection services
// too), so it answers for each of them with no per-service code. gRPC takes
// those names from the generated services' method names ("/<service>/<method>",
// written by protoc from the service descriptors) and hands them to builder plugins once every service is registered and
// before the server starts, so the first Check already knows them all.
class HealthNamesPlugin final : public grpc::ServerBuilderPlugin {
 public:
  explicit HealthNamesPlugin(HealthService* health) : health_(health) {}
  std::string name() override { return "quarry_health_service_names"; }
  void InitServer(grpc::ServerInitializer* initializer) override {
    health_->AddServices(*initializer->GetServiceList());
  }
  void Finish(grpc::ServerInitializer* /*initializer*/) override {}
  void ChangeArguments(const std::string& /*name*/, void* /*value*/) override {}

 private:
  HealthService* const health_;
};

// A builder option is the per-server way to add a plugin (plugin factories
// are process-wide and take no arguments).
class HealthNamesOption final : public grpc::ServerBuilderOption {
 public:
  explicit HealthNamesOption(HealthService* health) : health_(health) {}
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->push_back(std::make_unique<HealthNamesPlugin>(health_));
  }

 private:
  HealthService* const health_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      const std::vector<grpc::Service*>& services,
                                                      InterceptorFactories interceptors) {
  QUARRY_RETURN_IF_ERROR(options.Validate());
  grpc::EnableDefaultHealthCheckService(false);  // Ours: see health_service.h.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  QUARRY_ASSIGN_OR_RETURN(auto credentials, ServerCredentials(options));
  grpc::ServerBuilder builder;
  const std::string address = absl::StrCat(options.host, ":", options.port);
  int selected_port = 0;
  builder.AddListeningPort(address, credentials, &selected_port);
  ConfigureChannel(options, builder);
  auto result = std::unique_ptr<Server>(new Server(options, std::make_unique<HealthService>()));
  // The short --service_name ("embedding") keeps answering too, for callers
  // that asked by it before full service names were answered.
  result->health_->AddServices({options.service_name});
  builder.RegisterService(result->health_.get());
  builder.SetOption(std::make_unique<HealthNamesOption>(result->health_.get()));
  for (grpc::Service* service : services) builder.RegisterService(service);
  if (!interceptors.empty()) builder.experimental().SetInterceptorCreators(std::move(interceptors));

  result->server_ = builder.BuildAndStart();
  if (result->server_ == nullptr || selected_port == 0) {
    absl::MutexLock lock(&result->mu_);
    result->stopped_ = result->shutting_down_ = true;  // Nothing to shut down.
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address,
                                               " for gRPC (port in use or not permitted)"));
  }
  result->port_ = selected_port;
  if (!result->health_->Knows(grpc::health::v1::Health::service_full_name())) {
    // gRPC stopped handing the plugin the service names: fail loudly rather
    // than answer NOT_FOUND for every service a probe asks about.
    return absl::InternalError("the health service did not learn the served services' names");
  }
  return result;
}

Server::Server(const ServerOptions& options, std::unique_ptr<HealthService> health)
    : options_(options), health_(std::move(health)) {}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

void Server::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return;
  serving_ = serving;
  health_->SetStatus(serving ? grpc::health::v1::HealthCheckResponse::SERVING
                             : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
}

bool Server::serving() const {
  absl::MutexLock lock(&mu_);
  return serving_;
}

void Server::Shutdown(absl::Duration grace, absl::Duration lame_duck) {
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) {
      // Another thread is draining; wait for it to finish.
      mu_.Await(absl::Condition(&stopped_));
      return;
    }
    shutting_down_ = true;
    serving_ = false;
    // Health first: probes and health-checking clients see NOT_SERVING before
    // the listener goes away.
    health_->SetStatus(grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  }
  // Keep serving while clients move away: gRPC fails a call that reaches it
  // after its shutdown began with CANCELLED, not UNAVAILABLE.
  if (lame_duck > absl::ZeroDuration()) absl::SleepFor(lame_duck);
  {
    absl::MutexLock lock(&mu_);
    health_->Shutdown();  // Open Watch streams end.
  }
  // Refuses new calls at once, waits for in-flight ones until the deadline,
  // then cancels whatever is left.
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(grace));
  server_->Wait();
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

std::shared_ptr<grpc::Channel> Server::NewLoopbackChannel() const {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options_.max_message_bytes);
  args.SetMaxSendMessageSize(options_.max_message_bytes);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_),
                                   grpc::InsecureChannelCredentials(), args);
}

ShutdownSignals::ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int ShutdownSignals::Wait() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int first = 0;
  sigwait(&set, &first);
  std::thread([set] {
    int second = 0;
    sigwait(&set, &second);
    _exit(128 + second);
  }).detach();
  return first;
}

}  // namespace quarry::server
