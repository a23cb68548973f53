#include "services/embedding/bert_encoder.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/embedding/test_paths.h"

namespace quarry::embedding {
namespace {

using ::testing::HasSubstr;

constexpr char kReferenceDir[] = "services/embedding/reference";

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return nlohmann::json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
}

double Cosine(const std::vector<float>& a, const std::vector<double>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += a[i] * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += b[i] * b[i];
  }
  return dot / std::sqrt(na * nb);
}

// The C++ encoder against PyTorch (make_reference.py) on every sentence: the
// same token ids and truncation flags, and cosine >= 0.999 per vector.
void CheckAgainstReference(const std::string& model_dir, const nlohmann::json& sentences,
                           const nlohmann::json& reference) {
  auto encoder = BertEncoder::Load(model_dir);
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  const std::vector<std::string> texts = sentences.get<std::vector<std::string>>();
  ASSERT_GE(texts.size(), 50u);
  std::vector<absl::string_view> views(texts.begin(), texts.end());
  // Embed in uneven batches so that batching cannot change results.
  std::vector<EmbeddingResult> results;
  for (size_t start = 0; start < views.size(); start += 13) {
    const size_t n = std::min<size_t>(13, views.size() - start);
    auto batch = (*encoder)->EmbedBatch(absl::MakeConstSpan(views).subspan(start, n));
    ASSERT_TRUE(batch.ok()) << batch.status();
    results.insert(results.end(), batch->begin(), batch->end());
  }
  const auto& ids = reference["token_ids"];
  const auto& truncated = reference["truncated"];
  const auto& vectors = reference["vectors"];
  ASSERT_EQ(results.size(), texts.size());
  int truncated_count = 0;
  double min_cosine = 1.0;
  for (size_t i = 0; i < texts.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "sentence " << i << ": " << texts[i]);
    const std::vector<int32_t> expected_ids = ids[i].get<std::vector<int32_t>>();
    EXPECT_EQ((*encoder)->tokenizer().Encode(texts[i]).ids, expected_ids);
    EXPECT_EQ(results[i].token_count, expected_ids.size());
    EXPECT_EQ((*encoder)->CountTokens(texts[i]), expected_ids.size());
    EXPECT_EQ(results[i].truncated, truncated[i].get<bool>());
    truncated_count += results[i].truncated;
    const std::vector<double> expected = vectors[i].get<std::vector<double>>();
    ASSERT_EQ(results[i].vector.size(), expected.size());
    const double cosine = Cosine(results[i].vector, expected);
    EXPECT_GE(cosine, 0.999);
    min_cosine = std::min(min_cosine, cosine);
    double norm = 0;
    for (float v : results[i].vector) norm += v * v;
    EXPECT_NEAR(norm, 1.0, 1e-4);
  }
  EXPECT_GT(truncated_count, 0) << "the sentences must exercise truncation";
  std::cout << model_dir << ": " << texts.size() << " sentences, " << truncated_count
            << " truncated, lowest cosine to PyTorch " << min_cosine << std::endl;
}

class ReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reference_ = ReadJson(testing::RunfilePath(std::string(kReferenceDir) + "/tiny_reference.json"));
    ASSERT_TRUE(reference_.is_object()) << "tiny_reference.json missing or malformed";
  }
  const nlohmann::json& Model(const std::string& name) {
    for (const auto& m : reference_["models"]) {
      if (m["name"] == name) return m;
    }
    ADD_FAILURE() << "no reference for " << name;
    return reference_;
  }
  nlohmann::json reference_;
};

TEST_F(ReferenceTest, TinyMeanPoolingModelMatchesPyTorch) {
  const std::string dir = testing::RunfilePath(std::string(kReferenceDir) + "/tiny_model");
  CheckAgainstReference(dir, reference_["sentences"], Model("tiny_model"));
}

// CLS pooling, F16 weights, "bert."-prefixed names, tokenizer.json vocabulary.
TEST_F(ReferenceTest, TinyClsF16ModelMatchesPyTorch) {
  const std::string dir = testing::RunfilePath(std::string(kReferenceDir) + "/tiny_cls_model");
  CheckAgainstReference(dir, reference_["sentences"], Model("tiny_cls_model"));
}

