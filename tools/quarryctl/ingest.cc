#include "tools/quarryctl/ingest.h"

#include <cstdio>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace quarry::ctl {

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
      new DocumentReader(std::move(in), csv, static_cast<int64_t>(size)));
  if (csv) {
    auto header = reader->ReadCsvRecord();
    if (!header.ok()) return header.status();
    if (!header->has_value()) return absl::InvalidArgumentError("empty CSV file");
    reader->header_ = **header;
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
  in_.clear();
  in_.seekg(offset);
  offset_ = offset;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<InputDocument>> DocumentReader::Next() {
  return csv_ ? NextCsv() : NextJson();
}

absl::StatusOr<std::optional<InputDocument>> DocumentReader::NextJson() {
  std::string line;
  while (std::getline(in_, line)) {
    ++line_;
    offset_ = in_.eof() ? size_bytes_ : static_cast<int64_t>(in_.tellg());
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_, ": ", why));
    };
    if (json.is_discarded() || !json.is_object()) return bad("not a JSON object");
    InputDocument doc;
    if (!json.contains("id") || !json["id"].is_string()) return bad("\"id\" must be a string");
    if (!json.contains("text") || !json["text"].is_string()) return bad("\"text\" must be a string");
    doc.id = json["id"].get<std::string>();
    doc.text = json["text"].get<std::string>();
    if (json.contains("metadata")) {
      if (!json["metadata"].is_object()) return bad("\"metadata\" must be an object");
      for (const auto& [key, value] : json["metadata"].items()) {
        doc.metadata[key] = value.is_string() ? value.get<std::string>() : value.dump();
      }
    }
    if (json.contains("tags")) {
      if (!json["tags"].is_array()) return bad("\"tags\" must be an array of strings");
      for (const auto& tag : json["tags"]) {
        if (!tag.is_string()) return bad("\"tags\" must be an array of strings");
        doc.tags.push_back(tag.get<std::string>());
      }
    }
    return doc;
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
  if (quoted) return absl::InvalidArgumentError(absl::StrCat("line ", line_, ": unclosed quote"));
  if (!any) return std::nullopt;
  fields.push_back(std::move(field));
  return fields;
}

absl::StatusOr<std::optional<InputDocument>> DocumentReader::NextCsv() {
  while (true) {
    auto record = ReadCsvRecord();
    if (!record.ok()) return record.status();
    offset_ = in_.eof() ? size_bytes_ : static_cast<int64_t>(in_.tellg());
    if (!record->has_value()) return std::nullopt;
    const auto& fields = **record;
    if (fields.size() == 1 && fields[0].empty()) continue;  // Blank line.
    if (fields.size() != header_.size()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_, ": ", fields.size(),
                                                     " fields, the header has ", header_.size()));
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

std::string CheckpointPath(const std::string& input_path) {
  return input_path + ".checkpoint";
}

int64_t ReadCheckpoint(const std::string& input_path) {
  std::ifstream in(CheckpointPath(input_path));
  std::string text;
  int64_t offset = 0;
  if (in >> text && absl::SimpleAtoi(text, &offset) && offset >= 0) return offset;
  return 0;
}

absl::Status WriteCheckpoint(const std::string& input_path, int64_t offset) {
  const std::string path = CheckpointPath(input_path);
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << offset << "\n";
    if (!out.flush()) return absl::InternalError(absl::StrCat("cannot write ", temp));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", temp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace quarry::ctl
