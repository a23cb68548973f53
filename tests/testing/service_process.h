#ifndef QUARRY_TESTS_TESTING_SERVICE_PROCESS_H_
#define QUARRY_TESTS_TESTING_SERVICE_PROCESS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/subprocess.h"

namespace quarry::testing {

// A Quarry service binary started on 127.0.0.1 with --port=0 and
// --admin_port=0; the ports it bound are read from its "serving" log line.
class ServiceProcess {
 public:
  // `binary` is a runfiles-relative path such as "services/worker/worker".
  static absl::StatusOr<std::unique_ptr<ServiceProcess>> Start(
      const std::string& name, const std::string& binary, std::vector<std::string> flags,
      absl::Duration timeout = absl::Seconds(30));

  int port() const { return port_; }
  int admin_port() const { return admin_port_; }
  std::string address() const;
  Subprocess& process() { return *process_; }
  const std::string& log_path() const { return log_path_; }
  std::string Log() const;

  std::shared_ptr<grpc::Channel> NewChannel() const;
  // grpc.health.v1 Check("") == SERVING.
  bool Serving();
  // Waits until Serving() or the timeout.
  absl::Status WaitServing(absl::Duration timeout);
  // GET http://127.0.0.1:<admin_port>/metrics.
  absl::StatusOr<std::string> ScrapeMetrics();

 private:
  ServiceProcess() = default;
  std::unique_ptr<Subprocess> process_;
  std::string log_path_;
  int port_ = 0;
  int admin_port_ = 0;
};

// A minimal HTTP/1.0 GET over loopback, for /metrics.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

}  // namespace quarry::testing

#endif  // QUARRY_TESTS_TESTING_SERVICE_PROCESS_H_
