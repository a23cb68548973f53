#ifndef QUARRY_SERVICES_COMMON_STATUS_STATUS_H_
#define QUARRY_SERVICES_COMMON_STATUS_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace quarry {

// The one place where absl::Status and grpc::Status meet. Domain code returns
// absl::Status; gRPC adapters convert at their edge. The canonical codes are
// the same in both libraries, so the mapping keeps code and message intact.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// Whether a failed call may be retried as is (the call had no effect or is
// idempotent): UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED and ABORTED.
bool IsRetryable(absl::StatusCode code);

// UNKNOWN becomes UNAVAILABLE, the message kept and a retry hint added. The
// storage layer answers UNKNOWN when the connection died during COMMIT
// (PostgreSQL restarting): the write may or may not have happened. To a client
// that is a transient outage, which is what UNAVAILABLE means in gRPC (safe to
// retry for idempotent calls).
absl::Status InDoubtAsUnavailable(absl::Status status);

// Names the element of a repeated field that a failure belongs to, for batch
// calls that fail whole: "queries[2].top_k: ..." when the message starts with
// a field (INVALID_ARGUMENT, NOT_FOUND), "queries[2]: shard 1 ..." otherwise.
// The code is kept.
absl::Status ForElement(absl::string_view field, int index, const absl::Status& status);

}  // namespace quarry

#endif  // QUARRY_SERVICES_COMMON_STATUS_STATUS_H_
