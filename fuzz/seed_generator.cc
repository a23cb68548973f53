// Writes the seed corpora under fuzz/corpus/ (run from the repository root:
//   bazel run //fuzz:seed_generator -- $PWD/fuzz/corpus
// ). Seeds are small valid inputs built with the production encoders (so they
// track format changes) plus a few edge cases; libFuzzer mutates from there.
// The output is committed; rerun after changing a format.

#include <cstdint>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "quarry/common/v1/filter.pb.h"
#include "quarry/gateway/v1/admin_service.pb.h"
#include "quarry/gateway/v1/collection_service.pb.h"
#include "quarry/gateway/v1/document_service.pb.h"
#include "quarry/gateway/v1/job_service.pb.h"
#include "quarry/gateway/v1/search_service.pb.h"
#include "services/gateway/page_token.h"
#include "services/vector_search/hnsw_index.h"
#include "services/vector_search/snapshot.h"

namespace quarry::fuzz {
namespace {

namespace fs = std::filesystem;

bool ok = true;

// A string literal with its embedded NULs.
template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

void Write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
    ok = false;
  }
}

std::string ReadBack(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Selector byte + serialized message, as validation_fuzzer reads them.
template <typename Message>
void WriteRequest(const fs::path& dir, const std::string& name, uint8_t selector,
                  const Message& message) {
  Write(dir, name, std::string(1, static_cast<char>(selector)) + message.SerializeAsString());
}

void ValidationSeeds(const fs::path& dir) {
  namespace v1 = quarry::gateway::v1;
  v1::CreateCollectionRequest create;
  create.mutable_collection()->set_name("docs");
  create.mutable_collection()->set_dimension(384);
  create.mutable_collection()->set_metric(quarry::common::v1::METRIC_COSINE);
  create.mutable_collection()->set_model("hashing-384");
  WriteRequest(dir, "create_collection", 0, create);

  v1::UpsertDocumentsRequest upsert;
  upsert.set_collection("docs");
  v1::Document* doc = upsert.add_documents();
  doc->set_id("ticket-1");
  doc->set_text("Disk full on the build agent: café ☕");
  (*doc->mutable_metadata())["team"] = "infra";
  doc->add_tags("ci");
  v1::Document* with_vector = upsert.add_documents();
  with_vector->set_id("vec:2");
  for (float x : {0.5f, -1.0f, 2.0f}) with_vector->mutable_vector()->add_values(x);
  WriteRequest(dir, "upsert_documents", 1, upsert);

  v1::GetDocumentsRequest get;
  get.set_collection("docs");
  get.add_ids("ticket-1");
  get.add_ids("a.b_c:d/e@f+g=h-i");
  WriteRequest(dir, "get_documents", 2, get);

  v1::DeleteDocumentsRequest del;
  del.set_collection("docs");
  del.add_ids("ticket-1");
  del.add_ids("ticket-1");  // duplicate: rejected
  WriteRequest(dir, "delete_documents_duplicate", 3, del);

  v1::SearchRequest search;
  search.set_collection("docs");
  search.set_text("disk full");
  search.set_top_k(20);
  search.set_effort(64);
  search.set_min_score(0.25f);
  search.mutable_filter()->add_all_tags("ci");
  search.mutable_filter()->add_any_tags("linux");
  (*search.mutable_filter()->mutable_metadata_equals())["team"] = "infra";
  WriteRequest(dir, "search_text", 4, search);
  v1::SearchRequest by_vector;
  by_vector.set_collection("docs");
  for (float x : {1.0f, 0.0f, -0.5f}) by_vector.mutable_vector()->add_values(x);
  by_vector.set_exact(true);
  WriteRequest(dir, "search_vector", 4, by_vector);

  v1::SubmitJobRequest job;
  job.set_kind("reindex_collection");
  job.set_payload_json(R"({"collection": "docs", "nested": [1, {"a": null}]})");
  job.set_priority(10);
  job.set_max_attempts(3);
  job.set_idempotency_key("nightly-2026-11-30");
  job.mutable_run_at()->set_seconds(1800000000);
  WriteRequest(dir, "submit_job", 5, job);

  v1::GetJobRequest get_job;
  get_job.set_id("12345678901234567890");
  WriteRequest(dir, "get_job", 6, get_job);

  v1::CreateApiKeyRequest key;
  key.mutable_key()->set_name("ci bot");
  key.mutable_key()->add_scopes(v1::SCOPE_READ);
  key.mutable_key()->add_scopes(v1::SCOPE_WRITE);
  key.mutable_key()->set_rate_limit_per_second(50);
  key.mutable_key()->set_burst(100);
  WriteRequest(dir, "create_api_key", 7, key);

  v1::ListCollectionsRequest list;
  list.mutable_page()->set_page_size(100);
  list.mutable_page()->set_page_token(quarry::gateway::EncodePageToken("collections", "docs"));
  WriteRequest(dir, "list_collections", 8, list);

  v1::ListJobsRequest jobs;
  jobs.add_states(v1::JOB_STATE_QUEUED);
  jobs.set_kind("purge_deleted");
  jobs.mutable_page()->set_page_token(quarry::gateway::EncodePageToken("jobs", "1042"));
  WriteRequest(dir, "list_jobs", 9, jobs);

  Write(dir, "utf8_mixed", std::string("\x0a") + "ok ü € 𝄞 \xed\xa0\x80 \xc0\xaf");
  Write(dir, "page_token_other_listing",
        std::string("\x0b") + quarry::gateway::EncodePageToken("collections", "docs"));
}

void TokenizerSeeds(const fs::path& dir) {
  // options byte (0x19: lower case, strip accents, CJK split, 100 chars/word),
  // max_tokens - 2, then the text.
  Write(dir, "english", std::string("\x19\xfe") + "The quick brown fox, unaffable!");
  Write(dir, "accents_cjk", std::string("\x19\x10") + "Café naïve ΟΔΟΣ 我爱NLP。 한국 がぎ");
  Write(dir, "cased_truncated", std::string("\x18\x02") + "Build agent error error error");
  Write(dir, "controls", std::string("\x19\x20") + std::string("a\0b\x7f\xff\xfe\u200b\t\r\n", 12));
  Write(dir, "custom_vocab",
        std::string("\x99\x08") + "hello\n##lo\nhel\n[UNK]\n\n##\n" + std::string(1, '\0') +
            "hello hellolo");
}

void SafetensorsSeeds(const fs::path& dir) {
  auto file = [](const std::string& header, const std::string& data) {
    std::string out;
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(n >> (8 * i)));
    return out + header + data;
  };
  std::string f32(8, '\0');
  const float values[2] = {1.5f, -2.0f};
  std::memcpy(f32.data(), values, sizeof(values));
  Write(dir, "f32", file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("__metadata__":{"format":"pt"}})",
                         f32));
  // A 7-byte header leaves the F32 data unaligned: the copying path.
  Write(dir, "f32_unaligned", file(R"({"w":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}} )",
                                   f32));
  Write(dir, "f16_bf16_f64",
        file(R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},)"
             R"("b":{"dtype":"BF16","shape":[1],"data_offsets":[6,8]},)"
             R"("d":{"dtype":"F64","shape":[],"data_offsets":[8,16]}})",
             std::string("\x00\x3c\x01\x00\x00\x7c\x80\x3f", 8) +
                 std::string("\x00\x00\x00\x00\x00\x00\xf0\x3f", 8)));
  Write(dir, "ints_and_empty",
        file(R"({"i":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},)"
             R"("e":{"dtype":"F32","shape":[0,7],"data_offsets":[4,4]},)"
             R"("u":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})",
             std::string("\x01\x00\x00\x00\xff\x00", 6)));
  Write(dir, "bad_offsets",
        file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", f32));
  Write(dir, "huge_header_length", std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10));
}

