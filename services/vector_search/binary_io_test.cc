#include "services/vector_search/binary_io.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace quarry::vector_search {
namespace {

// One of everything the formats write, in a fixed order.
std::string EncodeSample() {
  std::string out;
  BinaryWriter w(&out);
  w.Put(uint8_t{0xAB});
  w.Put(uint32_t{0x01020304});
  w.Put(int32_t{-7});
  w.Put(uint64_t{0x1122334455667788});
  w.Put(int64_t{std::numeric_limits<int64_t>::min()});
  w.Put(1.5f);
  w.PutString("hello");
  w.PutString("");
  const float floats[3] = {0.25f, -2.0f, 1e30f};
  w.PutFloats(floats, 3);
  w.PutRaw("xyz", 3);
  return out;
}

TEST(BinaryIoTest, WritesLittleEndianFixedWidth) {
  std::string out;
  BinaryWriter w(&out);
  w.Put(uint32_t{0x01020304});
  w.Put(int16_t{-2});
  w.PutString("ab");
  EXPECT_EQ(out, std::string("\x04\x03\x02\x01\xfe\xff\x02\x00\x00\x00" "ab", 12));
}

TEST(BinaryIoTest, RoundTrip) {
  const std::string bytes = EncodeSample();
  BinaryReader r(bytes);
  uint8_t u8 = 0;
  uint32_t u32;
  int32_t i32;
  uint64_t u64;
  int64_t i64;
  float f = 0;
  std::string s1, s2;
  float floats[3];
  std::string_view raw;
  ASSERT_TRUE(r.Get(&u8).ok());
  ASSERT_TRUE(r.Get(&u32).ok());
  ASSERT_TRUE(r.Get(&i32).ok());
  ASSERT_TRUE(r.Get(&u64).ok());
  ASSERT_TRUE(r.Get(&i64).ok());
  ASSERT_TRUE(r.Get(&f).ok());
  ASSERT_TRUE(r.GetString(&s1).ok());
  ASSERT_TRUE(r.GetString(&s2).ok());
  ASSERT_TRUE(r.GetFloats(floats, 3).ok());
  ASSERT_TRUE(r.GetView(3, &raw).ok());
  EXPECT_EQ(u8, 0xAB);
  EXPECT_EQ(u32, 0x01020304u);
  EXPECT_EQ(i32, -7);
  EXPECT_EQ(u64, 0x1122334455667788u);
  EXPECT_EQ(i64, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f, 1.5f);
  EXPECT_EQ(s1, "hello");
  EXPECT_EQ(s2, "");
  EXPECT_EQ(floats[0], 0.25f);
  EXPECT_EQ(floats[1], -2.0f);
  EXPECT_EQ(floats[2], 1e30f);
  EXPECT_EQ(raw, "xyz");
  EXPECT_EQ(r.remaining(), 0u);
}

// Cutting the sample at every length makes some read fail, with
// OUT_OF_RANGE, and never read past the end (ASan would see it).
TEST(BinaryIoTest, EveryTruncationIsAnError) {
  const std::string full = EncodeSample();
  for (size_t len = 0; len < full.size(); ++len) {
    const std::string cut = full.substr(0, len);
    BinaryReader r(cut);
    uint8_t u8 = 0;
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    float f = 0;
    std::string s;
    float floats[3];
    std::string_view raw;
    absl::Status status = r.Get(&u8);
    if (status.ok()) status = r.Get(&u32);
    if (status.ok()) status = r.Get(&i32);
    if (status.ok()) status = r.Get(&u64);
    if (status.ok()) status = r.Get(&i64);
    if (status.ok()) status = r.Get(&f);
    if (status.ok()) status = r.GetString(&s);
    if (status.ok()) status = r.GetString(&s);
    if (status.ok()) status = r.GetFloats(floats, 3);
    if (status.ok()) status = r.GetView(3, &raw);
    EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange) << "length " << len;
  }
}

TEST(BinaryIoTest, FailedReadConsumesNothing) {
  std::string bytes;
  BinaryWriter w(&bytes);
  w.Put(uint32_t{100});  // a string length far beyond the input
  w.PutRaw("abc", 3);
  BinaryReader r(bytes);
  std::string s;
  EXPECT_EQ(r.GetString(&s).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(r.remaining(), 7u);
  uint64_t too_wide = 0;
  EXPECT_EQ(r.Get(&too_wide).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(r.remaining(), 7u);
  uint32_t n = 0;
  ASSERT_TRUE(r.Get(&n).ok());
  EXPECT_EQ(n, 100u);
}

TEST(BinaryIoTest, LengthsNearSizeMaxDoNotWrap) {
  const std::string bytes = "abcd";
  BinaryReader r(bytes);
  std::string_view view;
  EXPECT_EQ(r.GetView(std::numeric_limits<size_t>::max(), &view).code(),
            absl::StatusCode::kOutOfRange);
  std::vector<float> none;
  EXPECT_EQ(r.GetFloats(none.data(), std::numeric_limits<size_t>::max() / 2).code(),
            absl::StatusCode::kOutOfRange);
  // Zero bytes into a null destination is fine (an empty vector's data()).
  EXPECT_TRUE(r.GetFloats(none.data(), 0).ok());
  EXPECT_EQ(r.remaining(), 4u);
}

}  // namespace
}  // namespace quarry::vector_search
