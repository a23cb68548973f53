#include "services/gateway/validation.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace quarry::gateway {
namespace {

using quarry::gateway::v1::CreateApiKeyRequest;
using quarry::gateway::v1::CreateCollectionRequest;
using quarry::gateway::v1::SearchRequest;
using quarry::gateway::v1::SubmitJobRequest;
using quarry::gateway::v1::UpsertDocumentsRequest;

// Expects INVALID_ARGUMENT whose message starts with `field`.
void ExpectInvalid(const absl::Status& status, const std::string& field) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << field << ": " << status;
  EXPECT_EQ(status.message().substr(0, field.size()), field) << status;
}

TEST(Utf8, AcceptsValidAndRejectsMalformed) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // Truncated.
  EXPECT_FALSE(IsValidUtf8("\xE6\x97"));          // Truncated.
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // Overlong '/'.
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // Surrogate.
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // Past U+10FFFF.
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("a\x80z"));  // Stray continuation byte.
}

UpsertDocumentsRequest GoodUpsert() {
  UpsertDocumentsRequest request;
  request.set_collection("docs");
  auto* doc = request.add_documents();
  doc->set_id("ticket:42");
  doc->set_text("disk full on build agent");
  (*doc->mutable_metadata())["team"] = "infra";
  doc->add_tags("bug");
  return request;
}

TEST(Upsert, EveryRuleNamesItsField) {
  EXPECT_TRUE(ValidateUpsert(GoodUpsert()).ok());
  struct Case {
    std::function<void(UpsertDocumentsRequest&)> mutate;
    std::string field;
  };
  const std::string big_text(32 * 1024 + 1, 'x');
  const Case cases[] = {
      {[](auto& r) { r.set_collection(""); }, "collection"},
      {[](auto& r) { r.set_collection("Has Caps"); }, "collection"},
      {[](auto& r) { r.clear_documents(); }, "documents"},
      {[](auto& r) {
         for (int i = 0; i < 1000; ++i) r.add_documents()->set_id("d" + std::to_string(i));
       },
       "documents"},
      {[](auto& r) { r.mutable_documents(0)->set_id(""); }, "documents[0].id"},
      {[](auto& r) { r.mutable_documents(0)->set_id(std::string(257, 'a')); }, "documents[0].id"},
      {[](auto& r) { r.mutable_documents(0)->set_id("has space"); }, "documents[0].id"},
      {[](auto& r) { *r.add_documents() = r.documents(0); }, "documents[1].id"},
      {[](auto& r) { r.mutable_documents(0)->set_text(""); }, "documents[0].text"},
      {[&](auto& r) { r.mutable_documents(0)->set_text(big_text); }, "documents[0].text"},
      {[](auto& r) { r.mutable_documents(0)->set_text("bad \xC3"); }, "documents[0].text"},
      {[](auto& r) {
         for (int i = 0; i < 65; ++i) (*r.mutable_documents(0)->mutable_metadata())["k" + std::to_string(i)] = "v";
       },
       "documents[0].metadata"},
      {[](auto& r) { (*r.mutable_documents(0)->mutable_metadata())[std::string(129, 'k')] = "v"; },
       "documents[0].metadata"},
      {[](auto& r) { (*r.mutable_documents(0)->mutable_metadata())["k"] = std::string(1025, 'v'); },
       "documents[0].metadata"},
      {[](auto& r) {
         for (int i = 0; i < 33; ++i) r.mutable_documents(0)->add_tags("t");
       },
       "documents[0].tags"},
      {[](auto& r) { r.mutable_documents(0)->add_tags(""); }, "documents[0].tags[1]"},
      {[](auto& r) { r.mutable_documents(0)->add_tags(std::string(65, 't')); },
       "documents[0].tags[1]"},
      {[](auto& r) {
         r.mutable_documents(0)->mutable_vector()->add_values(std::nanf(""));
       },
       "documents[0].vector.values[0]"},
  };
  for (const Case& c : cases) {
    UpsertDocumentsRequest request = GoodUpsert();
    c.mutate(request);
    ExpectInvalid(ValidateUpsert(request), c.field);
  }
}

