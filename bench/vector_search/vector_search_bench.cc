// Recall/QPS of the vector-search index on clustered synthetic embeddings (or,
// with --data=debian, Debian package descriptions embedded by the built-in model),
// against the exact scan and against faiss::IndexHNSWFlat, plus build time,
// memory and cold start. Single thread throughout. Prints "key value" lines
// and a table; run.sh wraps it.
#include <omp.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "bench/vector_search/debian_data.h"
#include "faiss/IndexHNSW.h"
#include "services/vector_search/distance.h"
#include "services/vector_search/hnsw_index.h"
#include "services/vector_search/snapshot.h"
#include "services/vector_search/synthetic_data.h"

ABSL_FLAG(size_t, n, 100000, "vectors");
ABSL_FLAG(size_t, dim, 384, "dimension");
ABSL_FLAG(size_t, queries, 300, "queries");
ABSL_FLAG(size_t, clusters, 200, "Gaussian clusters in the synthetic data");
ABSL_FLAG(std::string, data, "synthetic",
          "synthetic (clustered Gaussian) or debian (package-description sentences embedded "
          "with the built-in hashing model)");
ABSL_FLAG(size_t, m, 16, "HNSW M");
ABSL_FLAG(size_t, ef_construction, 100, "HNSW ef_construction");
ABSL_FLAG(bool, faiss, true, "also measure faiss IndexHNSWFlat");
ABSL_FLAG(bool, int8, true, "also measure the int8 index");
ABSL_FLAG(bool, build_only, false, "only build time and memory (for 1M)");
ABSL_FLAG(std::string, dir, "/tmp", "directory for snapshots and the int8 float store");

namespace qv = quarry::vector_search;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// CPU seconds this thread has run. On a shared, loaded machine wall-clock
// queries/s mostly measure the other tenants; queries per CPU-second do not
// (they still see cache pollution), so both are reported.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

size_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

double Mb(size_t bytes) { return bytes / 1048576.0; }

std::string Id(size_t i) { return std::to_string(i); }

qv::Tags TagsFor(size_t i) {
  qv::Tags tags;
  if (i % 100 == 0) tags.push_back("p1");
  if (i % 10 < 3) tags.push_back("p30");
  return tags;
}

struct Truth {
  std::vector<std::vector<size_t>> ids;  // per query, the exact top 10
};

double RecallOf(const std::vector<size_t>& got, const std::vector<size_t>& truth) {
  size_t hit = 0;
  for (size_t id : got) hit += std::count(truth.begin(), truth.end(), id);
  return truth.empty() ? 1.0 : static_cast<double>(hit) / truth.size();
}

struct Point {
  size_t ef;
  double recall;
  double qps;      // wall clock
  double cpu_qps;  // per CPU-second of this thread
};

// Runs every query at `ef` through `search` (which returns ids), returning
// mean recall and queries per second.
template <typename SearchFn>
Point Measure(size_t ef, size_t queries, const Truth& truth, SearchFn search) {
  double recall = 0;
  const auto start = Clock::now();
  const double cpu_start = ThreadCpuSeconds();
  for (size_t q = 0; q < queries; ++q) recall += RecallOf(search(q, ef), truth.ids[q]);
  const double cpu = ThreadCpuSeconds() - cpu_start;
  const double secs = Seconds(start);
  return Point{ef, recall / queries, queries / secs, queries / cpu};
}

const std::vector<size_t> kEfs = {10,  16,  24,  32,  40,  48,  56,  64,
                                  80,  96,  128, 192, 256, 384, 512, 768};

template <typename SearchFn>
std::vector<Point> Sweep(const char* name, size_t queries, const Truth& truth, SearchFn search) {
  std::vector<Point> points;
  for (size_t ef : kEfs) {
    points.push_back(Measure(ef, queries, truth, search));
    std::printf("sweep %-6s ef=%-4zu recall@10=%.4f qps=%.0f cpu_qps=%.0f\n", name, ef,
                points.back().recall, points.back().qps, points.back().cpu_qps);
    if (points.back().recall >= 0.999) break;
  }
  return points;
}

struct Exact {
  double qps;
  double cpu_qps;
};

void ReportTargets(const char* name, const std::vector<Point>& points, Exact exact) {
  for (double target : {0.90, 0.95, 0.99}) {
    const Point* best = nullptr;
    for (const Point& p : points) {
      if (p.recall >= target) {
        best = &p;
        break;
      }
    }
    if (best == nullptr) {
      std::printf("target %-6s recall>=%.2f not reached (max ef %zu)\n", name, target, kEfs.back());
    } else {
      std::printf("target %-6s recall>=%.2f ef=%-4zu recall=%.4f qps=%.0f speedup_vs_exact=%.0fx "
                  "cpu_qps=%.0f cpu_speedup_vs_exact=%.0fx\n",
                  name, target, best->ef, best->recall, best->qps, best->qps / exact.qps,
                  best->cpu_qps, best->cpu_qps / exact.cpu_qps);
    }
  }
}

