#include "services/common/model/index_documents_payload.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace quarry::model {
namespace {

TEST(IndexDocumentsPayloadTest, EncodesTheBytesJobsAlreadyHold) {
  // What the gateway wrote before the codec existed; queued jobs hold these.
  EXPECT_EQ(EncodeIndexDocumentsPayload({7, std::vector<std::string>{"a", "b"}}),
            R"({"collection_id":7,"ids":["a","b"]})");
  EXPECT_EQ(EncodeIndexDocumentsPayload({7, std::vector<std::string>{}}),
            R"({"collection_id":7,"ids":[]})");
  EXPECT_EQ(EncodeIndexDocumentsPayload({42, std::nullopt}), R"({"collection_id":42})");
  EXPECT_EQ(EncodeIndexDocumentsPayload({1, std::vector<std::string>{"q\"\\é"}}),
            "{\"collection_id\":1,\"ids\":[\"q\\\"\\\\é\"]}");
}

TEST(IndexDocumentsPayloadTest, RoundTrips) {
  for (const IndexDocumentsPayload& payload :
       {IndexDocumentsPayload{7, std::vector<std::string>{"a", "b"}},
        IndexDocumentsPayload{9223372036854775807, std::nullopt},
        IndexDocumentsPayload{3, std::vector<std::string>{}},
        IndexDocumentsPayload{5, std::vector<std::string>{"日本", std::string("x\0y", 3)}}}) {
    absl::StatusOr<IndexDocumentsPayload> decoded =
        DecodeIndexDocumentsPayload(EncodeIndexDocumentsPayload(payload));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, payload);
  }
}

TEST(IndexDocumentsPayloadTest, DecodesSubmitJobPayloads) {
  // SubmitJob passes the client's other keys through; the worker ignores them.
  absl::StatusOr<IndexDocumentsPayload> decoded = DecodeIndexDocumentsPayload(
      R"({"note": "x", "collection_id": 12, "ids": ["b"], "extra": {"n": 1}})");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->collection_id, 12);
  EXPECT_EQ(decoded->ids, std::vector<std::string>{"b"});
  decoded = DecodeIndexDocumentsPayload(R"({"collection_id": 12})");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_FALSE(decoded->ids.has_value());
}

TEST(IndexDocumentsPayloadTest, RejectsMalformedPayloadsNamingTheField) {
  const struct {
    std::string json;
    std::string message;
  } cases[] = {
      {"", "payload: must be a JSON object"},
      {"{", "payload: must be a JSON object"},
      {"[1]", "payload: must be a JSON object"},
      {"7", "payload: must be a JSON object"},
      {"{}", "payload.collection_id: must be an integer"},
      {R"({"collection_id": "7"})", "payload.collection_id: must be an integer"},
      {R"({"collection_id": 7.5})", "payload.collection_id: must be an integer"},
      {R"({"collection_id": null})", "payload.collection_id: must be an integer"},
      {R"({"collection_id": 7, "ids": "a"})", "payload.ids: must be an array of strings"},
      {R"({"collection_id": 7, "ids": {"a": 1}})", "payload.ids: must be an array of strings"},
      {R"({"collection_id": 7, "ids": ["a", 2]})", "payload.ids: must be strings"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<IndexDocumentsPayload> decoded = DecodeIndexDocumentsPayload(c.json);
    ASSERT_FALSE(decoded.ok()) << c.json;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_EQ(decoded.status().message(), c.message) << c.json;
  }
}

}  // namespace
}  // namespace quarry::model