TEST(Upsert, VectorDimensionMustMatchTheCollection) {
  UpsertDocumentsRequest request = GoodUpsert();
  request.mutable_documents(0)->set_text("");
  for (int i = 0; i < 3; ++i) request.mutable_documents(0)->mutable_vector()->add_values(0.1f);
  EXPECT_TRUE(ValidateUpsert(request).ok());  // Text may be empty when a vector is given.
  EXPECT_TRUE(ValidateUpsertVectors(request, 3).ok());
  absl::Status status = ValidateUpsertVectors(request, 384);
  ExpectInvalid(status, "documents[0].vector");
  EXPECT_NE(status.message().find("384"), std::string::npos);
}

SearchRequest GoodSearch() {
  SearchRequest request;
  request.set_collection("docs");
  request.set_text("disk full");
  return request;
}

TEST(Search, EveryRuleNamesItsField) {
  EXPECT_TRUE(ValidateSearch(GoodSearch()).ok());
  EXPECT_EQ(EffectiveTopK(GoodSearch()), 10);
  struct Case {
    std::function<void(SearchRequest&)> mutate;
    std::string field;
  };
  const Case cases[] = {
      {[](auto& r) { r.clear_text(); }, "query"},
      {[](auto& r) { r.set_text(""); }, "text"},
      {[](auto& r) { r.mutable_vector(); }, "vector"},
      {[](auto& r) { r.mutable_vector()->add_values(std::numeric_limits<float>::infinity()); },
       "vector.values[0]"},
      {[](auto& r) { r.set_top_k(5000); }, "top_k"},
      {[](auto& r) { r.set_top_k(20); r.set_effort(10); }, "effort"},
      {[](auto& r) { r.set_effort(5000); }, "effort"},
      {[](auto& r) { r.set_min_score(std::nanf("")); }, "min_score"},
      {[](auto& r) { r.mutable_filter()->add_all_tags(""); }, "filter.all_tags[0]"},
      {[](auto& r) {
         for (int i = 0; i < 17; ++i) (*r.mutable_filter()->mutable_metadata_equals())["k" + std::to_string(i)] = "v";
       },
       "filter.metadata_equals"},
  };
  for (const Case& c : cases) {
    SearchRequest request = GoodSearch();
    c.mutate(request);
    ExpectInvalid(ValidateSearch(request), c.field);
  }
  absl::Status status = [] {
    SearchRequest r = GoodSearch();
    r.set_top_k(5000);
    return ValidateSearch(r);
  }();
  EXPECT_EQ(status.message(), "top_k: must be in [1, 1000], got 5000");
}

TEST(CreateCollection, RulesNameTheirFields) {
  CreateCollectionRequest request;
  request.mutable_collection()->set_name("docs");
  EXPECT_TRUE(ValidateCreateCollection(request).ok());
  request.mutable_collection()->set_dimension(5000);
  ExpectInvalid(ValidateCreateCollection(request), "collection.dimension");
  request.mutable_collection()->set_dimension(384);
  request.mutable_collection()->set_name("-leading-dash");
  ExpectInvalid(ValidateCreateCollection(request), "collection.name");
  ExpectInvalid(ValidateCreateCollection(CreateCollectionRequest()), "collection");
}

