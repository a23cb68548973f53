#include "services/embedding/hashing_embedder.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace quarry::embedding {
namespace {

float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  float sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

std::unique_ptr<HashingEmbedder> Make(uint32_t dim = HashingEmbedder::kDefaultDimension) {
  auto e = HashingEmbedder::Create(dim);
  EXPECT_TRUE(e.ok()) << e.status();
  return *std::move(e);
}

TEST(HashingEmbedderTest, Info) {
  auto e = Make();
  EXPECT_EQ(e->info().name, "hashing-384");
  EXPECT_EQ(e->info().dimension, 384u);
  EXPECT_EQ(e->info().kind, "hashing");
  EXPECT_TRUE(e->info().normalized);
  EXPECT_EQ(e->info().max_tokens, 0u);
  EXPECT_EQ(Make(64)->info().name, "hashing-64");
}

TEST(HashingEmbedderTest, RejectsBadDimension) {
  EXPECT_EQ(HashingEmbedder::Create(0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HashingEmbedder::Create(HashingEmbedder::kMaxDimension + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HashingEmbedderTest, DeterministicAndNormalized) {
  auto a = Make();
  auto b = Make();
  const std::string text = "The quick brown fox jumps over the lazy dog";
  EmbeddingResult ra = a->Embed(text);
  EmbeddingResult rb = b->Embed(text);
  EXPECT_EQ(ra.vector, rb.vector);
  ASSERT_EQ(ra.vector.size(), 384u);
  EXPECT_NEAR(Dot(ra.vector, ra.vector), 1.0f, 1e-5);
  EXPECT_EQ(ra.token_count, 9u);
  EXPECT_FALSE(ra.truncated);
  int nonzero = 0;
  for (float v : ra.vector) nonzero += v != 0;
  // 9 unigrams + 8 bigrams + 43 trigrams spread over many buckets.
  EXPECT_GT(nonzero, 40);
}

TEST(HashingEmbedderTest, CaseAndPunctuationInvariant) {
  EmbeddingResult r = Make(8)->Embed("hello world");
  std::vector<float> again = Make(8)->Embed("HELLO, World!").vector;
  EXPECT_EQ(r.vector, again);  // case and punctuation are normalised away
  double norm = 0;
  for (float v : r.vector) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-6);
}

TEST(HashingEmbedderTest, PinnedHashDoesNotDrift) {
  // Stored vectors must stay comparable across builds and machines. Expected
  // values from an independent Python rendering of the spec (FNV-1a 64 +
  // splitmix64 finaliser, bucket = low 63 bits mod dim, sign = top bit,
  // weight 1 + ln(tf)): "hello" twice gives tf 2 for its unigram and trigrams.
  const std::vector<float> expected = {0, 0, 0, 0, 0.734894f, 0, 0.300854f, 0,
                                       0, 0, 0, 0, -0.434040f, 0, 0.300854f, -0.300854f};
  const std::vector<float> got = Make(16)->Embed("Hello hello, WORLD").vector;
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-5) << i;
}

TEST(HashingEmbedderTest, SimilarTextsAreCloserThanUnrelated) {
  auto e = Make();
  auto v = [&](const char* t) { return e->Embed(t).vector; };
  const auto query = v("how to reset my password");
  const float similar = Dot(query, v("reset your password in the settings"));
  const float unrelated = Dot(query, v("the weather in Paris is sunny today"));
  EXPECT_GT(similar, unrelated + 0.2f);
  // Character trigrams make inflections close.
  EXPECT_GT(Dot(v("embedding"), v("embeddings")), 0.5f);
  EXPECT_LT(std::abs(Dot(v("embedding"), v("volcano"))), 0.3f);
}

TEST(HashingEmbedderTest, SublinearTermFrequency) {
  auto e = Make();
  // Repetition raises a word's weight, but only logarithmically.
  const auto once = e->Embed("apple banana").vector;
  const auto many = e->Embed("apple apple apple apple banana").vector;
  EXPECT_GT(Dot(once, many), 0.6f);
  EXPECT_LT(Dot(once, many), 0.999f);
}

TEST(HashingEmbedderTest, EmptyAfterCleaningIsAFixedUnitVector) {
  auto e = Make();
  EmbeddingResult a = e->Embed("...!?");
  EmbeddingResult b = e->Embed("\u200b \t\u0007");
  EXPECT_EQ(a.token_count, 0u);
  EXPECT_EQ(a.vector, b.vector);
  EXPECT_NEAR(Dot(a.vector, a.vector), 1.0f, 1e-6);
  EXPECT_LT(std::abs(Dot(a.vector, e->Embed("hello").vector)), 0.5f);
}

TEST(HashingEmbedderTest, BatchMatchesSingleAndCountsTokens) {
  auto e = Make();
  std::vector<absl::string_view> texts = {"one text", "Café 日本 two", "..."};
  auto batch = e->EmbedBatch(texts);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 3u);
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ((*batch)[i].vector, e->Embed(texts[i]).vector);
    EXPECT_EQ((*batch)[i].token_count, e->CountTokens(texts[i]));
  }
  EXPECT_EQ(e->CountTokens("Café 日本 two"), 4u);  // CJK ideographs are words
}

}  // namespace
}  // namespace quarry::embedding
