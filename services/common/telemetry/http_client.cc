#include "services/common/telemetry/http_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/status/macros.h"

namespace quarry::telemetry {
namespace {

// Closes the descriptor on every return path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Waits until `fd` is ready for `events` or `deadline` passes.
absl::Status WaitReady(int fd, short events, absl::Time deadline, absl::string_view what) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat("HTTP ", what, " timed out"));
    }
    pollfd p{fd, events, 0};
    const int ms = static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
    const int n = poll(&p, 1, ms);
    if (n > 0) return absl::OkStatus();
    if (n < 0 && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("HTTP ", what, ": poll: ", strerror(errno)));
    }
  }
}

absl::StatusOr<int> Connect(const HttpUrl& url, absl::Time deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  const std::string port = std::to_string(url.port);
  if (int rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &result); rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", url.host, ": ", gai_strerror(rc)));
  }
  std::string last_error = "no address";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          ai->ai_protocol);
    if (fd < 0) {
      last_error = strerror(errno);
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      freeaddrinfo(result);
      return fd;
    }
    if (errno == EINPROGRESS) {
      absl::Status ready = WaitReady(fd, POLLOUT, deadline, "connect");
      int err = 0;
      socklen_t len = sizeof(err);
      if (ready.ok() && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
        freeaddrinfo(result);
        return fd;
      }
      if (!ready.ok()) {
        close(fd);
        freeaddrinfo(result);
        return ready;
      }
      last_error = strerror(err);
    } else {
      last_error = strerror(errno);
    }
    close(fd);
  }
  freeaddrinfo(result);
  return absl::UnavailableError(
      absl::StrCat("cannot connect to ", url.host, ":", url.port, ": ", last_error));
}

absl::Status SendAll(int fd, absl::string_view data, absl::Time deadline) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      QUARRY_RETURN_IF_ERROR(WaitReady(fd, POLLOUT, deadline, "send"));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return absl::UnavailableError(absl::StrCat("HTTP send: ", strerror(errno)));
    }
  }
  return absl::OkStatus();
}

// Reads until the peer closes or `enough` says the response is complete.
template <typename Enough>
absl::Status ReceiveUntil(int fd, std::string& buffer, absl::Time deadline, Enough enough) {
  char chunk[4096];
  while (!enough(buffer)) {
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer.append(chunk, static_cast<size_t>(n));
    } else if (n == 0) {
      return absl::OkStatus();
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      QUARRY_RETURN_IF_ERROR(WaitReady(fd, POLLIN, deadline, "receive"));
    } else if (errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("HTTP receive: ", strerror(errno)));
    }
  }
  return absl::OkStatus();
}

// Decodes a complete chunked body; nullopt while it is still incomplete or
// when it is malformed (the caller then sees a truncated response).
std::optional<std::string> DecodeChunked(absl::string_view in) {
  std::string out;
  while (true) {
    const size_t eol = in.find("\r\n");
    if (eol == absl::string_view::npos) return std::nullopt;
    absl::string_view size_text = in.substr(0, eol);
    if (size_t semi = size_text.find(';'); semi != absl::string_view::npos) {
      size_text = size_text.substr(0, semi);
    }
    uint64_t size = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(size_text), &size)) return std::nullopt;
    in.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (in.size() < size + 2) return std::nullopt;
    out.append(in.data(), size);
    in.remove_prefix(size + 2);
  }
}

}  // namespace

absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url) {
  constexpr absl::string_view kScheme = "http://";
  if (!absl::StartsWithIgnoreCase(url, kScheme)) {
    return absl::InvalidArgumentError(
        absl::StrCat("URL must start with http:// (no TLS support), got \"", url, "\""));
  }
  absl::string_view rest = url.substr(kScheme.size());
  HttpUrl parsed;
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  parsed.path = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  absl::string_view port_text;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad IPv6 host in URL \"", url, "\""));
    }
    parsed.host = std::string(authority.substr(1, close - 1));
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return absl::InvalidArgumentError(absl::StrCat("bad host in URL \"", url, "\""));
      }
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    parsed.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (parsed.host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("URL has no host: \"", url, "\""));
  }
  if (!port_text.empty() || authority.find(':') != absl::string_view::npos) {
    if (!absl::SimpleAtoi(port_text, &parsed.port) || parsed.port < 1 || parsed.port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("URL port must be in [1, 65535], got \"", port_text, "\""));
    }
  }
  return parsed;
}

