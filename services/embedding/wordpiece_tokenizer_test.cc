#include "services/embedding/wordpiece_tokenizer.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/embedding/test_paths.h"
#include "services/embedding/unicode.h"

namespace quarry::embedding {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

// Expected ids come from reference/bert_tokenizer.py (an independent Python
// implementation using unicodedata) on the real all-MiniLM-L6-v2 vocabulary.
class MiniLmTokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto t = WordPieceTokenizer::FromModelDir(testing::SharedMiniLmDir());
    ASSERT_TRUE(t.ok()) << t.status();
    tokenizer_ = t->release();
  }
  static void TearDownTestSuite() { delete tokenizer_; }
  static const WordPieceTokenizer* tokenizer_;
};
const WordPieceTokenizer* MiniLmTokenizerTest::tokenizer_ = nullptr;

TEST_F(MiniLmTokenizerTest, LoadsModelSettings) {
  EXPECT_EQ(tokenizer_->vocab_size(), 30522u);
  // sentence_bert_config.json's 256 wins over model_max_length 512.
  EXPECT_EQ(tokenizer_->max_tokens(), 256);
  EXPECT_TRUE(tokenizer_->options().basic.lower_case);
  EXPECT_EQ(tokenizer_->TokenId("[CLS]"), 101);
  EXPECT_EQ(tokenizer_->TokenId("no-such-token"), -1);
}

TEST_F(MiniLmTokenizerTest, PunctuationAndSpecials) {
  TokenizedText t = tokenizer_->Encode("Hello, world!");
  EXPECT_THAT(t.ids, ElementsAre(101, 7592, 1010, 2088, 999, 102));
  EXPECT_FALSE(t.truncated);
  EXPECT_THAT(tokenizer_->Pieces("don't"), ElementsAre("don", "'", "t"));
  EXPECT_THAT(tokenizer_->Encode("¿Qué?").ids, ElementsAre(101, 1094, 10861, 1029, 102));
  // Unicode punctuation (General Punctuation block) splits too.
  EXPECT_THAT(tokenizer_->Pieces("Hello\u3000world\u2014again\u2026"),
              ElementsAre("hello", "world", "\u2014", "again", "\u2026"));
}

TEST_F(MiniLmTokenizerTest, LowerCasesAndStripsAccents) {
  EXPECT_THAT(tokenizer_->Encode("Café au lait, naïve résumé!").ids,
              ElementsAre(101, 7668, 8740, 21110, 2102, 1010, 15743, 13746, 999, 102));
  EXPECT_THAT(tokenizer_->Pieces("İstanbul"), ElementsAre("istanbul"));
  // Greek: lower-casing applies the final-sigma rule before accents go.
  EXPECT_THAT(tokenizer_->Encode("ΟΔΟΣ Σίσυφος").ids,
              ElementsAre(101, 1169, 29722, 15297, 1173, 18199, 29733, 29735, 29736, 15297, 102));
  // Kana lose their voicing marks; hangul decomposes into jamo (NFD).
  EXPECT_THAT(tokenizer_->Encode("がぎ").ids, ElementsAre(101, 1651, 30178, 102));
  EXPECT_THAT(tokenizer_->Encode("한국").ids,
              ElementsAre(101, 1469, 30006, 30021, 29991, 30014, 30020, 102));
}

TEST_F(MiniLmTokenizerTest, SplitsCjkIdeographs) {
  EXPECT_THAT(tokenizer_->Pieces("我爱NLP。"), ElementsAre("我", "[UNK]", "nl", "##p", "。"));
  EXPECT_THAT(tokenizer_->Encode("我爱NLP。").ids,
              ElementsAre(101, 1855, 100, 17953, 2361, 1636, 102));
}

TEST_F(MiniLmTokenizerTest, UnknownWords) {
  EXPECT_THAT(tokenizer_->Pieces("unaffable"), ElementsAre("una", "##ffa", "##ble"));
  // A word no piece sequence covers is one [UNK], not a partial split.
  EXPECT_THAT(tokenizer_->Encode("สวัสดีชาวโลก").ids, ElementsAre(101, 100, 102));
  EXPECT_THAT(tokenizer_->Encode("Ｈｅｌｌｏ").ids, ElementsAre(101, 100, 102));
  // Words over 100 characters are [UNK] without trying.
  EXPECT_THAT(tokenizer_->Encode(std::string(101, 'a')).ids, ElementsAre(101, 100, 102));
  EXPECT_EQ(tokenizer_->Encode(std::string(100, 'a')).ids.size(), 52u);
}

