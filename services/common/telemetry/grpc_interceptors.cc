#include "services/common/telemetry/grpc_interceptors.h"

#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/common/telemetry/trace_context.h"

namespace quarry::telemetry {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;

// "/pkg.Service/Method" -> span name "pkg.Service/Method", service, method.
struct MethodName {
  explicit MethodName(const char* full) : full(full != nullptr ? full : "") {
    absl::string_view rest = this->full;
    if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    span_name = std::string(rest);
    const size_t slash = rest.find('/');
    if (slash != absl::string_view::npos) {
      service = std::string(rest.substr(0, slash));
      method = std::string(rest.substr(slash + 1));
    } else {
      method = std::string(rest);
    }
  }
  std::string full;
  std::string span_name;
  std::string service;
  std::string method;
};

void StartRpcSpanAttributes(Span& span, const MethodName& name) {
  span.SetAttribute("rpc.system", "grpc");
  span.SetAttribute("rpc.service", name.service);
  span.SetAttribute("rpc.method", name.method);
}

void EndRpcSpan(Span& span, const grpc::Status& status) {
  span.SetAttribute("rpc.grpc.status_code", std::to_string(static_cast<int>(status.error_code())));
  if (!status.ok()) {
    span.SetError(status.error_message().empty() ? std::string(StatusCodeName(status.error_code()))
                                                 : status.error_message());
  }
  span.End();
}

double SecondsSince(absl::Time start) { return absl::ToDoubleSeconds(absl::Now() - start); }

class ServerInterceptor : public grpc::experimental::Interceptor {
 public:
  ServerInterceptor(const char* method, const ServerTelemetry& telemetry)
      : name_(method), telemetry_(telemetry), start_(absl::Now()) {}

  ~ServerInterceptor() override {
    // Only when the call died before a status was sent (rare with the sync
    // API); count it rather than lose it.
    if (!finished_) Finish(grpc::Status(grpc::StatusCode::CANCELLED, "RPC ended without a status"));
  }

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      Begin(methods->GetRecvInitialMetadata());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Finish(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  void Begin(std::multimap<grpc::string_ref, grpc::string_ref>* metadata) {
    if (telemetry_.tracer == nullptr || began_) return;
    began_ = true;
    std::optional<SpanContext> parent;
    if (metadata != nullptr) {
      auto it = metadata->find(grpc::string_ref(kTraceparentKey));
      if (it != metadata->end()) {
        // A malformed header starts a new trace, as the W3C spec says.
        absl::StatusOr<SpanContext> parsed =
            ParseTraceparent(absl::string_view(it->second.data(), it->second.size()));
        if (parsed.ok()) parent = *std::move(parsed);
      }
    }
    span_ = telemetry_.tracer->StartSpan(name_.span_name, SpanKind::kServer, parent);
    StartRpcSpanAttributes(span_, name_);
    previous_ = ExchangeCurrentSpanContext(span_.context());
    thread_ = std::this_thread::get_id();
    context_installed_ = true;
  }

  void Finish(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    if (context_installed_ && thread_ == std::this_thread::get_id()) {
      ExchangeCurrentSpanContext(std::move(previous_));
    }
    const std::string trace_id = span_.context().trace_id;
    if (telemetry_.tracer != nullptr) EndRpcSpan(span_, status);
    const absl::string_view code = StatusCodeName(status.error_code());
    const double seconds = SecondsSince(start_);
    if (telemetry_.metrics != nullptr) {
      telemetry_.metrics->RecordServerRpc(name_.full, code, seconds);
    }
    if (telemetry_.logger != nullptr && telemetry_.logger->rpc_logging()) {
      RpcLogRecord record;
      record.rpc = name_.full;
      record.status = std::string(code);
      record.latency_ms = seconds * 1e3;
      record.trace_id = trace_id;
      if (!status.ok()) record.message = status.error_message();
      telemetry_.logger->LogRpc(record);
    }
  }

  const MethodName name_;
  const ServerTelemetry telemetry_;
  const absl::Time start_;
  Span span_;
  std::optional<SpanContext> previous_;
  std::thread::id thread_;
  bool began_ = false;
  bool context_installed_ = false;
  bool finished_ = false;
};

class ServerFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ServerFactory(ServerTelemetry telemetry) : telemetry_(telemetry) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new ServerInterceptor(info->method(), telemetry_);
  }

 private:
  const ServerTelemetry telemetry_;
};

class ClientInterceptor : public grpc::experimental::Interceptor {
 public:
  ClientInterceptor(const char* method, const ClientTelemetry& telemetry)
      : name_(method), telemetry_(telemetry), start_(absl::Now()) {}

  ~ClientInterceptor() override {
    if (began_ && !finished_) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call ended without a status"));
    }
  }

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      Begin(methods->GetSendInitialMetadata());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_STATUS)) {
      if (const grpc::Status* status = methods->GetRecvStatus(); status != nullptr) Finish(*status);
    }
    methods->Proceed();
  }

 private:
  void Begin(std::multimap<std::string, std::string>* metadata) {
    if (began_) return;
    began_ = true;
    start_ = absl::Now();
    if (telemetry_.tracer == nullptr || metadata == nullptr) return;
    std::optional<SpanContext> parent = CurrentSpanContext();
    auto [first, last] = metadata->equal_range(kTraceparentKey);
    if (!parent.has_value() && first != last) {
      absl::StatusOr<SpanContext> parsed = ParseTraceparent(first->second);
      if (parsed.ok()) parent = *std::move(parsed);
    }
    metadata->erase(first, last);
    span_ = telemetry_.tracer->StartSpan(name_.span_name, SpanKind::kClient, parent);
    StartRpcSpanAttributes(span_, name_);
    metadata->emplace(kTraceparentKey, FormatTraceparent(span_.context()));
  }

  void Finish(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    if (telemetry_.tracer != nullptr) EndRpcSpan(span_, status);
    if (telemetry_.metrics != nullptr) {
      telemetry_.metrics->RecordClientRpc(name_.full, StatusCodeName(status.error_code()),
                                          SecondsSince(start_));
    }
  }

  const MethodName name_;
  const ClientTelemetry telemetry_;
  absl::Time start_;
  Span span_;
  bool began_ = false;
  bool finished_ = false;
};

class ClientFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit ClientFactory(ClientTelemetry telemetry) : telemetry_(telemetry) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new ClientInterceptor(info->method(), telemetry_);
  }

 private:
  const ClientTelemetry telemetry_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewServerInterceptorFactory(ServerTelemetry telemetry) {
  return std::make_unique<ServerFactory>(telemetry);
}

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>
NewClientInterceptorFactory(ClientTelemetry telemetry) {
  return std::make_unique<ClientFactory>(telemetry);
}

absl::string_view StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

}  // namespace quarry::telemetry