TEST(SubmitJob, RulesNameTheirFields) {
  SubmitJobRequest request;
  request.set_kind("reindex_collection");
  request.set_payload_json(R"({"collection": "docs"})");
  EXPECT_TRUE(ValidateSubmitJob(request).ok());

  struct Case {
    std::function<void(SubmitJobRequest&)> mutate;
    std::string field;
  };
  const Case cases[] = {
      {[](auto& r) { r.set_kind("Mine Bitcoin"); }, "kind"},
      {[](auto& r) { r.set_kind(""); }, "kind"},
      {[](auto& r) { r.set_cost(-1); }, "cost"},
      {[](auto& r) { r.set_payload_json("{not json"); }, "payload_json"},
      {[](auto& r) { r.set_payload_json("[1, 2]"); }, "payload_json"},
      {[](auto& r) { r.set_payload_json(std::string(64 * 1024 + 1, ' ')); }, "payload_json"},
      {[](auto& r) { r.set_priority(-1001); }, "priority"},
      {[](auto& r) { r.set_max_attempts(101); }, "max_attempts"},
      {[](auto& r) { r.set_max_attempts(-1); }, "max_attempts"},
      {[](auto& r) { r.mutable_run_at()->set_seconds(-5); }, "run_at"},
      {[](auto& r) { r.set_idempotency_key(std::string(129, 'k')); }, "idempotency_key"},
  };
  for (const Case& c : cases) {
    SubmitJobRequest copy = request;
    c.mutate(copy);
    ExpectInvalid(ValidateSubmitJob(copy), c.field);
  }
}

TEST(Ids, JobAndDocumentIds) {
  EXPECT_TRUE(ValidateJobId("id", "12345").ok());
  ExpectInvalid(ValidateJobId("id", ""), "id");
  ExpectInvalid(ValidateJobId("id", "12a"), "id");
  ExpectInvalid(ValidateJobId("id", std::string(21, '1')), "id");

  google::protobuf::RepeatedPtrField<std::string> ids;
  ExpectInvalid(ValidateDocumentIds("ids", ids), "ids");
  *ids.Add() = "a";
  EXPECT_TRUE(ValidateDocumentIds("ids", ids).ok());
  *ids.Add() = "a";
  ExpectInvalid(ValidateDocumentIds("ids", ids), "ids[1]");
}

TEST(Paging, PageSizeDefaultsAndLimits) {
  quarry::common::v1::PageRequest page;
  EXPECT_EQ(*PageSize("page", page), 50);
  page.set_page_size(1000);
  EXPECT_EQ(*PageSize("page", page), 1000);
  page.set_page_size(1001);
  ExpectInvalid(PageSize("page", page).status(), "page.page_size");
  page.set_page_size(-1);
  ExpectInvalid(PageSize("page", page).status(), "page.page_size");
}

TEST(ApiKeys, RulesNameTheirFields) {
  CreateApiKeyRequest request;
  request.mutable_key()->add_scopes(quarry::gateway::v1::SCOPE_READ);
  EXPECT_TRUE(ValidateCreateApiKey(request).ok());
  request.mutable_key()->set_rate_limit_per_second(0.5);
  ExpectInvalid(ValidateCreateApiKey(request), "key.rate_limit_per_second");
  request.mutable_key()->set_rate_limit_per_second(10);
  request.mutable_key()->add_scopes(quarry::gateway::v1::SCOPE_UNSPECIFIED);
  ExpectInvalid(ValidateCreateApiKey(request), "key.scopes[1]");
}

// PostgreSQL text and jsonb cannot hold U+0000 (and libpq would cut a value at
// it): every stored string rejects NUL up front, naming the field.
TEST(Strings, NulIsRejectedNamingTheField) {
  const std::string nul("a\0b", 3);
  UpsertDocumentsRequest upsert = GoodUpsert();
  upsert.mutable_documents(0)->set_text(nul);
  ExpectInvalid(ValidateUpsert(upsert), "documents[0].text");
  upsert = GoodUpsert();
  (*upsert.mutable_documents(0)->mutable_metadata())["k"] = nul;
  ExpectInvalid(ValidateUpsert(upsert), "documents[0].metadata");
  upsert = GoodUpsert();
  upsert.mutable_documents(0)->add_tags(nul);
  ExpectInvalid(ValidateUpsert(upsert), "documents[0].tags[1]");
  SubmitJobRequest submit;
  submit.set_kind("refresh_stats");
  submit.set_idempotency_key(nul);
  ExpectInvalid(ValidateSubmitJob(submit), "idempotency_key");
  CreateApiKeyRequest key;
  key.mutable_key()->set_name(nul);
  ExpectInvalid(ValidateCreateApiKey(key), "key.name");
  CreateCollectionRequest collection;
  collection.mutable_collection()->set_name("docs");
  collection.mutable_collection()->set_model(nul);
  ExpectInvalid(ValidateCreateCollection(collection), "collection.model");
}

