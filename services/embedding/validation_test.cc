#include "services/embedding/validation.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quarry::embedding {
namespace {

using ::testing::HasSubstr;

absl::Status Validate(const std::vector<std::string>& texts) {
  std::vector<absl::string_view> views(texts.begin(), texts.end());
  return ValidateTexts(views);
}

TEST(ValidateTextsTest, AcceptsValidTexts) {
  EXPECT_TRUE(Validate({"hello", "Café 日本語 😀", std::string(kMaxTextBytes, 'a')}).ok());
}

TEST(ValidateTextsTest, RejectsNoTexts) {
  absl::Status s = Validate({});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("got 0"));
}

TEST(ValidateTextsTest, RejectsTooManyTexts) {
  EXPECT_TRUE(Validate(std::vector<std::string>(kMaxTextsPerRequest, "x")).ok());
  absl::Status s = Validate(std::vector<std::string>(kMaxTextsPerRequest + 1, "x"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("got 257"));
}

TEST(ValidateTextsTest, NamesTheEmptyText) {
  absl::Status s = Validate({"a", "b", ""});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "texts[2]: empty");
}

TEST(ValidateTextsTest, NamesTheOversizedText) {
  absl::Status s = Validate({"a", std::string(kMaxTextBytes + 1, 'a')});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("texts[1]: 32769 bytes"));
}

TEST(ValidateTextsTest, NamesTheInvalidUtf8Text) {
  const std::vector<std::pair<std::string, int>> bad = {
      {"ab\xff", 2},              // never valid byte
      {"\xc3", 0},                // truncated 2-byte sequence
      {"ok\xc0\xaf", 2},          // overlong "/"
      {"\xed\xa0\x80", 0},        // UTF-16 surrogate
      {"x\xf4\x90\x80\x80", 1},   // above U+10FFFF
      {"abc\x80", 3},             // stray continuation byte
  };
  for (const auto& [text, offset] : bad) {
    absl::Status s = Validate({"fine", "fine", "fine", text});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(s.message(), "texts[3]: invalid UTF-8 at byte " + std::to_string(offset));
  }
}

TEST(CheckModelTest, AcceptsMatchingOrUnspecified) {
  ModelInfo info{.name = "all-MiniLM-L6-v2", .dimension = 384, .kind = "transformer"};
  EXPECT_TRUE(CheckModel(info, "", 0).ok());
  EXPECT_TRUE(CheckModel(info, "all-MiniLM-L6-v2", 384).ok());
}

TEST(CheckModelTest, OtherModelNamesBoth) {
  ModelInfo info{.name = "hashing-384", .dimension = 384, .kind = "hashing"};
  absl::Status s = CheckModel(info, "all-MiniLM-L6-v2", 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("\"all-MiniLM-L6-v2\""));
  EXPECT_THAT(s.message(), HasSubstr("\"hashing-384\""));
}

TEST(CheckModelTest, OtherDimensionNamesBoth) {
  ModelInfo info{.name = "hashing-384", .dimension = 384, .kind = "hashing"};
  absl::Status s = CheckModel(info, "", 768);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("768"));
  EXPECT_THAT(s.message(), HasSubstr("384"));
}

TEST(CheckVectorDimensionTest, MismatchNamesBoth) {
  EXPECT_TRUE(CheckVectorDimension("m", 3, 3).ok());
  absl::Status s = CheckVectorDimension("hashing-384", 384, 12);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("12"));
  EXPECT_THAT(s.message(), HasSubstr("384"));
}

}  // namespace
}  // namespace quarry::embedding
