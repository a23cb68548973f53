#include "services/common/server/options.h"

#include "absl/strings/str_cat.h"

namespace quarry::server {

absl::Status ServerOptions::Validate() const {
  if (service_name.empty()) return absl::InvalidArgumentError("service name must be set");
  if (host.empty()) return absl::InvalidArgumentError("--host must not be empty");
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("--port must be in [0, 65535], got ", port));
  }
  if (admin_port < -1 || admin_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--admin_port must be in [-1, 65535] (-1 disables), got ", admin_port));
  }
  if (port != 0 && port == admin_port) {
    return absl::InvalidArgumentError(
        absl::StrCat("--port and --admin_port must differ, both are ", port));
  }
  if (shutdown_grace < absl::ZeroDuration() || shutdown_grace > absl::Minutes(10)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--shutdown_grace must be in [0s, 10m], got ", absl::FormatDuration(shutdown_grace)));
  }
  if (lame_duck < absl::ZeroDuration() || lame_duck > absl::Minutes(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--lame_duck must be in [0s, 1m], got ", absl::FormatDuration(lame_duck)));
  }
  if (max_message_bytes < 1024 || max_message_bytes > (1 << 30)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_message_bytes must be in [1024, 1073741824], got ", max_message_bytes));
  }
  if (!otlp_endpoint.empty() && otlp_endpoint.rfind("http://", 0) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--otlp_endpoint must start with http:// (OTLP/HTTP), got \"", otlp_endpoint, "\""));
  }
  if (!(trace_sample_ratio >= 0.0 && trace_sample_ratio <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--trace_sample_ratio must be in [0, 1], got ", trace_sample_ratio));
  }
  if (tls_cert_file.empty() != tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key must be given together");
  }
  if (!tls_client_ca_file.empty() && tls_cert_file.empty()) {
    return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert and --tls_key");
  }
  if (internal_tls_cert_file.empty() != internal_tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--internal_tls_cert and --internal_tls_key must be given together");
  }
  if (!internal_tls_cert_file.empty() && internal_tls_ca_file.empty()) {
    return absl::InvalidArgumentError("--internal_tls_cert needs --internal_tls_ca");
  }
  return absl::OkStatus();
}

}  // namespace quarry::server
