#include "services/embedding/bert_encoder.h"

#include <cblas.h>

#include <cmath>
#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/status/macros.h"
#include "services/embedding/bert_ops.h"
#include "services/embedding/json_file.h"

namespace quarry::embedding {
namespace {

namespace fs = std::filesystem;

absl::Status CheckShape(absl::string_view name, const FloatTensor& t,
                        std::initializer_list<int64_t> expected) {
  if (t.shape == std::vector<int64_t>(expected)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("tensor ", name, " has shape [",
                                                 absl::StrJoin(t.shape, ", "), "], expected [",
                                                 absl::StrJoin(expected, ", "), "]"));
}

}  // namespace

absl::StatusOr<BertConfig> ParseBertConfig(const std::string& path) {
  QUARRY_ASSIGN_OR_RETURN(nlohmann::json json, ReadJsonObject(path));
  BertConfig config;
  const auto get_int = [&](const char* key, int* field, int64_t min) -> absl::Status {
    std::optional<int64_t> v = JsonInt(json, key);
    if (!v.has_value() || *v < min || *v > (1 << 24)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", key, " must be an integer >= ", min));
    }
    *field = static_cast<int>(*v);
    return absl::OkStatus();
  };
  for (auto [key, field, min] : {std::tuple{"vocab_size", &config.vocab_size, 1},
                                 std::tuple{"hidden_size", &config.hidden_size, 1},
                                 std::tuple{"num_hidden_layers", &config.num_layers, 1},
                                 std::tuple{"num_attention_heads", &config.num_heads, 1},
                                 std::tuple{"intermediate_size", &config.intermediate_size, 1},
                                 std::tuple{"max_position_embeddings", &config.max_positions, 2}}) {
    QUARRY_RETURN_IF_ERROR(get_int(key, field, min));
  }
  config.type_vocab_size = static_cast<int>(JsonInt(json, "type_vocab_size").value_or(2));
  config.layer_norm_eps = static_cast<float>(JsonNumber(json, "layer_norm_eps").value_or(1e-12));
  if (config.hidden_size % config.num_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": hidden_size ", config.hidden_size,
                                                   " is not divisible by num_attention_heads ",
                                                   config.num_heads));
  }
  if (config.type_vocab_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": type_vocab_size must be >= 1"));
  }
  const std::string act = JsonString(json, "hidden_act").value_or("gelu");
  if (act != "gelu") {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": hidden_act \"", act, "\" is not supported (only \"gelu\")"));
  }
  const std::string position = JsonString(json, "position_embedding_type").value_or("absolute");
  if (position != "absolute") {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": position_embedding_type \"", position, "\" is not supported"));
  }
  return config;
}

absl::StatusOr<BertPooling> ReadPooling(const std::string& model_dir) {
  const std::string path = (fs::path(model_dir) / "1_Pooling" / "config.json").string();
  absl::StatusOr<nlohmann::json> json = ReadJsonObject(path);
  if (absl::IsNotFound(json.status())) return BertPooling::kCls;
  if (!json.ok()) return json.status();
  const bool cls = JsonBool(*json, "pooling_mode_cls_token").value_or(false);
  const bool mean = JsonBool(*json, "pooling_mode_mean_tokens").value_or(false);
  for (const char* other : {"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                            "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"}) {
    if (JsonBool(*json, other).value_or(false)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", other, " is not supported"));
    }
  }
  if (cls == mean) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": exactly one of mean and CLS pooling must be set"));
  }
  return cls ? BertPooling::kCls : BertPooling::kMean;
}

absl::StatusOr<std::unique_ptr<BertEncoder>> BertEncoder::Load(const std::string& model_dir) {
  auto encoder = std::unique_ptr<BertEncoder>(new BertEncoder());
  QUARRY_ASSIGN_OR_RETURN(BertConfig config,
                          ParseBertConfig((fs::path(model_dir) / "config.json").string()));
  encoder->config_ = config;
  QUARRY_ASSIGN_OR_RETURN(encoder->pooling_, ReadPooling(model_dir));
  QUARRY_ASSIGN_OR_RETURN(encoder->tokenizer_, WordPieceTokenizer::FromModelDir(model_dir));
  if (encoder->tokenizer_->vocab_size() > static_cast<size_t>(config.vocab_size)) {
    return absl::InvalidArgumentError(absl::StrCat(
        model_dir, ": the tokenizer has ", encoder->tokenizer_->vocab_size(),
        " tokens but config.json's vocab_size is ", config.vocab_size));
  }
  QUARRY_ASSIGN_OR_RETURN(
      encoder->weights_file_,
      SafetensorsFile::Open((fs::path(model_dir) / "model.safetensors").string()));
  absl::Status status = encoder->LoadWeights();
  if (!status.ok()) return absl::InvalidArgumentError(absl::StrCat(model_dir, ": ", status.message()));

  std::string name = fs::path(model_dir).lexically_normal().filename().string();
  if (name.empty()) name = fs::path(model_dir).lexically_normal().parent_path().filename().string();
  encoder->info_.name = name;
  encoder->info_.dimension = static_cast<uint32_t>(config.hidden_size);
  encoder->info_.max_tokens = static_cast<uint32_t>(encoder->tokenizer_->max_tokens());
  encoder->info_.normalized = true;
  encoder->info_.kind = "transformer";
  return encoder;
}

