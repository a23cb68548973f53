#include "services/common/telemetry/admin_http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace quarry::telemetry {
namespace {

void WriteAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminHttpServer>> AdminHttpServer::Start(
    const std::string& bind_address, std::string path, std::function<std::string()> body) {
  const size_t colon = bind_address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(bind_address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad address \"", bind_address, "\""));
  }
  std::string host = bind_address.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* resolved = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &resolved) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host));
  }
  int fd = socket(resolved->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const bool bound = fd >= 0 && bind(fd, resolved->ai_addr, resolved->ai_addrlen) == 0 &&
                     listen(fd, 16) == 0;
  freeaddrinfo(resolved);
  if (!bound) {
    const std::string error = std::strerror(errno);
    if (fd >= 0) close(fd);
    return absl::UnavailableError(absl::StrCat("cannot listen on ", bind_address, ": ", error));
  }
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
  const int bound_port = local.ss_family == AF_INET6
                             ? ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port)
                             : ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  return std::unique_ptr<AdminHttpServer>(
      new AdminHttpServer(fd, bound_port, std::move(path), std::move(body)));
}

AdminHttpServer::AdminHttpServer(int fd, int port, std::string path,
                                 std::function<std::string()> body)
    : fd_(fd), port_(port), path_(std::move(path)), body_(std::move(body)) {
  thread_ = std::thread([this] { Serve(); });
}

AdminHttpServer::~AdminHttpServer() {
  stop_ = true;
  thread_.join();
  close(fd_);
}

void AdminHttpServer::Serve() {
  while (!stop_) {
    pollfd pfd{fd_, POLLIN, 0};
    // Wake up regularly to notice Stop; scrapes wait at most this long extra.
    if (poll(&pfd, 1, 200) <= 0) continue;
    int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    timeval timeout{2, 0};
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    Handle(client);
    close(client);
  }
}

void AdminHttpServer::Handle(int client) {
  // Read the request head (bounded); the request line is all we need.
  std::string request;
  char buffer[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16384) {
    ssize_t n = recv(client, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    request.append(buffer, static_cast<size_t>(n));
  }
  const size_t line_end = request.find("\r\n");
  const std::string line = request.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.find(' ', sp1 + 1);
  const std::string method = line.substr(0, sp1);
  std::string target = sp1 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  std::string status = "200 OK", body;
  if (method != "GET" && method != "HEAD") {
    status = "405 Method Not Allowed";
  } else if (target != path_) {
    status = "404 Not Found";
  } else {
    body = body_();
  }
  std::string response = absl::StrCat(
      "HTTP/1.1 ", status, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n",
      "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n");
  if (method != "HEAD") response += body;
  WriteAll(client, response);
}

}  // namespace quarry::telemetry