void SnapshotSeeds(const fs::path& dir) {
  using namespace quarry::vector_search;  // NOLINT: seed builder only
  SnapshotData plain;
  plain.metric = Metric::kL2;
  plain.dimension = 3;
  plain.watermark = 42;
  plain.docs.push_back({"a", {1, 2, 3}, {"x", "y"}, {{"k", "v"}, {"e", ""}}, 7, true});
  plain.docs.push_back({"b", {-1, 0.5f, 0}, {}, {}, 11, true});
  Write(dir, "no_graph", EncodeSnapshot(plain));
  Write(dir, "empty", EncodeSnapshot(SnapshotData{Metric::kDot, 2, 0, {}, ""}));
  // Regression: a dead slot with a vector and no graph once loaded as a live
  // document with an empty id (now DATA_LOSS).
  SnapshotData dead;
  dead.metric = Metric::kL2;
  dead.dimension = 2;
  dead.watermark = 5;
  dead.docs.push_back({"", {1, 2}, {}, {}, 4, false});
  Write(dir, "dead_slot_without_graph", EncodeSnapshot(dead));

  // Real graph sections, exported by the index itself: float and int8.
  for (bool int8 : {false, true}) {
    HnswOptions options;
    options.metric = Metric::kCosine;
    options.dimension = 4;
    options.m = 4;
    options.ef_construction = 16;
    options.initial_capacity = 8;
    options.exact_below = 0;
    options.quantize_int8 = int8;
    options.quantizer_train_size = 4;
    auto index = HnswIndex::Create(options);
    if (!index.ok()) {
      std::fprintf(stderr, "index: %s\n", index.status().ToString().c_str());
      ok = false;
      return;
    }
    for (int i = 0; i < 6; ++i) {
      const std::vector<float> v = {1.0f + i, 0.5f * i, i % 2 ? 1.0f : -1.0f, 0.25f};
      Tags tags = {i % 2 ? "odd" : "even"};
      Metadata metadata = {{"n", std::to_string(i)}};
      if (!(*index)->Upsert(absl::StrCat("doc", i), v, tags, metadata, i + 1).ok()) ok = false;
    }
    if (!(*index)->Delete("doc3", 7).ok()) ok = false;
    Write(dir, int8 ? "graph_int8" : "graph_float", EncodeSnapshot((*index)->ExportSnapshot(true)));
  }
}

