#include "bench/vector_search/debian_data.h"

#include <stdio.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/embedding/hashing_embedder.h"

namespace quarry::bench {

namespace {

// Package descriptions, short and long, from apt's Translation-en indexes
// (present after `apt-get update -o Acquire::Languages=en`; bench/vector_search/
// run.sh fetches them), read through apt-helper, which decompresses them.
std::vector<std::string> ReadTranslationDescriptions() {
  std::vector<std::string> descriptions;
  const std::filesystem::path lists = "/var/lib/apt/lists";
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(lists, error)) {
    const std::string name = entry.path().filename().string();
    if (name.find("_i18n_Translation-en") == std::string::npos) continue;
    const std::string command = "/usr/lib/apt/apt-helper cat-file '" + entry.path().string() + "'";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) continue;
    char* line = nullptr;
    size_t capacity = 0;
    bool in_description = false;
    while (getline(&line, &capacity, pipe) > 0) {
      absl::string_view text = absl::StripTrailingAsciiWhitespace(line);
      if (absl::ConsumePrefix(&text, "Description-en:")) {
        descriptions.emplace_back(absl::StripAsciiWhitespace(text));
        descriptions.back().append(".");
        in_description = true;
      } else if (in_description && absl::StartsWith(text, " ")) {
        text = absl::StripAsciiWhitespace(text);
        if (text != ".") absl::StrAppend(&descriptions.back(), " ", text);
      } else {
        in_description = false;
      }
    }
    free(line);
    pclose(pipe);
  }
  return descriptions;
}

}  // namespace

absl::StatusOr<vector_search::ClusteredData> MakeDebianData(size_t count, size_t queries,
                                                            size_t dimension) {
  std::vector<std::string> sentences;
  absl::flat_hash_set<std::string> seen;
  for (const std::string& description : ReadTranslationDescriptions()) {
    for (absl::string_view sentence : absl::StrSplit(description, ". ")) {
      sentence = absl::StripAsciiWhitespace(sentence);
      const size_t words =
          std::count(sentence.begin(), sentence.end(), ' ') + (sentence.empty() ? 0 : 1);
      if (words < 4) continue;
      if (seen.insert(std::string(sentence)).second) sentences.emplace_back(sentence);
    }
  }
  if (sentences.size() < count + queries) {
    return absl::FailedPreconditionError(
        absl::StrCat("apt's Translation-en indexes hold ", sentences.size(),
                     " distinct sentences of 4+ words, ", count + queries,
                     " wanted (fetch them with apt-get update -o Acquire::Languages=en)"));
  }
  std::mt19937_64 rng(42);
  std::shuffle(sentences.begin(), sentences.end(), rng);
  auto embedder = embedding::HashingEmbedder::Create(static_cast<uint32_t>(dimension));
  if (!embedder.ok()) return embedder.status();
  vector_search::ClusteredData data;
  data.dimension = dimension;
  data.queries.reserve(queries * dimension);
  data.vectors.reserve(count * dimension);
  for (size_t i = 0; i < count + queries; ++i) {
    const std::vector<float> v = (*embedder)->Embed(sentences[i]).vector;
    auto& out = i < queries ? data.queries : data.vectors;
    out.insert(out.end(), v.begin(), v.end());
  }
  return data;
}

}  // namespace quarry::bench
