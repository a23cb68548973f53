#include "services/vector_search/snapshot.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "services/vector_search/crc32c.h"

namespace quarry::vector_search {
namespace {

SnapshotData Sample() {
  SnapshotData data;
  data.metric = Metric::kL2;
  data.dimension = 3;
  data.watermark = 42;
  data.docs.push_back({"a", {1, 2, 3}, {"x", "y"}, {{"k", "v"}, {"e", ""}}, 7, true});
  data.docs.push_back({"", {}, {}, {}, 9, false});
  data.docs.push_back({"b", {-1, 0.5f, 0}, {}, {}, 11, true});
  data.graph = std::string("\x01\x02\x00\x03", 4);
  return data;
}

void ExpectEqual(const SnapshotData& a, const SnapshotData& b) {
  EXPECT_EQ(a.metric, b.metric);
  EXPECT_EQ(a.dimension, b.dimension);
  EXPECT_EQ(a.watermark, b.watermark);
  EXPECT_EQ(a.graph, b.graph);
  ASSERT_EQ(a.docs.size(), b.docs.size());
  for (size_t i = 0; i < a.docs.size(); ++i) {
    EXPECT_EQ(a.docs[i].id, b.docs[i].id);
    EXPECT_EQ(a.docs[i].vector, b.docs[i].vector);
    EXPECT_EQ(a.docs[i].tags, b.docs[i].tags);
    EXPECT_EQ(a.docs[i].metadata, b.docs[i].metadata);
    EXPECT_EQ(a.docs[i].seq, b.docs[i].seq);
    EXPECT_EQ(a.docs[i].live, b.docs[i].live);
  }
}

TEST(Crc32cTest, KnownVector) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);
  // Chaining equals one pass.
  EXPECT_EQ(Crc32c("6789", 4, Crc32c("12345", 5)), 0xE3069283u);
  EXPECT_EQ(Crc32c("", 0), 0u);
}

TEST(SnapshotTest, RoundTrip) {
  const SnapshotData data = Sample();
  auto decoded = DecodeSnapshot(EncodeSnapshot(data));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectEqual(data, *decoded);
}

TEST(SnapshotTest, EveryTruncationIsDataLoss) {
  const std::string bytes = EncodeSnapshot(Sample());
  for (size_t n = 8; n < bytes.size(); ++n) {
    auto decoded = DecodeSnapshot(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(decoded.ok()) << n;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss) << n;
  }
}

TEST(SnapshotTest, EveryBitFlipIsRejected) {
  const std::string bytes = EncodeSnapshot(Sample());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string corrupt = bytes;
      corrupt[i] = static_cast<char>(corrupt[i] ^ (1 << bit));
      auto decoded = DecodeSnapshot(corrupt);
      ASSERT_FALSE(decoded.ok()) << i << ":" << bit;
      // A flip inside the magic reads as "not a snapshot".
      EXPECT_EQ(decoded.status().code(), i < 8 ? absl::StatusCode::kInvalidArgument
                                               : absl::StatusCode::kDataLoss);
    }
  }
}

TEST(SnapshotTest, WrongMagicAndVersionAreInvalidArgument) {
  std::string bytes = EncodeSnapshot(Sample());
  bytes[0] = 'X';
  EXPECT_EQ(DecodeSnapshot(bytes).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeSnapshot("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeSnapshot("not a snapshot at all").status().code(),
            absl::StatusCode::kInvalidArgument);
  // A future version with a valid checksum is refused, not misread.
  bytes = EncodeSnapshot(Sample());
  bytes[8] = 2;
  const uint32_t crc = Crc32c(bytes.data(), bytes.size() - 4);
  bytes.replace(bytes.size() - 4, 4, reinterpret_cast<const char*>(&crc), 4);
  EXPECT_EQ(DecodeSnapshot(bytes).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SnapshotTest, HugeLengthWithValidChecksumIsDataLoss) {
  // A well-formed header claiming far more documents than bytes must not
  // allocate or read past the end (the fuzzing concern).
  SnapshotData data = Sample();
  std::string bytes = EncodeSnapshot(data);
  const uint64_t huge = uint64_t{1} << 60;
  bytes.replace(8 + 4 * 4 + 8, 8, reinterpret_cast<const char*>(&huge), 8);
  const uint32_t crc = Crc32c(bytes.data(), bytes.size() - 4);
  bytes.replace(bytes.size() - 4, 4, reinterpret_cast<const char*>(&crc), 4);
  EXPECT_EQ(DecodeSnapshot(bytes).status().code(), absl::StatusCode::kDataLoss);
}

// Graph snapshots carry vectors in the graph section, so every document has
// an empty vector; decoding those read zero bytes into a null data() (UB that
// UBSan reports: --config=asan, //fuzz:snapshot_fuzzer).
TEST(SnapshotTest, DocumentsWithoutVectorsRoundTrip) {
  SnapshotData data;
  data.metric = Metric::kCosine;
  data.dimension = 4;
  data.watermark = 3;
  data.docs.push_back({"a", {}, {"t"}, {}, 1, true});
  data.docs.push_back({"", {}, {}, {}, 2, false});
  data.graph = "g";
  auto decoded = DecodeSnapshot(EncodeSnapshot(data));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectEqual(data, *decoded);
}

// Found by //fuzz:snapshot_fuzzer: a graph-less snapshot holding a dead slot
// with a vector decoded fine, and HnswIndex::FromSnapshot then rebuilt it as a
// live document with an empty id that searches could return.
TEST(SnapshotTest, DocumentsInconsistentWithTheGraphSectionAreDataLoss) {
  SnapshotData dead_without_graph;
  dead_without_graph.metric = Metric::kDot;
  dead_without_graph.dimension = 2;
  dead_without_graph.docs.push_back({"", {1, 2}, {}, {}, 4, false});
  EXPECT_EQ(DecodeSnapshot(EncodeSnapshot(dead_without_graph)).status().code(),
            absl::StatusCode::kDataLoss);

  SnapshotData vectorless_without_graph = dead_without_graph;
  vectorless_without_graph.docs = {{"a", {}, {}, {}, 4, true}};
  EXPECT_EQ(DecodeSnapshot(EncodeSnapshot(vectorless_without_graph)).status().code(),
            absl::StatusCode::kDataLoss);

  SnapshotData dead_with_vector = Sample();  // has a graph section
  dead_with_vector.docs[1].vector = {0, 0, 0};
  EXPECT_EQ(DecodeSnapshot(EncodeSnapshot(dead_with_vector)).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(SnapshotTest, FileRoundTripIsAtomicAndReplaces) {
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/snapshot_test.qvs";
  std::remove(path.c_str());
  EXPECT_EQ(ReadSnapshotFile(path).status().code(), absl::StatusCode::kNotFound);
  SnapshotData data = Sample();
  ASSERT_TRUE(WriteSnapshotFile(path, data).ok());
  data.watermark = 99;
  ASSERT_TRUE(WriteSnapshotFile(path, data).ok());
  auto read = ReadSnapshotFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectEqual(data, *read);
  // No temporary file is left behind.
  EXPECT_NE(access((path + ".tmp." + std::to_string(getpid())).c_str(), F_OK), 0);
  EXPECT_FALSE(WriteSnapshotFile(dir + "/no/such/dir/x.qvs", data).ok());
}

}  // namespace
}  // namespace quarry::vector_search
