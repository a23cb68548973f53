#include "services/vector_search/hnsw_index.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "services/vector_search/snapshot.h"
#include "services/vector_search/synthetic_data.h"

namespace quarry::vector_search {
namespace {

constexpr size_t kDim = 32;
constexpr size_t kCount = 4000;
constexpr size_t kQueries = 50;

const ClusteredData& Data() {
  static const ClusteredData* data =
      new ClusteredData(MakeClusteredData(kCount, kQueries, kDim, 40, 7));
  return *data;
}

std::string Id(size_t i) { return "doc-" + std::to_string(i); }

// 1% of documents carry "p1", 30% "p30"; metadata "parity" is even/odd.
Tags TagsFor(size_t i) {
  Tags tags;
  if (i % 100 == 0) tags.push_back("p1");
  if (i % 10 < 3) tags.push_back("p30");
  return tags;
}
Metadata MetaFor(size_t i) { return {{"parity", i % 2 == 0 ? "even" : "odd"}}; }

HnswOptions Options(Metric metric) {
  HnswOptions o;
  o.metric = metric;
  o.dimension = kDim;
  o.exact_below = 100;
  o.rebuild_min_slots = 1u << 30;  // tests that want rebuilds lower this
  return o;
}

std::unique_ptr<HnswIndex> Build(const HnswOptions& options, size_t n = kCount) {
  auto index = HnswIndex::Create(options);
  EXPECT_TRUE(index.ok()) << index.status();
  for (size_t i = 0; i < n; ++i) {
    EXPECT_TRUE((*index)->Upsert(Id(i), absl::MakeConstSpan(Data().row(i), kDim),
                                 TagsFor(i), MetaFor(i), static_cast<int64_t>(i + 1))
                    .ok());
  }
  return *std::move(index);
}

// Independent brute force, in double precision, as ground truth.
std::vector<std::string> Reference(Metric metric, const float* q, size_t k,
                                   const std::set<size_t>& excluded,
                                   bool (*keep)(size_t) = nullptr) {
  std::vector<std::pair<double, size_t>> scored;
  double qn = 0;
  for (size_t d = 0; d < kDim; ++d) qn += double{q[d]} * q[d];
  for (size_t i = 0; i < kCount; ++i) {
    if (excluded.count(i) || (keep != nullptr && !keep(i))) continue;
    const float* v = Data().row(i);
    double dot = 0, l2 = 0, vn = 0;
    for (size_t d = 0; d < kDim; ++d) {
      dot += double{q[d]} * v[d];
      l2 += (double{q[d]} - v[d]) * (double{q[d]} - v[d]);
      vn += double{v[d]} * v[d];
    }
    const double score = metric == Metric::kL2    ? -l2
                         : metric == Metric::kDot ? dot
                                                  : dot / std::sqrt(qn * vn);
    scored.emplace_back(score, i);
  }
  std::sort(scored.begin(), scored.end(), std::greater<>());
  std::vector<std::string> ids;
  for (size_t j = 0; j < std::min(k, scored.size()); ++j) ids.push_back(Id(scored[j].second));
  return ids;
}

double Recall(const std::vector<Hit>& hits, const std::vector<std::string>& truth) {
  if (truth.empty()) return 1.0;
  size_t found = 0;
  for (const Hit& h : hits) {
    if (std::find(truth.begin(), truth.end(), h.id) != truth.end()) ++found;
  }
  return static_cast<double>(found) / truth.size();
}

SearchRequest Query(size_t qi, size_t k = 10) {
  SearchRequest r;
  r.query.assign(Data().query(qi), Data().query(qi) + kDim);
  r.k = k;
  r.effort = 64;
  return r;
}

// Mean recall@10 of the index against the reference over all queries.
double MeanRecall(const HnswIndex& index, Metric metric, const Filter& filter,
                  bool (*keep)(size_t), bool* any_exact, bool* any_graph,
                  const std::set<size_t>& excluded = {}) {
  double sum = 0;
  for (size_t qi = 0; qi < kQueries; ++qi) {
    SearchRequest r = Query(qi);
    r.filter = filter;
    auto result = index.Search(r);
    EXPECT_TRUE(result.ok()) << result.status();
    if (result->exact_used) *any_exact = true; else *any_graph = true;
    sum += Recall(result->hits, Reference(metric, Data().query(qi), 10, excluded, keep));
  }
  return sum / kQueries;
}

class MetricTest : public ::testing::TestWithParam<Metric> {};

TEST_P(MetricTest, GraphRecallAndExactModeMatchReference) {
  auto index = Build(Options(GetParam()));
  bool exact = false, graph = false;
  EXPECT_GE(MeanRecall(*index, GetParam(), {}, nullptr, &exact, &graph), 0.95);
  EXPECT_TRUE(graph);
  EXPECT_FALSE(exact);
  for (size_t qi = 0; qi < 10; ++qi) {
    SearchRequest r = Query(qi);
    r.exact = true;
    auto result = index->Search(r);
    ASSERT_TRUE(result.ok());
    EXPECT_TRUE(result->exact_used);
    EXPECT_EQ(Recall(result->hits, Reference(GetParam(), Data().query(qi), 10, {})), 1.0);
    for (size_t j = 1; j < result->hits.size(); ++j) {
      EXPECT_GE(result->hits[j - 1].score, result->hits[j].score);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllMetrics, MetricTest,
                         ::testing::Values(Metric::kCosine, Metric::kDot, Metric::kL2));

TEST(HnswIndexTest, ScoresFollowTheMetricConventions) {
  for (Metric metric : {Metric::kCosine, Metric::kDot, Metric::kL2}) {
    HnswOptions o = Options(metric);
    o.dimension = 2;
    auto index = *HnswIndex::Create(o);
    ASSERT_TRUE(index->Upsert("a", std::vector<float>{3, 4}, {}, {}, 1).ok());
    SearchRequest r;
    r.query = {1, 0};
    r.k = 1;
    auto result = index->Search(r);
    ASSERT_TRUE(result.ok());
    ASSERT_EQ(result->hits.size(), 1u);
    const float expected = metric == Metric::kCosine ? 0.6f : metric == Metric::kDot ? 3.0f : -20.0f;
    EXPECT_NEAR(result->hits[0].score, expected, 1e-5) << static_cast<int>(metric);
  }
}

bool OnePercent(size_t i) { return i % 100 == 0; }
bool ThirtyPercent(size_t i) { return i % 10 < 3; }
bool EvenAndThirty(size_t i) { return i % 2 == 0 && i % 10 < 3; }

TEST(HnswIndexTest, SelectiveFilterGoesExactWithFullRecall) {
  auto index = Build(Options(Metric::kCosine));
  bool exact = false, graph = false;
  EXPECT_EQ(MeanRecall(*index, Metric::kCosine, {.all_tags = {"p1"}}, OnePercent,
                       &exact, &graph), 1.0);
  EXPECT_TRUE(exact);
  EXPECT_FALSE(graph);
}

TEST(HnswIndexTest, BroadFilterUsesGraphWithHighRecall) {
  HnswOptions o = Options(Metric::kCosine);
  o.filter_exact_threshold = 0;  // force the in-traversal filter at this size
  auto index = Build(o);
  bool exact = false, graph = false;
  EXPECT_GE(MeanRecall(*index, Metric::kCosine, {.all_tags = {"p30"}}, ThirtyPercent,
                       &exact, &graph), 0.95);
  EXPECT_TRUE(graph);
  // Conjunction with metadata and the any-of form.
  EXPECT_GE(MeanRecall(*index, Metric::kCosine,
                       {.any_tags = {"p30", "nope"}, .metadata_equals = {{"parity", "even"}}},
                       EvenAndThirty, &exact, &graph), 0.95);
}

TEST(HnswIndexTest, UnknownFilterTermMatchesNothing) {
  auto index = Build(Options(Metric::kCosine), 500);
  SearchRequest r = Query(0);
  r.filter.all_tags = {"p30", "missing"};
  EXPECT_TRUE(index->Search(r)->hits.empty());
  r.filter = {.metadata_equals = {{"parity", "neither"}}};
  EXPECT_TRUE(index->Search(r)->hits.empty());
}

TEST(HnswIndexTest, MinScoreDropsWeakHits) {
  auto index = Build(Options(Metric::kCosine), 1000);
  SearchRequest r = Query(3, 50);
  auto all = index->Search(r);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->hits.size(), 50u);
  const float cut = all->hits[20].score;
  r.min_score = cut;
  auto some = index->Search(r);
  ASSERT_TRUE(some.ok());
  ASSERT_FALSE(some->hits.empty());
  EXPECT_LT(some->hits.size(), 50u);
  for (const Hit& h : some->hits) EXPECT_GE(h.score, cut);
  r.min_score = 2.0f;  // above any cosine
  EXPECT_TRUE(index->Search(r)->hits.empty());
}

TEST(HnswIndexTest, UpsertReplacesAndStaleWritesAreIgnored) {
  auto index = Build(Options(Metric::kCosine), 1000);
  const std::vector<float> target(Data().query(5), Data().query(5) + kDim);
  ASSERT_TRUE(index->Upsert(Id(7), target, {"moved"}, {}, 5000).ok());
  EXPECT_EQ(index->Size(), 1000u);
  EXPECT_EQ(index->Tombstones(), 0u);
  SearchRequest r = Query(5, 5);
  auto result = index->Search(r);
  ASSERT_TRUE(result.ok());
  ASSERT_FALSE(result->hits.empty());
  EXPECT_EQ(result->hits[0].id, Id(7));
  EXPECT_NEAR(result->hits[0].score, 1.0, 1e-5);
  // Tags moved too: old tags no longer match, the new one does.
  r.filter = {.all_tags = {"moved"}};
  ASSERT_EQ(index->Search(r)->hits.size(), 1u);
  // An older write for the same id loses.
  ASSERT_TRUE(index->Upsert(Id(7), absl::MakeConstSpan(Data().row(7), kDim), {}, {}, 10).ok());
  EXPECT_EQ(index->Search(r)->hits.size(), 1u);
  EXPECT_EQ(index->Watermark(), 5000);
  // Every id appears at most once.
  r = Query(5, 100);
  r.exact = true;
  std::set<std::string> seen;
  auto unique = index->Search(r);
  ASSERT_TRUE(unique.ok());
  for (const Hit& h : unique->hits) EXPECT_TRUE(seen.insert(h.id).second);
}

TEST(HnswIndexTest, RejectsBadInput) {
  auto index = Build(Options(Metric::kCosine), 10);
  EXPECT_EQ(index->Upsert("", std::vector<float>(kDim), {}, {}, 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index->Upsert("x", std::vector<float>(kDim - 1), {}, {}, 1).code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<float> nan(kDim, 0);
  nan[3] = std::nanf("");
  EXPECT_EQ(index->Upsert("x", nan, {}, {}, 1).code(), absl::StatusCode::kInvalidArgument);
  SearchRequest r = Query(0);
  r.k = 0;
  EXPECT_EQ(index->Search(r).status().code(), absl::StatusCode::kInvalidArgument);
  r = Query(0);
  r.query.push_back(1);
  EXPECT_EQ(index->Search(r).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(HnswIndex::Create(HnswOptions{}).ok());  // dimension 0
}

// One set of bounds for the graph parameters, from options, flags or a
// snapshot: an index never accepts what its own snapshot would refuse.
TEST(HnswIndexTest, GraphParametersHaveOneSetOfBounds) {
  EXPECT_TRUE(ValidateM(2).ok());
  EXPECT_TRUE(ValidateM(256).ok());
  EXPECT_EQ(ValidateM(1).message(), "must be in [2, 256], got 1");
  EXPECT_FALSE(ValidateM(257).ok());
  EXPECT_TRUE(ValidateEfConstruction(1).ok());
  EXPECT_TRUE(ValidateEfConstruction(100000).ok());
  EXPECT_EQ(ValidateEfConstruction(0).message(), "must be in [1, 100000], got 0");
  EXPECT_FALSE(ValidateEfConstruction(100001).ok());

  HnswOptions options = Options(Metric::kCosine);
  options.m = 1;
  EXPECT_EQ(HnswIndex::Create(options).status().message(), "m: must be in [2, 256], got 1");
  options = Options(Metric::kCosine);
  options.ef_construction = 100001;
  EXPECT_EQ(HnswIndex::Create(options).status().message(),
            "ef_construction: must be in [1, 100000], got 100001");
}

// Deleted ids never come back: graph, exact, filtered, after a rebuild and
// after a snapshot reload.
TEST(HnswIndexTest, DeletesNeverResurface) {
  auto index = Build(Options(Metric::kCosine));
  std::set<size_t> deleted;
  for (size_t i = 0; i < kCount; i += 3) {
    ASSERT_TRUE(index->Delete(Id(i), static_cast<int64_t>(kCount + i)).ok());
    deleted.insert(i);
  }
  ASSERT_TRUE(index->Delete("never-existed", 1).ok());
  EXPECT_EQ(index->Size(), kCount - deleted.size());
  EXPECT_EQ(index->Tombstones(), deleted.size());
  auto check = [&](const HnswIndex& idx, const char* when) {
    bool exact = false, graph = false;
    EXPECT_GE(MeanRecall(idx, Metric::kCosine, {}, nullptr, &exact, &graph, deleted), 0.95) << when;
    for (size_t qi = 0; qi < kQueries; ++qi) {
      for (bool ex : {false, true}) {
        for (Filter f : {Filter{}, Filter{.all_tags = {"p30"}}, Filter{.all_tags = {"p1"}}}) {
          SearchRequest r = Query(qi, 30);
          r.exact = ex;
          r.filter = f;
          auto result = idx.Search(r);
          ASSERT_TRUE(result.ok());
          for (const Hit& h : result->hits) {
            const size_t i = std::stoul(h.id.substr(4));
            ASSERT_EQ(deleted.count(i), 0u) << when << " returned deleted " << h.id;
          }
        }
      }
    }
  };
  check(*index, "before rebuild");
  ASSERT_TRUE(index->RebuildNow().ok());
  EXPECT_EQ(index->Tombstones(), 0u);
  EXPECT_EQ(index->Size(), kCount - deleted.size());
  check(*index, "after rebuild");
  for (bool with_graph : {false, true}) {
    auto loaded = HnswIndex::FromSnapshot(Options(Metric::kCosine),
                                          *DecodeSnapshot(EncodeSnapshot(index->ExportSnapshot(with_graph))));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    check(**loaded, with_graph ? "after graph snapshot" : "after doc snapshot");
  }
  // A delete then a newer upsert brings the id back, as a fresh document.
  ASSERT_TRUE(index->Upsert(Id(0), absl::MakeConstSpan(Data().row(0), kDim), {}, {}, 99999).ok());
  SearchRequest r;
  r.query.assign(Data().row(0), Data().row(0) + kDim);
  r.k = 1;
  EXPECT_EQ(index->Search(r)->hits.at(0).id, Id(0));
}

TEST(HnswIndexTest, BackgroundRebuildTriggersOnTombstones) {
  HnswOptions o = Options(Metric::kL2);
  o.rebuild_min_slots = 500;
  o.rebuild_tombstone_fraction = 0.2;
  auto index = Build(o, 2000);
  for (size_t i = 0; i < 401; ++i) {
    ASSERT_TRUE(index->Delete(Id(i), 10000 + static_cast<int64_t>(i)).ok());
  }
  index->WaitForRebuild();
  EXPECT_GE(index->RebuildCount(), 1u);
  EXPECT_TRUE(index->LastRebuildStatus().ok());
  EXPECT_EQ(index->Size(), 1599u);
  EXPECT_EQ(index->Tombstones(), 0u);
  EXPECT_EQ(index->Watermark(), 10400);
}

// The same state loaded back gives identical answers: with the graph, the
// very same graph; without, a rebuild that equals a fresh build of the docs.
TEST(HnswIndexTest, SnapshotRoundTripGivesIdenticalResults) {
  for (bool int8 : {false, true}) {
    HnswOptions o = Options(Metric::kCosine);
    o.quantize_int8 = int8;
    auto index = Build(o, 3000);
    for (size_t i = 0; i < 3000; i += 7) ASSERT_TRUE(index->Delete(Id(i), 9000 + i).ok());
    const std::string path = ::testing::TempDir() + "/round_trip.qvs";
    for (bool with_graph : {false, true}) {
      ASSERT_TRUE(WriteSnapshotFile(path, index->ExportSnapshot(with_graph)).ok());
      auto snapshot = ReadSnapshotFile(path);
      ASSERT_TRUE(snapshot.ok()) << snapshot.status();
      EXPECT_EQ(snapshot->watermark, index->Watermark());
      std::vector<SnapshotDoc> docs = snapshot->docs;
      auto loaded = HnswIndex::FromSnapshot(o, *std::move(snapshot));
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      EXPECT_EQ((*loaded)->Size(), index->Size());
      EXPECT_EQ((*loaded)->Watermark(), index->Watermark());
      // Reference: the original for a graph snapshot, else a fresh build.
      std::unique_ptr<HnswIndex> fresh;
      if (!with_graph) {
        fresh = *HnswIndex::Create(o);
        for (const SnapshotDoc& d : docs) {
          ASSERT_TRUE(fresh->Upsert(d.id, d.vector, d.tags, d.metadata, d.seq).ok());
        }
      }
      const HnswIndex& expected = with_graph ? *index : *fresh;
      if (!int8 || with_graph) {  // int8 fresh builds train on a prefix instead
        for (size_t qi = 0; qi < kQueries; ++qi) {
          SearchRequest r = Query(qi);
          r.filter = qi % 2 ? Filter{.all_tags = {"p30"}} : Filter{};
          auto a = (*loaded)->Search(r);
          auto b = expected.Search(r);
          ASSERT_EQ(a->hits.size(), b->hits.size());
          for (size_t j = 0; j < a->hits.size(); ++j) {
            EXPECT_EQ(a->hits[j].id, b->hits[j].id) << int8 << with_graph << qi;
            EXPECT_FLOAT_EQ(a->hits[j].score, b->hits[j].score);
          }
        }
      }
    }
  }
}

TEST(HnswIndexTest, CorruptSnapshotIsRejectedNotServed) {
  auto index = Build(Options(Metric::kCosine), 1500);
  std::string bytes = EncodeSnapshot(index->ExportSnapshot(true));
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x10;
  EXPECT_EQ(DecodeSnapshot(flipped).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeSnapshot(std::string_view(bytes).substr(0, bytes.size() - 100)).status().code(),
            absl::StatusCode::kDataLoss);
  std::string magic = bytes;
  magic[1] = '?';
  EXPECT_EQ(DecodeSnapshot(magic).status().code(), absl::StatusCode::kInvalidArgument);
  // A graph that passes the checksum but is inconsistent (as a buggy writer
  // could produce) is still caught by the structural checks: point node 0's
  // first level-0 link past the end. The section starts with 45 header bytes
  // (float graph), then node 0's link count (4 bytes) and links.
  SnapshotData data = index->ExportSnapshot(true);
  const uint32_t wild = 0xFFFFFFF0u;
  data.graph.replace(45 + 4, 4, reinterpret_cast<const char*>(&wild), 4);
  EXPECT_EQ(HnswIndex::FromSnapshot(Options(Metric::kCosine), std::move(data)).status().code(),
            absl::StatusCode::kDataLoss);
  SnapshotData truncated_graph = index->ExportSnapshot(true);
  truncated_graph.graph.resize(truncated_graph.graph.size() - 1);
  EXPECT_EQ(HnswIndex::FromSnapshot(Options(Metric::kCosine), std::move(truncated_graph)).status().code(),
            absl::StatusCode::kDataLoss);
  HnswOptions other = Options(Metric::kCosine);
  other.dimension = kDim + 1;
  EXPECT_EQ(HnswIndex::FromSnapshot(other, index->ExportSnapshot(false)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(HnswIndexTest, Int8KeepsRecallAndCutsMemory) {
  HnswOptions f = Options(Metric::kCosine);
  HnswOptions q = f;
  q.quantize_int8 = true;
  q.float_store_dir = ::testing::TempDir();
  auto floats = Build(f);
  auto codes = Build(q);
  bool exact = false, graph = false;
  EXPECT_GE(MeanRecall(*codes, Metric::kCosine, {}, nullptr, &exact, &graph), 0.93);
  EXPECT_TRUE(graph);
  EXPECT_GE(MeanRecall(*codes, Metric::kCosine, {.all_tags = {"p1"}}, OnePercent, &exact, &graph), 1.0);
  EXPECT_LT(codes->MemoryBytes(), floats->MemoryBytes());
  EXPECT_GE(codes->MappedBytes(), kCount * kDim * sizeof(float));
  EXPECT_EQ(floats->MappedBytes(), 0u);
}

TEST(HnswIndexTest, Int8BeforeTrainingIsExact) {
  HnswOptions q = Options(Metric::kDot);
  q.quantize_int8 = true;
  q.quantizer_train_size = 1000;
  auto index = Build(q, 999);
  auto result = index->Search(Query(0));
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->exact_used);
  ASSERT_TRUE(index->Upsert(Id(999), absl::MakeConstSpan(Data().row(999), kDim), {}, {}, 1000).ok());
  SearchRequest r = Query(0);
  r.effort = 200;
  EXPECT_FALSE(index->Search(r)->exact_used);
}

// Searches keep running, and stay well-formed, while one writer upserts,
// deletes and triggers background rebuilds.
// A background rebuild has no caller to return its status to, so a failure
// must reach the service's logs as a JSON line (an operator's log pipeline
// drops plain text). Removing the float store's directory makes the rebuild
// fail creating its new store.
TEST(HnswIndexTest, FailedBackgroundRebuildLogsJson) {
  const std::string dir = ::testing::TempDir() + "/rebuild_fails";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  HnswOptions o = Options(Metric::kL2);
  o.quantize_int8 = true;
  o.quantizer_train_size = 100;
  o.float_store_dir = dir;
  o.rebuild_min_slots = 500;
  o.rebuild_tombstone_fraction = 0.2;
  auto index = Build(o, 1000);
  // The store's file is unlinked once open, so the directory is empty.
  ASSERT_EQ(rmdir(dir.c_str()), 0);
  ::testing::internal::CaptureStderr();
  for (size_t i = 0; i < 201; ++i) {
    ASSERT_TRUE(index->Delete(Id(i), 10000 + static_cast<int64_t>(i)).ok());
  }
  index->WaitForRebuild();
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(index->LastRebuildStatus().ok());
  EXPECT_EQ(index->RebuildCount(), 0u);
  EXPECT_EQ(logged.rfind("{", 0), 0u) << logged;
  EXPECT_NE(logged.find(R"("level":"error")"), std::string::npos) << logged;
  EXPECT_NE(logged.find(R"("service":"vector-search")"), std::string::npos) << logged;
  EXPECT_NE(logged.find(R"("message":"background rebuild failed")"), std::string::npos) << logged;
  EXPECT_NE(logged.find(R"("error":")"), std::string::npos) << logged;
  // The index keeps serving from the state it had.
  EXPECT_EQ(index->Size(), 799u);
}

TEST(HnswIndexTest, ConcurrentSearchesDuringWritesAndRebuilds) {
  HnswOptions o = Options(Metric::kCosine);
  o.rebuild_min_slots = 500;
  o.rebuild_tombstone_fraction = 0.1;
  auto index = Build(o, 2000);
  // Ids deleted before the readers start and never written again.
  for (size_t i = 0; i < 100; ++i) ASSERT_TRUE(index->Delete(Id(i), 5000 + i).ok());
  std::atomic<bool> stop{false};
  std::atomic<size_t> searches{0};
  std::atomic<size_t> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      for (size_t n = 0; n < 3000 && !stop.load(); ++n) {
        SearchRequest r = Query((n + t) % kQueries);
        r.exact = n % 5 == 0;
        if (n % 3 == 0) r.filter = {.all_tags = {"p30"}};
        auto result = index->Search(r);
        if (!result.ok() || result->hits.size() > 10) ++bad;
        for (size_t j = 0; result.ok() && j < result->hits.size(); ++j) {
          const size_t i = std::stoul(result->hits[j].id.substr(4));
          if (i < 100) ++bad;
          if (j > 0 && result->hits[j - 1].score < result->hits[j].score) ++bad;
        }
        ++searches;
      }
    });
  }
  int64_t seq = 100000;
  for (int round = 0; round < 4; ++round) {
    for (size_t i = 100; i < 2000; i += 5) {
      if ((i / 5 + round) % 2 == 0) {
        ASSERT_TRUE(index->Delete(Id(i), ++seq).ok());
      } else {
        ASSERT_TRUE(index->Upsert(Id(i), absl::MakeConstSpan(Data().row(i), kDim),
                                  TagsFor(i), MetaFor(i), ++seq).ok());
      }
    }
  }
  stop = true;
  for (auto& t : readers) t.join();
  index->WaitForRebuild();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(searches.load(), 0u);
  EXPECT_GE(index->RebuildCount(), 1u);
  // After the dust settles the index holds exactly the expected documents.
  size_t expected_live = 2000 - 100;
  for (size_t i = 100; i < 2000; i += 5) {
    if ((i / 5 + 3) % 2 == 0) --expected_live;
  }
  EXPECT_EQ(index->Size(), expected_live);
  EXPECT_EQ(index->Watermark(), seq);
}

}  // namespace
}  // namespace quarry::vector_search
