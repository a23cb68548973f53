#include "services/common/telemetry/grpc_interceptors.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "quarry/embedding/v1/embedding_service.grpc.pb.h"
#include "services/common/telemetry/http_client.h"
#include "services/common/telemetry/recording_span_sink.h"

namespace quarry::telemetry {
namespace {

using quarry::embedding::v1::EmbeddingService;
using quarry::embedding::v1::EmbedRequest;
using quarry::embedding::v1::EmbedResponse;
using quarry::embedding::v1::GetModelInfoRequest;
using quarry::embedding::v1::GetModelInfoResponse;

constexpr char kEmbedSpan[] = "quarry.embedding.v1.EmbeddingService/Embed";
constexpr char kModelInfoSpan[] = "quarry.embedding.v1.EmbeddingService/GetModelInfo";
constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kParentSpanId[] = "00f067aa0ba902b7";

std::string Attribute(const SpanData& span, const std::string& key) {
  for (const auto& [k, v] : span.attributes) {
    if (k == key) return v;
  }
  return "<missing>";
}

// Embed fails on empty input and starts an internal child span; GetModelInfo
// calls Embed on `downstream` (when set), making a second hop.
class FakeEmbeddingService : public EmbeddingService::Service {
 public:
  explicit FakeEmbeddingService(Tracer* tracer) : tracer_(tracer) {}

  grpc::Status Embed(grpc::ServerContext*, const EmbedRequest* request,
                     EmbedResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      seen_trace_ids_.push_back(CurrentTraceId());
    }
    if (request->texts().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "texts must not be empty");
    }
    Span compute = tracer_->StartSpan("embed.compute");
    response->set_dimension(3);
    return grpc::Status::OK;
  }

  grpc::Status GetModelInfo(grpc::ServerContext*, const GetModelInfoRequest*,
                            GetModelInfoResponse* response) override {
    if (downstream_ != nullptr) {
      grpc::ClientContext context;
      EmbedRequest request;
      request.add_texts("hello");
      EmbedResponse embed;
      grpc::Status status = downstream_->Embed(&context, request, &embed);
      if (!status.ok()) return status;
    }
    response->set_name("fake");
    return grpc::Status::OK;
  }

  std::vector<std::string> seen_trace_ids() {
    absl::MutexLock lock(&mu_);
    return seen_trace_ids_;
  }

  EmbeddingService::Stub* downstream_ = nullptr;

 private:
  Tracer* const tracer_;
  absl::Mutex mu_;
  std::vector<std::string> seen_trace_ids_ ABSL_GUARDED_BY(mu_);
};

// One in-process server on 127.0.0.1:0 with every telemetry piece wired in.
class TelemetryServer {
 public:
  explicit TelemetryServer(double sampling_ratio)
      : sink_(std::make_shared<RecordingSpanSink>()),
        tracer_("embedding", sampling_ratio, sink_),
        logger_("embedding", &log_),
        service_(&tracer_) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    factories.push_back(NewServerInterceptorFactory({&metrics_, &tracer_, &logger_}));
    builder.experimental().SetInterceptorCreators(std::move(factories));
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    EXPECT_GT(port_, 0);
  }
  ~TelemetryServer() { server_->Shutdown(); }

  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }

  std::unique_ptr<EmbeddingService::Stub> PlainStub() const {
    return EmbeddingService::NewStub(
        grpc::CreateChannel(target(), grpc::InsecureChannelCredentials()));
  }

  // A stub whose calls go through the client interceptor.
  std::unique_ptr<EmbeddingService::Stub> TracedStub() {
    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
    factories.push_back(NewClientInterceptorFactory({&metrics_, &tracer_}));
    return EmbeddingService::NewStub(grpc::experimental::CreateCustomChannelWithInterceptors(
        target(), grpc::InsecureChannelCredentials(), grpc::ChannelArguments(),
        std::move(factories)));
  }

  std::vector<nlohmann::json> LogLines() {
    std::vector<nlohmann::json> lines;
    for (absl::string_view line : absl::StrSplit(log_.str(), '\n', absl::SkipEmpty())) {
      lines.push_back(nlohmann::json::parse(line, nullptr, false));
    }
    return lines;
  }

  std::shared_ptr<RecordingSpanSink> sink_;
  Tracer tracer_;
  Metrics metrics_;
  std::ostringstream log_;
  Logger logger_;
  FakeEmbeddingService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

EmbedRequest OneText() {
  EmbedRequest request;
  request.add_texts("hello");
  return request;
}

