#ifndef QUARRY_TOOLS_QUARRYCTL_INGEST_H_
#define QUARRY_TOOLS_QUARRYCTL_INGEST_H_

#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace quarry::ctl {

// One document read from an input file.
struct InputDocument {
  std::string id;
  std::string text;
  std::map<std::string, std::string> metadata;
  std::vector<std::string> tags;
};

// Reads documents from JSONL (one object per line: {"id", "text", optional
// "metadata": {string: string}, optional "tags": [string]}) or CSV (a header
// row naming columns id, text and optionally tags (separated by '|'); every
// other column becomes metadata). Tracks the byte offset after the last
// document returned, so ingestion can resume from a checkpoint.
class DocumentReader {
 public:
  // Format from the extension (.jsonl/.ndjson or .csv) unless given ("jsonl", "csv").
  static absl::StatusOr<std::unique_ptr<DocumentReader>> Open(const std::string& path,
                                                              const std::string& format = "");

  // The next document; nullopt at the end. INVALID_ARGUMENT names the line.
  absl::StatusOr<std::optional<InputDocument>> Next();

  // Byte offset just after the last document returned.
  int64_t offset() const { return offset_; }
  // Continues reading at `offset` (from a checkpoint).
  absl::Status Seek(int64_t offset);
  int64_t size_bytes() const { return size_bytes_; }

 private:
  DocumentReader(std::ifstream in, bool csv, int64_t size) :
      in_(std::move(in)), csv_(csv), size_bytes_(size) {}
  absl::StatusOr<std::optional<InputDocument>> NextJson();
  absl::StatusOr<std::optional<InputDocument>> NextCsv();
  // One CSV record (RFC 4180: quoted fields may hold commas, quotes and newlines).
  absl::StatusOr<std::optional<std::vector<std::string>>> ReadCsvRecord();

  std::ifstream in_;
  const bool csv_;
  const int64_t size_bytes_;
  int64_t offset_ = 0;
  int64_t line_ = 0;
  std::vector<std::string> header_;
};

// A checkpoint is the input's byte offset, stored next to it in
// "<path>.checkpoint" and replaced atomically after every acknowledged batch.
std::string CheckpointPath(const std::string& input_path);
int64_t ReadCheckpoint(const std::string& input_path);
absl::Status WriteCheckpoint(const std::string& input_path, int64_t offset);

}  // namespace quarry::ctl

#endif  // QUARRY_TOOLS_QUARRYCTL_INGEST_H_