std::vector<size_t> ToSlots(const qv::SearchResult& result) {
  std::vector<size_t> out;
  for (const qv::Hit& h : result.hits) out.push_back(std::stoul(h.id));
  return out;
}

std::unique_ptr<qv::HnswIndex> BuildIndex(const qv::HnswOptions& options,
                                          const qv::ClusteredData& data, const char* name) {
  const size_t rss0 = RssBytes();
  const auto start = Clock::now();
  auto index = *qv::HnswIndex::Create(options);
  for (size_t i = 0; i < data.count(); ++i) {
    absl::Status s = index->Upsert(Id(i), absl::MakeConstSpan(data.row(i), data.dimension),
                                   TagsFor(i), {}, static_cast<int64_t>(i + 1));
    if (!s.ok()) {
      std::fprintf(stderr, "upsert: %s\n", s.ToString().c_str());
      std::exit(1);
    }
  }
  const double secs = Seconds(start);
  std::printf("build %-6s n=%zu seconds=%.1f inserts_per_s=%.0f memory_bytes=%zu (%.1f MiB) "
              "mapped_float_bytes=%zu (%.1f MiB) rss_delta=%.1f MiB\n",
              name, data.count(), secs, data.count() / secs, index->MemoryBytes(),
              Mb(index->MemoryBytes()), index->MappedBytes(), Mb(index->MappedBytes()),
              Mb(RssBytes() - rss0));
  return index;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // As the services do (services/common/server/runtime.cc): Debian's Abseil
  // leaves Mutex deadlock detection on, a cost the served index does not pay.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  omp_set_num_threads(1);
  const size_t n = absl::GetFlag(FLAGS_n), dim = absl::GetFlag(FLAGS_dim);
  const size_t nq = absl::GetFlag(FLAGS_queries);
  const std::string source = absl::GetFlag(FLAGS_data);
  if (source != "synthetic" && source != "debian") {
    std::fprintf(stderr, "--data: synthetic or debian, got \"%s\"\n", source.c_str());
    return 2;
  }
  if (source == "debian") {
    std::printf("data debian-sentences embedded=hashing-%zu n=%zu dim=%zu queries=%zu "
                "(held out) metric=cosine M=%zu ef_construction=%zu threads=1\n",
                dim, n, dim, nq, absl::GetFlag(FLAGS_m), absl::GetFlag(FLAGS_ef_construction));
  } else {
    std::printf("data clustered-synthetic n=%zu dim=%zu clusters=%zu queries=%zu metric=cosine "
                "M=%zu ef_construction=%zu threads=1\n",
                n, dim, absl::GetFlag(FLAGS_clusters), nq, absl::GetFlag(FLAGS_m),
                absl::GetFlag(FLAGS_ef_construction));
  }
  auto t0 = Clock::now();
  qv::ClusteredData data;
  if (source == "debian") {
    auto debian = quarry::bench::MakeDebianData(n, nq, dim);
    if (!debian.ok()) {
      std::fprintf(stderr, "%s\n", debian.status().ToString().c_str());
      return 1;
    }
    data = *std::move(debian);
  } else {
    data = qv::MakeClusteredData(n, nq, dim, absl::GetFlag(FLAGS_clusters), 42);
  }
  std::printf("generate seconds=%.1f\n", Seconds(t0));

  qv::HnswOptions options;
  options.metric = qv::Metric::kCosine;
  options.dimension = dim;
  options.m = absl::GetFlag(FLAGS_m);
  options.ef_construction = absl::GetFlag(FLAGS_ef_construction);
  options.initial_capacity = n;
  options.rebuild_min_slots = n * 10;  // no rebuilds during the benchmark
  qv::HnswOptions int8_options = options;
  int8_options.quantize_int8 = true;
  int8_options.float_store_dir = absl::GetFlag(FLAGS_dir);

  if (absl::GetFlag(FLAGS_build_only)) {
    { auto index = BuildIndex(options, data, "float"); }
    if (absl::GetFlag(FLAGS_int8)) { auto index = BuildIndex(int8_options, data, "int8"); }
    return 0;
  }

  auto index = BuildIndex(options, data, "float");

  // Ground truth and the O(n) exact scan, through the index's exact mode.
  Truth truth;
  truth.ids.resize(nq);
  t0 = Clock::now();
  const double cpu0 = ThreadCpuSeconds();
  for (size_t q = 0; q < nq; ++q) {
    qv::SearchRequest r;
    r.query.assign(data.query(q), data.query(q) + dim);
    r.k = 10;
    r.exact = true;
    truth.ids[q] = ToSlots(*index->Search(r));
  }
  const Exact exact_qps{nq / Seconds(t0), nq / (ThreadCpuSeconds() - cpu0)};
  std::printf("exact scan qps=%.0f (%.2f ms/query) cpu_qps=%.0f (%.2f ms CPU/query)\n",
              exact_qps.qps, 1000.0 / exact_qps.qps, exact_qps.cpu_qps, 1000.0 / exact_qps.cpu_qps);

  auto search_with = [&](const qv::HnswIndex& idx, qv::Filter filter) {
    return [&idx, &data, dim, filter](size_t q, size_t ef) {
      qv::SearchRequest r;
      r.query.assign(data.query(q), data.query(q) + dim);
      r.k = 10;
      r.effort = ef;
      r.filter = filter;
      return ToSlots(*idx.Search(r));
    };
  };
  ReportTargets("hnsw", Sweep("hnsw", nq, truth, search_with(*index, {})), exact_qps);

  // Filtered recall: the truth is the exact search with the same filter.
  for (const char* tag : {"p1", "p30"}) {
    qv::Filter filter{.all_tags = {tag}};
    Truth ftruth;
    ftruth.ids.resize(nq);
    t0 = Clock::now();
    for (size_t q = 0; q < nq; ++q) {
      qv::SearchRequest r;
      r.query.assign(data.query(q), data.query(q) + dim);
      r.k = 10;
      r.exact = true;
      r.filter = filter;
      ftruth.ids[q] = ToSlots(*index->Search(r));
    }
    const double fexact_qps = nq / Seconds(t0);
    for (size_t ef : {32, 64, 128}) {
      qv::SearchRequest probe;
      probe.query.assign(data.query(0), data.query(0) + dim);
      probe.k = 10;
      probe.effort = ef;
      probe.filter = filter;
      const bool exact_path = index->Search(probe)->exact_used;
      const Point p = Measure(ef, nq, ftruth, search_with(*index, filter));
      std::printf("filter %-3s (%s) ef=%-3zu recall@10=%.4f qps=%.0f path=%s exact_scan_of_matches_qps=%.0f\n",
                  tag, tag[1] == '1' ? "1%" : "30%", ef, p.recall, p.qps,
                  exact_path ? "exact" : "graph", fexact_qps);
    }
  }

  // Snapshots and cold start.
  const std::string dir = absl::GetFlag(FLAGS_dir);
  for (bool with_graph : {true, false}) {
    const std::string path = dir + (with_graph ? "/bench_graph.qvs" : "/bench_docs.qvs");
    t0 = Clock::now();
    if (!qv::WriteSnapshotFile(path, index->ExportSnapshot(with_graph)).ok()) return 1;
    const double write_s = Seconds(t0);
    t0 = Clock::now();
    auto snapshot = qv::ReadSnapshotFile(path);
    const double read_s = Seconds(t0);
    const size_t bytes = snapshot->docs.size();
    t0 = Clock::now();
    auto loaded = qv::HnswIndex::FromSnapshot(options, *std::move(snapshot));
    const double load_s = Seconds(t0);
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    std::printf("snapshot %-9s file=%.1f MiB write+fsync=%.2fs read+verify=%.2fs "
                "restore=%.2fs cold_start_total=%.2fs docs=%zu\n",
                with_graph ? "graph" : "docs-only", Mb(static_cast<size_t>(f.tellg())), write_s,
                read_s, load_s, read_s + load_s, bytes);
    std::remove(path.c_str());
  }

  if (absl::GetFlag(FLAGS_int8)) {
    index.reset();
    auto q8 = BuildIndex(int8_options, data, "int8");
    ReportTargets("int8", Sweep("int8", nq, truth, search_with(*q8, {})), exact_qps);
  }

  if (absl::GetFlag(FLAGS_faiss)) {
    const size_t rss0 = RssBytes();
    faiss::IndexHNSWFlat fidx(static_cast<int>(dim), static_cast<int>(options.m),
                              faiss::METRIC_INNER_PRODUCT);
    fidx.hnsw.efConstruction = static_cast<int>(options.ef_construction);
    std::vector<float> normalized(data.vectors);
    for (size_t i = 0; i < n; ++i) qv::NormalizeInPlace(&normalized[i * dim], dim);
    t0 = Clock::now();
    fidx.add(static_cast<faiss::Index::idx_t>(n), normalized.data());
    const double secs = Seconds(t0);
    const size_t faiss_bytes = n * dim * sizeof(float) + fidx.hnsw.neighbors.size() * 4 +
                               fidx.hnsw.offsets.size() * 8 + fidx.hnsw.levels.size() * 4;
    std::printf("build faiss  n=%zu seconds=%.1f inserts_per_s=%.0f memory_bytes=%zu (%.1f MiB) "
                "rss_delta=%.1f MiB\n",
                n, secs, n / secs, faiss_bytes, Mb(faiss_bytes), Mb(RssBytes() - rss0));
    std::vector<float> nq_vec(dim);
    auto search = [&](size_t q, size_t ef) {
      std::copy(data.query(q), data.query(q) + dim, nq_vec.begin());
      qv::NormalizeInPlace(nq_vec.data(), dim);
      fidx.hnsw.efSearch = static_cast<int>(ef);
      std::vector<float> d(10);
      std::vector<faiss::Index::idx_t> ids(10);
      fidx.search(1, nq_vec.data(), 10, d.data(), ids.data());
      return std::vector<size_t>(ids.begin(), ids.end());
    };
    ReportTargets("faiss", Sweep("faiss", nq, truth, search), exact_qps);
  }
  return 0;
}
