#include "tools/quarryctl/ingest.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"
#include "services/common/model/limits.h"

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

TEST(ParseJsonDocument, AcceptsNumericIdsAndVectors) {
  auto doc = ParseJsonDocument(R"({"id": 1740, "text": "entity", "vector": [0.5, -1, 2e3]})");
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ(doc->id, "1740");
  EXPECT_EQ(doc->vector, (std::vector<float>{0.5f, -1.0f, 2000.0f}));
  auto big = ParseJsonDocument(R"({"id": 18446744073709551615, "text": "t"})");
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->id, "18446744073709551615");
  auto negative = ParseJsonDocument(R"({"id": -3, "text": "t"})");
  ASSERT_TRUE(negative.ok()) << negative.status();
  EXPECT_EQ(negative->id, "-3");
  auto plain = ParseJsonDocument(R"({"id": "a", "text": "t"})");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->vector.empty());
}

TEST(ParseJsonDocument, WrongTypesNameTheField) {
  struct Case {
    const char* line;
    const char* message;
  };
  const Case cases[] = {
      {R"({"id": 1.5, "text": "t"})", "field \"id\" must be a string or an integer, got number"},
      {R"({"id": ["a"], "text": "t"})", "field \"id\" must be a string or an integer, got array"},
      {R"({"text": "t"})", "field \"id\" is missing"},
      {R"({"id": "a"})", "field \"text\" is missing"},
      {R"({"id": "a", "text": 3})", "field \"text\" must be a string, got number"},
      {R"({"id": "a", "text": "t", "vector": "0.5"})",
       "field \"vector\" must be a non-empty array of numbers, got string"},
      {R"({"id": "a", "text": "t", "vector": []})",
       "field \"vector\" must be a non-empty array of numbers, got array"},
      {R"({"id": "a", "text": "t", "vector": [1, "2"]})",
       "field \"vector[1]\" must be a number, got string"},
      {R"({"id": "a", "text": "t", "vector": [1e300]})",
       "field \"vector[0]\" is outside the range of a 32-bit float"},
      {R"({"id": "a", "text": "t", "tags": ["x", 2]})",
       "field \"tags[1]\" must be a string, got number"},
      {R"({"id": "a", "text": "t", "metadata": []})",
       "field \"metadata\" must be an object, got array"},
      {R"([1, 2])", "expected a JSON object, got array"},
      {R"({"id": )", "not valid JSON"},
  };
  for (const Case& c : cases) {
    auto doc = ParseJsonDocument(c.line);
    EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument) << c.line;
    EXPECT_NE(doc.status().message().find(c.message), std::string::npos)
        << c.line << " -> " << doc.status();
  }
}

TEST(DocumentReader, BadInputNamesFileAndLineAndReadingContinues) {
  std::string path = WriteFile("bad.jsonl", R"({"id": "a", "text": "ok"})"
                                            "\n\n"
                                            R"({"id": 7, "text": "x", "vector": [1, null]})"
                                            "\n"
                                            R"({"id": 8, "text": "y"})"
                                            "\n");
  auto reader = DocumentReader::Open(path);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Next().ok());
  auto bad = (*reader)->Next();
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find(path + ":3: field \"vector[1]\" must be a number"),
            std::string::npos)
      << bad.status();
  // --skip_bad goes on with the next line.
  auto next = (*reader)->Next();
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->id, "8");
  EXPECT_FALSE(DocumentReader::Open(WriteFile("x.txt", "a")).ok());
  EXPECT_FALSE(DocumentReader::Open(WriteFile("nohdr.csv", "a,b\n1,2\n")).ok());
}

TEST(DocumentReader, CsvErrorsNameTheRecordsFirstLine) {
  std::string path = WriteFile("bad.csv", "id,text\na,\"two\nlines\"\nb,x,extra\nc,ok\n");
  auto reader = DocumentReader::Open(path);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Next().ok());
  auto bad = (*reader)->Next();
  EXPECT_NE(bad.status().message().find(path + ":4: 3 fields, the header has 2"),
            std::string::npos)
      << bad.status();
  auto next = (*reader)->Next();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->id, "c");
}

std::string Ten() {
  std::string content;
  for (int i = 0; i < 10; ++i) {
    content += R"({"id": "d)" + std::to_string(i) + R"(", "text": "t"})" + "\n";
  }
  return content;
}

TEST(Checkpoint, ResumesAfterTheLastAcknowledgedDocument) {
  std::string path = WriteFile("resume.jsonl", Ten());
  auto key = MakeCheckpointKey("127.0.0.1:50050", "docs", path);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(ReadCheckpoint(*key).offset, 0);
  EXPECT_EQ(ReadCheckpoint(*key).message, "");
  {
    auto reader = DocumentReader::Open(path);
    ASSERT_TRUE(reader.ok());
    for (int i = 0; i < 4; ++i) ASSERT_TRUE((*reader)->Next().ok());
    ASSERT_TRUE(WriteCheckpoint(*key, (*reader)->offset()).ok());
  }
  auto reader = DocumentReader::Open(path);
  ASSERT_TRUE(reader.ok());
  const CheckpointState state = ReadCheckpoint(*key);
  EXPECT_NE(state.message.find("resuming"), std::string::npos) << state.message;
  ASSERT_TRUE((*reader)->Seek(state.offset).ok());
  auto docs = ReadAll(**reader);
  ASSERT_EQ(docs.size(), 6u);
  EXPECT_EQ(docs[0].id, "d4");
  EXPECT_FALSE((*reader)->Seek(1 << 30).ok());
}

