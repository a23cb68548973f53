// Fuzzes the vector-search snapshot loader: DecodeSnapshot (services/
// vector_search/snapshot.h), the parser behind ReadSnapshotFile, and then
// HnswIndex::FromSnapshot, which restores the serialized HNSW graph section
// a replica loads at start, followed by searches over the restored graph.
//
// Random bytes almost never carry a valid CRC-32C, so each input is decoded
// twice: as given (the checksum must reject it unless it happens to be
// right) and with its last four bytes replaced by the checksum of the rest,
// which lets mutations reach the document and graph parsers.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fuzz/fuzz_check.h"
#include "services/vector_search/crc32c.h"
#include "services/vector_search/hnsw_index.h"
#include "services/vector_search/snapshot.h"

namespace quarry::vector_search {
namespace {

// Bounds the work per input (an index build is O(n log n) distance calls).
constexpr size_t kMaxIndexedValues = 64 * 1024;

void CheckSameSnapshot(const SnapshotData& a, const SnapshotData& b) {
  FUZZ_CHECK(a.metric == b.metric && a.dimension == b.dimension && a.watermark == b.watermark);
  FUZZ_CHECK(a.graph == b.graph);
  FUZZ_CHECK(a.docs.size() == b.docs.size());
  for (size_t i = 0; i < a.docs.size(); ++i) {
    const SnapshotDoc& x = a.docs[i];
    const SnapshotDoc& y = b.docs[i];
    FUZZ_CHECK(x.id == y.id && x.tags == y.tags && x.metadata == y.metadata);
    FUZZ_CHECK(x.seq == y.seq && x.live == y.live);
    FUZZ_CHECK(x.vector.size() == y.vector.size());
    FUZZ_CHECK(x.vector.empty() ||
               std::memcmp(x.vector.data(), y.vector.data(), x.vector.size() * sizeof(float)) == 0);
  }
}

void CheckDecoded(const SnapshotData& data) {
  FUZZ_CHECK(data.dimension >= 1 && data.dimension <= 4096);
  for (const SnapshotDoc& doc : data.docs) {
    FUZZ_CHECK(doc.live != doc.id.empty());
    FUZZ_CHECK(doc.vector.empty() || doc.vector.size() == data.dimension);
    for (float x : doc.vector) FUZZ_CHECK(std::isfinite(x));
  }
  // What decodes re-encodes to something that decodes to the same.
  absl::StatusOr<SnapshotData> again = DecodeSnapshot(EncodeSnapshot(data));
  FUZZ_CHECK(again.ok());
  CheckSameSnapshot(data, *again);
}

void LoadIntoIndex(SnapshotData data) {
  if (static_cast<size_t>(data.dimension) * data.docs.size() > kMaxIndexedValues) return;
  HnswOptions options;
  options.metric = data.metric;
  options.dimension = data.dimension;
  options.initial_capacity = 16;
  options.exact_below = 0;  // searches below use the restored graph
  options.quantizer_train_size = 8;
  // The graph section says whether it holds int8 codes (byte 4, after the format).
  options.quantize_int8 = data.graph.size() > 4 && data.graph[4] == 1;
  size_t live = 0;
  for (const SnapshotDoc& doc : data.docs) live += doc.live ? 1 : 0;
  const int64_t watermark = data.watermark;

  absl::StatusOr<std::unique_ptr<HnswIndex>> index = HnswIndex::FromSnapshot(options, std::move(data));
  if (!index.ok()) {
    const absl::StatusCode code = index.status().code();
    FUZZ_CHECK(code == absl::StatusCode::kDataLoss ||
               code == absl::StatusCode::kInvalidArgument ||
               code == absl::StatusCode::kResourceExhausted);
    return;
  }
  FUZZ_CHECK((*index)->Size() <= live);
  FUZZ_CHECK((*index)->Watermark() == watermark);
  for (bool exact : {false, true}) {
    SearchRequest request;
    request.query.assign(options.dimension, 0.5f);
    request.query[0] = 1;
    request.k = 5;
    request.exact = exact;
    absl::StatusOr<SearchResult> result = (*index)->Search(request);
    FUZZ_CHECK(result.ok());
    FUZZ_CHECK(result->hits.size() <= request.k);
    FUZZ_CHECK(result->hits.size() <= (*index)->Size());
    std::set<std::string> ids;
    for (const Hit& hit : result->hits) {
      FUZZ_CHECK(!hit.id.empty());
      FUZZ_CHECK(ids.insert(hit.id).second);
    }
  }
}

}  // namespace
}  // namespace quarry::vector_search

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quarry::vector_search;  // NOLINT: one function
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<SnapshotData> as_given = DecodeSnapshot(raw);
  if (as_given.ok()) {
    CheckDecoded(*as_given);
  } else {
    const absl::StatusCode code = as_given.status().code();
    FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kDataLoss);
  }
  if (size < 4) return 0;
  std::string fixed(raw);
  const uint32_t crc = Crc32c(fixed.data(), fixed.size() - 4);
  std::memcpy(fixed.data() + fixed.size() - 4, &crc, sizeof(crc));
  absl::StatusOr<SnapshotData> decoded = DecodeSnapshot(fixed);
  if (!decoded.ok()) {
    const absl::StatusCode code = decoded.status().code();
    FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kDataLoss);
    return 0;
  }
  CheckDecoded(*decoded);
  LoadIntoIndex(*std::move(decoded));
  return 0;
}
