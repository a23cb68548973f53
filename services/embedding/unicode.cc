#include "services/embedding/unicode.h"

#include <algorithm>
#include <cstdint>

#include "services/common/text/utf8.h"

namespace quarry::embedding::unicode {
namespace {

struct CodepointRange {
  char32_t first;
  char32_t last;
};

struct CodepointMapping {
  char32_t from;
  char32_t to[3];
  int count;
};

#include "services/embedding/unicode_tables.inc"

template <size_t N>
bool InRanges(const CodepointRange (&table)[N], char32_t cp) {
  const CodepointRange* end = table + N;
  const CodepointRange* it = std::upper_bound(
      table, end, cp, [](char32_t c, const CodepointRange& r) { return c < r.first; });
  if (it == table) return false;
  --it;
  return cp <= it->last;
}

template <size_t N>
const CodepointMapping* FindMapping(const CodepointMapping (&table)[N], char32_t cp) {
  const CodepointMapping* end = table + N;
  const CodepointMapping* it = std::lower_bound(
      table, end, cp, [](const CodepointMapping& m, char32_t c) { return m.from < c; });
  if (it == end || it->from != cp) return nullptr;
  return it;
}

// Length of the valid UTF-8 sequence at text[i], or 0 if it is invalid.
bool IsCased(char32_t cp) { return InRanges(kCasedRanges, cp); }
bool IsCaseIgnorable(char32_t cp) { return InRanges(kCaseIgnorableRanges, cp); }

// Unicode's Final_Sigma condition, as CPython applies it in str.lower().
bool IsFinalSigma(const std::vector<char32_t>& text, size_t i) {
  size_t j = i;
  bool cased_before = false;
  while (j > 0) {
    --j;
    if (IsCaseIgnorable(text[j])) continue;
    cased_before = IsCased(text[j]);
    break;
  }
  if (!cased_before) return false;
  for (size_t k = i + 1; k < text.size(); ++k) {
    if (IsCaseIgnorable(text[k])) continue;
    return !IsCased(text[k]);
  }
  return true;
}

constexpr char32_t kHangulFirst = 0xAC00;
constexpr char32_t kHangulLast = 0xD7A3;

}  // namespace

std::vector<char32_t> DecodeUtf8(absl::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    char32_t cp = 0;
    const size_t len = quarry::text::Utf8SequenceLength(text, i, &cp);
    if (len == 0) {
      out.push_back(kReplacementChar);
      ++i;
    } else {
      out.push_back(cp);
      i += len;
    }
  }
  return out;
}

void AppendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::ptrdiff_t FindInvalidUtf8(absl::string_view text) { return quarry::text::FindInvalidUtf8(text); }

bool IsWhitespace(char32_t cp) {
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
  return InRanges(kSpaceSeparatorRanges, cp);
}

bool IsControl(char32_t cp) { return InRanges(kControlRanges, cp); }

bool IsPunctuation(char32_t cp) { return InRanges(kPunctuationRanges, cp); }

bool IsNonspacingMark(char32_t cp) { return InRanges(kNonspacingMarkRanges, cp); }

bool IsCjkIdeograph(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::vector<char32_t> ToLower(const std::vector<char32_t>& text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t cp = text[i];
    if (cp < 0x80) {
      out.push_back(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
      continue;
    }
    if (cp == 0x03A3) {  // GREEK CAPITAL LETTER SIGMA
      out.push_back(IsFinalSigma(text, i) ? 0x03C2 : 0x03C3);
      continue;
    }
    const CodepointMapping* m = FindMapping(kLowercaseMap, cp);
    if (m == nullptr) {
      out.push_back(cp);
    } else {
      out.insert(out.end(), m->to, m->to + m->count);
    }
  }
  return out;
}

std::vector<char32_t> StripAccents(const std::vector<char32_t>& text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  for (const char32_t cp : text) {
    if (cp < 0x80) {
      out.push_back(cp);
      continue;
    }
    if (cp >= kHangulFirst && cp <= kHangulLast) {
      // Unicode's algorithmic decomposition: leading, vowel, optional trailing jamo.
      const char32_t s = cp - kHangulFirst;
      out.push_back(0x1100 + s / (21 * 28));
      out.push_back(0x1161 + (s % (21 * 28)) / 28);
      if (s % 28 != 0) out.push_back(0x11A7 + s % 28);
      continue;
    }
    if (IsNonspacingMark(cp)) continue;
    const CodepointMapping* m = FindMapping(kStripAccentsMap, cp);
    if (m == nullptr) {
      out.push_back(cp);
    } else {
      out.insert(out.end(), m->to, m->to + m->count);
    }
  }
  return out;
}

}  // namespace quarry::embedding::unicode
