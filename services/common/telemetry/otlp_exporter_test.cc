#include "services/common/telemetry/otlp_exporter.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/telemetry/http_client.h"
#include "services/common/telemetry/metrics.h"

namespace quarry::telemetry {
namespace {

using Json = nlohmann::json;

// A one-request HTTP server on 127.0.0.1:0: accepts one connection, reads
// one request (headers + Content-Length body), sends `response`, closes.
class OneShotHttpReceiver {
 public:
  explicit OneShotHttpReceiver(std::string response) : response_(std::move(response)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(listen_fd_, 4), 0);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~OneShotHttpReceiver() {
    shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    close(listen_fd_);
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }

  // Waits for the request; returns its head (request line + headers) and body.
  std::pair<std::string, std::string> Request() {
    done_.WaitForNotificationWithTimeout(absl::Seconds(10));
    absl::MutexLock lock(&mu_);
    return {head_, body_};
  }

 private:
  void Serve() {
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) {
      done_.Notify();
      return;
    }
    std::string data;
    char buf[4096];
    size_t need = std::string::npos;
    while (true) {
      const size_t head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos && need == std::string::npos) {
        size_t length = 0;
        const size_t at = data.find("Content-Length: ");
        if (at != std::string::npos && at < head_end) {
          const size_t eol = data.find("\r\n", at);
          EXPECT_TRUE(absl::SimpleAtoi(data.substr(at + 16, eol - at - 16), &length));
        }
        need = head_end + 4 + length;
      }
      if (need != std::string::npos && data.size() >= need) break;
      const ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    const size_t head_end = data.find("\r\n\r\n");
    {
      absl::MutexLock lock(&mu_);
      head_ = data.substr(0, head_end);
      body_ = head_end == std::string::npos ? "" : data.substr(head_end + 4);
    }
    send(fd, response_.data(), response_.size(), MSG_NOSIGNAL);
    close(fd);
    done_.Notify();
  }

