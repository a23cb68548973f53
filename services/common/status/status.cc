#include "services/common/status/status.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace quarry {
namespace {

// absl and gRPC both use the canonical google.rpc.Code numbering (0..16);
// anything outside it is UNKNOWN on the other side.
constexpr int kMaxCanonicalCode = 16;

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  int code = static_cast<int>(status.code());
  if (code <= 0 || code > kMaxCanonicalCode) code = grpc::StatusCode::UNKNOWN;
  return grpc::Status(static_cast<grpc::StatusCode>(code), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  int code = static_cast<int>(status.error_code());
  if (code <= 0 || code > kMaxCanonicalCode) code = static_cast<int>(absl::StatusCode::kUnknown);
  return absl::Status(static_cast<absl::StatusCode>(code), status.error_message());
}

bool IsRetryable(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

absl::Status InDoubtAsUnavailable(absl::Status status) {
  if (status.code() != absl::StatusCode::kUnknown) return status;
  return absl::UnavailableError(absl::StrCat(
      status.message(), " (the write's outcome is unknown: retry it if it is idempotent)"));
}

absl::Status ForElement(absl::string_view field, int index, const absl::Status& status) {
  if (status.ok()) return status;
  const bool names_field = absl::IsInvalidArgument(status) || absl::IsNotFound(status);
  return absl::Status(status.code(), absl::StrCat(field, "[", index, names_field ? "]." : "]: ",
                                                  status.message()));
}

}  // namespace quarry
