#include "tools/quarryctl/ingest.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "services/common/model/limits.h"
#include "services/common/status/macros.h"

namespace quarry::ctl {

namespace {

// "array", "string", ...: what a user sees in the file.
std::string JsonTypeName(const nlohmann::json& value) { return value.type_name(); }

}  // namespace

absl::StatusOr<InputDocument> ParseJsonDocument(absl::string_view line) {
  const nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (!json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a JSON object, got ", JsonTypeName(json)));
  }
  auto bad = [](absl::string_view field, absl::string_view want, const nlohmann::json& got) {
    return absl::InvalidArgumentError(
        absl::StrCat("field \"", field, "\" must be ", want, ", got ", JsonTypeName(got)));
  };
  InputDocument doc;
  if (!json.contains("id")) return absl::InvalidArgumentError("field \"id\" is missing");
  const auto& id = json["id"];
  if (id.is_string()) {
    doc.id = id.get<std::string>();
  } else if (id.is_number_integer()) {
    doc.id = id.dump();  // The decimal digits, as the user wrote them.
  } else {
    return bad("id", "a string or an integer", id);
  }
  if (!json.contains("text")) return absl::InvalidArgumentError("field \"text\" is missing");
  if (!json["text"].is_string()) return bad("text", "a string", json["text"]);
  doc.text = json["text"].get<std::string>();
  if (json.contains("metadata")) {
    const auto& metadata = json["metadata"];
    if (!metadata.is_object()) return bad("metadata", "an object", metadata);
    for (const auto& [key, value] : metadata.items()) {
      doc.metadata[key] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  if (json.contains("tags")) {
    const auto& tags = json["tags"];
    if (!tags.is_array()) return bad("tags", "an array of strings", tags);
    for (size_t i = 0; i < tags.size(); ++i) {
      if (!tags[i].is_string()) {
        return bad(absl::StrCat("tags[", i, "]"), "a string", tags[i]);
      }
      doc.tags.push_back(tags[i].get<std::string>());
    }
  }
  if (json.contains("vector")) {
    const auto& vector = json["vector"];
    if (!vector.is_array() || vector.empty()) {
      return bad("vector", "a non-empty array of numbers", vector);
    }
    for (size_t i = 0; i < vector.size(); ++i) {
      if (!vector[i].is_number()) {
        return bad(absl::StrCat("vector[", i, "]"), "a number", vector[i]);
      }
      const float value = vector[i].get<float>();
      if (!std::isfinite(value)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "field \"vector[", i, "]\" is outside the range of a 32-bit float: ", vector[i].dump()));
      }
      doc.vector.push_back(value);
    }
  }
  return doc;
}

absl::StatusOr<std::unique_ptr<DocumentReader>> DocumentReader::Open(const std::string& path,
                                                                     const std::string& format) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  std::ifstream in(path, std::ios::binary);
  if (error || !in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  bool csv;
  if (format == "csv" || (format.empty() && absl::EndsWith(path, ".csv"))) {
    csv = true;
  } else if (format == "jsonl" || (format.empty() && (absl::EndsWith(path, ".jsonl") ||
                                                      absl::EndsWith(path, ".ndjson")))) {
    csv = false;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot tell the format of ", path, ": use .jsonl or .csv, or --format"));
  }
  auto reader = std::unique_ptr<DocumentReader>(
      new DocumentReader(path, std::move(in), csv, static_cast<int64_t>(size)));
  if (csv) {
    QUARRY_ASSIGN_OR_RETURN(auto header, reader->ReadCsvRecord());
    if (!header.has_value()) return absl::InvalidArgumentError("empty CSV file");
    reader->header_ = *header;
    bool has_id = false, has_text = false;
    for (const auto& column : reader->header_) {
      has_id |= column == "id";
      has_text |= column == "text";
    }
    if (!has_id || !has_text) {
      return absl::InvalidArgumentError("CSV header must name the columns id and text");
    }
    reader->offset_ = reader->in_.tellg();
  }
  return reader;
}

absl::Status DocumentReader::Seek(int64_t offset) {
  if (offset < offset_ || offset > size_bytes_) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint offset ", offset,
                                                   " is outside the input (", size_bytes_,
                                                   " bytes)"));
  }
  // Count the lines before `offset` so error messages keep naming file:line.
  in_.clear();
  in_.seekg(offset_);
  for (int64_t at = offset_; at < offset; ++at) {
    if (in_.get() == '\n') ++line_;
  }
  in_.clear();
  in_.seekg(offset);
  offset_ = offset;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<InputDocument>> DocumentReader::Next() {
  return csv_ ? NextCsv() : NextJson();
}

