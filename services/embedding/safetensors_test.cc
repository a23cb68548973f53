#include "services/embedding/safetensors.h"

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quarry::embedding {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Le64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}

std::string File(const std::string& header, const std::string& data) {
  return Le64(header.size()) + header + data;
}

std::string Floats(std::vector<float> values) {
  std::string out(values.size() * 4, '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

TEST(SafetensorsTest, ReadsF32F16AndBF16) {
  // F16 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF, 2^-24 = 0x0001 (subnormal);
  // BF16 1.5 = 0x3FC0.
  const std::string f16 = std::string("\x00\x3c\x00\xc0\xff\x7b\x01\x00", 8);
  const std::string bf16 = std::string("\xc0\x3f", 2);
  const std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
      R"("h":{"dtype":"F16","shape":[4],"data_offsets":[16,24]},)"
      R"("b":{"dtype":"BF16","shape":[1],"data_offsets":[24,26]},)"
      R"("i":{"dtype":"I64","shape":[],"data_offsets":[26,34]}})";
  auto file = SafetensorsFile::FromBytes(
      File(header, Floats({1, 2, 3, 4}) + f16 + bf16 + std::string(8, '\0')));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->tensor_count(), 4u);

  auto a = (*file)->GetFloat("a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(a->shape, ElementsAre(2, 2));
  ASSERT_EQ(a->size, 4u);
  EXPECT_EQ(a->data[3], 4.0f);

  auto h = (*file)->GetFloat("h");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->data[0], 1.0f);
  EXPECT_EQ(h->data[1], -2.0f);
  EXPECT_EQ(h->data[2], 65504.0f);
  EXPECT_EQ(h->data[3], std::ldexp(1.0f, -24));

  auto b = (*file)->GetFloat("b");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->data[0], 1.5f);

  // Moving a converted tensor keeps its data valid.
  FloatTensor moved = *std::move(h);
  EXPECT_EQ(moved.data[1], -2.0f);

  EXPECT_EQ((*file)->GetFloat("i").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*file)->GetFloat("missing").status().code(), absl::StatusCode::kNotFound);
}

TEST(SafetensorsTest, UnalignedF32IsCopied) {
  // A 3-byte header makes the data section start at offset 11.
  const std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string padded = header + std::string((4 - (8 + header.size()) % 4) % 4 + 1, ' ');
  auto file = SafetensorsFile::FromBytes(File(padded, Floats({7, 8})));
  ASSERT_TRUE(file.ok()) << file.status();
  auto x = (*file)->GetFloat("x");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->data[0], 7.0f);
  EXPECT_EQ(x->data[1], 8.0f);
}

// An empty tensor at an unaligned offset takes the copying path with nothing
// to copy; under UBSan (--config=asan, //fuzz) that once was memcpy(nullptr).
TEST(SafetensorsTest, EmptyUnalignedF32) {
  const std::string header =
      R"({"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
      R"("x":{"dtype":"F32","shape":[0,3],"data_offsets":[1,1]}})";
  const std::string padded = header + std::string((4 - (8 + header.size()) % 4) % 4, ' ');
  auto file = SafetensorsFile::FromBytes(File(padded, std::string(1, '\x7f')));
  ASSERT_TRUE(file.ok()) << file.status();
  auto x = (*file)->GetFloat("x");
  ASSERT_TRUE(x.ok()) << x.status();
  EXPECT_EQ(x->size, 0u);
  EXPECT_THAT(x->shape, ElementsAre(0, 3));
}

TEST(SafetensorsTest, RejectsCorruptFiles) {
  const std::string ok_entry = R"("x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "shorter than"},
      {Le64(1000) + "{}", "exceeds the file size"},
      {Le64(~0ULL) + "{}", "header length"},
      {File("{not json", ""), "not valid JSON"},
      {File("[1,2]", ""), "not a JSON object"},
      {File("{" + ok_entry + "}", Floats({1})), "outside the data section"},
      {File(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", Floats({1, 2})),
       "shape and dtype need 12"},
      {File(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", Floats({1, 2})),
       "outside the data section"},
      {File(R"({"x":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", Floats({1, 2})),
       "unsupported dtype"},
      {File(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", Floats({1, 2})),
       "non-natural"},
      {File(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
            Floats({1, 2})),
       "overflows"},
      {File(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", Floats({1, 2})),
       "data_offsets"},
      {File(R"({"x":{"shape":[2],"data_offsets":[0,8]}})", Floats({1, 2})), "no dtype"},
      {File(R"({"x":5})", ""), "not an object"},
  };
  for (const auto& [bytes, why] : cases) {
    auto file = SafetensorsFile::FromBytes(bytes);
    ASSERT_FALSE(file.ok()) << why;
    EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument) << why;
    EXPECT_THAT(file.status().message(), HasSubstr(why));
  }
}

TEST(SafetensorsTest, EveryTruncationOfAValidFileFailsCleanly) {
  const std::string full =
      File(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", Floats({1, 2}));
  ASSERT_TRUE(SafetensorsFile::FromBytes(full).ok());
  for (size_t len = 0; len < full.size(); ++len) {
    EXPECT_FALSE(SafetensorsFile::FromBytes(full.substr(0, len)).ok()) << len;
  }
}

TEST(SafetensorsTest, OpensFromDiskWithMmap) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/t.safetensors";
  {
    std::ofstream out(path, std::ios::binary);
    std::string header = R"({"w":{"dtype":"F32","shape":[1,3],"data_offsets":[0,12]}})";
    header.append((8 - header.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
    out << File(header, Floats({0.5f, 1.5f, 2.5f}));
  }
  auto file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  auto w = (*file)->GetFloat("w");
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->storage.empty());  // aligned F32 is read in place
  EXPECT_EQ(w->data[2], 2.5f);
  EXPECT_EQ(SafetensorsFile::Open(path + ".missing").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace quarry::embedding