TEST(ServerInterceptorTest, IncomingTraceparentBecomesParentOfServerSpan) {
  TelemetryServer server(/*sampling_ratio=*/1.0);
  auto stub = server.PlainStub();
  grpc::ClientContext context;
  context.AddMetadata("traceparent", absl::StrCat("00-", kTraceId, "-", kParentSpanId, "-01"));
  EmbedResponse response;
  ASSERT_TRUE(stub->Embed(&context, OneText(), &response).ok());

  std::optional<SpanData> span = server.sink_->Find(kEmbedSpan);
  ASSERT_TRUE(span.has_value());
  EXPECT_EQ(span->trace_id, kTraceId);
  EXPECT_EQ(span->parent_span_id, kParentSpanId);
  EXPECT_EQ(span->kind, SpanKind::kServer);
  EXPECT_FALSE(span->error);
  EXPECT_EQ(Attribute(*span, "rpc.system"), "grpc");
  EXPECT_EQ(Attribute(*span, "rpc.service"), "quarry.embedding.v1.EmbeddingService");
  EXPECT_EQ(Attribute(*span, "rpc.method"), "Embed");
  EXPECT_EQ(Attribute(*span, "rpc.grpc.status_code"), "0");

  // The handler ran with the server span current: its own span is a child.
  std::optional<SpanData> compute = server.sink_->Find("embed.compute");
  ASSERT_TRUE(compute.has_value());
  EXPECT_EQ(compute->trace_id, kTraceId);
  EXPECT_EQ(compute->parent_span_id, span->span_id);
  EXPECT_EQ(server.service_.seen_trace_ids(), std::vector<std::string>{kTraceId});

  const std::vector<nlohmann::json> lines = server.LogLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("rpc"), "/quarry.embedding.v1.EmbeddingService/Embed");
  EXPECT_EQ(lines[0].at("status"), "OK");
  EXPECT_EQ(lines[0].at("trace_id"), kTraceId);
  EXPECT_EQ(lines[0].at("service"), "embedding");
  EXPECT_GE(lines[0].at("latency_ms").get<double>(), 0.0);
}

TEST(ServerInterceptorTest, UnsampledParentIsHonoured) {
  TelemetryServer server(/*sampling_ratio=*/1.0);
  auto stub = server.PlainStub();
  grpc::ClientContext context;
  context.AddMetadata("traceparent", absl::StrCat("00-", kTraceId, "-", kParentSpanId, "-00"));
  EmbedResponse response;
  ASSERT_TRUE(stub->Embed(&context, OneText(), &response).ok());
  EXPECT_TRUE(server.sink_->spans().empty());
  // Still propagated: the handler (and its logs) see the caller's trace.
  EXPECT_EQ(server.service_.seen_trace_ids(), std::vector<std::string>{kTraceId});
}

TEST(ServerInterceptorTest, MalformedTraceparentStartsNewRootAndErrorsAreMarked) {
  TelemetryServer server(/*sampling_ratio=*/1.0);
  auto stub = server.PlainStub();
  grpc::ClientContext context;
  context.AddMetadata("traceparent", "00-not-a-trace-01");
  EmbedResponse response;
  EXPECT_EQ(stub->Embed(&context, EmbedRequest(), &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  std::optional<SpanData> span = server.sink_->Find(kEmbedSpan);
  ASSERT_TRUE(span.has_value());
  EXPECT_TRUE(span->parent_span_id.empty());
  EXPECT_EQ(span->trace_id.size(), 32u);
  EXPECT_TRUE(span->error);
  EXPECT_EQ(span->status_message, "texts must not be empty");
  EXPECT_EQ(Attribute(*span, "rpc.grpc.status_code"), "3");
  const std::vector<nlohmann::json> lines = server.LogLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("status"), "INVALID_ARGUMENT");
  EXPECT_EQ(lines[0].at("level"), "warn");
}

TEST(ServerInterceptorTest, SamplingRatioZeroRecordsNoRootSpans) {
  TelemetryServer server(/*sampling_ratio=*/0.0);
  auto stub = server.PlainStub();
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext context;
    EmbedResponse response;
    ASSERT_TRUE(stub->Embed(&context, OneText(), &response).ok());
  }
  EXPECT_TRUE(server.sink_->spans().empty());
  // Unsampled traces still get ids, so logs can be correlated.
  for (const std::string& id : server.service_.seen_trace_ids()) EXPECT_EQ(id.size(), 32u);
}

TEST(ClientInterceptorTest, ClientSpanIsParentOfServerSpan) {
  TelemetryServer server(/*sampling_ratio=*/1.0);
  auto stub = server.TracedStub();
  Span outer = server.tracer_.StartSpan("request", SpanKind::kInternal, std::nullopt);
  {
    ScopedSpanContext scope(outer.context());
    grpc::ClientContext context;
    EmbedResponse response;
    ASSERT_TRUE(stub->Embed(&context, OneText(), &response).ok());
  }
  outer.End();

  std::optional<SpanData> client;
  std::optional<SpanData> server_span;
  for (const SpanData& span : server.sink_->spans()) {
    if (span.name != kEmbedSpan) continue;
    (span.kind == SpanKind::kClient ? client : server_span) = span;
  }
  ASSERT_TRUE(client.has_value());
  ASSERT_TRUE(server_span.has_value());
  EXPECT_EQ(client->trace_id, outer.context().trace_id);
  EXPECT_EQ(client->parent_span_id, outer.context().span_id);
  EXPECT_EQ(server_span->trace_id, outer.context().trace_id);
  EXPECT_EQ(server_span->parent_span_id, client->span_id);
  EXPECT_EQ(Attribute(*client, "rpc.grpc.status_code"), "0");
}