void FilterSeeds(const fs::path& dir) {
  // See filter_fuzzer.cc: options, the filter (counts then strings), then ops.
  // String: length byte (low 2 bits = length over {a,b,c}; 0x8N = N raw bytes).
  Write(dir, "tags_and_metadata",
        Bytes("\x10"  // dot, graph search, k = 2
                    "\x01" "\x01\x00"            // all_tags: "a"
                    "\x02" "\x01\x01" "\x01\x02"  // any_tags: "b", "c"
                    "\x01" "\x01\x00" "\x01\x01"  // metadata a=b
                    // upsert d0: vector, 2 tags (a, b), 1 entry a=b
                    "\x00" "\x10\x20\x30\x40" "\x02" "\x01\x00" "\x01\x01" "\x01" "\x01\x00" "\x01\x01"
                    // upsert d1: tags (a, c), no metadata
                    "\x01" "\x08\x00\xf0\x10" "\x02" "\x01\x00" "\x01\x02" "\x00"
                    // upsert d2: tag a, metadata a=b
                    "\x02" "\x01\x02\x03\x04" "\x01" "\x01\x00" "\x01" "\x01\x00" "\x01\x01"
                    // delete d1, then re-upsert d0 without tags
                    "\x31"
                    "\x00" "\x7f\x7f\x7f\x7f" "\x00" "\x00"));
  // The same with an int8 graph (0x30) and with no graph yet (0x90): building
  // an hnswlib graph dominates an execution, so most seeds go without one.
  std::string variant = ReadBack(dir / "tags_and_metadata");
  variant[0] = '\x30';
  Write(dir, "tags_and_metadata_int8_graph", variant);
  variant[0] = '\x90';
  Write(dir, "tags_and_metadata_no_graph", variant);
  Write(dir, "raw_nul_keys",
        Bytes("\x8d"  // cosine, no graph, filter threshold 0, k = 1
                    "\x00" "\x00"
                    "\x01" "\x83" "a\0b" "\x81" "c"  // metadata "a\0b" = "c"
                    // upsert d3 with metadata "a" = "b\0c": the same posting key
                    "\x03" "\x01\x01\x01\x01" "\x00" "\x01" "\x81" "a" "\x83" "b\0c"));
  Write(dir, "empty_filter", Bytes("\x82\x00\x00\x00\x05\x01\x02\x03\x04\x01\x01\x00\x00"));
}

}  // namespace
}  // namespace quarry::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (e.g. $PWD/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root = argv[1];
  quarry::fuzz::ValidationSeeds(root / "validation");
  quarry::fuzz::TokenizerSeeds(root / "tokenizer");
  quarry::fuzz::SafetensorsSeeds(root / "safetensors");
  quarry::fuzz::SnapshotSeeds(root / "snapshot");
  quarry::fuzz::FilterSeeds(root / "filter");
  return quarry::fuzz::ok ? 0 : 1;
}
