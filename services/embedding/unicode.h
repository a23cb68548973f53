#ifndef QUARRY_SERVICES_EMBEDDING_UNICODE_H_
#define QUARRY_SERVICES_EMBEDDING_UNICODE_H_

// The Unicode properties the BERT basic tokenizer needs, without ICU: tables
// generated from Python's unicodedata (tools/gen_unicode_tables.py), because
// the reference tokenizer is defined by Python's categories and str.lower().

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace quarry::embedding::unicode {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes UTF-8 strictly (no overlongs, surrogates or code points above
// U+10FFFF). Each invalid byte becomes one kReplacementChar, so any input is
// accepted and never read out of bounds.
std::vector<char32_t> DecodeUtf8(absl::string_view text);

// Appends the UTF-8 encoding of `cp` (assumed a valid scalar value).
void AppendUtf8(char32_t cp, std::string& out);

// Byte offset of the first invalid UTF-8 sequence, or -1 when `text` is valid.
std::ptrdiff_t FindInvalidUtf8(absl::string_view text);

// Python's str.isspace() subset BERT uses: space, \t, \n, \r and category Zs.
bool IsWhitespace(char32_t cp);
// Category C* (control, format, private use, unassigned, surrogate), except
// \t, \n and \r, which BERT treats as whitespace.
bool IsControl(char32_t cp);
// BERT's punctuation: ASCII 33-47, 58-64, 91-96, 123-126 and category P*.
bool IsPunctuation(char32_t cp);
// Category Mn (the marks NFD splits off accented letters).
bool IsNonspacingMark(char32_t cp);
// The CJK ideograph blocks BERT surrounds with spaces (not kana or hangul).
bool IsCjkIdeograph(char32_t cp);

// Python's str.lower() of the whole sequence, including the final-sigma rule.
std::vector<char32_t> ToLower(const std::vector<char32_t>& text);
// NFD decomposition with nonspacing marks (Mn) removed, as BERT's
// _run_strip_accents does; hangul syllables decompose into jamo.
std::vector<char32_t> StripAccents(const std::vector<char32_t>& text);

}  // namespace quarry::embedding::unicode

#endif  // QUARRY_SERVICES_EMBEDDING_UNICODE_H_
