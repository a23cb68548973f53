#ifndef QUARRY_SERVICES_COMMON_SERVER_OPTIONS_H_
#define QUARRY_SERVICES_COMMON_SERVER_OPTIONS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace quarry::server {

// What every Quarry server needs to know, filled from flags in main.cc (see
// server_flags.h) and validated once before anything starts.
struct ServerOptions {
  // Service name for health, logs, metrics and traces, e.g. "gateway".
  std::string service_name;
  // Address the gRPC port binds to. "0.0.0.0" in containers, "127.0.0.1" locally.
  std::string host = "0.0.0.0";
  // gRPC port; 0 picks a free port (tests).
  int port = 0;
  // Prometheus /metrics port on `host`; 0 picks a free port, -1 disables it.
  int admin_port = 0;
  // How long in-flight RPCs may run after SIGTERM before they are cancelled.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // After SIGTERM, how long calls are still accepted while health already
  // says NOT_SERVING, so that health-checking clients and load balancers stop
  // sending here first: a call that arrives once gRPC's own shutdown has
  // begun fails CANCELLED, which clients do not retry. Counted from the
  // signal; a service's drain work (on_drain) runs meanwhile. --lame_duck.
  absl::Duration lame_duck = absl::Seconds(1);
  // Largest request or response accepted, in bytes.
  int max_message_bytes = 64 << 20;
  // OTLP/HTTP endpoint for traces, e.g. "http://jaeger:4318"; empty: no export.
  std::string otlp_endpoint;
  // Fraction of new (root) traces sampled, in [0, 1].
  double trace_sample_ratio = 1.0;
  // Log one JSON line per finished RPC (noisy under load; errors are always logged).
  bool log_rpcs = false;
  // TLS for the gRPC port: PEM certificate chain and private key files; both
  // empty: plaintext (behind a TLS-terminating load balancer or in a mesh).
  std::string tls_cert_file;
  std::string tls_key_file;
  // PEM CA bundle; when set, clients must present a certificate it signed
  // (mutual TLS between Quarry's services).
  std::string tls_client_ca_file;
  // Outbound channels to other Quarry services: the CA that signed their
  // certificates (empty: plaintext), and this service's client certificate
  // and key for mutual TLS.
  std::string internal_tls_ca_file;
  std::string internal_tls_cert_file;
  std::string internal_tls_key_file;

  // Returns INVALID_ARGUMENT naming the first bad field (by its flag name).
  absl::Status Validate() const;
};

}  // namespace quarry::server

#endif  // QUARRY_SERVICES_COMMON_SERVER_OPTIONS_H_
