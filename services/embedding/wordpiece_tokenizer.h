#ifndef QUARRY_SERVICES_EMBEDDING_WORDPIECE_TOKENIZER_H_
#define QUARRY_SERVICES_EMBEDDING_WORDPIECE_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/embedding/basic_tokenizer.h"

namespace quarry::embedding {

// One text as the encoder sees it.
struct TokenizedText {
  // [CLS] word pieces... [SEP], at most max_tokens ids.
  std::vector<int32_t> ids;
  // Whether word pieces were dropped to fit max_tokens.
  bool truncated = false;
};

struct WordPieceOptions {
  BasicTokenizerOptions basic;
  // Longest sequence including [CLS] and [SEP]; at least 2.
  int max_tokens = 512;
  // Longer words (in code points) become [UNK] without being split, as in BERT.
  int max_chars_per_word = 100;
};

// BERT's tokenizer: BasicTokenizer, then greedy longest-match-first WordPiece
// against the vocabulary ("##" marks a continuation piece), then [CLS]/[SEP]
// and right truncation. Immutable after construction, so thread-safe.
class WordPieceTokenizer {
 public:
  // Loads a Hugging Face model directory: vocab.txt (or the WordPiece vocab in
  // tokenizer.json), do_lower_case / strip_accents / tokenize_chinese_chars
  // from tokenizer_config.json, and the maximum length as the smallest of
  // sentence_bert_config.json's max_seq_length, tokenizer_config.json's
  // model_max_length and config.json's max_position_embeddings. NOT_FOUND
  // without a vocabulary; INVALID_ARGUMENT when the vocabulary lacks the
  // special tokens or a file is malformed.
  static absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> FromModelDir(const std::string& dir);

  // `vocab[i]` is the token of id i. INVALID_ARGUMENT without [UNK], [CLS],
  // [SEP] or with max_tokens < 2.
  static absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> Create(
      std::vector<std::string> vocab, WordPieceOptions options);

  // Tokenizes one text. Never fails: any bytes are accepted (invalid UTF-8 is
  // dropped); a text empty after cleaning gives just [CLS] [SEP].
  TokenizedText Encode(absl::string_view text) const;

  // Equals Encode(text).ids.size(), without building the id vector.
  uint32_t CountTokens(absl::string_view text) const;

  // The word pieces of `text` before specials and truncation, as strings
  // (for tests and debugging).
  std::vector<std::string> Pieces(absl::string_view text) const;

  int max_tokens() const { return options_.max_tokens; }
  const WordPieceOptions& options() const { return options_; }
  size_t vocab_size() const { return vocab_.size(); }
  // -1 if `token` is not in the vocabulary.
  int32_t TokenId(absl::string_view token) const;

 private:
  WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options);
  // Appends the pieces of one basic-tokenizer word; stops at `limit` ids.
  void AppendWordPieces(const std::string& word, std::vector<int32_t>& ids) const;
  std::vector<int32_t> PieceIds(absl::string_view text) const;

  std::vector<std::string> vocab_;
  absl::flat_hash_map<std::string, int32_t> ids_;
  WordPieceOptions options_;
  BasicTokenizer basic_;
  int32_t unk_id_ = -1;
  int32_t cls_id_ = -1;
  int32_t sep_id_ = -1;
};

}  // namespace quarry::embedding

#endif  // QUARRY_SERVICES_EMBEDDING_WORDPIECE_TOKENIZER_H_
