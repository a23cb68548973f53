// Fuzzes the search filter evaluator: FilterFromProto and Matches
// (services/vector_search/filter*.h), and the filtered search that uses them
// in HnswIndex (posting-list candidates, graph traversal with a filter,
// exact fallback). The input is a filter plus a sequence of upserts and
// deletes over a handful of ids; strings come from a tiny alphabet so tags
// and metadata collide often, or, when flagged, are raw bytes (NUL and all).
//
// Differential: an independent model of the documents and of the filter
// semantics (quarry.common.v1.Filter's comment) decides which documents
// match; Matches must agree with it for every live document, an exact search
// must return exactly those documents and a graph search a subset of them.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "fuzz/fuzz_check.h"
#include "quarry/common/v1/filter.pb.h"
#include "services/vector_search/filter.h"
#include "services/vector_search/filter_proto.h"
#include "services/vector_search/hnsw_index.h"

namespace quarry::vector_search {
namespace {

constexpr size_t kDimension = 4;
constexpr int kMaxOps = 48;

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  // Short strings over {a, b, c} (collisions are the interesting case), or
  // up to 15 raw bytes when the length byte's top bit is set.
  std::string String() {
    const uint8_t len = Byte();
    std::string s;
    if ((len & 0x80) != 0) {
      for (int i = 0; i < (len & 0x0F) && !empty(); ++i) s.push_back(static_cast<char>(Byte()));
    } else {
      for (int i = 0; i < len % 4; ++i) s.push_back(static_cast<char>('a' + Byte() % 3));
    }
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

struct Doc {
  Tags tags;
  Metadata metadata;
};

// The filter semantics as documented on quarry.common.v1.Filter, written
// against the proto so it shares nothing with the code under test.
bool ReferenceMatches(const quarry::common::v1::Filter& filter, const Doc& doc) {
  const std::set<std::string> tags(doc.tags.begin(), doc.tags.end());
  for (const std::string& tag : filter.all_tags()) {
    if (tags.count(tag) == 0) return false;
  }
  if (filter.any_tags_size() > 0 &&
      std::none_of(filter.any_tags().begin(), filter.any_tags().end(),
                   [&](const std::string& tag) { return tags.count(tag) > 0; })) {
    return false;
  }
  for (const auto& [key, value] : filter.metadata_equals()) {
    auto it = doc.metadata.find(key);
    if (it == doc.metadata.end() || it->second != value) return false;
  }
  return true;
}

void Run(ByteReader& in) {
  const uint8_t options_byte = in.Byte();
  quarry::common::v1::Filter proto;
  for (int i = in.Byte() % 4; i > 0; --i) proto.add_all_tags(in.String());
  for (int i = in.Byte() % 4; i > 0; --i) proto.add_any_tags(in.String());
  for (int i = in.Byte() % 3; i > 0; --i) {
    std::string key = in.String();
    (*proto.mutable_metadata_equals())[key] = in.String();
  }
  const Filter filter = FilterFromProto(proto);
  FUZZ_CHECK(filter.all_tags.size() == static_cast<size_t>(proto.all_tags_size()));
  FUZZ_CHECK(filter.any_tags.size() == static_cast<size_t>(proto.any_tags_size()));
  FUZZ_CHECK(filter.metadata_equals.size() == proto.metadata_equals().size());
  FUZZ_CHECK(std::is_sorted(filter.metadata_equals.begin(), filter.metadata_equals.end()));
  FUZZ_CHECK(filter.Empty() == (proto.all_tags_size() == 0 && proto.any_tags_size() == 0 &&
                                proto.metadata_equals().empty()));

  HnswOptions options;
  options.metric = static_cast<Metric>(1 + options_byte % 3);
  options.dimension = kDimension;
  options.m = 4;
  options.ef_construction = 16;
  options.initial_capacity = 8;
  options.exact_below = (options_byte & 0x04) != 0 ? 1000 : 0;
  options.filter_exact_threshold = (options_byte & 0x08) != 0 ? 0 : -1;
  options.rebuild_min_slots = 1u << 20;  // no background rebuild threads here
  // Top three bits: a float graph, an int8 graph once 4 documents arrived, or
  // (6 of 8) int8 before training, with no graph at all. Constructing an
  // hnswlib graph allocates and zeroes 64k mutexes, 100x the rest of an
  // execution under ASan, so most inputs go without one.
  switch (options_byte >> 5) {
    case 0:
      break;
    case 1:
      options.quantize_int8 = true;
      options.quantizer_train_size = 4;
      break;
    default:
      options.quantize_int8 = true;
      options.quantizer_train_size = 1000;
      break;
  }
  absl::StatusOr<std::unique_ptr<HnswIndex>> index = HnswIndex::Create(options);
  FUZZ_CHECK(index.ok());

  std::map<std::string, Doc> live;
  int64_t seq = 0;
  for (int op = 0; op < kMaxOps && !in.empty(); ++op) {
    const uint8_t kind = in.Byte();
    const std::string id = "d" + std::to_string(kind % 8);
    ++seq;
    if ((kind & 0x30) == 0x30) {
      FUZZ_CHECK((*index)->Delete(id, seq).ok());
      live.erase(id);
      continue;
    }
    std::vector<float> vector(kDimension);
    for (float& x : vector) x = static_cast<float>(static_cast<int8_t>(in.Byte())) / 16;
    vector[0] += 0.25f;  // never all zero, so cosine is defined
    Doc doc;
    for (int i = in.Byte() % 4; i > 0; --i) doc.tags.push_back(in.String());
    for (int i = in.Byte() % 3; i > 0; --i) {
      std::string key = in.String();
      doc.metadata[key] = in.String();
    }
    FUZZ_CHECK((*index)->Upsert(id, vector, doc.tags, doc.metadata, seq).ok());
    live[id] = std::move(doc);
  }
  FUZZ_CHECK((*index)->Size() == live.size());

  std::set<std::string> expected;
  for (const auto& [id, doc] : live) {
    const bool reference = ReferenceMatches(proto, doc);
    FUZZ_CHECK(Matches(filter, doc.tags, doc.metadata) == reference);
    if (reference) expected.insert(id);
  }

  SearchRequest request;
  request.query = {1, 0.5f, -0.25f, 0.125f};
  // Small k lets a graph search fill the page without the exact fallback.
  request.k = 1 + (options_byte >> 4) % 10;
  request.filter = filter;
  for (bool exact : {true, false}) {
    request.exact = exact;
    absl::StatusOr<SearchResult> result = (*index)->Search(request);
    FUZZ_CHECK(result.ok());
    std::set<std::string> got;
    for (const Hit& hit : result->hits) FUZZ_CHECK(got.insert(hit.id).second);
    for (const std::string& id : got) FUZZ_CHECK(expected.count(id) == 1);
    FUZZ_CHECK(got.size() <= request.k);
    if (result->exact_used) FUZZ_CHECK(got.size() == std::min(request.k, expected.size()));
  }
}

}  // namespace
}  // namespace quarry::vector_search

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  quarry::vector_search::ByteReader in(data, size);
  quarry::vector_search::Run(in);
  return 0;
}
