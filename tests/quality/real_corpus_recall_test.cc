// Recall@10 of the HNSW index against exact search on real embeddings of a
// real text corpus: the descriptions of this machine's Debian packages
// (`apt-cache dumpavail`), embedded with Quarry's built-in model, with and
// without filters. Synthetic data (services/vector_search tests) can flatter
// an index; this is the data users bring.
#include <cstdio>
#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/embedding/hashing_embedder.h"
#include "services/vector_search/hnsw_index.h"
#include "tests/testing/debian_corpus.h"

namespace quarry {
namespace {

using vector_search::HnswIndex;
using vector_search::HnswOptions;
using vector_search::SearchRequest;

// Recall@k that counts ties as found: lexical embeddings of short texts give
// many documents exactly the same score, and which of them fill the last
// places of the exact top-k is arbitrary. A returned hit scoring at least
// the exact k-th score is as good an answer as the one the scan picked.
double Recall(const std::vector<vector_search::Hit>& got,
              const std::vector<vector_search::Hit>& truth) {
  if (truth.empty()) return 1.0;
  std::set<std::string> want;
  for (const auto& hit : truth) want.insert(hit.id);
  const float kth = truth.back().score;
  int found = 0;
  for (const auto& hit : got) found += want.count(hit.id) > 0 || hit.score >= kth - 1e-6f;
  return std::min(1.0, static_cast<double>(found) / truth.size());
}

TEST(RealCorpusRecall, HnswRecallAt10AgainstExactOnDebianDescriptions) {
  testing::CorpusOptions corpus_options;
  corpus_options.limit = 20000;
  corpus_options.max_description_bytes = 1500;
  const auto packages = testing::ReadDebianPackages(corpus_options);
  struct Doc {
    std::string id, text, section;
  };
  std::vector<Doc> docs;
  for (const auto& p : packages) docs.push_back({p.name, p.description, p.section});
  ASSERT_GE(docs.size(), 10000u) << "apt-cache dumpavail gave too few packages";
  auto embedder = embedding::HashingEmbedder::Create(384);
  ASSERT_TRUE(embedder.ok());
  HnswOptions options;
  options.dimension = 384;
  options.exact_below = 0;  // Use the graph whatever the size.
  auto index = HnswIndex::Create(options);
  ASSERT_TRUE(index.ok()) << index.status();
  std::vector<std::vector<float>> vectors;
  for (size_t start = 0; start < docs.size(); start += 256) {
    std::vector<absl::string_view> texts;
    for (size_t i = start; i < std::min(docs.size(), start + 256); ++i) texts.push_back(docs[i].text);
    auto batch = (*embedder)->EmbedBatch(texts);
    ASSERT_TRUE(batch.ok());
    for (auto& result : *batch) vectors.push_back(std::move(result.vector));
  }
  for (size_t i = 0; i < docs.size(); ++i) {
    ASSERT_TRUE((*index)->Upsert(docs[i].id, vectors[i], {docs[i].section}, {}, i + 1).ok());
  }

  // Queries: 200 real, partial questions (the first half of a description).
  // Recall is measured at several efforts; the index must reach 0.95.
  const std::string section = docs[7].section;
  std::vector<std::vector<float>> queries;
  for (int q = 0; q < 200; ++q) {
    const Doc& doc = docs[(q * 97) % docs.size()];
    auto query =
        (*embedder)->EmbedBatch({absl::string_view(doc.text).substr(0, doc.text.size() / 2)});
    ASSERT_TRUE(query.ok());
    queries.push_back((*query)[0].vector);
  }
  double best_unfiltered = 0, best_filtered = 0;
  for (size_t ef : {64, 128, 256, 512}) {
    double unfiltered = 0, filtered = 0;
    for (const auto& query : queries) {
      for (bool with_filter : {false, true}) {
        SearchRequest request;
        request.query = query;
        request.k = 10;
        request.effort = ef;
        if (with_filter) request.filter.all_tags = {section};
        auto graph = (*index)->Search(request);
        request.exact = true;
        auto exact = (*index)->Search(request);
        ASSERT_TRUE(graph.ok() && exact.ok());
        (with_filter ? filtered : unfiltered) += Recall(graph->hits, exact->hits);
      }
    }
    unfiltered /= queries.size();
    filtered /= queries.size();
    std::printf("real corpus: %zu Debian descriptions (hashing-384), ef %zu: recall@10 %.3f "
                "unfiltered, %.3f with section \"%s\"\n",
                docs.size(), ef, unfiltered, filtered, section.c_str());
    best_unfiltered = std::max(best_unfiltered, unfiltered);
    best_filtered = std::max(best_filtered, filtered);
  }
  EXPECT_GE(best_unfiltered, 0.95);
  EXPECT_GE(best_filtered, 0.95);
}

}  // namespace
}  // namespace quarry