TEST(ClientInterceptorTest, OneTraceSpansEveryHop) {
  TelemetryServer server(/*sampling_ratio=*/1.0);
  auto downstream = server.TracedStub();
  server.service_.downstream_ = downstream.get();
  auto stub = server.TracedStub();
  grpc::ClientContext context;
  GetModelInfoResponse response;
  ASSERT_TRUE(stub->GetModelInfo(&context, GetModelInfoRequest(), &response).ok());

  // client GetModelInfo -> server GetModelInfo -> client Embed -> server Embed
  std::map<std::pair<std::string, SpanKind>, SpanData> by_role;
  for (const SpanData& span : server.sink_->spans()) by_role[{span.name, span.kind}] = span;
  const SpanData& c1 = by_role[{kModelInfoSpan, SpanKind::kClient}];
  const SpanData& s1 = by_role[{kModelInfoSpan, SpanKind::kServer}];
  const SpanData& c2 = by_role[{kEmbedSpan, SpanKind::kClient}];
  const SpanData& s2 = by_role[{kEmbedSpan, SpanKind::kServer}];
  ASSERT_FALSE(c1.trace_id.empty());
  EXPECT_TRUE(c1.parent_span_id.empty());
  EXPECT_EQ(s1.parent_span_id, c1.span_id);
  EXPECT_EQ(c2.parent_span_id, s1.span_id);
  EXPECT_EQ(s2.parent_span_id, c2.span_id);
  for (const SpanData* span : {&s1, &c2, &s2}) EXPECT_EQ(span->trace_id, c1.trace_id);
  server.service_.downstream_ = nullptr;
}

TEST(MetricsInterceptorTest, AdminEndpointServesRpcCountersByCode) {
  TelemetryServer server(/*sampling_ratio=*/1.0);
  ASSERT_TRUE(server.metrics_.StartAdminServer("127.0.0.1:0").ok());
  const int admin_port = server.metrics_.admin_port();
  ASSERT_GT(admin_port, 0);
  EXPECT_EQ(server.metrics_.StartAdminServer("127.0.0.1:0").code(),
            absl::StatusCode::kFailedPrecondition);

  auto stub = server.TracedStub();
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext context;
    EmbedResponse response;
    ASSERT_TRUE(stub->Embed(&context, OneText(), &response).ok());
  }
  grpc::ClientContext context;
  EmbedResponse response;
  ASSERT_FALSE(stub->Embed(&context, EmbedRequest(), &response).ok());
  server.metrics_.Counter("quarry_test_things_total", "Things.", {{"kind", "a"}}).Increment(4);

  absl::StatusOr<HttpResponse> scrape =
      HttpGet(absl::StrCat("http://127.0.0.1:", admin_port, "/metrics"), absl::Seconds(10));
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  EXPECT_EQ(scrape->status_code, 200);
  const std::string& text = scrape->body;
  constexpr char kLabels[] = R"(method="Embed",service="quarry.embedding.v1.EmbeddingService")";
  EXPECT_TRUE(absl::StrContains(
      text, absl::StrCat(R"(quarry_grpc_server_handled_total{code="OK",)", kLabels, "} 2")))
      << text;
  EXPECT_TRUE(absl::StrContains(
      text,
      absl::StrCat(R"(quarry_grpc_server_handled_total{code="INVALID_ARGUMENT",)", kLabels, "} 1")))
      << text;
  EXPECT_TRUE(absl::StrContains(
      text, absl::StrCat("quarry_grpc_server_handling_seconds_count{", kLabels, "} 3")))
      << text;
  EXPECT_TRUE(absl::StrContains(
      text,
      absl::StrCat("quarry_grpc_server_handling_seconds_bucket{", kLabels, R"(,le="0.0001"})")))
      << text;
  EXPECT_TRUE(absl::StrContains(
      text, absl::StrCat(R"(quarry_grpc_client_handled_total{code="OK",)", kLabels, "} 2")))
      << text;
  EXPECT_TRUE(absl::StrContains(
      text, absl::StrCat("quarry_grpc_client_handling_seconds_count{", kLabels, "} 3")))
      << text;
  EXPECT_TRUE(absl::StrContains(text, R"(quarry_test_things_total{kind="a"} 4)")) << text;
}

TEST(StatusCodeNameTest, NamesEveryCode) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAVAILABLE), "UNAVAILABLE");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(static_cast<grpc::StatusCode>(99)), "UNKNOWN");
}

}  // namespace
}  // namespace quarry::telemetry
