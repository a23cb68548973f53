#ifndef QUARRY_SERVICES_EMBEDDING_EMBEDDER_H_
#define QUARRY_SERVICES_EMBEDDING_EMBEDDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace quarry::embedding {

// What GetModelInfo reports; fixed for the lifetime of an Embedder.
struct ModelInfo {
  // "hashing-384", "all-MiniLM-L6-v2", ...: the name collections are bound to.
  std::string name;
  // Length of every vector.
  uint32_t dimension = 0;
  // Longest input in tokens, special tokens included; 0 means no limit.
  uint32_t max_tokens = 0;
  // Whether every vector has unit L2 norm.
  bool normalized = true;
  // "hashing" (lexical, no weights) or "transformer" (pretrained encoder).
  std::string kind;
};

struct EmbeddingResult {
  // ModelInfo::dimension values.
  std::vector<float> vector;
  // Whether the text was cut to ModelInfo::max_tokens.
  bool truncated = false;
  // Tokens the model saw (after truncation, special tokens included).
  uint32_t token_count = 0;
};

// Text -> vector. Implementations are immutable after construction and safe to
// call from several threads at once. Request limits (count, size, UTF-8) are
// the caller's job (see validation.h): an Embedder accepts any bytes, dropping
// what its tokenizer cannot use, so a batch of unrelated requests assembled by
// a batcher never fails because of one text.
class Embedder {
 public:
  virtual ~Embedder() = default;

  virtual const ModelInfo& info() const = 0;

  // Tokens `text` occupies in a forward pass (what EmbedBatch reports as
  // token_count), computed without running the model, so that a batcher can
  // bound its batches by a token budget. Cost: one tokenization.
  virtual uint32_t CountTokens(absl::string_view text) const = 0;

  // Embeds every text; the result has one entry per text, in order. A batch
  // may mix lengths (the encoder does not pad). Fails only on internal errors
  // (e.g. out of memory), never because of a text's content.
  virtual absl::StatusOr<std::vector<EmbeddingResult>> EmbedBatch(
      absl::Span<const absl::string_view> texts) const = 0;
};

}  // namespace quarry::embedding

#endif  // QUARRY_SERVICES_EMBEDDING_EMBEDDER_H_
