#ifndef QUARRY_SERVICES_VECTOR_SEARCH_SNAPSHOT_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/vector_search/filter.h"
#include "services/vector_search/vector_index.h"

namespace quarry::vector_search {

// One index slot. Without a graph only live documents are written; with a
// graph every slot is, in slot order, because graph node i is slot i.
struct SnapshotDoc {
  std::string id;  // empty for a dead slot
  // dimension floats, or empty when the graph section carries the vectors.
  std::vector<float> vector;
  Tags tags;
  Metadata metadata;
  int64_t seq = 0;
  bool live = true;
};

struct SnapshotData {
  Metric metric = Metric::kCosine;
  uint32_t dimension = 0;
  // Every change with seq <= watermark is reflected; tail from watermark + 1.
  int64_t watermark = 0;
  std::vector<SnapshotDoc> docs;
  // Opaque, index-specific serialized graph; empty means "rebuild on load".
  std::string graph;
};

// Byte format, little-endian: header {magic "QVSNAP01", u32 version, u32
// metric, u32 dimension, u32 reserved, i64 watermark, u64 doc count, u64 graph
// bytes}, the documents, the graph bytes, then a CRC-32C of everything before.
std::string EncodeSnapshot(const SnapshotData& data);

// Validates and parses. INVALID_ARGUMENT for something that is not a snapshot
// of a version we read (magic, version); DATA_LOSS for truncation, checksum
// mismatch or inconsistent content (e.g. a dead or vector-less document
// without a graph section, a dead slot with a vector with one). Never trusts a length from the input
// beyond the bytes remaining, so arbitrary input is safe.
absl::StatusOr<SnapshotData> DecodeSnapshot(std::string_view bytes);

// Writes atomically: a temporary file in the same directory, fsync, rename
// over `path`, fsync the directory. On error `path` is left as it was.
absl::Status WriteSnapshotFile(const std::string& path,
                               const SnapshotData& data);

// Writes `bytes` to `path` the same atomic way (used for snapshot manifests).
absl::Status WriteFileAtomically(const std::string& path, std::string_view bytes);

// Reads and decodes; NOT_FOUND when the file does not exist.
absl::StatusOr<SnapshotData> ReadSnapshotFile(const std::string& path);

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_SNAPSHOT_H_