absl::Status BertEncoder::LoadWeights() {
  const SafetensorsFile& file = *weights_file_;
  // sentence-transformers saves BertModel's own names; a BertFor* checkpoint
  // prefixes them with "bert.".
  std::string prefix;
  if (file.Find("embeddings.word_embeddings.weight") == nullptr &&
      file.Find("bert.embeddings.word_embeddings.weight") != nullptr) {
    prefix = "bert.";
  }
  const int64_t h = config_.hidden_size;
  const int64_t inter = config_.intermediate_size;
  absl::Status status;
  const auto load = [&](const std::string& name, std::initializer_list<int64_t> shape,
                        FloatTensor& out) {
    if (!status.ok()) return;
    std::string full = prefix + name;
    // Old TensorFlow-converted checkpoints name LayerNorm parameters gamma/beta.
    if (file.Find(full) == nullptr && name.ends_with("LayerNorm.weight")) {
      full = prefix + name.substr(0, name.size() - 6) + "gamma";
    } else if (file.Find(full) == nullptr && name.ends_with("LayerNorm.bias")) {
      full = prefix + name.substr(0, name.size() - 4) + "beta";
    }
    absl::StatusOr<FloatTensor> t = file.GetFloat(full);
    if (!t.ok()) {
      status = t.status();
      return;
    }
    status = CheckShape(full, *t, shape);
    if (status.ok()) out = *std::move(t);
  };
  load("embeddings.word_embeddings.weight", {config_.vocab_size, h}, word_emb_);
  load("embeddings.position_embeddings.weight", {config_.max_positions, h}, pos_emb_);
  load("embeddings.token_type_embeddings.weight", {config_.type_vocab_size, h}, type_emb_);
  load("embeddings.LayerNorm.weight", {h}, emb_ln_g_);
  load("embeddings.LayerNorm.bias", {h}, emb_ln_b_);
  layers_.resize(config_.num_layers);
  for (int i = 0; i < config_.num_layers; ++i) {
    const std::string p = absl::StrCat("encoder.layer.", i, ".");
    Layer& l = layers_[i];
    load(p + "attention.self.query.weight", {h, h}, l.q_w);
    load(p + "attention.self.query.bias", {h}, l.q_b);
    load(p + "attention.self.key.weight", {h, h}, l.k_w);
    load(p + "attention.self.key.bias", {h}, l.k_b);
    load(p + "attention.self.value.weight", {h, h}, l.v_w);
    load(p + "attention.self.value.bias", {h}, l.v_b);
    load(p + "attention.output.dense.weight", {h, h}, l.attn_out_w);
    load(p + "attention.output.dense.bias", {h}, l.attn_out_b);
    load(p + "attention.output.LayerNorm.weight", {h}, l.attn_ln_g);
    load(p + "attention.output.LayerNorm.bias", {h}, l.attn_ln_b);
    load(p + "intermediate.dense.weight", {inter, h}, l.inter_w);
    load(p + "intermediate.dense.bias", {inter}, l.inter_b);
    load(p + "output.dense.weight", {h, inter}, l.out_w);
    load(p + "output.dense.bias", {h}, l.out_b);
    load(p + "output.LayerNorm.weight", {h}, l.out_ln_g);
    load(p + "output.LayerNorm.bias", {h}, l.out_ln_b);
  }
  return status;
}

uint32_t BertEncoder::CountTokens(absl::string_view text) const {
  return tokenizer_->CountTokens(text);
}

absl::StatusOr<std::vector<EmbeddingResult>> BertEncoder::EmbedBatch(
    absl::Span<const absl::string_view> texts) const {
  std::vector<std::vector<int32_t>> sequences;
  std::vector<EmbeddingResult> results(texts.size());
  sequences.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    TokenizedText tokens = tokenizer_->Encode(texts[i]);
    results[i].truncated = tokens.truncated;
    results[i].token_count = static_cast<uint32_t>(tokens.ids.size());
    sequences.push_back(std::move(tokens.ids));
  }
  QUARRY_ASSIGN_OR_RETURN(std::vector<std::vector<float>> vectors, Forward(sequences));
  for (size_t i = 0; i < texts.size(); ++i) results[i].vector = std::move(vectors[i]);
  return results;
}

