// What every quarryctl command shares: the connection to the gateway, and
// how responses and errors are printed.
#ifndef TOOLS_QUARRYCTL_COMMON_H_
#define TOOLS_QUARRYCTL_COMMON_H_

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "google/protobuf/message.h"

namespace quarry::ctl {

// `flag` when set, else the environment variable `env` when set and not
// empty, else `fallback`.
std::string EnvOr(const std::string& flag, const char* env, const char* fallback);

// The values of the connection flags, as given on the command line.
struct ConnectionOptions {
  std::string target;   // empty: $QUARRY_TARGET or 127.0.0.1:50050
  std::string api_key;  // empty: $QUARRY_API_KEY
  absl::Duration deadline = absl::Seconds(30);
};

// The channel to the gateway and the context of each call on it.
class Ctl {
 public:
  explicit Ctl(const ConnectionOptions& options);

  // A context with the call deadline and, when there is a key, its bearer token.
  std::unique_ptr<grpc::ClientContext> Context() const;

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  const std::string& target() const { return target_; }

 private:
  std::string target_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string api_key_;
  absl::Duration deadline_;
};

// Prints "quarryctl: message" to stderr; returns the usage-error exit code, 2.
int Fail(const std::string& message);

// "CODE: message" for a gRPC status.
std::string StatusText(const grpc::Status& status);

// Prints the response as JSON, or the error as "CODE: message". Exit code 1 on error.
int Print(const grpc::Status& status, const google::protobuf::Message& response);

// Every page of a List call merged into `all` (repeated fields appended),
// its page cleared. `call(request, &response)` makes one call.
template <typename Request, typename Response, typename Call>
grpc::Status ListAll(Call call, Request request, Response* all) {
  request.mutable_page()->set_page_size(1000);
  while (true) {
    Response page;
    if (grpc::Status status = call(request, &page); !status.ok()) return status;
    const std::string next = page.page().next_page_token();
    all->MergeFrom(page);
    if (next.empty()) break;
    request.mutable_page()->set_page_token(next);
  }
  all->clear_page();
  return grpc::Status::OK;
}

}  // namespace quarry::ctl

#endif  // TOOLS_QUARRYCTL_COMMON_H_
