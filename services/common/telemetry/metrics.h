#ifndef QUARRY_SERVICES_COMMON_TELEMETRY_METRICS_H_
#define QUARRY_SERVICES_COMMON_TELEMETRY_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/labels.h"
#include "prometheus/registry.h"
#include "services/common/telemetry/admin_http_server.h"

namespace quarry::telemetry {

// Latency buckets in seconds, from 100 µs (a cache hit) to 30 s (a long
// reindex call), roughly 2.5x apart.
std::vector<double> LatencySecondsBuckets();

// One process's Prometheus metrics: the registry every metric lives in, the
// per-RPC metrics the gRPC interceptors record, and the admin HTTP endpoint
// that serves them as Prometheus text at /metrics.
//
// Typical use in main():
//   Metrics metrics;
//   if (auto s = metrics.StartAdminServer("0.0.0.0:51051"); !s.ok()) exit...
//   prometheus::Gauge& depth = metrics.Gauge("quarry_jobs_queue_depth", "Jobs waiting.");
//
// Thread-safe. Metric references returned stay valid for the Metrics' life.
class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Serves the registry as Prometheus text at http://<bind_address>/metrics.
  // `bind_address` is "host:port"; port 0 picks a free port (see
  // admin_port()). UNAVAILABLE when the address cannot be bound,
  // FAILED_PRECONDITION when already started.
  absl::Status StartAdminServer(const std::string& bind_address);

  // The port the admin endpoint listens on; 0 before StartAdminServer.
  int admin_port() const;

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // Domain metric helpers: the metric `name` with `labels`, created on first
  // use and shared afterwards (same name, same labels = same metric). Names
  // carry their unit (_seconds, _bytes, _total for counters). Names, help
  // and label keys are fixed in code, so an invalid name, or one already
  // used for another metric type, is a programming error: the process
  // aborts with a message naming the metric.
  prometheus::Counter& Counter(const std::string& name, const std::string& help,
                               const prometheus::Labels& labels = {});
  prometheus::Gauge& Gauge(const std::string& name, const std::string& help,
                           const prometheus::Labels& labels = {});
  prometheus::Histogram& Histogram(const std::string& name, const std::string& help,
                                   const std::vector<double>& buckets,
                                   const prometheus::Labels& labels = {});

  // One finished RPC, by the interceptors. `full_method` is gRPC's
  // "/package.Service/Method"; `code` a status code name such as "OK".
  // Feeds quarry_grpc_{server,client}_handled_total{service,method,code} and
  // quarry_grpc_{server,client}_handling_seconds{service,method}.
  void RecordServerRpc(absl::string_view full_method, absl::string_view code, double seconds);
  void RecordClientRpc(absl::string_view full_method, absl::string_view code, double seconds);

  // The registry in Prometheus text format, as /metrics serves it.
  std::string Scrape() const;

 private:
  struct RpcFamilies {
    prometheus::Family<prometheus::Counter>* handled;
    prometheus::Family<prometheus::Histogram>* seconds;
  };
  void Record(const RpcFamilies& families, absl::string_view full_method, absl::string_view code,
              double seconds);

  const std::shared_ptr<prometheus::Registry> registry_;
  RpcFamilies server_rpc_;
  RpcFamilies client_rpc_;
  const std::vector<double> latency_buckets_;
  mutable absl::Mutex mu_;
  std::unique_ptr<AdminHttpServer> admin_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quarry::telemetry

#endif  // QUARRY_SERVICES_COMMON_TELEMETRY_METRICS_H_
