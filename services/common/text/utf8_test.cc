#include "services/common/text/utf8.h"

#include "gtest/gtest.h"

namespace quarry::text {
namespace {

TEST(Utf8, AcceptsEveryLengthAndRejectsWhatStrictUtf8Forbids) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80"));
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last code point.
  EXPECT_EQ(FindInvalidUtf8("\xC3"), 0);                // Truncated.
  EXPECT_EQ(FindInvalidUtf8("ab\xE6\x97"), 2);          // Truncated.
  EXPECT_EQ(FindInvalidUtf8("\xC0\xAF"), 0);            // Overlong '/'.
  EXPECT_EQ(FindInvalidUtf8("\xE0\x80\xAF"), 0);        // Overlong, three bytes.
  EXPECT_EQ(FindInvalidUtf8("x\xED\xA0\x80"), 1);       // Surrogate.
  EXPECT_EQ(FindInvalidUtf8("\xF4\x90\x80\x80"), 0);    // Past U+10FFFF.
  EXPECT_EQ(FindInvalidUtf8("\xFF"), 0);
  EXPECT_EQ(FindInvalidUtf8("a\x80z"), 1);              // Stray continuation byte.
  EXPECT_EQ(FindInvalidUtf8("\xC3\xA9\xC3(x"), 2);      // Bad continuation.
}

TEST(Utf8, SequenceLengthDecodesTheCodePoint) {
  char32_t cp = 0;
  EXPECT_EQ(Utf8SequenceLength("\xE6\x97\xA5", 0, &cp), 3u);
  EXPECT_EQ(cp, U'\u65E5');
  EXPECT_EQ(Utf8SequenceLength("a\xF0\x9F\x98\x80", 1, &cp), 4u);
  EXPECT_EQ(cp, U'\U0001F600');
  EXPECT_EQ(Utf8SequenceLength("\x80", 0, &cp), 0u);
}

}  // namespace
}  // namespace quarry::text
