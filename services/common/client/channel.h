#ifndef QUARRY_SERVICES_COMMON_CLIENT_CHANNEL_H_
#define QUARRY_SERVICES_COMMON_CLIENT_CHANNEL_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_interceptor.h>

#include <memory>
#include <string>
#include <vector>

namespace quarry::client {

struct ChannelOptions {
  // Fully qualified gRPC services whose methods are idempotent and may be
  // retried on UNAVAILABLE (e.g. "quarry.search.v1.ShardService").
  std::vector<std::string> retryable_services;
  // Balance over the replicas behind the target and skip those whose
  // grpc.health.v1 status is not SERVING.
  bool health_checked_round_robin = true;
  int max_message_bytes = 64 << 20;
  // TLS or mutual TLS (see TlsChannelCredentials); null: plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Client interceptors (tracing, metrics), applied to every call.
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
};

// The gRPC service config for `options`: round-robin with client-side health
// checking, and a retry policy (4 attempts, 50 ms..1 s exponential backoff,
// UNAVAILABLE only) for the retryable services.
std::string ServiceConfigJson(const ChannelOptions& options);

// A channel to another Quarry service. Use a "dns:///name:port" target: with
// a Kubernetes headless Service the name resolves to every replica and calls
// are spread round-robin over the healthy ones (an L4 Service would pin each
// HTTP/2 connection, and so all calls, to one replica). Keepalive pings every
// 20 s notice a replica that vanished without closing its connections.
std::shared_ptr<grpc::Channel> NewInternalChannel(const std::string& target,
                                                  ChannelOptions options);

// Credentials that verify the server against `ca_pem` and, when `cert_pem`
// and `key_pem` are given, present this client's certificate (mutual TLS).
std::shared_ptr<grpc::ChannelCredentials> TlsChannelCredentials(const std::string& ca_pem,
                                                                const std::string& cert_pem,
                                                                const std::string& key_pem);

}  // namespace quarry::client

#endif  // QUARRY_SERVICES_COMMON_CLIENT_CHANNEL_H_
