#include "tools/quarryctl/common.h"

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace quarry::ctl {

std::string EnvOr(const std::string& flag, const char* env, const char* fallback) {
  if (!flag.empty()) return flag;
  const char* value = std::getenv(env);
  return value != nullptr && *value != '\0' ? value : fallback;
}

Ctl::Ctl(const ConnectionOptions& options)
    : target_(EnvOr(options.target, "QUARRY_TARGET", "127.0.0.1:50050")),
      channel_(grpc::CreateChannel(target_, grpc::InsecureChannelCredentials())),
      api_key_(EnvOr(options.api_key, "QUARRY_API_KEY", "")),
      deadline_(options.deadline) {}

std::unique_ptr<grpc::ClientContext> Ctl::Context() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(deadline_));
  if (!api_key_.empty()) context->AddMetadata("authorization", "Bearer " + api_key_);
  return context;
}

int Fail(const std::string& message) {
  std::cerr << "quarryctl: " << message << "\n";
  return 2;
}

std::string StatusText(const grpc::Status& status) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                                 "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                                 "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  const int code = status.error_code();
  return absl::StrCat(code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN", ": ",
                      status.error_message());
}

int Print(const grpc::Status& status, const google::protobuf::Message& response) {
  if (!status.ok()) {
    std::cerr << StatusText(status) << "\n";
    return 1;
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(response, &json, options);
  std::cout << json;
  return 0;
}

}  // namespace quarry::ctl
