#ifndef QUARRY_SERVICES_COMMON_TELEMETRY_ADMIN_HTTP_SERVER_H_
#define QUARRY_SERVICES_COMMON_TELEMETRY_ADMIN_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace quarry::telemetry {

// A minimal HTTP/1.x server for the admin port: GET of one path answered by a
// function, one connection at a time on one thread.
//
// Why not prometheus-cpp's Exposer: it serves from civetweb threads with
// ~100 KiB stacks, and glibc carves each thread's static TLS out of its
// stack. A process that links OpenBLAS (61 KiB of TLS: the embedding
// service) overflowed that stack on the first scrape and crashed. Our thread
// gets the default stack, and scrapes are rare enough for one thread.
class AdminHttpServer {
 public:
  // Binds `bind_address` ("host:port", port 0 picks one) and starts serving
  // GET `path` with `body()` as text/plain. UNAVAILABLE when it cannot bind.
  static absl::StatusOr<std::unique_ptr<AdminHttpServer>> Start(
      const std::string& bind_address, std::string path, std::function<std::string()> body);
  ~AdminHttpServer();

  int port() const { return port_; }

 private:
  AdminHttpServer(int fd, int port, std::string path, std::function<std::string()> body);
  void Serve();
  void Handle(int client);

  const int fd_;
  const int port_;
  const std::string path_;
  const std::function<std::string()> body_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace quarry::telemetry

#endif  // QUARRY_SERVICES_COMMON_TELEMETRY_ADMIN_HTTP_SERVER_H_
