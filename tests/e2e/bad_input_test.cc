// Every malformed request the public API can receive, through the real
// gateway: for each field of every public request that can be malformed
// (oversize, empty, wrong dimension, NaN/Inf, bad UTF-8, NUL, unknown
// collection or job or key, bad page token, bad JSON payload, out-of-range
// numbers) the exact status code, and a message that starts with the field's
// path (INVALID_ARGUMENT and FAILED_PRECONDITION) or names what is missing
// (NOT_FOUND).
#include <cstdint>
#include <functional>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "quarry/gateway/v1/admin_service.grpc.pb.h"
#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/job_kind_service.grpc.pb.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "quarry/gateway/v1/schedule_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "quarry/gateway/v1/stats_service.grpc.pb.h"
#include "quarry/gateway/v1/worker_service.grpc.pb.h"
#include "services/gateway/page_token.h"
#include "tests/e2e/e2e_suite.h"

namespace quarry {
namespace {

using namespace quarry::gateway::v1;  // NOLINT: a test of this API.

class BadInputTest : public e2e::E2eSuite {};

// Malformed byte sequences: a lone continuation byte, an overlong '/', a
// UTF-16 surrogate, a truncated three-byte sequence, and bytes never in UTF-8.
const std::vector<std::string>& BadUtf8() {
  static const auto* const kBad = new std::vector<std::string>{
      "a\x80z", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xff\xfe"};
  return *kBad;
}

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// What a case expects of the status message.
enum class Message {
  kStartsWithField,  // INVALID_ARGUMENT, FAILED_PRECONDITION: "<field>: ..."
  kNamesField,       // NOT_FOUND, ALREADY_EXISTS: mentions `field` (the missing thing)
  kAny,              // RESOURCE_EXHAUSTED from gRPC itself: not empty
};

struct Case {
  std::string what;   // for failure messages
  std::string field;  // prefix of (or text in) the message
  grpc::StatusCode code;
  std::function<grpc::Status()> call;
  Message message = Message::kStartsWithField;
};

TEST_F(BadInputTest, EveryMalformedRequestGetsItsExactCodeAndNamesTheField) {
  ASSERT_NE(suite_, nullptr);
  // Hundreds of calls in a row: a key whose rate limit they stay under.
  const std::string k = MakeKey("acme", {"read", "write", "admin"}, 100000.0, 100000);
  CreateCollection(k, "rules");
  auto collections = CollectionService::NewStub(Channel());
  auto documents = DocumentService::NewStub(Channel());
  auto search = SearchService::NewStub(Channel());
  auto jobs = JobService::NewStub(Channel());
  auto kinds = JobKindService::NewStub(Channel());
  auto workers = WorkerService::NewStub(Channel());
  auto schedules = ScheduleService::NewStub(Channel());
  auto stats = StatsService::NewStub(Channel());
  auto admin = AdminService::NewStub(Channel());

  // A real job id of this tenant, and a real page token of each listing.
  SubmitJobRequest refresh;
  refresh.set_kind("refresh_stats");
  SubmitJobResponse refreshed;
  ASSERT_TRUE(jobs->SubmitJob(Context(k).get(), refresh, &refreshed).ok());
  ASSERT_TRUE(jobs->SubmitJob(Context(k).get(), refresh, &refreshed).ok());
  CreateCollection(k, "rules-2");
  // The model the embedding service serves (the collections' default).
  GetCollectionRequest get_rules;
  get_rules.set_name("rules");
  GetCollectionResponse rules;
  ASSERT_TRUE(collections->GetCollection(Context(k).get(), get_rules, &rules).ok());
  const std::string served_model = rules.collection().model();
  ASSERT_FALSE(served_model.empty());
  ListCollectionsRequest first_collections;
  first_collections.mutable_page()->set_page_size(1);
  ListCollectionsResponse collections_page;
  ASSERT_TRUE(
      collections->ListCollections(Context(k).get(), first_collections, &collections_page).ok());
  const std::string collections_token = collections_page.page().next_page_token();
  ASSERT_FALSE(collections_token.empty());
  ListJobsRequest first_jobs;
  first_jobs.mutable_page()->set_page_size(1);
  ListJobsResponse jobs_page;
  ASSERT_TRUE(jobs->ListJobs(Context(k).get(), first_jobs, &jobs_page).ok());
  const std::string jobs_token = jobs_page.page().next_page_token();
  ASSERT_FALSE(jobs_token.empty());
  std::string tampered_token = collections_token;
  tampered_token[tampered_token.size() / 2] =
      tampered_token[tampered_token.size() / 2] == 'A' ? 'B' : 'A';

  // One helper per RPC: a valid request, edited by the case, sent with the admin key.
  auto create_collection = [&](std::function<void(CreateCollectionRequest&)> edit) {
    CreateCollectionRequest r;
    r.mutable_collection()->set_name("fresh");
    edit(r);
    CreateCollectionResponse out;
    return collections->CreateCollection(Context(k).get(), r, &out);
  };
  auto get_collection = [&](std::string name) {
    GetCollectionRequest r;
    r.set_name(std::move(name));
    GetCollectionResponse out;
    return collections->GetCollection(Context(k).get(), r, &out);
  };
  auto list_collections = [&](std::function<void(ListCollectionsRequest&)> edit) {
    ListCollectionsRequest r;
    edit(r);
    ListCollectionsResponse out;
    return collections->ListCollections(Context(k).get(), r, &out);
  };
  auto delete_collection = [&](std::string name) {
    DeleteCollectionRequest r;
    r.set_name(std::move(name));
    DeleteCollectionResponse out;
    return collections->DeleteCollection(Context(k).get(), r, &out);
  };
  auto upsert = [&](std::function<void(UpsertDocumentsRequest&)> edit) {
    UpsertDocumentsRequest r;
    r.set_collection("rules");
    auto* d = r.add_documents();
    d->set_id("ok");
    d->set_text("fine text");
    edit(r);
    UpsertDocumentsResponse out;
    return documents->UpsertDocuments(Context(k).get(), r, &out);
  };
  auto doc0 = [&](std::function<void(Document&)> edit) {
    return upsert([edit](UpsertDocumentsRequest& r) { edit(*r.mutable_documents(0)); });
  };
  auto get_documents = [&](std::function<void(GetDocumentsRequest&)> edit) {
    GetDocumentsRequest r;
    r.set_collection("rules");
    r.add_ids("ok");
    edit(r);
    GetDocumentsResponse out;
    return documents->GetDocuments(Context(k).get(), r, &out);
  };
  auto delete_documents = [&](std::function<void(DeleteDocumentsRequest&)> edit) {
    DeleteDocumentsRequest r;
    r.set_collection("rules");
    r.add_ids("ok");
    edit(r);
    DeleteDocumentsResponse out;
    return documents->DeleteDocuments(Context(k).get(), r, &out);
  };
  auto search_with = [&](std::function<void(SearchRequest&)> edit) {
    SearchRequest r;
    r.set_collection("rules");
    r.set_text("query");
    edit(r);
    SearchResponse out;
    return search->Search(Context(k).get(), r, &out);
  };
  // Three good queries, then `edit`.
  auto batch_with = [&](std::function<void(SearchBatchRequest&)> edit) {
    SearchBatchRequest r;
    for (int i = 0; i < 3; ++i) {
      SearchRequest* q = r.add_queries();
      q->set_collection("rules");
      q->set_text(absl::StrCat("query ", i));
    }
    edit(r);
    SearchBatchResponse out;
    return search->SearchBatch(Context(k).get(), r, &out);
  };
  auto vector_of = [](int n, float value) {
    quarry::common::v1::Vector v;
    for (int i = 0; i < n; ++i) v.add_values(value);
    return v;
  };
  auto submit = [&](std::function<void(SubmitJobRequest&)> edit) {
    SubmitJobRequest r;
    r.set_kind("refresh_stats");
    edit(r);
    SubmitJobResponse out;
    return jobs->SubmitJob(Context(k).get(), r, &out);
  };
  auto payload = [&](std::string kind, std::string json) {
    return submit([kind, json](SubmitJobRequest& r) {
      r.set_kind(kind);
      r.set_payload_json(json);
    });
  };
  // The four RPCs that take a job id.
  const std::vector<std::pair<std::string, std::function<grpc::Status(std::string)>>> job_id_rpcs = {
      {"GetJob", [&](std::string id) {
         GetJobRequest r;
         r.set_id(std::move(id));
         GetJobResponse out;
         return jobs->GetJob(Context(k).get(), r, &out);
       }},
      {"CancelJob", [&](std::string id) {
         CancelJobRequest r;
         r.set_id(std::move(id));
         CancelJobResponse out;
         return jobs->CancelJob(Context(k).get(), r, &out);
       }},
      {"RetryJob", [&](std::string id) {
         RetryJobRequest r;
         r.set_id(std::move(id));
         RetryJobResponse out;
         return jobs->RetryJob(Context(k).get(), r, &out);
       }},
      {"WatchJob", [&](std::string id) {
         WatchJobRequest r;
         r.set_id(std::move(id));
         auto context = Context(k, absl::Seconds(10));
         auto stream = jobs->WatchJob(context.get(), r);
         WatchJobResponse out;
         while (stream->Read(&out)) {
         }
         return stream->Finish();
       }},
  };
  auto list_jobs = [&](std::function<void(ListJobsRequest&)> edit) {
    ListJobsRequest r;
    edit(r);
    ListJobsResponse out;
    return jobs->ListJobs(Context(k).get(), r, &out);
  };
  auto collection_stats = [&](std::string name) {
    GetCollectionStatsRequest r;
    r.set_collection(std::move(name));
    GetCollectionStatsResponse out;
    return stats->GetCollectionStats(Context(k).get(), r, &out);
  };
  auto create_key = [&](std::function<void(ApiKey&)> edit) {
    CreateApiKeyRequest r;
    r.mutable_key()->set_name("a key");
    edit(*r.mutable_key());
    CreateApiKeyResponse out;
    return admin->CreateApiKey(Context(k).get(), r, &out);
  };
  auto revoke_key = [&](std::string id) {
    RevokeApiKeyRequest r;
    r.set_id(std::move(id));
    RevokeApiKeyResponse out;
    return admin->RevokeApiKey(Context(k).get(), r, &out);
  };

  const std::string big_text(32 * 1024 + 1, 'x');
  const std::string with_nul("before\0after", 12);
  const grpc::StatusCode kInvalid = grpc::INVALID_ARGUMENT;
  std::vector<Case> cases;
  auto add = [&](std::string what, std::string field, grpc::StatusCode code,
                 std::function<grpc::Status()> call, Message message = Message::kStartsWithField) {
    cases.push_back({std::move(what), std::move(field), code, std::move(call), message});
  };
  auto not_found = [&](std::string what, std::string named, std::function<grpc::Status()> call) {
    add(std::move(what), std::move(named), grpc::NOT_FOUND, std::move(call), Message::kNamesField);
  };

  // ------------------------------------------------- oversize (gRPC's own limit)
  // The gateway's maximum receive message size is 64 MiB (--max_message_bytes).
  const std::string over_max(64 * 1024 * 1024 + 1, 'o');
  add("upsert over the max message size", "", grpc::RESOURCE_EXHAUSTED,
      [&] { return doc0([&](Document& d) { d.set_text(over_max); }); }, Message::kAny);
  add("search over the max message size", "", grpc::RESOURCE_EXHAUSTED,
      [&] { return search_with([&](SearchRequest& r) { r.set_text(over_max); }); }, Message::kAny);

  // ----------------------------------------------------------- CreateCollection
  add("no collection", "collection", kInvalid,
      [&] { return create_collection([](auto& r) { r.clear_collection(); }); });
  for (std::string name : {std::string(), std::string("Bad Name"), std::string(65, 'a'),
                           std::string("-lead"), std::string("_lead"), std::string("caf\xc3\xa9"),
                           std::string("a.b"), std::string("a\0b", 3)}) {
    add("collection.name " + name, "collection.name", kInvalid, [&, name] {
      return create_collection([&](auto& r) { r.mutable_collection()->set_name(name); });
    });
  }
  for (const std::string& bad : BadUtf8()) {
    add("collection.name bad UTF-8", "collection.name", kInvalid, [&, bad] {
      return create_collection([&](auto& r) { r.mutable_collection()->set_name(bad); });
    });
    add("collection.model bad UTF-8", "collection.model", kInvalid, [&, bad] {
      return create_collection([&](auto& r) { r.mutable_collection()->set_model(bad); });
    });
  }
  for (uint32_t dimension : {4097u, 5000u, std::numeric_limits<uint32_t>::max()}) {
    add(absl::StrCat("collection.dimension ", dimension), "collection.dimension", kInvalid,
        [&, dimension] {
          return create_collection(
              [&](auto& r) { r.mutable_collection()->set_dimension(dimension); });
        });
  }
  add("collection.dimension other than the model's", "collection.dimension",
      grpc::FAILED_PRECONDITION, [&] {
        return create_collection([](auto& r) { r.mutable_collection()->set_dimension(128); });
      });
  // A model the embedding service does not serve, with or without a dimension:
  // refused, and the message lists the served models.
  for (uint32_t dimension : {0u, 384u}) {
    add(absl::StrCat("collection.model unserved, dimension ", dimension), "collection.model",
        grpc::FAILED_PRECONDITION, [&, dimension] {
          const grpc::Status status = create_collection([&](auto& r) {
            r.mutable_collection()->set_model("no-such-model");
            r.mutable_collection()->set_dimension(dimension);
          });
          EXPECT_TRUE(absl::StrContains(status.error_message(), served_model))
              << "does not list the served model " << served_model << ": "
              << status.error_message();
          return status;
        });
  }
  add("collection.metric unknown", "collection.metric", kInvalid, [&] {
    return create_collection([](auto& r) {
      r.mutable_collection()->set_metric(static_cast<quarry::common::v1::Metric>(99));
    });
  });
  add("collection.model too long", "collection.model", kInvalid, [&] {
    return create_collection(
        [](auto& r) { r.mutable_collection()->set_model(std::string(129, 'm')); });
  });
  add("collection.model with NUL", "collection.model", kInvalid, [&] {
    return create_collection([&](auto& r) { r.mutable_collection()->set_model(with_nul); });
  });
  add("collection exists", "\"rules\"", grpc::ALREADY_EXISTS,
      [&] { return create_collection([](auto& r) { r.mutable_collection()->set_name("rules"); }); },
      Message::kNamesField);

  // ------------------------------------ GetCollection, DeleteCollection, GetCollectionStats
  const std::vector<std::string> bad_names = {"", "UPPER", std::string(65, 'a'), "a b",
                                              "\xff\xfe", std::string("a\0b", 3)};
  for (const std::string& name : bad_names) {
    add("GetCollection name", "name", kInvalid, [&, name] { return get_collection(name); });
    add("DeleteCollection name", "name", kInvalid, [&, name] { return delete_collection(name); });
    add("GetCollectionStats collection", "collection", kInvalid,
        [&, name] { return collection_stats(name); });
  }
  not_found("GetCollection unknown", "collection \"no-such\"",
            [&] { return get_collection("no-such"); });
  not_found("DeleteCollection unknown", "collection \"no-such\"",
            [&] { return delete_collection("no-such"); });
  not_found("GetCollectionStats unknown", "collection \"no-such\"",
            [&] { return collection_stats("no-such"); });

  // ------------------------------------------------- ListCollections, ListJobs paging
  struct Listing {
    std::string name;
    std::function<grpc::Status(quarry::common::v1::PageRequest)> call;
    std::string foreign_token;  // a real token of the other listing
  };
  const std::vector<Listing> listings = {
      {"ListCollections",
       [&](quarry::common::v1::PageRequest page) {
         return list_collections([&](auto& r) { *r.mutable_page() = page; });
       },
       jobs_token},
      {"ListJobs",
       [&](quarry::common::v1::PageRequest page) {
         return list_jobs([&](auto& r) { *r.mutable_page() = page; });
       },
       collections_token},
  };
  for (const Listing& listing : listings) {
    for (int32_t size : {-1, 1001, std::numeric_limits<int32_t>::min(),
                         std::numeric_limits<int32_t>::max()}) {
      add(absl::StrCat(listing.name, " page_size ", size), "page.page_size", kInvalid,
          [&, size] {
            quarry::common::v1::PageRequest page;
            page.set_page_size(size);
            return listing.call(page);
          });
    }
    for (std::string token :
         {std::string("not-a-token"), std::string("!!!"), std::string("QUJD"),
          listing.foreign_token, std::string(3000, 'A'), std::string("\xff\xfe"),
          gateway::EncodePageToken(listing.name == "ListJobs" ? "jobs" : "collections", "") + "x"}) {
      add(absl::StrCat(listing.name, " page_token ", token.substr(0, 16)), "page.page_token",
          kInvalid, [&, token] {
            quarry::common::v1::PageRequest page;
            page.set_page_token(token);
            return listing.call(page);
          });
    }
  }
  add("ListCollections tampered token", "page.page_token", kInvalid, [&] {
    return list_collections([&](auto& r) { r.mutable_page()->set_page_token(tampered_token); });
  });
  add("ListJobs token with a valid checksum but no job id", "page.page_token", kInvalid, [&] {
    return list_jobs([&](auto& r) {
      r.mutable_page()->set_page_token(gateway::EncodePageToken("jobs", "not-a-number"));
    });
  });
  for (int state : {0, 7, 99, -1}) {
    add(absl::StrCat("ListJobs state ", state), "states[1]", kInvalid, [&, state] {
      return list_jobs([&](auto& r) {
        r.add_states(JOB_STATE_QUEUED);
        r.add_states(static_cast<JobState>(state));
      });
    });
  }
  for (std::string kind : {std::string("Mine Coins"), std::string(200, 'k'),
                           std::string("\xff\xfe"), with_nul}) {
    add("ListJobs kind", "kind", kInvalid,
        [&, kind] { return list_jobs([&](auto& r) { r.set_kind(kind); }); });
  }

  // ------------------------------------------------------------ UpsertDocuments
  for (const std::string& name : bad_names) {
    add("UpsertDocuments collection", "collection", kInvalid,
        [&, name] { return upsert([&](auto& r) { r.set_collection(name); }); });
  }
  not_found("UpsertDocuments unknown collection", "collection \"no-such\"",
            [&] { return upsert([](auto& r) { r.set_collection("no-such"); }); });
  add("no documents", "documents", kInvalid,
      [&] { return upsert([](auto& r) { r.clear_documents(); }); });
  add("1001 documents", "documents", kInvalid, [&] {
    return upsert([](auto& r) {
      for (int i = 0; i < 1000; ++i) {
        auto* d = r.add_documents();
        d->set_id(absl::StrCat("d", i));
        d->set_text("t");
      }
    });
  });
  for (std::string id : {std::string(), std::string(257, 'i'), std::string("has space"),
                         std::string("caf\xc3\xa9"), std::string("a\0b", 3), std::string("a,b"),
                         std::string("tab\t")}) {
    add("documents[0].id", "documents[0].id", kInvalid,
        [&, id] { return doc0([&](Document& d) { d.set_id(id); }); });
  }
  // Invalid UTF-8 in a proto3 string fails protobuf's parse before any
  // handler: the gateway names the field, without the element's index.
  add("documents[0].id bad UTF-8", "documents[].id", kInvalid,
      [&] { return doc0([&](Document& d) { d.set_id("\xff\xfe"); }); });
  add("duplicate id", "documents[1].id", kInvalid,
      [&] { return upsert([](auto& r) { *r.add_documents() = r.documents(0); }); });
  add("the second document's text", "documents[1].text", kInvalid, [&] {
    return upsert([](auto& r) {
      auto* d = r.add_documents();
      d->set_id("second");
    });
  });
  add("empty text", "documents[0].text", kInvalid,
      [&] { return doc0([](Document& d) { d.set_text(""); }); });
  add("text over 32 KiB", "documents[0].text", kInvalid,
      [&] { return doc0([&](Document& d) { d.set_text(big_text); }); });
  add("text with NUL", "documents[0].text", kInvalid,
      [&] { return doc0([&](Document& d) { d.set_text(with_nul); }); });
  for (const std::string& bad : BadUtf8()) {
    add("text bad UTF-8", "documents[].text", kInvalid,
        [&, bad] { return doc0([&](Document& d) { d.set_text("ok " + bad); }); });
    add("metadata key bad UTF-8", "documents[].metadata key", kInvalid,
        [&, bad] { return doc0([&](Document& d) { (*d.mutable_metadata())[bad] = "v"; }); });
    add("metadata value bad UTF-8", "documents[].metadata value", kInvalid,
        [&, bad] { return doc0([&](Document& d) { (*d.mutable_metadata())["k"] = bad; }); });
    add("tag bad UTF-8", "documents[].tags", kInvalid, [&, bad] {
      return doc0([&](Document& d) {
        d.add_tags("fine");
        d.add_tags(bad);
      });
    });
  }
  add("65 metadata entries", "documents[0].metadata", kInvalid, [&] {
    return doc0([](Document& d) {
      for (int i = 0; i < 65; ++i) (*d.mutable_metadata())[absl::StrCat("k", i)] = "v";
    });
  });
  add("empty metadata key", "documents[0].metadata", kInvalid,
      [&] { return doc0([](Document& d) { (*d.mutable_metadata())[""] = "v"; }); });
  add("metadata key over 128 bytes", "documents[0].metadata", kInvalid,
      [&] { return doc0([](Document& d) { (*d.mutable_metadata())[std::string(129, 'k')] = "v"; }); });
  add("metadata value over 1024 bytes", "documents[0].metadata", kInvalid,
      [&] { return doc0([](Document& d) { (*d.mutable_metadata())["k"] = std::string(1025, 'v'); }); });
  add("metadata key with NUL", "documents[0].metadata", kInvalid,
      [&] { return doc0([&](Document& d) { (*d.mutable_metadata())[with_nul] = "v"; }); });
  add("metadata value with NUL", "documents[0].metadata", kInvalid,
      [&] { return doc0([&](Document& d) { (*d.mutable_metadata())["k"] = with_nul; }); });
  add("33 tags", "documents[0].tags", kInvalid, [&] {
    return doc0([](Document& d) {
      for (int i = 0; i < 33; ++i) d.add_tags(absl::StrCat("t", i));
    });
  });
  add("empty tag", "documents[0].tags[0]", kInvalid,
      [&] { return doc0([](Document& d) { d.add_tags(""); }); });
  add("tag over 64 bytes", "documents[0].tags[0]", kInvalid,
      [&] { return doc0([](Document& d) { d.add_tags(std::string(65, 't')); }); });
  add("tag with NUL", "documents[0].tags[0]", kInvalid,
      [&] { return doc0([&](Document& d) { d.add_tags(with_nul); }); });
  for (float value : {kNaN, kInf, -kInf}) {
    add(absl::StrCat("document vector value ", value), "documents[0].vector.values[7]", kInvalid,
        [&, value] {
          return doc0([&](Document& d) {
            *d.mutable_vector() = vector_of(384, 0.1f);
            d.mutable_vector()->set_values(7, value);
          });
        });
  }
  add("empty document vector", "documents[0].vector", kInvalid,
      [&] { return doc0([](Document& d) { d.mutable_vector(); }); });
  for (int n : {1, 383, 385, 4096}) {
    add(absl::StrCat("document vector of dimension ", n), "documents[0].vector", kInvalid,
        [&, n] { return doc0([&](Document& d) { *d.mutable_vector() = vector_of(n, 0.1f); }); });
  }

  // ------------------------------------------------ GetDocuments, DeleteDocuments
  using IdsEdit = std::function<void(google::protobuf::RepeatedPtrField<std::string>&,
                                     std::string& collection)>;
  const std::vector<std::tuple<std::string, std::string, IdsEdit>> id_cases = {
      {"no ids", "ids", [](auto& ids, auto&) { ids.Clear(); }},
      {"1001 ids", "ids",
       [](auto& ids, auto&) {
         for (int i = 0; i < 1000; ++i) ids.Add(absl::StrCat("id", i));
       }},
      {"empty id", "ids[1]", [](auto& ids, auto&) { ids.Add(""); }},
      {"id with space", "ids[1]", [](auto& ids, auto&) { ids.Add("a b"); }},
      {"id bad UTF-8", "ids", [](auto& ids, auto&) { ids.Add("\xff\xfe"); }},
      {"id with NUL", "ids[1]", [](auto& ids, auto&) { ids.Add(std::string("a\0b", 3)); }},
      {"id over 256 bytes", "ids[1]", [](auto& ids, auto&) { ids.Add(std::string(257, 'i')); }},
      {"duplicate id", "ids[1]", [](auto& ids, auto&) { ids.Add("ok"); }},
      {"empty collection", "collection", [](auto&, auto& c) { c = ""; }},
      {"collection bad UTF-8", "collection", [](auto&, auto& c) { c = "\xc3\x28"; }},
      {"collection over 64", "collection", [](auto&, auto& c) { c = std::string(65, 'c'); }},
  };
  for (const auto& [what, field, edit] : id_cases) {
    add("GetDocuments " + what, field, kInvalid, [&, edit = edit] {
      return get_documents([&](GetDocumentsRequest& r) { edit(*r.mutable_ids(), *r.mutable_collection()); });
    });
    add("DeleteDocuments " + what, field, kInvalid, [&, edit = edit] {
      return delete_documents(
          [&](DeleteDocumentsRequest& r) { edit(*r.mutable_ids(), *r.mutable_collection()); });
    });
  }
  not_found("GetDocuments unknown collection", "collection \"no-such\"",
            [&] { return get_documents([](auto& r) { r.set_collection("no-such"); }); });
  not_found("DeleteDocuments unknown collection", "collection \"no-such\"",
            [&] { return delete_documents([](auto& r) { r.set_collection("no-such"); }); });

  // --------------------------------------------------------------------- Search
  for (const std::string& name : bad_names) {
    add("Search collection", "collection", kInvalid,
        [&, name] { return search_with([&](auto& r) { r.set_collection(name); }); });
  }
  not_found("Search unknown collection", "collection \"no-such\"",
            [&] { return search_with([](auto& r) { r.set_collection("no-such"); }); });
  not_found("Search unknown collection by vector", "collection \"no-such\"", [&] {
    return search_with([&](auto& r) {
      r.set_collection("no-such");
      *r.mutable_vector() = vector_of(384, 0.1f);
    });
  });
  add("no query", "query", kInvalid, [&] { return search_with([](auto& r) { r.clear_text(); }); });
  add("empty text", "text", kInvalid, [&] { return search_with([](auto& r) { r.set_text(""); }); });
  add("text over 32 KiB", "text", kInvalid,
      [&] { return search_with([&](auto& r) { r.set_text(big_text); }); });
  add("text with NUL", "text", kInvalid,
      [&] { return search_with([&](auto& r) { r.set_text(with_nul); }); });
  for (const std::string& bad : BadUtf8()) {
    add("search text bad UTF-8", "text", kInvalid,
        [&, bad] { return search_with([&](auto& r) { r.set_text(bad); }); });
    add("filter.any_tags bad UTF-8", "filter.any_tags", kInvalid,
        [&, bad] { return search_with([&](auto& r) { r.mutable_filter()->add_any_tags(bad); }); });
    add("filter.all_tags bad UTF-8", "filter.all_tags", kInvalid,
        [&, bad] { return search_with([&](auto& r) { r.mutable_filter()->add_all_tags(bad); }); });
    add("filter.metadata_equals key bad UTF-8", "filter.metadata_equals key", kInvalid, [&, bad] {
      return search_with(
          [&](auto& r) { (*r.mutable_filter()->mutable_metadata_equals())[bad] = "v"; });
    });
    add("filter.metadata_equals value bad UTF-8", "filter.metadata_equals value", kInvalid, [&, bad] {
      return search_with(
          [&](auto& r) { (*r.mutable_filter()->mutable_metadata_equals())["k"] = bad; });
    });
  }
  add("empty query vector", "vector", kInvalid,
      [&] { return search_with([](auto& r) { r.mutable_vector(); }); });
  for (int n : {1, 3, 383, 385}) {
    add(absl::StrCat("query vector of dimension ", n), "vector", kInvalid,
        [&, n] { return search_with([&](auto& r) { *r.mutable_vector() = vector_of(n, 0.1f); }); });
  }
  for (float value : {kNaN, kInf, -kInf}) {
    add(absl::StrCat("query vector value ", value), "vector.values[0]", kInvalid, [&, value] {
      return search_with([&](auto& r) { *r.mutable_vector() = vector_of(384, value); });
    });
    add(absl::StrCat("min_score ", value), "min_score", kInvalid,
        [&, value] { return search_with([&](auto& r) { r.set_min_score(value); }); });
  }
  for (uint32_t top_k : {1001u, 5000u, std::numeric_limits<uint32_t>::max()}) {
    add(absl::StrCat("top_k ", top_k), "top_k", kInvalid,
        [&, top_k] { return search_with([&](auto& r) { r.set_top_k(top_k); }); });
  }
  for (uint32_t effort : {5u, 4097u, std::numeric_limits<uint32_t>::max()}) {
    add(absl::StrCat("effort ", effort), "effort", kInvalid,
        [&, effort] { return search_with([&](auto& r) { r.set_effort(effort); }); });
  }
  add("effort below top_k", "effort", kInvalid, [&] {
    return search_with([](auto& r) {
      r.set_top_k(100);
      r.set_effort(99);
    });
  });
  add("33 all_tags", "filter.all_tags", kInvalid, [&] {
    return search_with([](auto& r) {
      for (int i = 0; i < 33; ++i) r.mutable_filter()->add_all_tags(absl::StrCat("t", i));
    });
  });
  add("empty all_tag", "filter.all_tags[0]", kInvalid,
      [&] { return search_with([](auto& r) { r.mutable_filter()->add_all_tags(""); }); });
  add("any_tag over 64 bytes", "filter.any_tags[0]", kInvalid, [&] {
    return search_with([](auto& r) { r.mutable_filter()->add_any_tags(std::string(65, 't')); });
  });
  add("17 metadata_equals", "filter.metadata_equals", kInvalid, [&] {
    return search_with([](auto& r) {
      for (int i = 0; i < 17; ++i) {
        (*r.mutable_filter()->mutable_metadata_equals())[absl::StrCat("k", i)] = "v";
      }
    });
  });
  add("empty metadata_equals key", "filter.metadata_equals", kInvalid, [&] {
    return search_with([](auto& r) { (*r.mutable_filter()->mutable_metadata_equals())[""] = "v"; });
  });
  add("metadata_equals value over 1024", "filter.metadata_equals", kInvalid, [&] {
    return search_with([](auto& r) {
      (*r.mutable_filter()->mutable_metadata_equals())["k"] = std::string(1025, 'v');
    });
  });

  // ---------------------------------------------------------------- SearchBatch
  add("empty batch", "queries", kInvalid,
      [&] { return batch_with([](auto& r) { r.clear_queries(); }); });
  add("65 queries", "queries", kInvalid, [&] {
    return batch_with([](auto& r) {
      while (r.queries_size() < 65) *r.add_queries() = r.queries(0);
    });
  });
  add("batch top_k over 1000 in all", "queries", kInvalid, [&] {
    return batch_with([](auto& r) {
      r.mutable_queries(0)->set_top_k(600);
      r.mutable_queries(2)->set_top_k(401);
    });
  });
  add("batch query top_k", "queries[1].top_k", kInvalid,
      [&] { return batch_with([](auto& r) { r.mutable_queries(1)->set_top_k(5000); }); });
  add("batch query without a query", "queries[2].query", kInvalid,
      [&] { return batch_with([](auto& r) { r.mutable_queries(2)->clear_text(); }); });
  add("batch query NaN", "queries[2].vector.values[0]", kInvalid, [&] {
    return batch_with(
        [&](auto& r) { *r.mutable_queries(2)->mutable_vector() = vector_of(384, kNaN); });
  });
  add("batch query vector dimension", "queries[0].vector", kInvalid, [&] {
    return batch_with([&](auto& r) { *r.mutable_queries(0)->mutable_vector() = vector_of(3, 1); });
  });
  add("batch query text with NUL", "queries[1].text", kInvalid,
      [&] { return batch_with([&](auto& r) { r.mutable_queries(1)->set_text(with_nul); }); });
  add("batch query text bad UTF-8", "queries[].text", kInvalid,
      [&] { return batch_with([&](auto& r) { r.mutable_queries(1)->set_text("\xff"); }); });
  not_found("batch query unknown collection", "queries[1].collection \"no-such\"",
            [&] { return batch_with([](auto& r) { r.mutable_queries(1)->set_collection("no-such"); }); });

  // ------------------------------------------------------------------ SubmitJob
  for (std::string kind : {std::string(), std::string("mine coins"), std::string("\xff\xfe"),
                           std::string("INDEX_DOCUMENTS"), std::string(1000, 'k'), with_nul}) {
    add("kind " + kind.substr(0, 16), "kind", kInvalid,
        [&, kind] { return submit([&](auto& r) { r.set_kind(kind); }); });
  }
  // Kinds are data: a well-formed name nobody registered is not found.
  not_found("kind never registered", "job kind \"mine_coins\"",
            [&] { return submit([](auto& r) { r.set_kind("mine_coins"); }); });
  for (int64_t cost : {int64_t{-1}, int64_t{1000000001}, std::numeric_limits<int64_t>::min()}) {
    add(absl::StrCat("cost ", cost), "cost", kInvalid,
        [&, cost] { return submit([&](auto& r) { r.set_cost(cost); }); });
  }
  {
    // A kind with a budget of 100 cost units a minute: a job costing 101
    // could never start.
    CreateJobKindRequest r;
    r.mutable_kind()->set_name("budgeted");
    r.mutable_kind()->set_cost_per_minute(100);
    CreateJobKindResponse out;
    ASSERT_TRUE(kinds->CreateJobKind(Context(k).get(), r, &out).ok());
  }
  add("cost beyond the kind's budget", "cost", kInvalid, [&] {
    return submit([](auto& r) {
      r.set_kind("budgeted");
      r.set_cost(101);
    });
  });

  // ------------------------------------------- depends_on, SubmitJobs
  add("depends_on over the limit", "depends_on", kInvalid, [&] {
    return submit([](auto& r) {
      for (int i = 0; i < 33; ++i) r.add_depends_on(std::to_string(i + 1));
    });
  });
  for (std::string id : {std::string(), std::string("12a"), std::string("-4"),
                         std::string(21, '9')}) {
    add("depends_on id " + id.substr(0, 8), "depends_on[0]", kInvalid,
        [&, id] { return submit([&](auto& r) { r.add_depends_on(id); }); });
  }
  add("depends_on id beyond int64", "depends_on[0]", kInvalid,
      [&] { return submit([](auto& r) { r.add_depends_on("99999999999999999999"); }); });
  not_found("depends_on a job that does not exist", "job 987654321",
            [&] { return submit([](auto& r) { r.add_depends_on("987654321"); }); });
  auto batch = [&](std::function<void(SubmitJobsRequest&)> edit) {
    SubmitJobsRequest r;
    edit(r);
    SubmitJobsResponse out;
    return jobs->SubmitJobs(Context(k).get(), r, &out);
  };
  auto batch_job = [](SubmitJobsRequest& r, std::string ref, std::vector<std::string> after) {
    BatchJob* job = r.add_jobs();
    job->set_ref(std::move(ref));
    job->mutable_job()->set_kind("refresh_stats");
    for (auto& a : after) job->add_after(a);
    return job;
  };
  add("SubmitJobs empty", "jobs", kInvalid, [&] { return batch([](auto&) {}); });
  add("SubmitJobs over the limit", "jobs", kInvalid, [&] {
    return batch([&](auto& r) {
      for (int i = 0; i < 101; ++i) batch_job(r, "", {});
    });
  });
  add("SubmitJobs a job's kind", "jobs[1].job.kind", kInvalid, [&] {
    return batch([&](auto& r) {
      batch_job(r, "a", {});
      batch_job(r, "b", {"a"})->mutable_job()->set_kind("Not A Kind");
    });
  });
  add("SubmitJobs a job's payload", "jobs[0].job.payload_json", kInvalid, [&] {
    return batch([&](auto& r) { batch_job(r, "a", {})->mutable_job()->set_payload_json("[]"); });
  });
  add("SubmitJobs ref too long", "jobs[0].ref", kInvalid,
      [&] { return batch([&](auto& r) { batch_job(r, std::string(65, 'r'), {}); }); });
  add("SubmitJobs ref with NUL", "jobs[0].ref", kInvalid,
      [&] { return batch([&](auto& r) { batch_job(r, with_nul, {}); }); });
  add("SubmitJobs duplicate ref", "jobs[1].ref", kInvalid, [&] {
    return batch([&](auto& r) {
      batch_job(r, "a", {});
      batch_job(r, "a", {});
    });
  });
  add("SubmitJobs unknown ref", "jobs[1].after", kInvalid, [&] {
    return batch([&](auto& r) {
      batch_job(r, "a", {});
      batch_job(r, "b", {"nope"});
    });
  });
  add("SubmitJobs cycle", "jobs[0].after", kInvalid, [&] {
    return batch([&](auto& r) {
      batch_job(r, "a", {"b"});
      batch_job(r, "b", {"a"});
    });
  });
  add("SubmitJobs too many dependencies", "jobs[32].after", kInvalid, [&] {
    return batch([&](auto& r) {
      std::vector<std::string> refs;
      for (int i = 0; i < 32; ++i) {
        refs.push_back("r" + std::to_string(i));
        batch_job(r, refs.back(), {});
      }
      batch_job(r, "last", refs)->mutable_job()->add_depends_on("1");
    });
  });
  not_found("SubmitJobs after a job that does not exist", "job 987654321", [&] {
    return batch([&](auto& r) {
      batch_job(r, "a", {});
      batch_job(r, "b", {"a"})->mutable_job()->add_depends_on("987654321");
    });
  });

  // --------------------------------------------- CreateJobKind, UpdateJobKind
  auto create_kind = [&](std::function<void(JobKind&)> edit) {
    CreateJobKindRequest r;
    r.mutable_kind()->set_name("rules.kind");
    edit(*r.mutable_kind());
    CreateJobKindResponse out;
    return kinds->CreateJobKind(Context(k).get(), r, &out);
  };
  auto update_kind = [&](std::function<void(JobKind&)> edit) {
    UpdateJobKindRequest r;
    r.mutable_kind()->set_name("budgeted");
    edit(*r.mutable_kind());
    UpdateJobKindResponse out;
    return kinds->UpdateJobKind(Context(k).get(), r, &out);
  };
  for (std::string name : {std::string(), std::string("Upper"), std::string("9lives"),
                           std::string("has space"), std::string(65, 'k'), std::string("\xff"),
                           with_nul}) {
    add("CreateJobKind name " + name.substr(0, 16), "kind.name", kInvalid,
        [&, name] { return create_kind([&](auto& kind) { kind.set_name(name); }); });
  }
  for (std::string name : {"index_documents", "purge_deleted", "quarry.next"}) {
    add("CreateJobKind system name " + name, "kind.name", kInvalid,
        [&, name] { return create_kind([&](auto& kind) { kind.set_name(name); }); });
  }
  add("CreateJobKind name taken", "job kind \"budgeted\"", grpc::ALREADY_EXISTS,
      [&] { return create_kind([](auto& kind) { kind.set_name("budgeted"); }); },
      Message::kNamesField);
  const std::vector<std::pair<std::string, std::function<void(JobKind&)>>> bad_fields = {
      {"kind.description", [](auto& kind) { kind.set_description(std::string(1025, 'd')); }},
      {"kind.max_attempts", [](auto& kind) { kind.set_max_attempts(101); }},
      {"kind.max_attempts", [](auto& kind) { kind.set_max_attempts(-1); }},
      {"kind.priority", [](auto& kind) { kind.set_priority(1001); }},
      {"kind.retry.initial_backoff",
       [](auto& kind) { kind.mutable_retry()->mutable_initial_backoff()->set_seconds(-1); }},
      {"kind.retry.initial_backoff",
       [](auto& kind) { kind.mutable_retry()->mutable_initial_backoff()->set_nanos(-5); }},
      {"kind.retry.multiplier", [](auto& kind) { kind.mutable_retry()->set_multiplier(0.5); }},
      {"kind.retry.multiplier", [](auto& kind) { kind.mutable_retry()->set_multiplier(kNaN); }},
      {"kind.retry.max_backoff",
       [](auto& kind) { kind.mutable_retry()->mutable_max_backoff()->set_seconds(86401); }},
      {"kind.retry.jitter", [](auto& kind) { kind.mutable_retry()->set_jitter(1.5); }},
      {"kind.attempt_timeout",
       [](auto& kind) { kind.mutable_attempt_timeout()->set_nanos(1000); }},
      {"kind.attempt_timeout",
       [](auto& kind) { kind.mutable_attempt_timeout()->set_seconds(86401); }},
      {"kind.max_concurrency", [](auto& kind) { kind.set_max_concurrency(-1); }},
      {"kind.starts_per_minute", [](auto& kind) { kind.set_starts_per_minute(-3); }},
      {"kind.cost_per_minute", [](auto& kind) { kind.set_cost_per_minute(-1); }},
      {"kind.max_result_bytes", [](auto& kind) { kind.set_max_result_bytes(1); }},
      {"kind.max_result_bytes", [](auto& kind) { kind.set_max_result_bytes(2 * 1024 * 1024); }},
      {"kind.retention", [](auto& kind) { kind.mutable_retention()->set_seconds(5); }},
  };
  for (const auto& [field, edit] : bad_fields) {
    add("CreateJobKind " + field, field, kInvalid, [&, edit = edit] { return create_kind(edit); });
    add("UpdateJobKind " + field, field, kInvalid, [&, edit = edit] { return update_kind(edit); });
  }
  not_found("UpdateJobKind unknown", "job kind \"no.such\"",
            [&] { return update_kind([](auto& kind) { kind.set_name("no.such"); }); });
  add("UpdateJobKind of a system kind", "purge_deleted", grpc::PERMISSION_DENIED,
      [&] { return update_kind([](auto& kind) { kind.set_name("purge_deleted"); }); },
      Message::kNamesField);

  // ------------------------------------------------ GetJobKind, DeleteJobKind
  auto get_kind = [&](std::string name) {
    GetJobKindRequest r;
    r.set_name(std::move(name));
    GetJobKindResponse out;
    return kinds->GetJobKind(Context(k).get(), r, &out);
  };
  auto delete_kind = [&](std::string name) {
    DeleteJobKindRequest r;
    r.set_name(std::move(name));
    DeleteJobKindResponse out;
    return kinds->DeleteJobKind(Context(k).get(), r, &out);
  };
  for (std::string name : {std::string(), std::string("Upper"), std::string(65, 'k'),
                           std::string("\xff"), with_nul}) {
    add("GetJobKind name", "name", kInvalid, [&, name] { return get_kind(name); });
    add("DeleteJobKind name", "name", kInvalid, [&, name] { return delete_kind(name); });
  }
  not_found("GetJobKind unknown", "job kind \"no.such\"", [&] { return get_kind("no.such"); });
  not_found("DeleteJobKind unknown", "job kind \"no.such\"",
            [&] { return delete_kind("no.such"); });
  add("DeleteJobKind of a system kind", "index_documents", grpc::PERMISSION_DENIED,
      [&] { return delete_kind("index_documents"); }, Message::kNamesField);
  {
    SubmitJobRequest waiting;
    waiting.set_kind("budgeted");
    waiting.mutable_run_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
    SubmitJobResponse out;
    ASSERT_TRUE(jobs->SubmitJob(Context(k).get(), waiting, &out).ok());
  }
  add("DeleteJobKind with a queued job", "budgeted", grpc::FAILED_PRECONDITION,
      [&] { return delete_kind("budgeted"); }, Message::kNamesField);
  // ---------------------------------------------------------- ScheduleService
  auto create_schedule = [&](std::function<void(Schedule&)> edit) {
    CreateScheduleRequest r;
    r.mutable_schedule()->set_name("rules.schedule");
    r.mutable_schedule()->set_kind("budgeted");
    r.mutable_schedule()->set_cron("*/5 * * * *");
    edit(*r.mutable_schedule());
    CreateScheduleResponse out;
    return schedules->CreateSchedule(Context(k).get(), r, &out);
  };
  for (std::string name : {std::string(), std::string("Upper"), std::string(65, 's'),
                           std::string("\xff"), with_nul}) {
    add("CreateSchedule name " + name.substr(0, 16), "schedule.name", kInvalid,
        [&, name] { return create_schedule([&](auto& s) { s.set_name(name); }); });
  }
  const std::vector<std::pair<std::string, std::function<void(Schedule&)>>> bad_schedules = {
      {"schedule.kind", [](auto& s) { s.set_kind("Not A Kind"); }},
      {"schedule.kind", [](auto& s) { s.set_kind("refresh_stats"); }},
      {"schedule.cron", [](auto& s) { s.set_cron("61 * * * *"); }},
      {"schedule.cron", [](auto& s) { s.set_cron("* * *"); }},
      {"schedule.cron", [](auto& s) { s.set_cron("0 0 30 2 *"); }},
      {"schedule.cron", [](auto& s) { s.set_cron("*/0 * * * *"); }},
      {"schedule.cron", [](auto& s) { s.clear_cron(); }},
      {"schedule.cron", [](auto& s) { s.mutable_interval()->set_seconds(60); }},
      {"schedule.interval",
       [](auto& s) {
         s.clear_cron();
         s.mutable_interval()->set_seconds(366 * 86400 + 1);
       }},
      {"schedule.interval",
       [](auto& s) {
         s.clear_cron();
         s.mutable_interval()->set_nanos(500000000);
       }},
      {"schedule.interval",
       [](auto& s) {
         s.clear_cron();
         s.mutable_interval()->set_seconds(-5);
       }},
      {"schedule.overlap", [](auto& s) { s.set_overlap(static_cast<OverlapPolicy>(9)); }},
      {"schedule.payload_json", [](auto& s) { s.set_payload_json("[1, 2]"); }},
      {"schedule.payload_json", [](auto& s) { s.set_payload_json("{\"a\":"); }},
      {"schedule.payload_json",
       [](auto& s) { s.set_payload_json("{\"a\":\"" + std::string(64 * 1024, 'p') + "\"}"); }},
      {"schedule.priority", [](auto& s) { s.set_priority(1001); }},
      {"schedule.max_attempts", [](auto& s) { s.set_max_attempts(101); }},
  };
  for (const auto& [field, edit] : bad_schedules) {
    add("CreateSchedule " + field, field, kInvalid,
        [&, edit = edit] { return create_schedule(edit); });
  }
  not_found("CreateSchedule of an unknown kind", "job kind \"no.such\"",
            [&] { return create_schedule([](auto& s) { s.set_kind("no.such"); }); });
  ASSERT_TRUE(create_schedule([](auto& s) { s.set_name("taken"); }).ok());
  add("CreateSchedule name taken", "schedule \"taken\"", grpc::ALREADY_EXISTS,
      [&] { return create_schedule([](auto& s) { s.set_name("taken"); }); },
      Message::kNamesField);
  auto get_schedule = [&](std::string name) {
    GetScheduleRequest r;
    r.set_name(std::move(name));
    GetScheduleResponse out;
    return schedules->GetSchedule(Context(k).get(), r, &out);
  };
  auto delete_schedule = [&](std::string name) {
    DeleteScheduleRequest r;
    r.set_name(std::move(name));
    DeleteScheduleResponse out;
    return schedules->DeleteSchedule(Context(k).get(), r, &out);
  };
  for (std::string name : {std::string(), std::string("Upper"), std::string(65, 's'),
                           std::string("\xff"), with_nul}) {
    add("GetSchedule name", "name", kInvalid, [&, name] { return get_schedule(name); });
    add("DeleteSchedule name", "name", kInvalid, [&, name] { return delete_schedule(name); });
  }
  not_found("GetSchedule unknown", "schedule \"no.such\"", [&] { return get_schedule("no.such"); });
  not_found("DeleteSchedule unknown", "schedule \"no.such\"",
            [&] { return delete_schedule("no.such"); });
  auto list_schedules = [&](std::function<void(ListSchedulesRequest&)> edit) {
    ListSchedulesRequest r;
    edit(r);
    ListSchedulesResponse out;
    return schedules->ListSchedules(Context(k).get(), r, &out);
  };
  add("ListSchedules page size", "page.page_size", kInvalid,
      [&] { return list_schedules([](auto& r) { r.mutable_page()->set_page_size(1001); }); });
  add("ListSchedules page token", "page.page_token", kInvalid,
      [&] { return list_schedules([](auto& r) { r.mutable_page()->set_page_token("garbage"); }); });
  // ------------------------------------------------------------ WorkerService
  auto claim = [&](std::function<void(ClaimJobsRequest&)> edit) {
    ClaimJobsRequest r;
    r.set_worker_id("w");
    r.add_kinds("budgeted");
    r.set_max_jobs(1);
    edit(r);
    ClaimJobsResponse out;
    return workers->ClaimJobs(Context(k).get(), r, &out);
  };
  for (std::string id : {std::string(), std::string(129, 'w'), with_nul, std::string("\xff")}) {
    add("ClaimJobs worker_id", "worker_id", kInvalid,
        [&, id] { return claim([&](auto& r) { r.set_worker_id(id); }); });
  }
  add("ClaimJobs no kinds", "kinds", kInvalid, [&] { return claim([](auto& r) { r.clear_kinds(); }); });
  add("ClaimJobs 33 kinds", "kinds", kInvalid, [&] {
    return claim([](auto& r) {
      for (int i = 0; i < 32; ++i) r.add_kinds("budgeted");
    });
  });
  add("ClaimJobs bad kind", "kinds[1]", kInvalid,
      [&] { return claim([](auto& r) { r.add_kinds("Bad Kind"); }); });
  for (int32_t n : {0, -1, 101}) {
    add(absl::StrCat("ClaimJobs max_jobs ", n), "max_jobs", kInvalid,
        [&, n] { return claim([&](auto& r) { r.set_max_jobs(n); }); });
  }
  for (auto [seconds, nanos] :
       std::vector<std::pair<int64_t, int32_t>>{{-1, 0}, {31, 0}, {0, -1}, {0, 1'000'000'000}}) {
    add(absl::StrCat("ClaimJobs wait ", seconds, ".", nanos), "wait", kInvalid,
        [&, seconds, nanos] {
          return claim([&](auto& r) {
            r.mutable_wait()->set_seconds(seconds);
            r.mutable_wait()->set_nanos(nanos);
          });
        });
  }
  not_found("ClaimJobs unknown kind", "job kind \"no.such\"",
            [&] { return claim([](auto& r) { r.set_kinds(0, "no.such"); }); });
  add("ClaimJobs of a system kind", "kinds[0]", grpc::PERMISSION_DENIED,
      [&] { return claim([](auto& r) { r.set_kinds(0, "purge_deleted"); }); });
  // A job of the tenant's that no worker holds: every lease call on it is
  // FAILED_PRECONDITION naming the lease.
  std::string unheld_job;
  {
    SubmitJobRequest r;
    r.set_kind("budgeted");
    r.mutable_run_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
    SubmitJobResponse out;
    ASSERT_TRUE(jobs->SubmitJob(Context(k).get(), r, &out).ok());
    unheld_job = out.job().id();
  }
  auto lease_with = [&](std::function<void(JobLease&)> edit) {
    JobLease lease;
    lease.set_job_id(unheld_job);
    lease.set_attempt(1);
    lease.set_worker_id("w");
    edit(lease);
    return lease;
  };
  auto heartbeat = [&](JobLease lease, std::function<void(HeartbeatJobRequest&)> edit) {
    HeartbeatJobRequest r;
    *r.mutable_lease() = lease;
    edit(r);
    HeartbeatJobResponse out;
    return workers->HeartbeatJob(Context(k).get(), r, &out);
  };
  auto fail = [&](JobLease lease, std::function<void(FailJobRequest&)> edit) {
    FailJobRequest r;
    *r.mutable_lease() = lease;
    r.set_error("broke");
    edit(r);
    FailJobResponse out;
    return workers->FailJob(Context(k).get(), r, &out);
  };
  const std::vector<std::pair<std::string, std::function<grpc::Status(JobLease)>>> lease_rpcs = {
      {"HeartbeatJob", [&](JobLease l) { return heartbeat(l, [](auto&) {}); }},
      {"CompleteJob", [&](JobLease l) {
         CompleteJobRequest r;
         *r.mutable_lease() = l;
         CompleteJobResponse out;
         return workers->CompleteJob(Context(k).get(), r, &out);
       }},
      {"FailJob", [&](JobLease l) { return fail(l, [](auto&) {}); }},
      {"ReleaseJob", [&](JobLease l) {
         ReleaseJobRequest r;
         *r.mutable_lease() = l;
         ReleaseJobResponse out;
         return workers->ReleaseJob(Context(k).get(), r, &out);
       }},
      {"AcknowledgeCancel", [&](JobLease l) {
         AcknowledgeCancelRequest r;
         *r.mutable_lease() = l;
         AcknowledgeCancelResponse out;
         return workers->AcknowledgeCancel(Context(k).get(), r, &out);
       }},
  };
  for (const auto& [rpc, call] : lease_rpcs) {
    for (std::string id : {std::string(), std::string("x1"), std::string(21, '9')}) {
      add(rpc + " lease.job_id", "lease.job_id", kInvalid,
          [&, call = call, id] { return call(lease_with([&](auto& l) { l.set_job_id(id); })); });
    }
    add(rpc + " lease.attempt 0", "lease.attempt", kInvalid,
        [&, call = call] { return call(lease_with([](auto& l) { l.set_attempt(0); })); });
    add(rpc + " lease.worker_id empty", "lease.worker_id", kInvalid,
        [&, call = call] { return call(lease_with([](auto& l) { l.clear_worker_id(); })); });
    add(rpc + " a job not held", "lease", grpc::FAILED_PRECONDITION,
        [&, call = call] { return call(lease_with([](auto&) {})); });
    not_found(rpc + " an unknown job", "job 99999999",
              [&, call = call] { return call(lease_with([](auto& l) { l.set_job_id("99999999"); })); });
  }
  for (double progress : {-0.1, 1.5, static_cast<double>(kNaN)}) {
    add(absl::StrCat("HeartbeatJob progress ", progress), "progress", kInvalid, [&, progress] {
      return heartbeat(lease_with([](auto&) {}), [&](auto& r) { r.set_progress(progress); });
    });
  }
  add("HeartbeatJob progress_message over 1024 bytes", "progress_message", kInvalid, [&] {
    return heartbeat(lease_with([](auto&) {}),
                     [](auto& r) { r.set_progress_message(std::string(1025, 'm')); });
  });
  add("FailJob error empty", "error", kInvalid,
      [&] { return fail(lease_with([](auto&) {}), [](auto& r) { r.clear_error(); }); });
  add("FailJob error over 4096 bytes", "error", kInvalid, [&] {
    return fail(lease_with([](auto&) {}), [](auto& r) { r.set_error(std::string(4097, 'e')); });
  });
  add("FailJob unknown kind", "kind", kInvalid, [&] {
    return fail(lease_with([](auto&) {}),
                [](auto& r) { r.set_kind(static_cast<FailureKind>(42)); });
  });
  for (int64_t seconds : {int64_t{-1}, int64_t{86401}}) {
    add(absl::StrCat("FailJob retry_after ", seconds), "retry_after", kInvalid, [&, seconds] {
      return fail(lease_with([](auto&) {}),
                  [&](auto& r) { r.mutable_retry_after()->set_seconds(seconds); });
    });
  }

  add("ListJobKinds page size", "page.page_size", kInvalid, [&] {
    ListJobKindsRequest r;
    r.mutable_page()->set_page_size(1001);
    ListJobKindsResponse out;
    return kinds->ListJobKinds(Context(k).get(), r, &out);
  });
  add("ListJobKinds page token", "page.page_token", kInvalid, [&] {
    ListJobKindsRequest r;
    r.mutable_page()->set_page_token("not a token");
    ListJobKindsResponse out;
    return kinds->ListJobKinds(Context(k).get(), r, &out);
  });
  std::string deep(20000, '[');
  deep += std::string(20000, ']');
  for (std::string json :
       {std::string("{oops"), std::string("[]"), std::string("\"a string\""), std::string("42"),
        std::string("null"), std::string("true"), std::string("{} trailing"),
        std::string("{\"a\": \"\xff\"}"), std::string("{\"a\": \"\\ud800\"}"),
        std::string("{\"a\": \"nul \\u0000 inside\"}"), std::string("{\"a\": 1e999}"),
        std::string(64 * 1024 + 1, ' '), "{\"a\": " + deep + "}", std::string("{'a': 1}"),
        std::string("{\"a\": NaN}"), std::string("{\"a\": 1,}")}) {
    add("payload_json " + json.substr(0, 24), "payload_json", kInvalid,
        [&, json] { return payload("refresh_stats", json); });
  }
  for (std::string kind : {"reindex_collection", "index_documents"}) {
    add(kind + " without a collection", "payload_json.collection", kInvalid,
        [&, kind] { return payload(kind, "{}"); });
    add(kind + " with a number for the collection", "payload_json.collection", kInvalid,
        [&, kind] { return payload(kind, R"({"collection": 5})"); });
    add(kind + " with a list for the collection", "payload_json.collection", kInvalid,
        [&, kind] { return payload(kind, R"({"collection": ["rules"]})"); });
    not_found(kind + " of an unknown collection", "collection \"no-such\"",
              [&, kind] { return payload(kind, R"({"collection": "no-such"})"); });
  }
  add("refresh_stats naming a collection_id", "payload_json.collection_id", kInvalid,
      [&] { return payload("refresh_stats", R"({"collection_id": 1})"); });
  for (int32_t priority : {-1001, 1001, std::numeric_limits<int32_t>::min(),
                           std::numeric_limits<int32_t>::max()}) {
    add(absl::StrCat("priority ", priority), "priority", kInvalid,
        [&, priority] { return submit([&](auto& r) { r.set_priority(priority); }); });
  }
  for (int32_t attempts : {-1, 101, std::numeric_limits<int32_t>::min(),
                           std::numeric_limits<int32_t>::max()}) {
    add(absl::StrCat("max_attempts ", attempts), "max_attempts", kInvalid,
        [&, attempts] { return submit([&](auto& r) { r.set_max_attempts(attempts); }); });
  }
  for (auto [seconds, nanos] : std::vector<std::pair<int64_t, int32_t>>{
           {-1, 0}, {0, -1}, {0, 1'000'000'000}, {253402300800, 0},
           {std::numeric_limits<int64_t>::max(), 0}, {std::numeric_limits<int64_t>::min(), 0}}) {
    add(absl::StrCat("run_at ", seconds, ".", nanos), "run_at", kInvalid, [&, seconds, nanos] {
      return submit([&](auto& r) {
        r.mutable_run_at()->set_seconds(seconds);
        r.mutable_run_at()->set_nanos(nanos);
      });
    });
  }
  add("idempotency_key over 128 bytes", "idempotency_key", kInvalid,
      [&] { return submit([](auto& r) { r.set_idempotency_key(std::string(129, 'i')); }); });
  add("idempotency_key with NUL", "idempotency_key", kInvalid,
      [&] { return submit([&](auto& r) { r.set_idempotency_key(with_nul); }); });
  for (const std::string& bad : BadUtf8()) {
    add("idempotency_key bad UTF-8", "idempotency_key", kInvalid,
        [&, bad] { return submit([&](auto& r) { r.set_idempotency_key(bad); }); });
  }

  // ------------------------------------- GetJob, CancelJob, RetryJob, WatchJob ids
  for (const auto& [rpc, call] : job_id_rpcs) {
    for (std::string id : {std::string(), std::string("12abc"), std::string("-1"),
                           std::string(" 1"), std::string("0x10"), std::string(21, '9'),
                           std::string("99999999999999999999"), std::string("\xff\xfe"),
                           std::string("1\0", 2)}) {
      add(rpc + " id " + id, "id", kInvalid, [&, call = call, id] { return call(id); });
    }
    not_found(rpc + " unknown id", "job 987654321", [&, call = call] { return call("987654321"); });
  }

  // --------------------------------------------------------------- CreateApiKey
  add("key.name over 128 bytes", "key.name", kInvalid,
      [&] { return create_key([](ApiKey& key) { key.set_name(std::string(129, 'n')); }); });
  add("key.name with NUL", "key.name", kInvalid,
      [&] { return create_key([&](ApiKey& key) { key.set_name(with_nul); }); });
  for (const std::string& bad : BadUtf8()) {
    add("key.name bad UTF-8", "key.name", kInvalid,
        [&, bad] { return create_key([&](ApiKey& key) { key.set_name(bad); }); });
  }
  for (int scope : {0, 5, 99, -1}) {
    add(absl::StrCat("key.scopes ", scope), "key.scopes[1]", kInvalid, [&, scope] {
      return create_key([&](ApiKey& key) {
        key.add_scopes(SCOPE_READ);
        key.add_scopes(static_cast<Scope>(scope));
      });
    });
  }
  for (double rate : {-5.0, 0.5, 100001.0, std::numeric_limits<double>::quiet_NaN(),
                      std::numeric_limits<double>::infinity(),
                      -std::numeric_limits<double>::infinity()}) {
    add(absl::StrCat("key.rate_limit_per_second ", rate), "key.rate_limit_per_second", kInvalid,
        [&, rate] { return create_key([&](ApiKey& key) { key.set_rate_limit_per_second(rate); }); });
  }
  for (int32_t burst : {-1, 100001, std::numeric_limits<int32_t>::min(),
                        std::numeric_limits<int32_t>::max()}) {
    add(absl::StrCat("key.burst ", burst), "key.burst", kInvalid,
        [&, burst] { return create_key([&](ApiKey& key) { key.set_burst(burst); }); });
  }

  add("key.worker_kinds missing with the worker scope", "key.worker_kinds", kInvalid,
      [&] { return create_key([](ApiKey& key) { key.add_scopes(SCOPE_WORKER); }); });
  add("key.worker_kinds without the worker scope", "key.worker_kinds", kInvalid, [&] {
    return create_key([](ApiKey& key) {
      key.add_scopes(SCOPE_WRITE);
      key.add_worker_kinds("budgeted");
    });
  });
  add("key.worker_kinds over the limit", "key.worker_kinds", kInvalid, [&] {
    return create_key([](ApiKey& key) {
      key.add_scopes(SCOPE_WORKER);
      for (int i = 0; i < 33; ++i) key.add_worker_kinds("k" + std::to_string(i));
    });
  });
  add("key.worker_kinds bad name", "key.worker_kinds[1]", kInvalid, [&] {
    return create_key([](ApiKey& key) {
      key.add_scopes(SCOPE_WORKER);
      key.add_worker_kinds("budgeted");
      key.add_worker_kinds("Not A Kind");
    });
  });

  // --------------------------------------------------------------- RevokeApiKey
  for (std::string id : {std::string(), std::string(65, 'q'), std::string("\xff\xfe"),
                         std::string("qk_\xc3\x28"), std::string("qk_0\0", 5),
                         std::string("not a key id")}) {
    add("RevokeApiKey id", "id", kInvalid, [&, id] { return revoke_key(id); });
  }
  not_found("RevokeApiKey unknown id", "qk_00000000000000ff",
            [&] { return revoke_key("qk_00000000000000ff"); });

  // ---------------------------------------------------------------- the checks
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const grpc::Status status = c.call();
    EXPECT_EQ(status.error_code(), c.code) << status.error_message();
    switch (c.message) {
      case Message::kStartsWithField:
        // "field: ...", "field key \"k\": ...", "field[\"k\"]: ...".
        EXPECT_TRUE(absl::StartsWith(status.error_message(), c.field + ": ") ||
                    absl::StartsWith(status.error_message(), c.field + " ") ||
                    absl::StartsWith(status.error_message(), c.field + "["))
            << "message does not start with the field " << c.field << ": "
            << status.error_message();
        break;
      case Message::kNamesField:
        EXPECT_TRUE(absl::StrContains(status.error_message(), c.field))
            << "message does not name " << c.field << ": " << status.error_message();
        break;
      case Message::kAny:
        EXPECT_FALSE(status.error_message().empty());
        break;
    }
  }
  std::cout << cases.size() << " malformed requests checked\n";

  // Nothing malformed was stored: the collection holds no document.
  GetCollectionStatsRequest count;
  count.set_collection("rules");
  GetCollectionStatsResponse counted;
  ASSERT_TRUE(stats->GetCollectionStats(Context(k).get(), count, &counted).ok());
  EXPECT_EQ(counted.documents() + counted.deleted(), 0);
  // And no collection beyond the two made above.
  ListCollectionsRequest all;
  ListCollectionsResponse listed;
  ASSERT_TRUE(collections->ListCollections(Context(k).get(), all, &listed).ok());
  EXPECT_EQ(listed.collections_size(), 2);
  // The gateway is still healthy after all of it.
  EXPECT_TRUE(suite_->gateway(0).service()->Serving());
}

}  // namespace
}  // namespace quarry
