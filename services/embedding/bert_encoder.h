#ifndef QUARRY_SERVICES_EMBEDDING_BERT_ENCODER_H_
#define QUARRY_SERVICES_EMBEDDING_BERT_ENCODER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/embedding/embedder.h"
#include "services/embedding/safetensors.h"
#include "services/embedding/wordpiece_tokenizer.h"

namespace quarry::embedding {

// The architecture, from config.json.
struct BertConfig {
  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int intermediate_size = 0;
  int max_positions = 0;
  int type_vocab_size = 0;
  float layer_norm_eps = 1e-12f;
};

enum class BertPooling { kMean, kCls };

// A BERT-family sentence encoder (Hugging Face BertModel + sentence-transformers
// pooling + L2 normalisation) with the forward pass in C++ over OpenBLAS.
// Sequences are not padded: the linear layers run on all tokens of the batch
// stacked into one matrix, attention runs per sequence, so mixed lengths cost
// nothing extra. Weights stay in the memory-mapped safetensors file.
class BertEncoder : public Embedder {
 public:
  // Loads a sentence-transformers model directory: config.json, vocab.txt (or
  // tokenizer.json) with tokenizer_config.json, model.safetensors (F32, F16 or
  // BF16; names with or without a "bert." prefix) and 1_Pooling/config.json
  // (mean or CLS; CLS when the file is absent). The model name is the
  // directory's base name. NOT_FOUND for a missing file, INVALID_ARGUMENT for
  // an unsupported or inconsistent model (naming the tensor or setting).
  static absl::StatusOr<std::unique_ptr<BertEncoder>> Load(const std::string& model_dir);

  const ModelInfo& info() const override { return info_; }
  uint32_t CountTokens(absl::string_view text) const override;
  absl::StatusOr<std::vector<EmbeddingResult>> EmbedBatch(
      absl::Span<const absl::string_view> texts) const override;

  // Runs the model on already tokenized sequences (each 1..max_tokens ids
  // below vocab_size, as WordPieceTokenizer::Encode gives); returns one pooled,
  // L2-normalised vector per sequence. INVALID_ARGUMENT for an empty or too
  // long sequence or an out-of-range id.
  absl::StatusOr<std::vector<std::vector<float>>> Forward(
      absl::Span<const std::vector<int32_t>> sequences) const;

  const WordPieceTokenizer& tokenizer() const { return *tokenizer_; }
  const BertConfig& config() const { return config_; }
  BertPooling pooling() const { return pooling_; }

 private:
  struct Layer {
    FloatTensor q_w, q_b, k_w, k_b, v_w, v_b;
    FloatTensor attn_out_w, attn_out_b, attn_ln_g, attn_ln_b;
    FloatTensor inter_w, inter_b, out_w, out_b, out_ln_g, out_ln_b;
  };

  BertEncoder() = default;
  absl::Status LoadWeights();

  ModelInfo info_;
  BertConfig config_;
  BertPooling pooling_ = BertPooling::kCls;
  std::unique_ptr<WordPieceTokenizer> tokenizer_;
  std::unique_ptr<SafetensorsFile> weights_file_;
  FloatTensor word_emb_, pos_emb_, type_emb_, emb_ln_g_, emb_ln_b_;
  std::vector<Layer> layers_;
};

// Parses config.json's architecture fields. INVALID_ARGUMENT naming a missing
// or inconsistent field (e.g. hidden_size not divisible by the head count).
absl::StatusOr<BertConfig> ParseBertConfig(const std::string& path);

// Reads 1_Pooling/config.json under `model_dir` (CLS when it is absent).
absl::StatusOr<BertPooling> ReadPooling(const std::string& model_dir);

}  // namespace quarry::embedding

#endif  // QUARRY_SERVICES_EMBEDDING_BERT_ENCODER_H_
