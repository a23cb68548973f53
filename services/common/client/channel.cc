#include "services/common/client/channel.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace quarry::client {

std::string ServiceConfigJson(const ChannelOptions& options) {
  std::vector<std::string> parts;
  if (options.health_checked_round_robin) {
    parts.push_back(R"("loadBalancingConfig": [{"round_robin": {}}])");
    parts.push_back(R"("healthCheckConfig": {"serviceName": ""})");
  }
  if (!options.retryable_services.empty()) {
    std::vector<std::string> names;
    for (const std::string& service : options.retryable_services) {
      names.push_back(absl::StrCat(R"({"service": ")", service, R"("})"));
    }
    parts.push_back(absl::StrCat(
        R"("methodConfig": [{"name": [)", absl::StrJoin(names, ", "),
        R"(], "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.05s", )",
        R"("maxBackoff": "1s", "backoffMultiplier": 2, )",
        R"("retryableStatusCodes": ["UNAVAILABLE"]}}])"));
  }
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

std::shared_ptr<grpc::Channel> NewInternalChannel(const std::string& target,
                                                  ChannelOptions options) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(ServiceConfigJson(options));
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Reconnect to a restarted replica quickly instead of backing off for minutes.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2'000);
  auto credentials =
      options.credentials != nullptr ? options.credentials : grpc::InsecureChannelCredentials();
  if (options.interceptors.empty()) return grpc::CreateCustomChannel(target, credentials, args);
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, credentials, args,
                                                                 std::move(options.interceptors));
}

std::shared_ptr<grpc::ChannelCredentials> TlsChannelCredentials(const std::string& ca_pem,
                                                                const std::string& cert_pem,
                                                                const std::string& key_pem) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  ssl.pem_cert_chain = cert_pem;
  ssl.pem_private_key = key_pem;
  return grpc::SslCredentials(ssl);
}

}  // namespace quarry::client