  const std::string response_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  absl::Notification done_;
  absl::Mutex mu_;
  std::string head_ ABSL_GUARDED_BY(mu_);
  std::string body_ ABSL_GUARDED_BY(mu_);
};

constexpr char kOkResponse[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";

SpanData TestSpan(int i) {
  SpanData span;
  span.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  span.span_id = absl::StrCat("00f067aa0ba902b", i % 10);
  span.parent_span_id = i == 0 ? "" : "00f067aa0ba902b0";
  span.name = absl::StrCat("span-", i);
  span.kind = i == 0 ? SpanKind::kServer : SpanKind::kClient;
  span.start_unix_nanos = 1700000000123456789;
  span.end_unix_nanos = 1700000000223456789;
  span.error = i % 2 == 1;
  span.status_message = span.error ? "backend unavailable" : "";
  span.attributes = {{"rpc.system", "grpc"}, {"rpc.method", "Embed"}};
  return span;
}

bool IsLowerHex(const std::string& s, size_t size) {
  if (s.size() != size) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Checks the OTLP structure and returns the spans array.
Json CheckOtlp(const std::string& body, const std::string& service) {
  const Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(doc.is_discarded()) << body;
  if (doc.is_discarded()) return Json::array();
  const Json& resource_spans = doc.at("resourceSpans");
  EXPECT_EQ(resource_spans.size(), 1u);
  const Json& attrs = resource_spans[0].at("resource").at("attributes");
  EXPECT_EQ(attrs[0].at("key"), "service.name");
  EXPECT_EQ(attrs[0].at("value").at("stringValue"), service);
  const Json& scope_spans = resource_spans[0].at("scopeSpans");
  EXPECT_EQ(scope_spans.size(), 1u);
  EXPECT_EQ(scope_spans[0].at("scope").at("name"), "quarry.telemetry");
  const Json& spans = scope_spans[0].at("spans");
  for (const Json& span : spans) {
    EXPECT_TRUE(IsLowerHex(span.at("traceId").get<std::string>(), 32)) << span;
    EXPECT_TRUE(IsLowerHex(span.at("spanId").get<std::string>(), 16)) << span;
    if (span.contains("parentSpanId")) {
      EXPECT_TRUE(IsLowerHex(span.at("parentSpanId").get<std::string>(), 16)) << span;
    }
    EXPECT_TRUE(span.at("startTimeUnixNano").is_string());
    EXPECT_TRUE(span.at("endTimeUnixNano").is_string());
  }
  return spans;
}

TEST(EncodeOtlpJsonTest, ProducesOtlpStructure) {
  const Json spans =
      CheckOtlp(EncodeOtlpJson("embedding", {TestSpan(0), TestSpan(1)}), "embedding");
  ASSERT_EQ(spans.size(), 2u);
  const Json& root = spans[0];
  EXPECT_EQ(root.at("name"), "span-0");
  EXPECT_EQ(root.at("kind"), 2);
  EXPECT_FALSE(root.contains("parentSpanId"));
  EXPECT_EQ(root.at("startTimeUnixNano"), "1700000000123456789");
  EXPECT_EQ(root.at("endTimeUnixNano"), "1700000000223456789");
  EXPECT_EQ(root.at("status").at("code"), 1);
  EXPECT_EQ(root.at("attributes")[0].at("key"), "rpc.system");
  EXPECT_EQ(root.at("attributes")[0].at("value").at("stringValue"), "grpc");
  const Json& child = spans[1];
  EXPECT_EQ(child.at("kind"), 3);
  EXPECT_EQ(child.at("parentSpanId"), "00f067aa0ba902b0");
  EXPECT_EQ(child.at("status").at("code"), 2);
  EXPECT_EQ(child.at("status").at("message"), "backend unavailable");
}

TEST(EncodeOtlpJsonTest, InvalidUtf8DoesNotBreakEncoding) {
  SpanData span = TestSpan(0);
  span.attributes.emplace_back("query", std::string("bad \xff\xfe bytes"));
  const Json spans = CheckOtlp(EncodeOtlpJson("gateway", {span}), "gateway");
  ASSERT_EQ(spans.size(), 1u);
}

TEST(OtlpHttpExporterTest, PostsJsonToV1Traces) {
  OneShotHttpReceiver receiver(kOkResponse);
  auto exporter = OtlpHttpExporter::Create(receiver.url() + "/", "worker");
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  ASSERT_TRUE((*exporter)->Export({TestSpan(0)}, absl::Now() + absl::Seconds(5)).ok());
  const auto [head, body] = receiver.Request();
  EXPECT_TRUE(absl::StartsWith(head, "POST /v1/traces HTTP/1.1\r\n")) << head;
  EXPECT_TRUE(absl::StrContains(head, "Content-Type: application/json")) << head;
  EXPECT_EQ(CheckOtlp(body, "worker").size(), 1u);
}

TEST(OtlpHttpExporterTest, NonSuccessStatusIsAnError) {
  OneShotHttpReceiver receiver("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
  auto exporter = OtlpHttpExporter::Create(receiver.url(), "worker");
  ASSERT_TRUE(exporter.ok());
  const absl::Status status = (*exporter)->Export({TestSpan(0)}, absl::Now() + absl::Seconds(5));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(status.message(), "503")) << status;
}

TEST(OtlpHttpExporterTest, RejectsNonHttpEndpoints) {
  EXPECT_FALSE(OtlpHttpExporter::Create("https://127.0.0.1:4318", "x").ok());
  EXPECT_FALSE(OtlpHttpExporter::Create("127.0.0.1:4318", "x").ok());
  EXPECT_FALSE(OtlpHttpExporter::Create("http://127.0.0.1:99999", "x").ok());
}

TEST(HttpClientTest, ParsesUrls) {
  auto url = ParseHttpUrl("http://collector.observability:4318/v1/traces");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "collector.observability");
  EXPECT_EQ(url->port, 4318);
  EXPECT_EQ(url->path, "/v1/traces");
  url = ParseHttpUrl("http://[::1]:8080");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->path, "/");
  url = ParseHttpUrl("http://example");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, 80);
  EXPECT_FALSE(ParseHttpUrl("http://:80").ok());
  EXPECT_FALSE(ParseHttpUrl("http://host:").ok());
  EXPECT_FALSE(ParseHttpUrl("ftp://host").ok());
}

