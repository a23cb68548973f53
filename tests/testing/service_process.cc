#include "tests/testing/service_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace quarry::testing {

absl::StatusOr<std::unique_ptr<ServiceProcess>> ServiceProcess::Start(
    const std::string& name, const std::string& binary, std::vector<std::string> flags,
    absl::Duration timeout) {
  auto service = std::unique_ptr<ServiceProcess>(new ServiceProcess());
  const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  service->log_path_ = absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name, "-", getpid(), "-",
                                    absl::ToUnixMicros(absl::Now()), ".log");
  std::vector<std::string> argv = {RunfilePath(binary), "--host=127.0.0.1", "--port=0",
                                   "--admin_port=0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto process = Subprocess::Start(argv, service->log_path_);
  if (!process.ok()) return process.status();
  service->process_ = std::move(*process);
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    std::ifstream in(service->log_path_);
    for (std::string line; std::getline(in, line);) {
      nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
      if (json.is_object() && json.value("message", "") == "serving") {
        (void)absl::SimpleAtoi(json.value("port", "0"), &service->port_);
        (void)absl::SimpleAtoi(json.value("admin_port", "0"), &service->admin_port_);
        return service;
      }
    }
    if (!service->process_->running()) {
      return absl::InternalError(absl::StrCat(name, " exited at start:\n", service->Log()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat(name, " did not start:\n", service->Log()));
}

std::string ServiceProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::string ServiceProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::shared_ptr<grpc::Channel> ServiceProcess::NewChannel() const {
  return grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

bool ServiceProcess::Serving() {
  auto stub = grpc::health::v1::Health::NewStub(NewChannel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, {}, &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

absl::Status ServiceProcess::WaitServing(absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    if (Serving()) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat("not SERVING after ",
                                                  absl::FormatDuration(timeout), ":\n", Log()));
}

absl::StatusOr<std::string> ServiceProcess::ScrapeMetrics() {
  return HttpGet(admin_port_, "/metrics");
}

absl::StatusOr<std::string> HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to 127.0.0.1:", port));
  }
  const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buffer[8192];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos) return absl::InternalError("malformed HTTP response");
  return response.substr(body + 4);
}

}  // namespace quarry::testing
