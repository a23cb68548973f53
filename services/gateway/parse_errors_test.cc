#include "services/gateway/parse_errors.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.pb.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {
namespace {

using quarry::gateway::v1::DocumentService;
using quarry::gateway::v1::UpsertDocumentsRequest;
using quarry::gateway::v1::UpsertDocumentsResponse;

// A document service that only validates, behind the interceptor.
class ValidatingDocuments final : public DocumentService::Service {
 public:
  grpc::Status UpsertDocuments(grpc::ServerContext*, const UpsertDocumentsRequest* request,
                               UpsertDocumentsResponse*) override {
    ++calls;
    absl::Status status = ValidateUpsert(*request);
    if (status.ok()) return grpc::Status::OK;
    return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
  }
  int calls = 0;
};

class ParseErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    factories.push_back(NewParseErrorInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(factories));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                   grpc::InsecureChannelCredentials());
  }
  void TearDown() override { server_->Shutdown(); }

  grpc::Status Upsert(const UpsertDocumentsRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    UpsertDocumentsResponse response;
    return DocumentService::NewStub(channel_)->UpsertDocuments(&context, request, &response);
  }

  static UpsertDocumentsRequest Good() {
    UpsertDocumentsRequest request;
    request.set_collection("docs");
    auto* doc = request.add_documents();
    doc->set_id("a");
    doc->set_text("fine");
    (*doc->mutable_metadata())["k"] = "v";
    doc->add_tags("t");
    return request;
  }

  int port_ = 0;
  ValidatingDocuments service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ParseErrorsTest, InvalidUtf8IsInvalidArgumentNamingTheField) {
  ASSERT_TRUE(Upsert(Good()).ok());
  struct Case {
    std::function<void(UpsertDocumentsRequest&)> edit;
    std::string prefix;
  };
  const std::string bad = "x\xff\xfe";
  const std::vector<Case> cases = {
      {[&](auto& r) { r.set_collection(bad); }, "collection: must be valid UTF-8"},
      {[&](auto& r) { r.mutable_documents(0)->set_id(bad); }, "documents[].id: must be valid UTF-8"},
      {[&](auto& r) { r.mutable_documents(0)->set_text(bad); },
       "documents[].text: must be valid UTF-8"},
      {[&](auto& r) { r.mutable_documents(0)->add_tags(bad); },
       "documents[].tags: must be valid UTF-8"},
      {[&](auto& r) { (*r.mutable_documents(0)->mutable_metadata())[bad] = "v"; },
       "documents[].metadata key: must be valid UTF-8"},
      {[&](auto& r) { (*r.mutable_documents(0)->mutable_metadata())["k"] = bad; },
       "documents[].metadata value: must be valid UTF-8"},
  };
  for (const Case& c : cases) {
    UpsertDocumentsRequest request = Good();
    c.edit(request);
    const grpc::Status status = Upsert(request);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_TRUE(absl::StartsWith(status.error_message(), c.prefix)) << status.error_message();
  }
  EXPECT_EQ(service_.calls, 1);  // Only the good request reached the handler.
  // Parsing on the same threads afterwards is not blamed on a stale field.
  EXPECT_TRUE(Upsert(Good()).ok());
}

TEST_F(ParseErrorsTest, MalformedBytesAreInvalidArgumentNamingTheRequestType) {
  grpc::GenericStub stub(channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  const char garbage[] = "\x0a\xff\xff\xff\xff\xff\xff";  // Field 1, a length past the end.
  grpc::Slice slice(garbage, sizeof(garbage) - 1);
  grpc::ByteBuffer request(&slice, 1), response;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, "/quarry.gateway.v1.DocumentService/UpsertDocuments",
                 grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(status.error_message(),
            "request: is not a valid quarry.gateway.v1.UpsertDocumentsRequest (malformed protobuf)");
  EXPECT_EQ(service_.calls, 0);
}

TEST(FieldPath, NamesNestedRepeatedAndMapFields) {
  const auto* upsert = UpsertDocumentsRequest::descriptor();
  const auto* document = quarry::gateway::v1::Document::descriptor();
  EXPECT_EQ(FieldPath(*upsert, *upsert->FindFieldByName("collection")), "collection");
  EXPECT_EQ(FieldPath(*upsert, *document->FindFieldByName("text")), "documents[].text");
  const auto* entry = document->FindNestedTypeByName("MetadataEntry");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(FieldPath(*upsert, *entry->FindFieldByName("key")), "documents[].metadata key");
  EXPECT_EQ(FieldPath(*upsert, *entry->FindFieldByName("value")), "documents[].metadata value");
  const auto* search = quarry::gateway::v1::SearchRequest::descriptor();
  const auto* filter = quarry::common::v1::Filter::descriptor();
  EXPECT_EQ(FieldPath(*search, *filter->FindFieldByName("any_tags")), "filter.any_tags");
  EXPECT_EQ(FieldPath(*search, *document->FindFieldByName("text")), "");
}

TEST(Utf8ErrorField, ReadsProtobufsParseErrorLine) {
  EXPECT_EQ(Utf8ErrorField("String field 'quarry.gateway.v1.Document.text' contains invalid "
                           "UTF-8 data when parsing a protocol buffer. Use the 'bytes' type if "
                           "you intend to send raw bytes. "),
            "quarry.gateway.v1.Document.text");
  // Serializing is the sender's side: not a parse failure of ours.
  EXPECT_EQ(Utf8ErrorField("String field 'a.B.c' contains invalid UTF-8 data when serializing "
                           "a protocol buffer."),
            "");
  EXPECT_EQ(Utf8ErrorField("something else entirely"), "");
}

}  // namespace
}  // namespace quarry::gateway
