#include "tools/quarryctl/ingest.h"

#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"

namespace quarry::ctl {
namespace {

std::string WriteFile(const std::string& name, const std::string& content) {
  std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

std::vector<InputDocument> ReadAll(DocumentReader& reader) {
  std::vector<InputDocument> docs;
  while (true) {
    auto next = reader.Next();
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !next->has_value()) break;
    docs.push_back(**next);
  }
  return docs;
}

TEST(DocumentReader, ReadsJsonLines) {
  std::string path = WriteFile("docs.jsonl",
                               R"({"id": "a", "text": "first", "metadata": {"lang": "en", "n": 3}, "tags": ["x", "y"]})"
                               "\n\n"
                               R"({"id": "b", "text": "second"})"
                               "\n");
  auto reader = DocumentReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto docs = ReadAll(**reader);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].metadata["lang"], "en");
  EXPECT_EQ(docs[0].metadata["n"], "3");
  EXPECT_EQ(docs[0].tags, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(docs[1].text, "second");
  EXPECT_EQ((*reader)->offset(), (*reader)->size_bytes());
}

TEST(DocumentReader, ReadsCsvWithQuotesNewlinesAndExtraColumns) {
  std::string path = WriteFile("docs.csv",
                               "id,text,tags,team\r\n"
                               "a,\"hello, \"\"quoted\"\" world\",bug|urgent,infra\r\n"
                               "b,\"two\nlines\",,web\n");
  auto reader = DocumentReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto docs = ReadAll(**reader);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].text, "hello, \"quoted\" world");
  EXPECT_EQ(docs[0].tags, (std::vector<std::string>{"bug", "urgent"}));
  EXPECT_EQ(docs[0].metadata["team"], "infra");
  EXPECT_EQ(docs[1].text, "two\nlines");
  EXPECT_TRUE(docs[1].tags.empty());
}

TEST(DocumentReader, BadInputNamesTheLine) {
  std::string path = WriteFile("bad.jsonl", R"({"id": "a", "text": "ok"})"
                                            "\n"
                                            R"({"id": 7, "text": "x"})"
                                            "\n");
  auto reader = DocumentReader::Open(path);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Next().ok());
  auto bad = (*reader)->Next();
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos) << bad.status();
  EXPECT_FALSE(DocumentReader::Open(WriteFile("x.txt", "a")).ok());
  EXPECT_FALSE(DocumentReader::Open(WriteFile("nohdr.csv", "a,b\n1,2\n")).ok());
}

TEST(Checkpoint, ResumesAfterTheLastAcknowledgedDocument) {
  std::string content;
  for (int i = 0; i < 10; ++i) {
    content += R"({"id": "d)" + std::to_string(i) + R"(", "text": "t"})" + "\n";
  }
  std::string path = WriteFile("resume.jsonl", content);
  EXPECT_EQ(ReadCheckpoint(path), 0);
  {
    auto reader = DocumentReader::Open(path);
    ASSERT_TRUE(reader.ok());
    for (int i = 0; i < 4; ++i) ASSERT_TRUE((*reader)->Next().ok());
    ASSERT_TRUE(WriteCheckpoint(path, (*reader)->offset()).ok());
  }
  auto reader = DocumentReader::Open(path);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Seek(ReadCheckpoint(path)).ok());
  auto docs = ReadAll(**reader);
  ASSERT_EQ(docs.size(), 6u);
  EXPECT_EQ(docs[0].id, "d4");
  EXPECT_FALSE((*reader)->Seek(1 << 30).ok());
}

}  // namespace
}  // namespace quarry::ctl
