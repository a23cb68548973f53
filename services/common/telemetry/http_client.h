#ifndef QUARRY_SERVICES_COMMON_TELEMETRY_HTTP_CLIENT_H_
#define QUARRY_SERVICES_COMMON_TELEMETRY_HTTP_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace quarry::telemetry {

// A plain-HTTP URL split into what a socket needs.
struct HttpUrl {
  std::string host;  // a name or an IP literal (IPv6 without brackets)
  int port = 80;
  std::string path;  // starts with '/'; "/" when the URL has none
};

// Parses "http://host[:port][/path]". https and other schemes are
// INVALID_ARGUMENT: there is no TLS here.
absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url);

struct HttpResponse {
  int status_code = 0;
  std::string body;  // chunked transfer encoding already decoded
};

// One HTTP/1.1 request on a fresh TCP connection ("Connection: close").
// Exists because the exporter has no libcurl; it is deliberately minimal: no
// TLS, no redirects, no keep-alive, no proxy. `timeout` bounds the whole
// exchange (resolve excepted): connect, send and receive. Returns UNAVAILABLE
// when the peer cannot be reached or the connection breaks,
// DEADLINE_EXCEEDED on timeout, INTERNAL for a malformed response. Any HTTP
// status is a successful exchange: the caller judges the status code.
absl::StatusOr<HttpResponse> HttpRequest(absl::string_view method, absl::string_view url,
                                         absl::string_view content_type, absl::string_view body,
                                         absl::Duration timeout);

inline absl::StatusOr<HttpResponse> HttpGet(absl::string_view url, absl::Duration timeout) {
  return HttpRequest("GET", url, "", "", timeout);
}

inline absl::StatusOr<HttpResponse> HttpPost(absl::string_view url, absl::string_view content_type,
                                             absl::string_view body, absl::Duration timeout) {
  return HttpRequest("POST", url, content_type, body, timeout);
}

}  // namespace quarry::telemetry

#endif  // QUARRY_SERVICES_COMMON_TELEMETRY_HTTP_CLIENT_H_
