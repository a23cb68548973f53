#ifndef QUARRY_SERVICES_GATEWAY_API_ADMISSION_H_
#define QUARRY_SERVICES_GATEWAY_API_ADMISSION_H_

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/common/status/status.h"
#include "services/gateway/auth.h"

namespace quarry::gateway {

// Every public RPC runs through Admitter::Run: Gatekeeper::Admit (API key,
// rate limit, in-flight limit, scope; failing in the order UNAUTHENTICATED,
// RESOURCE_EXHAUSTED, PERMISSION_DENIED), then the handler's body with the
// admitted Principal, holding the in-flight slot until the body returns, then
// one status mapping for the client.
//
// Why a wrapper and not a grpc::experimental::ServerInterceptorFactoryInterface:
// in gRPC 1.51 a server interceptor cannot end a synchronous call before its
// handler runs (it can only observe or rewrite the batches; server-side
// hijacking is not supported), and a ServerContext has no slot to hand the
// Principal to the handler, which would then need a side table keyed by
// context and a method -> scope table kept apart from the handlers. With the
// wrapper the scope stands next to the handler it guards and the Principal is
// a plain argument.
class Admitter {
 public:
  // `default_deadline`: used when a client sends no deadline.
  Admitter(Gatekeeper& gate, absl::Duration default_deadline)
      : gate_(gate), default_deadline_(default_deadline) {}

  // `body(const Principal&) -> absl::Status`.
  template <typename Body>
  grpc::Status Run(const grpc::ServerContext& context, Scope scope, Body&& body) {
    auto admission = gate_.Admit(context, scope);
    if (!admission.ok()) return ToClient(admission.status());
    return ToClient(std::forward<Body>(body)(**admission));
  }

  // The call's deadline, or now + the default when the client set none.
  absl::Time Deadline(const grpc::ServerContext& context) const;

  Gatekeeper& gate() { return gate_; }

  // A commit in doubt (PostgreSQL restarting under it) reaches the client as
  // UNAVAILABLE, gRPC's transient code: upserts, deletes, cancels, revokes
  // and jobs with an idempotency key are safe to retry, and a retried
  // CreateCollection reports ALREADY_EXISTS; UNAVAILABLE's contract warns
  // about the rest.
  static grpc::Status ToClient(absl::Status status) {
    return ToGrpcStatus(InDoubtAsUnavailable(std::move(status)));
  }

 private:
  Gatekeeper& gate_;
  const absl::Duration default_deadline_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_API_ADMISSION_H_