TEST(HttpClientTest, DecodesChunkedResponses) {
  OneShotHttpReceiver receiver(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  auto response = HttpGet(receiver.url() + "/x", absl::Seconds(5));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 200);
  EXPECT_EQ(response->body, "hello world");
  EXPECT_TRUE(absl::StartsWith(receiver.Request().first, "GET /x HTTP/1.1\r\n"));
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  // A port that was free a moment ago: bind, read it, close.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  auto response = HttpGet(absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port), "/"),
                          absl::Seconds(2));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
}

TEST(BatchSpanProcessorTest, ExportsEverythingToCollectorOnShutdown) {
  OneShotHttpReceiver receiver(kOkResponse);
  auto exporter = OtlpHttpExporter::Create(receiver.url(), "gateway");
  ASSERT_TRUE(exporter.ok());
  BatchOptions options;
  options.flush_interval = absl::Seconds(30);  // only Shutdown flushes
  BatchSpanProcessor processor(*std::move(exporter), options);
  for (int i = 0; i < 3; ++i) processor.OnEnd(TestSpan(i));
  EXPECT_TRUE(processor.Shutdown(absl::Seconds(5)).ok());
  EXPECT_EQ(processor.exported(), 3u);
  EXPECT_EQ(CheckOtlp(receiver.Request().second, "gateway").size(), 3u);
  processor.OnEnd(TestSpan(4));  // after shutdown: dropped, not queued
  EXPECT_EQ(processor.dropped(), 1u);
}

TEST(BatchSpanProcessorTest, FlushesPartialBatchOnInterval) {
  OneShotHttpReceiver receiver(kOkResponse);
  auto exporter = OtlpHttpExporter::Create(receiver.url(), "gateway");
  ASSERT_TRUE(exporter.ok());
  BatchOptions options;
  options.flush_interval = absl::Milliseconds(50);
  BatchSpanProcessor processor(*std::move(exporter), options);
  processor.OnEnd(TestSpan(0));
  // Arrives without Shutdown, within a few flush intervals.
  EXPECT_EQ(CheckOtlp(receiver.Request().second, "gateway").size(), 1u);
}

// An exporter that blocks until released, standing in for a slow collector.
class BlockingExporter : public SpanExporter {
 public:
  absl::Status Export(const std::vector<SpanData>& spans, absl::Time deadline) override {
    if (!entered_.HasBeenNotified()) entered_.Notify();
    release_.WaitForNotification();
    absl::MutexLock lock(&mu_);
    received_ += spans.size();
    return absl::OkStatus();
  }
  absl::Notification entered_;
  absl::Notification release_;
  absl::Mutex mu_;
  size_t received_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(BatchSpanProcessorTest, DropsAndCountsWhenFullWithoutBlocking) {
  Metrics metrics;
  auto owned = std::make_unique<BlockingExporter>();
  BlockingExporter* exporter = owned.get();
  BatchOptions options;
  options.max_queue_size = 4;
  options.max_batch_size = 2;
  options.flush_interval = absl::Seconds(30);
  BatchSpanProcessor processor(std::move(owned), options, &metrics);

  // A full batch wakes the thread, which then hangs in the exporter.
  processor.OnEnd(TestSpan(0));
  processor.OnEnd(TestSpan(1));
  ASSERT_TRUE(exporter->entered_.WaitForNotificationWithTimeout(absl::Seconds(10)));

  const absl::Time start = absl::Now();
  for (int i = 0; i < 7; ++i) processor.OnEnd(TestSpan(i));  // 4 fit, 3 dropped
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_EQ(processor.dropped(), 3u);
  EXPECT_TRUE(absl::StrContains(metrics.Scrape(), "quarry_trace_spans_dropped_total 3"))
      << metrics.Scrape();

  exporter->release_.Notify();
  EXPECT_TRUE(processor.Shutdown(absl::Seconds(5)).ok());
  EXPECT_EQ(processor.exported(), 6u);
  absl::MutexLock lock(&exporter->mu_);
  EXPECT_EQ(exporter->received_, 6u);
}

}  // namespace
}  // namespace quarry::telemetry
