#include "services/common/telemetry/metrics.h"

#include <cstdlib>
#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "prometheus/text_serializer.h"
#include "services/common/telemetry/logger.h"

namespace quarry::telemetry {
namespace {

// prometheus-cpp reports misuse with exceptions. Our names are constants in
// code, so misuse is a bug to fix, not a condition to handle: fail loudly at
// the first use rather than run with a metric silently missing.
template <typename Fn>
auto OrDie(const std::string& name, Fn fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    // The process's own logger is not reachable from here; a logger of its own
    // still writes the one JSON line an operator's log pipeline can read.
    Logger("telemetry").Error("invalid metric", {{"metric", name}, {"error", e.what()}});
    std::abort();
  }
}

std::pair<absl::string_view, absl::string_view> SplitMethod(absl::string_view full_method) {
  if (!full_method.empty() && full_method.front() == '/') full_method.remove_prefix(1);
  const size_t slash = full_method.find('/');
  if (slash == absl::string_view::npos) return {"", full_method};
  return {full_method.substr(0, slash), full_method.substr(slash + 1)};
}

}  // namespace

std::vector<double> LatencySecondsBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0, 30.0};
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      latency_buckets_(LatencySecondsBuckets()) {
  server_rpc_.handled = &prometheus::BuildCounter()
                             .Name("quarry_grpc_server_handled_total")
                             .Help("RPCs completed on the server, by method and status code.")
                             .Register(*registry_);
  server_rpc_.seconds = &prometheus::BuildHistogram()
                             .Name("quarry_grpc_server_handling_seconds")
                             .Help("Server-side RPC latency from call start to status sent.")
                             .Register(*registry_);
  client_rpc_.handled = &prometheus::BuildCounter()
                             .Name("quarry_grpc_client_handled_total")
                             .Help("Outbound RPCs completed, by method and status code.")
                             .Register(*registry_);
  client_rpc_.seconds = &prometheus::BuildHistogram()
                             .Name("quarry_grpc_client_handling_seconds")
                             .Help("Client-side RPC latency from call start to status received.")
                             .Register(*registry_);
}

Metrics::~Metrics() {
  // Stop serving before the registry's families go away.
  absl::MutexLock lock(&mu_);
  admin_.reset();
}

absl::Status Metrics::StartAdminServer(const std::string& bind_address) {
  absl::MutexLock lock(&mu_);
  if (admin_ != nullptr) {
    return absl::FailedPreconditionError("metrics admin endpoint already started");
  }
  auto admin = AdminHttpServer::Start(bind_address, "/metrics", [this] { return Scrape(); });
  if (!admin.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", bind_address, ": ", admin.status().message()));
  }
  admin_ = std::move(*admin);
  return absl::OkStatus();
}

int Metrics::admin_port() const {
  absl::MutexLock lock(&mu_);
  return admin_ == nullptr ? 0 : admin_->port();
}

prometheus::Counter& Metrics::Counter(const std::string& name, const std::string& help,
                                      const prometheus::Labels& labels) {
  return OrDie(name, [&]() -> prometheus::Counter& {
    return prometheus::BuildCounter().Name(name).Help(help).Register(*registry_).Add(labels);
  });
}

prometheus::Gauge& Metrics::Gauge(const std::string& name, const std::string& help,
                                  const prometheus::Labels& labels) {
  return OrDie(name, [&]() -> prometheus::Gauge& {
    return prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add(labels);
  });
}

prometheus::Histogram& Metrics::Histogram(const std::string& name, const std::string& help,
                                          const std::vector<double>& buckets,
                                          const prometheus::Labels& labels) {
  return OrDie(name, [&]() -> prometheus::Histogram& {
    return prometheus::BuildHistogram().Name(name).Help(help).Register(*registry_).Add(
        labels, buckets);
  });
}

void Metrics::RecordServerRpc(absl::string_view full_method, absl::string_view code,
                              double seconds) {
  Record(server_rpc_, full_method, code, seconds);
}

void Metrics::RecordClientRpc(absl::string_view full_method, absl::string_view code,
                              double seconds) {
  Record(client_rpc_, full_method, code, seconds);
}

void Metrics::Record(const RpcFamilies& families, absl::string_view full_method,
                     absl::string_view code, double seconds) {
  const auto [service, method] = SplitMethod(full_method);
  const std::string service_label(service);
  const std::string method_label(method);
  // Family::Add returns the existing child for known labels, so this is a
  // hashed lookup after the first call of each method.
  families.handled
      ->Add({{"service", service_label}, {"method", method_label}, {"code", std::string(code)}})
      .Increment();
  families.seconds->Add({{"service", service_label}, {"method", method_label}}, latency_buckets_)
      .Observe(seconds);
}

std::string Metrics::Scrape() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace quarry::telemetry
