#ifndef QUARRY_SERVICES_COMMON_SERVER_SERVER_FLAGS_H_
#define QUARRY_SERVICES_COMMON_SERVER_SERVER_FLAGS_H_

// The flags every Quarry server has, defined by one macro invoked at the top
// of each service's main.cc, so that flags are still defined only in main.cc
// (and listed by `<binary> --helpfull`) without four copies of them.
//
//   QUARRY_DEFINE_SERVER_FLAGS(50051, 51051);
//   ...
//   quarry::server::ServerOptions options = QuarryServerOptionsFromFlags("gateway");

#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "services/common/server/options.h"

namespace quarry::server::internal {
inline std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}
}  // namespace quarry::server::internal

#define QUARRY_DEFINE_SERVER_FLAGS(default_port, default_admin_port)                          \
  ABSL_FLAG(std::string, host, "0.0.0.0", "Address the gRPC and metrics ports bind to.");     \
  ABSL_FLAG(int, port, default_port, "gRPC port (0: pick a free one).");                      \
  ABSL_FLAG(int, admin_port, default_admin_port,                                              \
            "Prometheus /metrics port (0: pick a free one, -1: disabled).");                  \
  ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),                                \
            "How long in-flight RPCs may finish after SIGTERM.");                             \
  ABSL_FLAG(absl::Duration, lame_duck, absl::Seconds(1),                                      \
            "After SIGTERM, how long calls are still served while health says NOT_SERVING."); \
  ABSL_FLAG(int, max_message_bytes, 64 << 20, "Largest gRPC message accepted, in bytes.");    \
  ABSL_FLAG(std::string, otlp_endpoint,                                                       \
            quarry::server::internal::EnvOr("OTEL_EXPORTER_OTLP_ENDPOINT", ""),               \
            "OTLP/HTTP trace endpoint, e.g. http://127.0.0.1:4318 (default: "                 \
            "$OTEL_EXPORTER_OTLP_ENDPOINT; empty: no export).");                              \
  ABSL_FLAG(double, trace_sample_ratio, 1.0, "Fraction of new traces sampled, in [0, 1]."); \
  ABSL_FLAG(bool, log_rpcs, false, "Log one JSON line per RPC (errors are always logged).");  \
  ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain for TLS on the gRPC port.");   \
  ABSL_FLAG(std::string, tls_key, "", "PEM private key for TLS on the gRPC port.");          \
  ABSL_FLAG(std::string, tls_client_ca, "",                                                 \
            "PEM CA bundle; when set, clients need a certificate it signed (mTLS).");       \
  ABSL_FLAG(std::string, internal_tls_ca, "",                                               \
            "PEM CA of other Quarry services' certificates (empty: plaintext channels).");  \
  ABSL_FLAG(std::string, internal_tls_cert, "", "Client certificate for mTLS to services."); \
  ABSL_FLAG(std::string, internal_tls_key, "", "Client key for mTLS to services.");          \
  static quarry::server::ServerOptions QuarryServerOptionsFromFlags(const char* service) {    \
    quarry::server::ServerOptions options;                                                    \
    options.service_name = service;                                                           \
    options.host = absl::GetFlag(FLAGS_host);                                                 \
    options.port = absl::GetFlag(FLAGS_port);                                                 \
    options.admin_port = absl::GetFlag(FLAGS_admin_port);                                     \
    options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);                             \
    options.lame_duck = absl::GetFlag(FLAGS_lame_duck);                                       \
    options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);                       \
    options.otlp_endpoint = absl::GetFlag(FLAGS_otlp_endpoint);                               \
    options.trace_sample_ratio = absl::GetFlag(FLAGS_trace_sample_ratio);                     \
    options.log_rpcs = absl::GetFlag(FLAGS_log_rpcs);                                         \
    options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);                                    \
    options.tls_key_file = absl::GetFlag(FLAGS_tls_key);                                      \
    options.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);                          \
    options.internal_tls_ca_file = absl::GetFlag(FLAGS_internal_tls_ca);                      \
    options.internal_tls_cert_file = absl::GetFlag(FLAGS_internal_tls_cert);                  \
    options.internal_tls_key_file = absl::GetFlag(FLAGS_internal_tls_key);                    \
    return options;                                                                           \
  }                                                                                           \
  static_assert(true, "require a semicolon")

#endif  // QUARRY_SERVICES_COMMON_SERVER_SERVER_FLAGS_H_
