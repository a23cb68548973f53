#ifndef QUARRY_SERVICES_COMMON_STATUS_STATUS_H_
#define QUARRY_SERVICES_COMMON_STATUS_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace quarry {

// The one place where absl::Status and grpc::Status meet. Domain code returns
// absl::Status; gRPC adapters convert at their edge. The canonical codes are
// the same in both libraries, so the mapping keeps code and message intact.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// Whether a failed call may be retried as is (the call had no effect or is
// idempotent): UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED and ABORTED.
bool IsRetryable(absl::StatusCode code);

}  // namespace quarry

#endif  // QUARRY_SERVICES_COMMON_STATUS_STATUS_H_
