#ifndef QUARRY_TOOLS_QUARRYCTL_INGEST_H_
#define QUARRY_TOOLS_QUARRYCTL_INGEST_H_

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quarry::ctl {

// One document read from an input file.
struct InputDocument {
  std::string id;
  std::string text;
  std::map<std::string, std::string> metadata;
  std::vector<std::string> tags;
  // A precomputed vector; empty: the server embeds the text.
  std::vector<float> vector;
};

// Parses one JSONL object: {"id": string or integer (sent as its decimal
// string), "text": string, optional "metadata": {string: any (non-strings as
// JSON)}, optional "tags": [string], optional "vector": [number]}.
// INVALID_ARGUMENT names the offending field (the caller adds file:line).
absl::StatusOr<InputDocument> ParseJsonDocument(absl::string_view line);

// Reads documents from JSONL (ParseJsonDocument, one object per line) or CSV
// (a header row naming columns id, text and optionally tags (separated by
// '|'); every other column becomes metadata). Tracks the byte offset after
// the last record read, so ingestion can resume from a checkpoint. After a
// bad record, Next() continues with the one after it (for --skip_bad).
class DocumentReader {
 public:
  // Format from the extension (.jsonl/.ndjson or .csv) unless given ("jsonl", "csv").
  static absl::StatusOr<std::unique_ptr<DocumentReader>> Open(const std::string& path,
                                                              const std::string& format = "");

  // The next document; nullopt at the end. INVALID_ARGUMENT starts with
  // "<path>:<line>: " and names the field.
  absl::StatusOr<std::optional<InputDocument>> Next();

  // Byte offset just after the last record read (good or bad).
  int64_t offset() const { return offset_; }
  // Continues reading at `offset` (from a checkpoint).
  absl::Status Seek(int64_t offset);
  int64_t size_bytes() const { return size_bytes_; }

 private:
  DocumentReader(std::string path, std::ifstream in, bool csv, int64_t size)
      : path_(std::move(path)), in_(std::move(in)), csv_(csv), size_bytes_(size) {}
  absl::StatusOr<std::optional<InputDocument>> NextJson();
  absl::StatusOr<std::optional<InputDocument>> NextCsv();
  // One CSV record (RFC 4180: quoted fields may hold commas, quotes and newlines).
  absl::StatusOr<std::optional<std::vector<std::string>>> ReadCsvRecord();
  absl::Status Bad(int64_t line, absl::string_view why) const;

  const std::string path_;
  std::ifstream in_;
  const bool csv_;
  const int64_t size_bytes_;
  int64_t offset_ = 0;
  int64_t line_ = 0;  // physical lines consumed (also after a Seek)
  std::vector<std::string> header_;
};

// What a checkpoint belongs to: one input file, as it was when ingestion
// started, going to one collection on one target. A checkpoint of another
// target or collection is a different file; one of the same file that has
// since changed (size or mtime) is not resumed.
struct CheckpointKey {
  std::string target;
  std::string collection;
  std::string path;  // absolute
  int64_t size_bytes = 0;
  int64_t mtime_ns = 0;
};

// Stats `input_path` (INVALID_ARGUMENT / NOT_FOUND if it cannot).
absl::StatusOr<CheckpointKey> MakeCheckpointKey(const std::string& target,
                                                const std::string& collection,
                                                const std::string& input_path);

// "<input path>.<16 hex digits>.checkpoint": the digits are a stable hash of
// the target, the collection and the absolute path, so each destination of
// one file has its own checkpoint next to it.
std::string CheckpointPath(const CheckpointKey& key);

struct CheckpointState {
  int64_t offset = 0;  // where to continue; 0: from the start
  // Empty when there was no checkpoint; else what was found, for the user
  // ("resuming ... at byte N", or why it starts over).
  std::string message;
};

// The checkpoint of `key`: its offset if it was written for this file as it
// is now; offset 0 with a message if the file changed or the checkpoint is
// unreadable.
CheckpointState ReadCheckpoint(const CheckpointKey& key);
// Replaces the checkpoint atomically (written after every acknowledged batch).
absl::Status WriteCheckpoint(const CheckpointKey& key, int64_t offset);

// --batch: documents per UpsertDocuments call, checked against the
// gateway's per-request limit when the flag is parsed.
struct BatchSize {
  int value = 100;
};
bool AbslParseFlag(absl::string_view text, BatchSize* batch, std::string* error);
std::string AbslUnparseFlag(BatchSize batch);

}  // namespace quarry::ctl

#endif  // QUARRY_TOOLS_QUARRYCTL_INGEST_H_
