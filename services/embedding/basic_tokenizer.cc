#include "services/embedding/basic_tokenizer.h"

#include "services/embedding/unicode.h"

namespace quarry::embedding {
namespace {

void FlushWord(std::vector<char32_t>& word, std::vector<std::vector<char32_t>>& words) {
  if (!word.empty()) {
    words.push_back(std::move(word));
    word.clear();
  }
}

}  // namespace

BasicTokenizer::BasicTokenizer(BasicTokenizerOptions options)
    : options_(options),
      strip_accents_(options.strip_accents == BasicTokenizerOptions::StripAccents::kYes ||
                     (options.strip_accents ==
                          BasicTokenizerOptions::StripAccents::kFollowLowerCase &&
                      options.lower_case)) {}

std::vector<std::string> BasicTokenizer::Tokenize(absl::string_view text) const {
  const std::vector<char32_t> decoded = unicode::DecodeUtf8(text);

  // Clean-up and whitespace split in one pass; CJK ideographs are words alone.
  std::vector<std::vector<char32_t>> words;
  std::vector<char32_t> word;
  for (const char32_t cp : decoded) {
    if (cp == 0 || cp == unicode::kReplacementChar || unicode::IsControl(cp)) continue;
    if (unicode::IsWhitespace(cp)) {
      FlushWord(word, words);
    } else if (options_.split_cjk && unicode::IsCjkIdeograph(cp)) {
      FlushWord(word, words);
      words.push_back({cp});
    } else {
      word.push_back(cp);
    }
  }
  FlushWord(word, words);

  std::vector<std::string> out;
  for (std::vector<char32_t>& w : words) {
    if (options_.lower_case) w = unicode::ToLower(w);
    if (strip_accents_) w = unicode::StripAccents(w);
    // Punctuation characters become words of their own.
    std::string current;
    for (const char32_t cp : w) {
      if (unicode::IsPunctuation(cp)) {
        if (!current.empty()) out.push_back(std::move(current));
        current.clear();
        std::string punct;
        unicode::AppendUtf8(cp, punct);
        out.push_back(std::move(punct));
      } else {
        unicode::AppendUtf8(cp, current);
      }
    }
    if (!current.empty()) out.push_back(std::move(current));
  }
  return out;
}

}  // namespace quarry::embedding
