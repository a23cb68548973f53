#ifndef QUARRY_SERVICES_EMBEDDING_HASHING_EMBEDDER_H_
#define QUARRY_SERVICES_EMBEDDING_HASHING_EMBEDDER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/embedding/basic_tokenizer.h"
#include "services/embedding/embedder.h"

namespace quarry::embedding {

// The built-in model: needs no weights, so the suite works on a fresh machine.
// Lexical, not semantic. Features: word unigrams, word bigrams and character
// 3-grams of each word (with "<" and ">" marking its ends), words coming from
// BERT's basic tokenizer (lower-cased, accents stripped, punctuation dropped).
// Each distinct feature weighs 1 + ln(tf) and is added with a sign to one of
// `dimension` buckets chosen by a 64-bit FNV-1a hash (stable across builds and
// machines, since vectors are stored); the vector is then L2-normalised.
// A text with no features (only punctuation, controls or spaces) maps to the
// fixed unit vector of a reserved feature, so every output has unit norm.
class HashingEmbedder : public Embedder {
 public:
  static constexpr uint32_t kDefaultDimension = 384;
  static constexpr uint32_t kMaxDimension = 65536;

  // INVALID_ARGUMENT unless 1 <= dimension <= kMaxDimension.
  static absl::StatusOr<std::unique_ptr<HashingEmbedder>> Create(
      uint32_t dimension = kDefaultDimension);

  const ModelInfo& info() const override { return info_; }
  // The number of words (punctuation excluded).
  uint32_t CountTokens(absl::string_view text) const override;
  absl::StatusOr<std::vector<EmbeddingResult>> EmbedBatch(
      absl::Span<const absl::string_view> texts) const override;

  // One text; what EmbedBatch does per text.
  EmbeddingResult Embed(absl::string_view text) const;

 private:
  explicit HashingEmbedder(uint32_t dimension);
  std::vector<std::string> Words(absl::string_view text) const;

  ModelInfo info_;
  BasicTokenizer tokenizer_;
};

}  // namespace quarry::embedding

#endif  // QUARRY_SERVICES_EMBEDDING_HASHING_EMBEDDER_H_