absl::StatusOr<std::vector<std::vector<float>>> BertEncoder::Forward(
    absl::Span<const std::vector<int32_t>> sequences) const {
  const size_t h = config_.hidden_size;
  const size_t inter = config_.intermediate_size;
  const size_t heads = config_.num_heads;
  const size_t head_dim = h / heads;
  const size_t max_len = std::min<size_t>(info_.max_tokens, config_.max_positions);

  // Sequence s occupies rows [offsets[s], offsets[s + 1]) of every activation.
  std::vector<size_t> offsets(sequences.size() + 1, 0);
  size_t longest = 0;
  for (size_t s = 0; s < sequences.size(); ++s) {
    const std::vector<int32_t>& seq = sequences[s];
    if (seq.empty() || seq.size() > max_len) {
      return absl::InvalidArgumentError(absl::StrCat("sequence ", s, " has ", seq.size(),
                                                     " tokens, must be 1..", max_len));
    }
    for (const int32_t id : seq) {
      if (id < 0 || id >= config_.vocab_size) {
        return absl::InvalidArgumentError(absl::StrCat("sequence ", s, ": token id ", id,
                                                       " outside [0, ", config_.vocab_size, ")"));
      }
    }
    offsets[s + 1] = offsets[s] + seq.size();
    longest = std::max(longest, seq.size());
  }
  const size_t total = offsets.back();
  std::vector<std::vector<float>> pooled(sequences.size());
  if (total == 0) return pooled;

  std::vector<float> x(total * h), q(total * h), k(total * h), v(total * h), ctx(total * h);
  std::vector<float> tmp(total * h), ffn(total * inter), scores(longest * longest);

  // Embeddings: word + position + token type 0, then LayerNorm.
  for (size_t s = 0; s < sequences.size(); ++s) {
    for (size_t t = 0; t < sequences[s].size(); ++t) {
      float* row = x.data() + (offsets[s] + t) * h;
      const float* word = word_emb_.data + static_cast<size_t>(sequences[s][t]) * h;
      const float* pos = pos_emb_.data + t * h;
      const float* type = type_emb_.data;
      for (size_t c = 0; c < h; ++c) row[c] = word[c] + pos[c] + type[c];
    }
  }
  ops::LayerNorm(x.data(), total, h, emb_ln_g_.data, emb_ln_b_.data, config_.layer_norm_eps);

  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  for (const Layer& l : layers_) {
    ops::Linear(x.data(), total, h, l.q_w.data, l.q_b.data, h, q.data());
    ops::Linear(x.data(), total, h, l.k_w.data, l.k_b.data, h, k.data());
    ops::Linear(x.data(), total, h, l.v_w.data, l.v_b.data, h, v.data());
    // Attention per sequence and head; no padding, so no mask is needed.
    for (size_t s = 0; s < sequences.size(); ++s) {
      const size_t len = sequences[s].size();
      const size_t base = offsets[s] * h;
      for (size_t hd = 0; hd < heads; ++hd) {
        const size_t col = hd * head_dim;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, head_dim, scale,
                    q.data() + base + col, h, k.data() + base + col, h, 0.0f, scores.data(),
                    len);
        ops::SoftmaxRows(scores.data(), len, len);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, head_dim, len, 1.0f,
                    scores.data(), len, v.data() + base + col, h, 0.0f, ctx.data() + base + col,
                    h);
      }
    }
    // Output projection + bias + residual, then LayerNorm.
    ops::FillBiasResidual(tmp.data(), total, h, l.attn_out_b.data, x.data());
    ops::Linear(ctx.data(), total, h, l.attn_out_w.data, nullptr, h, tmp.data(),
                /*accumulate=*/true);
    ops::LayerNorm(tmp.data(), total, h, l.attn_ln_g.data, l.attn_ln_b.data,
                   config_.layer_norm_eps);
    x.swap(tmp);
    // Feed-forward: GELU(x W1 + b1) W2 + b2 + residual, then LayerNorm.
    ops::Linear(x.data(), total, h, l.inter_w.data, nullptr, inter, ffn.data());
    ops::AddBiasGelu(ffn.data(), total, inter, l.inter_b.data);
    ops::FillBiasResidual(tmp.data(), total, h, l.out_b.data, x.data());
    ops::Linear(ffn.data(), total, inter, l.out_w.data, nullptr, h, tmp.data(),
                /*accumulate=*/true);
    ops::LayerNorm(tmp.data(), total, h, l.out_ln_g.data, l.out_ln_b.data,
                   config_.layer_norm_eps);
    x.swap(tmp);
  }

  for (size_t s = 0; s < sequences.size(); ++s) {
    std::vector<float>& out = pooled[s];
    const float* rows = x.data() + offsets[s] * h;
    if (pooling_ == BertPooling::kCls) {
      out.assign(rows, rows + h);
    } else {
      out.assign(h, 0.0f);
      const size_t len = sequences[s].size();
      for (size_t t = 0; t < len; ++t) {
        for (size_t c = 0; c < h; ++c) out[c] += rows[t * h + c];
      }
      for (float& val : out) val /= static_cast<float>(len);
    }
    ops::L2Normalize(out.data(), h);
  }
  return pooled;
}

}  // namespace quarry::embedding
