#ifndef QUARRY_SERVICES_EMBEDDING_BASIC_TOKENIZER_H_
#define QUARRY_SERVICES_EMBEDDING_BASIC_TOKENIZER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace quarry::embedding {

struct BasicTokenizerOptions {
  // Uncased models (all-MiniLM-L6-v2) lower-case; cased ones keep case.
  bool lower_case = true;
  // Unset follows lower_case, as in Hugging Face's BertTokenizer.
  enum class StripAccents { kFollowLowerCase, kYes, kNo };
  StripAccents strip_accents = StripAccents::kFollowLowerCase;
  // Put spaces around CJK ideographs, so each becomes its own word.
  bool split_cjk = true;
};

// BERT's BasicTokenizer: control-character clean-up, whitespace splitting,
// optional lower-casing and accent stripping, CJK and punctuation splitting.
// Differs from Hugging Face's Python version only in that it does not
// NFC-compose the input first (neither does the Rust `tokenizers` one); for
// uncased models that is invisible because accents are stripped anyway.
class BasicTokenizer {
 public:
  explicit BasicTokenizer(BasicTokenizerOptions options = {});

  // Splits `text` into words (UTF-8). Never fails: invalid UTF-8 bytes, NUL,
  // U+FFFD and control characters are dropped. Empty when nothing is left.
  std::vector<std::string> Tokenize(absl::string_view text) const;

  const BasicTokenizerOptions& options() const { return options_; }

 private:
  BasicTokenizerOptions options_;
  bool strip_accents_;
};

}  // namespace quarry::embedding

#endif  // QUARRY_SERVICES_EMBEDDING_BASIC_TOKENIZER_H_
