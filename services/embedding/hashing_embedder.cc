#include "services/embedding/hashing_embedder.h"

#include <cmath>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/embedding/unicode.h"

namespace quarry::embedding {
namespace {

uint64_t Fnv1a64(absl::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  // FNV's low bits mix poorly for short keys; finish with splitmix64's mixer.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

bool IsPunctuationWord(const std::string& word) {
  const std::vector<char32_t> cps = unicode::DecodeUtf8(word);
  return cps.size() == 1 && unicode::IsPunctuation(cps[0]);
}

// A feature name no word, bigram or trigram can produce (they start "w:",
// "b:" or "c:").
constexpr absl::string_view kEmptyFeature = "e:";

}  // namespace

absl::StatusOr<std::unique_ptr<HashingEmbedder>> HashingEmbedder::Create(uint32_t dimension) {
  if (dimension < 1 || dimension > kMaxDimension) {
    return absl::InvalidArgumentError(absl::StrCat("hashing dimension must be in [1, ",
                                                   kMaxDimension, "], got ", dimension));
  }
  return std::unique_ptr<HashingEmbedder>(new HashingEmbedder(dimension));
}

HashingEmbedder::HashingEmbedder(uint32_t dimension) {
  info_.name = absl::StrCat("hashing-", dimension);
  info_.dimension = dimension;
  info_.max_tokens = 0;
  info_.normalized = true;
  info_.kind = "hashing";
}

std::vector<std::string> HashingEmbedder::Words(absl::string_view text) const {
  std::vector<std::string> words = tokenizer_.Tokenize(text);
  std::erase_if(words, IsPunctuationWord);
  return words;
}

uint32_t HashingEmbedder::CountTokens(absl::string_view text) const {
  return static_cast<uint32_t>(Words(text).size());
}

EmbeddingResult HashingEmbedder::Embed(absl::string_view text) const {
  const std::vector<std::string> words = Words(text);
  absl::flat_hash_map<std::string, int> tf;
  for (size_t i = 0; i < words.size(); ++i) {
    ++tf[absl::StrCat("w:", words[i])];
    if (i + 1 < words.size()) ++tf[absl::StrCat("b:", words[i], " ", words[i + 1])];
    std::vector<char32_t> cps = unicode::DecodeUtf8(words[i]);
    cps.insert(cps.begin(), U'<');
    cps.push_back(U'>');
    for (size_t k = 0; k + 3 <= cps.size(); ++k) {
      std::string gram = "c:";
      for (size_t j = k; j < k + 3; ++j) unicode::AppendUtf8(cps[j], gram);
      ++tf[gram];
    }
  }
  if (tf.empty()) tf[std::string(kEmptyFeature)] = 1;

  EmbeddingResult result;
  result.vector.assign(info_.dimension, 0.0f);
  result.token_count = static_cast<uint32_t>(words.size());
  for (const auto& [feature, count] : tf) {
    const uint64_t h = Fnv1a64(feature);
    const double weight = 1.0 + std::log(static_cast<double>(count));
    const size_t bucket = (h & 0x7fffffffffffffffULL) % info_.dimension;
    result.vector[bucket] += static_cast<float>((h >> 63) ? -weight : weight);
  }
  double norm = 0;
  for (const float v : result.vector) norm += static_cast<double>(v) * v;
  norm = std::sqrt(norm);
  if (norm == 0) {
    // Every feature cancelled out in its bucket (possible, if unlikely, for
    // tiny dimensions): fall back to the reserved feature to keep unit norm.
    const uint64_t h = Fnv1a64(kEmptyFeature);
    result.vector[(h & 0x7fffffffffffffffULL) % info_.dimension] = (h >> 63) ? -1.0f : 1.0f;
    return result;
  }
  for (float& v : result.vector) v = static_cast<float>(v / norm);
  return result;
}

absl::StatusOr<std::vector<EmbeddingResult>> HashingEmbedder::EmbedBatch(
    absl::Span<const absl::string_view> texts) const {
  std::vector<EmbeddingResult> results;
  results.reserve(texts.size());
  for (const absl::string_view text : texts) results.push_back(Embed(text));
  return results;
}

}  // namespace quarry::embedding