TEST(Checkpoint, LineNumbersSurviveASeek) {
  std::string path = WriteFile("seek.jsonl", Ten() + "{bad\n");
  auto reader = DocumentReader::Open(path);
  ASSERT_TRUE(reader.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*reader)->Next().ok());
  const int64_t offset = (*reader)->offset();
  auto resumed = DocumentReader::Open(path);
  ASSERT_TRUE(resumed.ok());
  ASSERT_TRUE((*resumed)->Seek(offset).ok());
  for (int i = 0; i < 7; ++i) ASSERT_TRUE((*resumed)->Next().ok());
  auto bad = (*resumed)->Next();
  EXPECT_NE(bad.status().message().find(path + ":11: "), std::string::npos) << bad.status();
}

TEST(Checkpoint, EachTargetAndCollectionHasItsOwn) {
  std::string path = WriteFile("two.jsonl", Ten());
  auto docs = MakeCheckpointKey("127.0.0.1:50050", "docs", path);
  auto other_collection = MakeCheckpointKey("127.0.0.1:50050", "other", path);
  auto other_target = MakeCheckpointKey("127.0.0.1:50051", "docs", path);
  ASSERT_TRUE(docs.ok() && other_collection.ok() && other_target.ok());
  EXPECT_NE(CheckpointPath(*docs), CheckpointPath(*other_collection));
  EXPECT_NE(CheckpointPath(*docs), CheckpointPath(*other_target));
  EXPECT_EQ(CheckpointPath(*docs).rfind(docs->path, 0), 0u) << "next to the input";
  // The same destination always finds the same file (the name is a stable hash).
  EXPECT_EQ(CheckpointPath(*docs), CheckpointPath(*MakeCheckpointKey("127.0.0.1:50050", "docs",
                                                                     path)));
  ASSERT_TRUE(WriteCheckpoint(*docs, 40).ok());
  EXPECT_EQ(ReadCheckpoint(*docs).offset, 40);
  EXPECT_EQ(ReadCheckpoint(*other_collection).offset, 0);
  EXPECT_EQ(ReadCheckpoint(*other_target).offset, 0);
  EXPECT_EQ(ReadCheckpoint(*other_collection).message, "");
}

TEST(Checkpoint, AChangedFileStartsOverAndSaysSo) {
  std::string path = WriteFile("changed.jsonl", Ten());
  auto before = MakeCheckpointKey("t", "docs", path);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(WriteCheckpoint(*before, 80).ok());
  // Same size, new content and mtime: a byte offset into it would be meaningless.
  std::string content = Ten();
  content[8] = 'X';
  WriteFile("changed.jsonl", content);
  struct timespec times[2] = {{0, UTIME_OMIT}, {before->mtime_ns / 1000000000 + 5, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  auto after = MakeCheckpointKey("t", "docs", path);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size_bytes, before->size_bytes);
  EXPECT_EQ(CheckpointPath(*after), CheckpointPath(*before));
  const CheckpointState state = ReadCheckpoint(*after);
  EXPECT_EQ(state.offset, 0);
  EXPECT_NE(state.message.find("changed since checkpoint"), std::string::npos) << state.message;
  EXPECT_NE(state.message.find("starting over"), std::string::npos) << state.message;

  // Grown (appended to): starts over as well.
  WriteFile("changed.jsonl", content + content);
  auto grown = MakeCheckpointKey("t", "docs", path);
  ASSERT_TRUE(grown.ok());
  EXPECT_EQ(ReadCheckpoint(*grown).offset, 0);

  // A corrupt checkpoint is ignored, with a message.
  std::ofstream(CheckpointPath(*grown), std::ios::trunc) << "80\n";
  const CheckpointState corrupt = ReadCheckpoint(*grown);
  EXPECT_EQ(corrupt.offset, 0);
  EXPECT_NE(corrupt.message.find("unreadable"), std::string::npos) << corrupt.message;
}

TEST(BatchFlag, IsCheckedAgainstTheGatewayLimit) {
  BatchSize batch;
  std::string error;
  EXPECT_TRUE(AbslParseFlag("1", &batch, &error));
  EXPECT_EQ(batch.value, 1);
  EXPECT_TRUE(AbslParseFlag(std::to_string(quarry::model::kMaxDocumentsPerRequest), &batch,
                            &error));
  EXPECT_EQ(batch.value, quarry::model::kMaxDocumentsPerRequest);
  for (const std::string& bad :
       {std::to_string(quarry::model::kMaxDocumentsPerRequest + 1), std::string("0"),
        std::string("-5"), std::string("ten")}) {
    error.clear();
    EXPECT_FALSE(AbslParseFlag(bad, &batch, &error)) << bad;
    EXPECT_NE(error.find("--batch"), std::string::npos) << error;
    EXPECT_NE(error.find(std::to_string(quarry::model::kMaxDocumentsPerRequest)),
              std::string::npos)
        << error;
  }
  EXPECT_EQ(batch.value, quarry::model::kMaxDocumentsPerRequest) << "unchanged on error";
}

}  // namespace
}  // namespace quarry::ctl