// The real model is checked too when the optional @shared_models repository
// (third_party/optional_models.bzl) holds its weights: QUARRY_TEST_MODELS names
// the model directory, by default ../shared/models beside the checkout; without
// its vocabulary and configuration this test is not built at all.
TEST(RealModelTest, PretrainedMiniLmMatchesPyTorchWhenPresent) {
  const nlohmann::json real =
      ReadJson(testing::RunfilePath(std::string(kReferenceDir) + "/real_reference.json"));
  ASSERT_TRUE(real.is_object());
  const bool weights_present =
      std::filesystem::exists(testing::SharedMiniLmDir() + "/model.safetensors");
  // The genrule and this test must agree on whether the weights exist.
  ASSERT_EQ(real["available"].get<bool>(), weights_present);
  if (!weights_present) return;  // the tiny models above always run
  CheckAgainstReference(testing::SharedMiniLmDir(), real["sentences"], real["models"][0]);
  auto encoder = BertEncoder::Load(testing::SharedMiniLmDir());
  ASSERT_TRUE(encoder.ok());
  EXPECT_EQ((*encoder)->info().name, "all-MiniLM-L6-v2");
  EXPECT_EQ((*encoder)->info().dimension, 384u);
  EXPECT_EQ((*encoder)->info().max_tokens, 256u);
}

TEST(BertEncoderTest, InfoAndBatchIndependence) {
  auto encoder = BertEncoder::Load(testing::RunfilePath(std::string(kReferenceDir) + "/tiny_model"));
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  const ModelInfo& info = (*encoder)->info();
  EXPECT_EQ(info.name, "tiny_model");
  EXPECT_EQ(info.dimension, 64u);
  EXPECT_EQ(info.max_tokens, 64u);
  EXPECT_EQ(info.kind, "transformer");
  EXPECT_TRUE(info.normalized);
  EXPECT_EQ((*encoder)->pooling(), BertPooling::kMean);

  // A text's vector does not depend on its batch companions (no padding).
  const std::vector<absl::string_view> texts = {"short", "a somewhat longer sentence here"};
  auto alone = (*encoder)->EmbedBatch({texts[0]});
  auto together = (*encoder)->EmbedBatch(texts);
  ASSERT_TRUE(alone.ok() && together.ok());
  for (size_t c = 0; c < info.dimension; ++c) {
    EXPECT_NEAR((*alone)[0].vector[c], (*together)[0].vector[c], 1e-5);
  }
  auto empty = (*encoder)->EmbedBatch({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(BertEncoderTest, ForwardRejectsBadSequences) {
  auto encoder = BertEncoder::Load(testing::RunfilePath(std::string(kReferenceDir) + "/tiny_model"));
  ASSERT_TRUE(encoder.ok());
  std::vector<std::vector<int32_t>> empty = {{}};
  EXPECT_EQ((*encoder)->Forward(empty).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::vector<int32_t>> bad_id = {{101, 30522, 102}};
  EXPECT_THAT((*encoder)->Forward(bad_id).status().message(), HasSubstr("30522"));
  std::vector<std::vector<int32_t>> too_long = {std::vector<int32_t>(65, 1000)};
  EXPECT_EQ((*encoder)->Forward(too_long).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BertEncoderTest, LoadErrorsNameTheProblem) {
  EXPECT_EQ(BertEncoder::Load("/nonexistent").status().code(), absl::StatusCode::kNotFound);
  // A directory with a config but no weights.
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/no_weights";
  std::filesystem::create_directories(dir);
  const std::string tiny = testing::RunfilePath(std::string(kReferenceDir) + "/tiny_model");
  for (const char* f : {"config.json", "vocab.txt", "tokenizer_config.json"}) {
    std::filesystem::copy_file(tiny + "/" + f, dir + "/" + f,
                               std::filesystem::copy_options::overwrite_existing);
  }
  auto missing = BertEncoder::Load(dir);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("model.safetensors"));
  // Weights of another architecture: the shape mismatch is named.
  std::filesystem::copy_file(
      testing::RunfilePath(std::string(kReferenceDir) + "/tiny_cls_model/model.safetensors"),
      dir + "/model.safetensors", std::filesystem::copy_options::overwrite_existing);
  auto wrong = BertEncoder::Load(dir);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong.status().message(), HasSubstr("word_embeddings"));
}

}  // namespace
}  // namespace quarry::embedding
