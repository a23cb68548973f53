#ifndef QUARRY_SERVICES_COMMON_TEXT_UTF8_H_
#define QUARRY_SERVICES_COMMON_TEXT_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

// Strict UTF-8, shared by the gateway's validators and the embedding
// service's tokenizer: overlong forms, surrogates (U+D800..U+DFFF) and code
// points above U+10FFFF are invalid, as are truncated sequences and stray
// continuation bytes.
namespace quarry::text {

// Length (1..4) of the valid sequence starting at text[i], storing its code
// point in *cp; 0 when the bytes there are not valid UTF-8. Requires
// i < text.size().
size_t Utf8SequenceLength(absl::string_view text, size_t i, char32_t* cp);

// Byte offset of the first invalid UTF-8 sequence, or -1 when `text` is valid.
std::ptrdiff_t FindInvalidUtf8(absl::string_view text);

inline bool IsValidUtf8(absl::string_view text) { return FindInvalidUtf8(text) < 0; }

}  // namespace quarry::text

#endif  // QUARRY_SERVICES_COMMON_TEXT_UTF8_H_
