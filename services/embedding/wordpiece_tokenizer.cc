#include "services/embedding/wordpiece_tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/status/macros.h"
#include "services/embedding/json_file.h"

namespace quarry::embedding {
namespace {

constexpr char kUnk[] = "[UNK]";
constexpr char kCls[] = "[CLS]";
constexpr char kSep[] = "[SEP]";

absl::StatusOr<std::vector<std::string>> ReadVocabTxt(const std::string& path) {
  QUARRY_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::vector<std::string> vocab = absl::StrSplit(text, '\n');
  if (!vocab.empty() && vocab.back().empty()) vocab.pop_back();
  for (std::string& token : vocab) {
    if (!token.empty() && token.back() == '\r') token.pop_back();
  }
  return vocab;
}

// tokenizer.json (Hugging Face `tokenizers`): model.vocab maps token -> id.
absl::StatusOr<std::vector<std::string>> ReadTokenizerJsonVocab(const nlohmann::json& root,
                                                                const std::string& path) {
  auto model = root.find("model");
  if (model == root.end() || !model->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no \"model\" object"));
  }
  if (JsonString(*model, "type").value_or("WordPiece") != "WordPiece") {
    return absl::InvalidArgumentError(absl::StrCat(path, ": model type is not WordPiece"));
  }
  auto vocab_json = model->find("vocab");
  if (vocab_json == model->end() || !vocab_json->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no model.vocab object"));
  }
  std::vector<std::string> vocab(vocab_json->size());
  for (auto it = vocab_json->begin(); it != vocab_json->end(); ++it) {
    if (!it.value().is_number_integer()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": vocab id of ", it.key()));
    }
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= static_cast<int64_t>(vocab.size()) || !vocab[id].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": vocab ids are not a permutation of 0..n-1"));
    }
    vocab[id] = it.key();
  }
  return vocab;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::FromModelDir(
    const std::string& dir) {
  namespace fs = std::filesystem;
  WordPieceOptions options;
  std::vector<std::string> vocab;
  const std::string vocab_txt = (fs::path(dir) / "vocab.txt").string();
  const std::string tokenizer_json = (fs::path(dir) / "tokenizer.json").string();
  std::error_code ec;
  if (fs::exists(vocab_txt, ec)) {
    QUARRY_ASSIGN_OR_RETURN(vocab, ReadVocabTxt(vocab_txt));
  } else if (fs::exists(tokenizer_json, ec)) {
    QUARRY_ASSIGN_OR_RETURN(nlohmann::json root, ReadJsonObject(tokenizer_json));
    QUARRY_ASSIGN_OR_RETURN(vocab, ReadTokenizerJsonVocab(root, tokenizer_json));
    auto normalizer = root.find("normalizer");
    if (normalizer != root.end() && normalizer->is_object()) {
      options.basic.lower_case = JsonBool(*normalizer, "lowercase").value_or(true);
      options.basic.split_cjk = JsonBool(*normalizer, "handle_chinese_chars").value_or(true);
      std::optional<bool> strip = JsonBool(*normalizer, "strip_accents");
      if (strip.has_value()) {
        options.basic.strip_accents = *strip ? BasicTokenizerOptions::StripAccents::kYes
                                             : BasicTokenizerOptions::StripAccents::kNo;
      }
    }
  } else {
    return absl::NotFoundError(absl::StrCat(dir, ": neither vocab.txt nor tokenizer.json"));
  }

  int64_t max_tokens = std::numeric_limits<int64_t>::max();
  absl::StatusOr<nlohmann::json> tok_config =
      ReadJsonObject((fs::path(dir) / "tokenizer_config.json").string());
  if (tok_config.ok()) {
    if (auto lower = JsonBool(*tok_config, "do_lower_case")) options.basic.lower_case = *lower;
    if (auto cjk = JsonBool(*tok_config, "tokenize_chinese_chars")) options.basic.split_cjk = *cjk;
    if (auto strip = JsonBool(*tok_config, "strip_accents")) {
      options.basic.strip_accents = *strip ? BasicTokenizerOptions::StripAccents::kYes
                                           : BasicTokenizerOptions::StripAccents::kNo;
    }
    // Hugging Face writes a huge sentinel here when there is no limit.
    if (auto m = JsonInt(*tok_config, "model_max_length"); m && *m > 0 && *m < (1 << 30)) {
      max_tokens = std::min(max_tokens, *m);
    }
  } else if (!absl::IsNotFound(tok_config.status())) {
    return tok_config.status();
  }
  absl::StatusOr<nlohmann::json> st_config =
      ReadJsonObject((fs::path(dir) / "sentence_bert_config.json").string());
  if (st_config.ok()) {
    if (auto m = JsonInt(*st_config, "max_seq_length"); m && *m > 0) {
      max_tokens = std::min(max_tokens, *m);
    }
  } else if (!absl::IsNotFound(st_config.status())) {
    return st_config.status();
  }
  absl::StatusOr<nlohmann::json> model_config =
      ReadJsonObject((fs::path(dir) / "config.json").string());
  if (model_config.ok()) {
    if (auto m = JsonInt(*model_config, "max_position_embeddings"); m && *m > 0) {
      max_tokens = std::min(max_tokens, *m);
    }
  } else if (!absl::IsNotFound(model_config.status())) {
    return model_config.status();
  }
  options.max_tokens = max_tokens == std::numeric_limits<int64_t>::max()
                           ? 512
                           : static_cast<int>(max_tokens);
  return Create(std::move(vocab), options);
}

absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::Create(
    std::vector<std::string> vocab, WordPieceOptions options) {
  if (options.max_tokens < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_tokens must be at least 2, got ", options.max_tokens));
  }
  auto tokenizer = std::unique_ptr<WordPieceTokenizer>(
      new WordPieceTokenizer(std::move(vocab), options));
  for (const char* special : {kUnk, kCls, kSep}) {
    if (tokenizer->TokenId(special) < 0) {
      return absl::InvalidArgumentError(absl::StrCat("vocabulary has no ", special));
    }
  }
  return tokenizer;
}

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options)
    : vocab_(std::move(vocab)), options_(options), basic_(options.basic) {
  ids_.reserve(vocab_.size());
  for (size_t i = 0; i < vocab_.size(); ++i) {
    // The first occurrence wins, as when Hugging Face reads vocab.txt.
    ids_.try_emplace(vocab_[i], static_cast<int32_t>(i));
  }
  unk_id_ = TokenId(kUnk);
  cls_id_ = TokenId(kCls);
  sep_id_ = TokenId(kSep);
}

int32_t WordPieceTokenizer::TokenId(absl::string_view token) const {
  auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

void WordPieceTokenizer::AppendWordPieces(const std::string& word,
                                          std::vector<int32_t>& ids) const {
  // Code point boundaries of the UTF-8 word: pieces never split a character.
  std::vector<size_t> bounds;
  for (size_t i = 0; i < word.size(); ++i) {
    if ((static_cast<unsigned char>(word[i]) & 0xC0) != 0x80) bounds.push_back(i);
  }
  const size_t chars = bounds.size();
  bounds.push_back(word.size());
  if (chars > static_cast<size_t>(options_.max_chars_per_word)) {
    ids.push_back(unk_id_);
    return;
  }
  const size_t first_piece = ids.size();
  std::string candidate;
  size_t start = 0;
  while (start < chars) {
    size_t end = chars;
    int32_t found = -1;
    while (end > start) {
      candidate.clear();
      if (start > 0) candidate = "##";
      candidate.append(word, bounds[start], bounds[end] - bounds[start]);
      found = TokenId(candidate);
      if (found >= 0) break;
      --end;
    }
    if (found < 0) {
      // One unmatchable remainder makes the whole word unknown.
      ids.resize(first_piece);
      ids.push_back(unk_id_);
      return;
    }
    ids.push_back(found);
    start = end;
  }
}

std::vector<int32_t> WordPieceTokenizer::PieceIds(absl::string_view text) const {
  std::vector<int32_t> ids;
  for (const std::string& word : basic_.Tokenize(text)) AppendWordPieces(word, ids);
  return ids;
}

TokenizedText WordPieceTokenizer::Encode(absl::string_view text) const {
  std::vector<int32_t> pieces = PieceIds(text);
  TokenizedText out;
  const size_t room = static_cast<size_t>(options_.max_tokens) - 2;
  out.truncated = pieces.size() > room;
  if (out.truncated) pieces.resize(room);
  out.ids.reserve(pieces.size() + 2);
  out.ids.push_back(cls_id_);
  out.ids.insert(out.ids.end(), pieces.begin(), pieces.end());
  out.ids.push_back(sep_id_);
  return out;
}

uint32_t WordPieceTokenizer::CountTokens(absl::string_view text) const {
  const size_t pieces = PieceIds(text).size();
  return static_cast<uint32_t>(std::min<size_t>(pieces, options_.max_tokens - 2) + 2);
}

std::vector<std::string> WordPieceTokenizer::Pieces(absl::string_view text) const {
  std::vector<std::string> out;
  for (int32_t id : PieceIds(text)) out.push_back(vocab_[id]);
  return out;
}

}  // namespace quarry::embedding