TEST_F(MiniLmTokenizerTest, EmptyAfterCleaning) {
  for (const std::string& text : {std::string("\u200b\u0007\u200b"), std::string("   \t\n"),
                                 std::string("\xff\xfe"), std::string("\0\0", 2)}) {
    TokenizedText t = tokenizer_->Encode(text);
    EXPECT_THAT(t.ids, ElementsAre(101, 102));
    EXPECT_FALSE(t.truncated);
    EXPECT_EQ(tokenizer_->CountTokens(text), 2u);
  }
  // Controls vanish inside words; odd spaces separate them.
  EXPECT_THAT(tokenizer_->Pieces("Zero\u200bwidth Non\u00a0breaking"),
              ElementsAre("zero", "##wi", "##dt", "##h", "non", "breaking"));
}

TEST_F(MiniLmTokenizerTest, TruncatesAndReportsIt) {
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += "word ";
  TokenizedText t = tokenizer_->Encode(long_text);
  EXPECT_TRUE(t.truncated);
  ASSERT_EQ(t.ids.size(), 256u);
  EXPECT_EQ(t.ids.front(), 101);
  EXPECT_EQ(t.ids[1], 2773);
  EXPECT_EQ(t.ids.back(), 102);
  EXPECT_EQ(tokenizer_->CountTokens(long_text), 256u);
  // Exactly at the limit is not truncation.
  std::string fits;
  for (int i = 0; i < 254; ++i) fits += "word ";
  EXPECT_FALSE(tokenizer_->Encode(fits).truncated);
  EXPECT_EQ(tokenizer_->Encode(fits).ids.size(), 256u);
}

TEST(WordPieceTokenizerTest, CreateChecksSpecials) {
  WordPieceOptions options;
  EXPECT_FALSE(WordPieceTokenizer::Create({"[CLS]", "[SEP]", "a"}, options).ok());
  options.max_tokens = 1;
  EXPECT_FALSE(WordPieceTokenizer::Create({"[UNK]", "[CLS]", "[SEP]"}, options).ok());
}

TEST(WordPieceTokenizerTest, CasedModelKeepsCaseAndAccents) {
  WordPieceOptions options;
  options.basic.lower_case = false;
  options.max_tokens = 4;
  auto t = WordPieceTokenizer::Create({"[UNK]", "[CLS]", "[SEP]", "Café", "café", "##s", "x"},
                                      options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT((*t)->Encode("Cafés").ids, ElementsAre(1, 3, 5, 2));
  TokenizedText truncated = (*t)->Encode("x x x");
  EXPECT_THAT(truncated.ids, ElementsAre(1, 6, 6, 2));
  EXPECT_TRUE(truncated.truncated);
}

TEST(WordPieceTokenizerTest, MissingDirectoryIsNotFound) {
  auto t = WordPieceTokenizer::FromModelDir("/nonexistent/model");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
}

TEST(UnicodeTest, Properties) {
  EXPECT_TRUE(unicode::IsPunctuation('!'));
  EXPECT_TRUE(unicode::IsPunctuation('$'));  // ASCII symbols count, as in BERT
  EXPECT_TRUE(unicode::IsPunctuation(0x3002));   // ideographic full stop
  EXPECT_TRUE(unicode::IsPunctuation(0xFF01));   // fullwidth !
  EXPECT_FALSE(unicode::IsPunctuation(0x20AC));  // euro sign is a symbol (Sc)
  EXPECT_TRUE(unicode::IsControl(0x200B));
  EXPECT_FALSE(unicode::IsControl('\n'));
  EXPECT_TRUE(unicode::IsWhitespace(0x3000));
  EXPECT_TRUE(unicode::IsCjkIdeograph(0x4E2D));
  EXPECT_FALSE(unicode::IsCjkIdeograph(0x3042));  // hiragana is not split
  EXPECT_THAT(unicode::StripAccents(unicode::ToLower(unicode::DecodeUtf8("ÀÉÎÕÜ ŁŒ Ǆ Ё"))),
              ElementsAreArray(unicode::DecodeUtf8("aeiou łœ ǆ е")));
  EXPECT_THAT(unicode::DecodeUtf8("a\xffz"), ElementsAre(U'a', unicode::kReplacementChar, U'z'));
}

}  // namespace
}  // namespace quarry::embedding