absl::Status DocumentReader::Bad(int64_t line, absl::string_view why) const {
  return absl::InvalidArgumentError(absl::StrCat(path_, ":", line, ": ", why));
}

absl::StatusOr<std::optional<InputDocument>> DocumentReader::NextJson() {
  std::string line;
  while (std::getline(in_, line)) {
    ++line_;
    offset_ = in_.eof() ? size_bytes_ : static_cast<int64_t>(in_.tellg());
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto doc = ParseJsonDocument(line);
    if (!doc.ok()) return Bad(line_, doc.status().message());
    return *std::move(doc);
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<std::vector<std::string>>> DocumentReader::ReadCsvRecord() {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false, any = false, field_started = false;
  char c;
  while (in_.get(c)) {
    any = true;
    if (quoted) {
      if (c == '"') {
        if (in_.peek() == '"') {
          in_.get(c);
          field.push_back('"');
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line_;
        field.push_back(c);
      }
    } else if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\n') {
      ++line_;
      break;
    } else if (c != '\r') {
      field.push_back(c);
      field_started = true;
    }
  }
  if (quoted) return Bad(line_, "unclosed quote");
  if (!any) return std::nullopt;
  fields.push_back(std::move(field));
  return fields;
}

absl::StatusOr<std::optional<InputDocument>> DocumentReader::NextCsv() {
  while (true) {
    const int64_t first_line = line_ + 1;  // a quoted field may span lines
    QUARRY_ASSIGN_OR_RETURN(auto record, ReadCsvRecord());
    offset_ = in_.eof() ? size_bytes_ : static_cast<int64_t>(in_.tellg());
    if (!record.has_value()) return std::nullopt;
    const auto& fields = *record;
    if (fields.size() == 1 && fields[0].empty()) continue;  // Blank line.
    if (fields.size() != header_.size()) {
      return Bad(first_line,
                 absl::StrCat(fields.size(), " fields, the header has ", header_.size()));
    }
    InputDocument doc;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (header_[i] == "id") {
        doc.id = fields[i];
      } else if (header_[i] == "text") {
        doc.text = fields[i];
      } else if (header_[i] == "tags") {
        for (absl::string_view tag : absl::StrSplit(fields[i], '|', absl::SkipEmpty())) {
          doc.tags.emplace_back(tag);
        }
      } else {
        doc.metadata[header_[i]] = fields[i];
      }
    }
    return doc;
  }
}

namespace {

// A stable 64-bit FNV-1a hash: checkpoint names must not change between
// builds or runs (absl::Hash is salted per process).
uint64_t Fnv1a(absl::string_view data, uint64_t hash = 14695981039346656037ull) {
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace

absl::StatusOr<CheckpointKey> MakeCheckpointKey(const std::string& target,
                                                const std::string& collection,
                                                const std::string& input_path) {
  struct stat st;
  if (::stat(input_path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot stat ", input_path));
  }
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(input_path, error);
  if (error) return absl::InvalidArgumentError(absl::StrCat("cannot resolve ", input_path));
  CheckpointKey key;
  key.target = target;
  key.collection = collection;
  key.path = absolute.lexically_normal().string();
  key.size_bytes = static_cast<int64_t>(st.st_size);
  key.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return key;
}

std::string CheckpointPath(const CheckpointKey& key) {
  // NUL separators: no field can contain one, so distinct keys hash distinct inputs.
  uint64_t hash = Fnv1a(key.target);
  hash = Fnv1a(absl::string_view("\0", 1), hash);
  hash = Fnv1a(key.collection, hash);
  hash = Fnv1a(absl::string_view("\0", 1), hash);
  hash = Fnv1a(key.path, hash);
  return absl::StrCat(key.path, ".", absl::Hex(hash, absl::kZeroPad16), ".checkpoint");
}

CheckpointState ReadCheckpoint(const CheckpointKey& key) {
  const std::string path = CheckpointPath(key);
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, false);
  auto field = [&](const char* name) -> const nlohmann::json* {
    if (!json.is_object() || !json.contains(name)) return nullptr;
    return &json[name];
  };
  const auto* target = field("target");
  const auto* collection = field("collection");
  const auto* input = field("path");
  const auto* size = field("size_bytes");
  const auto* mtime = field("mtime_ns");
  const auto* offset = field("offset");
  if (target == nullptr || !target->is_string() || collection == nullptr ||
      !collection->is_string() || input == nullptr || !input->is_string() || size == nullptr ||
      !size->is_number_integer() || mtime == nullptr || !mtime->is_number_integer() ||
      offset == nullptr || !offset->is_number_integer()) {
    return {0, absl::StrCat("ignoring unreadable checkpoint ", path, ": starting over")};
  }
  if (target->get<std::string>() != key.target ||
      collection->get<std::string>() != key.collection ||
      input->get<std::string>() != key.path) {
    // A hash collision: another destination's checkpoint.
    return {0, absl::StrCat("checkpoint ", path, " belongs to another target, collection or "
                            "file: starting over")};
  }
  if (size->get<int64_t>() != key.size_bytes || mtime->get<int64_t>() != key.mtime_ns) {
    return {0, absl::StrCat(key.path, " changed since checkpoint ", path, " was written (size ",
                            size->get<int64_t>(), " -> ", key.size_bytes,
                            " bytes, or its mtime): starting over from the beginning")};
  }
  const int64_t at = offset->get<int64_t>();
  if (at < 0 || at > key.size_bytes) {
    return {0, absl::StrCat("ignoring checkpoint ", path, " (offset ", at,
                            " is outside the file): starting over")};
  }
  return {at, absl::StrCat("resuming ", key.path, " at byte ", at, " of ", key.size_bytes,
                           " (checkpoint ", path, "; --resume=false starts over)")};
}

absl::Status WriteCheckpoint(const CheckpointKey& key, int64_t offset) {
  const std::string path = CheckpointPath(key);
  const std::string temp = path + ".tmp";
  const nlohmann::json json = {{"target", key.target},         {"collection", key.collection},
                               {"path", key.path},             {"size_bytes", key.size_bytes},
                               {"mtime_ns", key.mtime_ns},     {"offset", offset}};
  {
    std::ofstream out(temp, std::ios::trunc);
    out << json.dump() << "\n";
    if (!out.flush()) return absl::InternalError(absl::StrCat("cannot write ", temp));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", temp, " to ", path));
  }
  return absl::OkStatus();
}

bool AbslParseFlag(absl::string_view text, BatchSize* batch, std::string* error) {
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 1 ||
      value > quarry::model::kMaxDocumentsPerRequest) {
    *error = absl::StrCat("--batch must be an integer from 1 to ",
                          quarry::model::kMaxDocumentsPerRequest,
                          ", the gateway's limit of documents per UpsertDocuments request; got \"",
                          text, "\"");
    return false;
  }
  batch->value = value;
  return true;
}

std::string AbslUnparseFlag(BatchSize batch) { return absl::StrCat(batch.value); }

}  // namespace quarry::ctl
