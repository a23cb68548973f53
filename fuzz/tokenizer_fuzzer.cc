// Fuzzes the embedding service's tokenizer (BasicTokenizer + WordPiece,
// services/embedding/wordpiece_tokenizer.h), which sees every text a client
// sends. Input: one options byte, one max_tokens byte, then the text. With
// the options' top bit set, the text is "vocabulary lines NUL text" and a
// fuzzed vocabulary is used instead of the built-in one.
//
// Asserts Encode's contract for any bytes: [CLS] ... [SEP], at most
// max_tokens ids, every id in the vocabulary, `truncated` exactly when pieces
// were dropped, CountTokens agreeing with Encode, and BasicTokenizer words
// being non-empty, whitespace-free, valid UTF-8.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "services/embedding/basic_tokenizer.h"
#include "services/embedding/wordpiece_tokenizer.h"

namespace quarry::embedding {
namespace {

// A small BERT-like vocabulary: specials, single characters with and without
// "##", a few words and sub-words, accented and CJK characters.
std::vector<std::string> BuiltInVocab() {
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  const std::string chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (char c : chars) vocab.push_back(std::string(1, c));
  for (char c : chars) vocab.push_back("##" + std::string(1, c));
  for (char c : std::string("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")) {
    vocab.push_back(std::string(1, c));
  }
  for (const char* token :
       {"the", "quick", "brown", "fox", "disk", "full", "build", "agent", "error", "un", "##aff",
        "##able", "##ing", "##ed", "##s", "##er", "café", "naïve", "é", "##é", "ü", "##ü", "ß",
        "我", "中", "文", "。", "—", "…", "σ", "##σ", "ς", "##ς", "한", "##국", "ᄒ", "##ᅡ",
        "##ᆫ", "が", "か", "##\u3099"}) {
    vocab.push_back(token);
  }
  return vocab;
}

bool IsUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || s.size() - i < n) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

void CheckBasic(const BasicTokenizer& basic, absl::string_view text) {
  for (const std::string& word : basic.Tokenize(text)) {
    FUZZ_CHECK(!word.empty());
    FUZZ_CHECK(IsUtf8(word));
    FUZZ_CHECK(word.find_first_of(std::string(" \t\n\r\0", 5)) == std::string::npos);
    if (basic.options().lower_case) {
      for (char c : word) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    }
  }
}

void CheckEncode(const WordPieceTokenizer& tokenizer, absl::string_view text) {
  const TokenizedText encoded = tokenizer.Encode(text);
  const std::vector<int32_t>& ids = encoded.ids;
  const size_t max_tokens = static_cast<size_t>(tokenizer.max_tokens());
  FUZZ_CHECK(ids.size() >= 2 && ids.size() <= max_tokens);
  FUZZ_CHECK(ids.front() == tokenizer.TokenId("[CLS]"));
  FUZZ_CHECK(ids.back() == tokenizer.TokenId("[SEP]"));
  for (int32_t id : ids) FUZZ_CHECK(id >= 0 && static_cast<size_t>(id) < tokenizer.vocab_size());
  FUZZ_CHECK(tokenizer.CountTokens(text) == ids.size());

  const std::vector<std::string> pieces = tokenizer.Pieces(text);
  FUZZ_CHECK(encoded.truncated == (pieces.size() > max_tokens - 2));
  const size_t kept = ids.size() - 2;
  FUZZ_CHECK(kept == (encoded.truncated ? max_tokens - 2 : pieces.size()));
  for (size_t i = 0; i < kept; ++i) FUZZ_CHECK(tokenizer.TokenId(pieces[i]) >= 0);
}

}  // namespace
}  // namespace quarry::embedding

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quarry::embedding;  // NOLINT: one function
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  absl::string_view text(reinterpret_cast<const char*>(data) + 2, size - 2);

  WordPieceOptions options;
  options.basic.lower_case = (flags & 0x01) != 0;
  options.basic.strip_accents = static_cast<BasicTokenizerOptions::StripAccents>((flags >> 1) % 3);
  options.basic.split_cjk = (flags & 0x08) != 0;
  options.max_chars_per_word = (flags & 0x10) != 0 ? 100 : 8;
  // 2..257 tokens; the common 256/512 limits behave the same past a few pieces.
  options.max_tokens = 2 + data[1];

  std::vector<std::string> vocab;
  if ((flags & 0x80) != 0) {
    const size_t nul = text.find('\0');
    if (nul == absl::string_view::npos) return 0;
    vocab = absl::StrSplit(text.substr(0, nul), '\n');
    text.remove_prefix(nul + 1);
    // Specials last: earlier duplicates of ordinary tokens win, as in vocab.txt.
    for (const char* special : {"[UNK]", "[CLS]", "[SEP]"}) vocab.push_back(special);
  } else {
    // The built-in vocabulary never changes; build the tokenizers once per option set.
    static auto* cache = new std::unique_ptr<WordPieceTokenizer>[256];
    std::unique_ptr<WordPieceTokenizer>& slot = cache[flags];
    if (slot == nullptr || slot->max_tokens() != options.max_tokens) {
      auto created = WordPieceTokenizer::Create(BuiltInVocab(), options);
      FUZZ_CHECK(created.ok());
      slot = *std::move(created);
    }
    CheckBasic(BasicTokenizer(options.basic), text);
    CheckEncode(*slot, text);
    return 0;
  }
  auto tokenizer = WordPieceTokenizer::Create(std::move(vocab), options);
  FUZZ_CHECK(tokenizer.ok());
  CheckBasic(BasicTokenizer(options.basic), text);
  CheckEncode(**tokenizer, text);
  return 0;
}