TEST(PayloadJson, WhatPostgresOrARoundTripWouldBreakIsRejected) {
  EXPECT_TRUE(ValidatePayloadJson("payload_json", "").ok());
  EXPECT_TRUE(ValidatePayloadJson("payload_json", R"({"a": [1, {"b": "c\u00e9"}], "n": 1e300})").ok());
  std::string nested_ok = "{\"a\": " + std::string(31, '[') + std::string(31, ']') + "}";
  EXPECT_TRUE(ValidatePayloadJson("payload_json", nested_ok).ok());
  for (const std::string& bad : {
           std::string("{\"a\": ") + std::string(40, '[') + std::string(40, ']') + "}",
           std::string("{\"a\": ") + std::string(20000, '[') + std::string(20000, ']') + "}",
           std::string(R"({"a": "nul \u0000"})"), std::string(R"({"nul \u0000": 1})"),
           std::string(R"({"a": 1e999})"), std::string(R"({"a": -1e999})"),
           std::string("[]"), std::string("\"s\""), std::string("{} x"), std::string("{oops"),
           std::string(R"({"a": "\ud800"})"), std::string(64 * 1024 + 1, ' ')}) {
    ExpectInvalid(ValidatePayloadJson("payload_json", bad), "payload_json");
  }
}

TEST(ListJobs, KindAndStatesAreChecked) {
  quarry::gateway::v1::ListJobsRequest request;
  EXPECT_TRUE(ValidateListJobs(request).ok());
  request.set_kind("reindex_collection");
  request.add_states(quarry::gateway::v1::JOB_STATE_DEAD);
  EXPECT_TRUE(ValidateListJobs(request).ok());
  request.set_kind("mine_coins");  // well-formed: anyone's kind may be asked for
  EXPECT_TRUE(ValidateListJobs(request).ok());
  request.set_kind("Mine Coins");
  ExpectInvalid(ValidateListJobs(request), "kind");
  request.set_kind("\xff");
  ExpectInvalid(ValidateListJobs(request), "kind");
  request.clear_kind();
  request.add_states(static_cast<quarry::gateway::v1::JobState>(42));
  ExpectInvalid(ValidateListJobs(request), "states[1]");
  request.set_states(1, quarry::gateway::v1::JOB_STATE_UNSPECIFIED);
  ExpectInvalid(ValidateListJobs(request), "states[1]");
}

TEST(ApiKeys, KeyIdsAreChecked) {
  EXPECT_TRUE(ValidateApiKeyId("id", "qk_0123456789abcdef").ok());
  ExpectInvalid(ValidateApiKeyId("id", ""), "id");
  ExpectInvalid(ValidateApiKeyId("id", std::string(65, 'q')), "id");
  ExpectInvalid(ValidateApiKeyId("id", "qk_\xc3\x28"), "id");
  ExpectInvalid(ValidateApiKeyId("id", std::string("qk_0\0", 5)), "id");
  ExpectInvalid(ValidateApiKeyId("id", "qk_0.secret"), "id");
}

// What a message quotes of a client's value is valid UTF-8 and bounded.
TEST(Shown, EscapesAndCutsOnCharacterBoundaries) {
  EXPECT_EQ(Shown("plain", 32), "plain");
  EXPECT_EQ(Shown("say \"hi\"", 32), "say \\\"hi\\\"");
  EXPECT_EQ(Shown("\xff\xfe", 32), "\\xff\\xfe");
  EXPECT_TRUE(IsValidUtf8(Shown(std::string(40, 'a') + "\xff", 32)));
  // "é" is two bytes; a cut at 3 bytes keeps "a" and "é" whole.
  const std::string cut = Shown("a\xc3\xa9\xc3\xa9", 3);
  EXPECT_TRUE(IsValidUtf8(cut)) << cut;
  EXPECT_EQ(cut, "a\xc3\xa9...");
}

}  // namespace
}  // namespace quarry::gateway
