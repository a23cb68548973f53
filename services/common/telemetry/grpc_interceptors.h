#ifndef QUARRY_SERVICES_COMMON_TELEMETRY_GRPC_INTERCEPTORS_H_
#define QUARRY_SERVICES_COMMON_TELEMETRY_GRPC_INTERCEPTORS_H_

#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include <memory>

#include "absl/strings/string_view.h"

#include "services/common/telemetry/logger.h"
#include "services/common/telemetry/metrics.h"
#include "services/common/telemetry/tracer.h"

namespace quarry::telemetry {

// What the server interceptor does; each piece is optional (null = off).
// Pointees are not owned and must outlive the grpc::Server.
struct ServerTelemetry {
  // quarry_grpc_server_handled_total / _handling_seconds per method.
  Metrics* metrics = nullptr;
  // A server span per RPC, child of the caller's `traceparent` metadata or a
  // new root trace; current on the handler thread while the handler runs.
  Tracer* tracer = nullptr;
  // One line per finished RPC (see Logger::set_rpc_logging to silence it).
  Logger* logger = nullptr;
};

// The server interceptor for every Quarry service, for
// ServerBuilder::experimental().SetInterceptorCreators(). Per RPC it:
//  - on receiving the initial metadata, starts the server span (name
//    "package.Service/Method", attributes rpc.system, rpc.service,
//    rpc.method) and makes it the thread's current span;
//  - when the status is sent, ends the span (rpc.grpc.status_code, error for
//    any non-OK status), restores the thread's previous span, records the
//    metrics and writes the log line with the trace id.
// Limitation: the current span is thread-local. With the synchronous API the
// handler runs on the thread that ran the interceptor, so handlers (and the
// client interceptor on their outbound calls) see it. Callback or async
// handlers run elsewhere and do not; they get fresh root spans on outbound
// calls unless the code re-establishes the context with ScopedSpanContext.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewServerInterceptorFactory(ServerTelemetry telemetry);

// What the client interceptor does; each piece is optional (null = off).
// Pointees are not owned and must outlive the channel.
struct ClientTelemetry {
  // quarry_grpc_client_handled_total / _handling_seconds per method.
  Metrics* metrics = nullptr;
  // A client span per call, child of the calling thread's current span (or
  // of a `traceparent` the caller put in the ClientContext metadata; else a
  // new root), sent downstream as the call's `traceparent` metadata.
  Tracer* tracer = nullptr;
};

// The client interceptor for outbound calls, for
// grpc::experimental::CreateCustomChannelWithInterceptors (or
// quarry::client::ChannelOptions::interceptors).
std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>
NewClientInterceptorFactory(ClientTelemetry telemetry);

// "OK", "CANCELLED", ... "UNAUTHENTICATED"; "UNKNOWN" for values outside the
// enum. The label value used in metrics and logs.
absl::string_view StatusCodeName(grpc::StatusCode code);

}  // namespace quarry::telemetry

#endif  // QUARRY_SERVICES_COMMON_TELEMETRY_GRPC_INTERCEPTORS_H_