absl::StatusOr<HttpResponse> HttpRequest(absl::string_view method, absl::string_view url,
                                         absl::string_view content_type, absl::string_view body,
                                         absl::Duration timeout) {
  QUARRY_ASSIGN_OR_RETURN(HttpUrl parsed, ParseHttpUrl(url));
  const absl::Time deadline = absl::Now() + timeout;
  QUARRY_ASSIGN_OR_RETURN(int connected, Connect(parsed, deadline));
  Fd fd(connected);

  const bool ipv6 = parsed.host.find(':') != std::string::npos;
  std::string request = absl::StrCat(method, " ", parsed.path, " HTTP/1.1\r\nHost: ",
                                     ipv6 ? "[" : "", parsed.host, ipv6 ? "]" : "", ":",
                                     parsed.port, "\r\nConnection: close\r\n");
  if (!content_type.empty()) absl::StrAppend(&request, "Content-Type: ", content_type, "\r\n");
  if (method != "GET" || !body.empty()) {
    absl::StrAppend(&request, "Content-Length: ", body.size(), "\r\n");
  }
  absl::StrAppend(&request, "\r\n", body);
  QUARRY_RETURN_IF_ERROR(SendAll(fd.get(), request, deadline));

  std::string buffer;
  QUARRY_RETURN_IF_ERROR(ReceiveUntil(fd.get(), buffer, deadline, [](const std::string& b) {
    return b.find("\r\n\r\n") != std::string::npos;
  }));
  const size_t header_end = buffer.find("\r\n\r\n");
  if (header_end == std::string::npos) {
    return absl::InternalError("HTTP response ended inside its headers");
  }
  const std::string head = buffer.substr(0, header_end);
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  std::vector<absl::string_view> status_line = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  HttpResponse response;
  if (status_line.size() < 2 || !absl::StartsWith(status_line[0], "HTTP/1.") ||
      !absl::SimpleAtoi(status_line[1], &response.status_code)) {
    return absl::InternalError(absl::StrCat("malformed HTTP status line \"", lines[0], "\""));
  }
  bool chunked = false;
  std::optional<size_t> content_length;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) continue;
    const std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
    const absl::string_view value = absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
    size_t length = 0;
    if (name == "content-length" && absl::SimpleAtoi(value, &length)) content_length = length;
    if (name == "transfer-encoding" && absl::StrContains(absl::AsciiStrToLower(value), "chunked")) {
      chunked = true;
    }
  }
  const size_t body_start = header_end + 4;
  QUARRY_RETURN_IF_ERROR(ReceiveUntil(fd.get(), buffer, deadline, [&](const std::string& b) {
    if (chunked) return DecodeChunked(absl::string_view(b).substr(body_start)).has_value();
    if (content_length.has_value()) return b.size() >= body_start + *content_length;
    return false;  // read to end of stream
  }));
  absl::string_view raw = absl::string_view(buffer).substr(body_start);
  if (chunked) {
    std::optional<std::string> decoded = DecodeChunked(raw);
    if (!decoded.has_value()) return absl::InternalError("truncated chunked HTTP body");
    response.body = std::move(*decoded);
  } else if (content_length.has_value()) {
    if (raw.size() < *content_length) return absl::InternalError("truncated HTTP body");
    response.body = std::string(raw.substr(0, *content_length));
  } else {
    response.body = std::string(raw);
  }
  return response;
}

}  // namespace quarry::telemetry
