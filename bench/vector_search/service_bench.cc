// The vector-search service against the same index in process, and its cold
// start from PostgreSQL vs. from a snapshot. Reported, not a timed test.
//
// 1. A throwaway PostgreSQL gets `n` clustered-synthetic vectors (one
//    collection, cosine), written in batches server-side.
// 2. The service binary starts with an empty data dir: it builds from
//    PostgreSQL (cold start "from PostgreSQL" = start to SERVING). SIGTERM
//    drains it, which writes a snapshot; started again, it loads the snapshot
//    (cold start "from snapshot").
// 3. This process loads the very snapshot file the service wrote, so both
//    search the same graph: queries/s in process (one thread) vs. through
//    gRPC from this separate client process, at concurrency 1 and 2, and
//    `--batch` queries per SearchShardBatch call, at every effort of a sweep;
//    recall@10 against the exact scan for all.
//
// Run: bench/vector_search/service_run.sh
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "quarry/search/v1/shard_service.grpc.pb.h"
#include "services/common/pg/pool.h"
#include "services/common/pg/testing/postgres_server.h"
#include "services/vector_search/distance.h"
#include "services/vector_search/hnsw_index.h"
#include "services/vector_search/snapshot.h"
#include "services/vector_search/synthetic_data.h"
#include "tests/testing/service_process.h"

ABSL_FLAG(size_t, n, 100000, "vectors");
ABSL_FLAG(size_t, dim, 384, "dimension");
ABSL_FLAG(size_t, queries, 300, "distinct queries (each point runs them `rounds` times)");
ABSL_FLAG(size_t, rounds, 6, "passes over the queries per measured point (modes take turns)");
ABSL_FLAG(size_t, clusters, 200, "Gaussian clusters in the synthetic data");
ABSL_FLAG(std::string, efforts, "32,48,64,96,128,192", "efforts to sweep");
ABSL_FLAG(std::string, service_binary, "bazel-bin/services/vector_search/vector_search",
          "the vector-search binary (an optimised build)");
ABSL_FLAG(bool, quantize, false, "run the service (and the in-process index) with int8");
ABSL_FLAG(size_t, batch, 32, "queries per SearchShardBatch call (the batched columns)");

namespace qv = quarry::vector_search;
namespace sv = quarry::search::v1;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "service_bench: %s\n", what.c_str());
  std::exit(1);
}

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// utime + stime of another process, from /proc/<pid>/stat.
double CpuSecondsOf(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
  // Fields after "pid (comm) ": state is [0], utime [11], stime [12].
  if (fields.size() < 13) return 0;
  double utime = 0, stime = 0;
  (void)absl::SimpleAtod(fields[11], &utime);
  (void)absl::SimpleAtod(fields[12], &stime);
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double RecallOf(const std::vector<size_t>& got, const std::vector<size_t>& truth) {
  size_t hit = 0;
  for (size_t id : got) hit += std::count(truth.begin(), truth.end(), id);
  return truth.empty() ? 1.0 : static_cast<double>(hit) / truth.size();
}

// Writes the vectors in batches of 1000 rows: one bytea parameter per batch,
// sliced into rows by SQL, so loading does not dominate the run.
int64_t LoadVectors(quarry::pg::Pool& pool, const qv::ClusteredData& data) {
  auto collection = pool.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    const int64_t tenant =
        txn.exec1("INSERT INTO tenants (name) VALUES ('bench') RETURNING id")[0].as<int64_t>();
    return txn
        .exec_params1(
            "INSERT INTO collections (tenant_id, name, dimension, metric, model) "
            "VALUES ($1, 'bench', $2, 'cosine', 'synthetic') RETURNING id",
            tenant, static_cast<int>(data.dimension))[0]
        .as<int64_t>();
  });
  if (!collection.ok()) Die(collection.status().ToString());
  const size_t row_bytes = data.dimension * sizeof(float);
  for (size_t start = 0; start < data.count(); start += 1000) {
    const size_t end = std::min(data.count(), start + 1000);
    const std::string blob(reinterpret_cast<const char*>(data.row(start)),
                           (end - start) * row_bytes);
    absl::Status status = pool.WithTransaction([&](pqxx::work& txn) -> absl::Status {
      txn.exec_params(
          "INSERT INTO documents (collection_id, doc_id, content_hash, embedding, "
          "embedding_model, embedded_hash) "
          "SELECT $1, g::text, sha256(g::text::bytea), "
          "       substring($2::bytea from ((g - $3) * $5 + 1)::int for $5::int), 'synthetic', "
          "       sha256(g::text::bytea) "
          "FROM generate_series($3::bigint, $4::bigint - 1) AS g",
          *collection, pqxx::binarystring(blob.data(), blob.size()), static_cast<int64_t>(start),
          static_cast<int64_t>(end), static_cast<int64_t>(row_bytes));
      return absl::OkStatus();
    });
    if (!status.ok()) Die(status.ToString());
  }
  return *collection;
}

struct Point {
  double recall = 0;
  double seconds = 0;        // wall clock
  double client_cpu_s = 0;   // this process's CPU seconds during the run
  double service_cpu_s = 0;  // the service process's CPU seconds during the run
  size_t calls = 0;          // queries, not RPCs

  double qps() const { return calls / seconds; }
  // Sums another pass of the same mode; recall is the first pass's.
  void Add(const Point& other) {
    if (calls == 0) recall = other.recall;
    seconds += other.seconds;
    client_cpu_s += other.client_cpu_s;
    service_cpu_s += other.service_cpu_s;
    calls += other.calls;
  }
};

// Runs rounds x queries searches over `threads` client threads, `batch`
// queries per `search(first, count)` call (which returns each query's ids);
// recall over the first round.
template <typename SearchFn>
Point Run(size_t queries, size_t rounds, int threads, size_t batch,
          const std::vector<std::vector<size_t>>& truth, pid_t service, SearchFn search) {
  std::atomic<size_t> next{0};
  std::vector<double> recall(queries, 0);
  const size_t total = queries * rounds;
  const auto start = Clock::now();
  const double client0 = ProcessCpuSeconds(), service0 = CpuSecondsOf(service);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next.fetch_add(batch); i < total; i = next.fetch_add(batch)) {
        const size_t count = std::min(batch, total - i);
        std::vector<std::vector<size_t>> got = search(i, count);
        for (size_t j = 0; j < count; ++j) {
          if (i + j < queries) recall[i + j] = RecallOf(got[j], truth[i + j]);
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  const double secs = Seconds(start);
  double sum = 0;
  for (double r : recall) sum += r;
  return Point{sum / queries, secs, ProcessCpuSeconds() - client0,
               CpuSecondsOf(service) - service0, total};
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // As the services do (services/common/server/runtime.cc): Debian's Abseil
  // leaves Mutex deadlock detection on, a cost the served index does not pay.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const size_t n = absl::GetFlag(FLAGS_n), dim = absl::GetFlag(FLAGS_dim);
  const size_t nq = absl::GetFlag(FLAGS_queries), rounds = absl::GetFlag(FLAGS_rounds);
  const bool quantize = absl::GetFlag(FLAGS_quantize);
  std::vector<size_t> efforts;
  for (absl::string_view e : absl::StrSplit(absl::GetFlag(FLAGS_efforts), ',')) {
    size_t v;
    if (!absl::SimpleAtoi(e, &v)) Die(absl::StrCat("bad --efforts entry ", e));
    efforts.push_back(v);
  }
  std::printf("data clustered-synthetic n=%zu dim=%zu clusters=%zu queries=%zu rounds=%zu "
              "metric=cosine quantize=%d kernel=%s\n",
              n, dim, absl::GetFlag(FLAGS_clusters), nq, rounds, quantize,
              qv::DistanceKernelName());
  const qv::ClusteredData data =
      qv::MakeClusteredData(n, nq, dim, absl::GetFlag(FLAGS_clusters), 42);

  auto server = quarry::pg::PostgresTestServer::Create();
  if (!server.ok()) Die(server.status().ToString());
  quarry::pg::PoolOptions pool_options;
  pool_options.conninfo = (*server)->conninfo();
  auto pool = quarry::pg::Pool::Create(pool_options);
  if (!pool.ok()) Die(pool.status().ToString());
  auto t0 = Clock::now();
  const int64_t collection_id = LoadVectors(**pool, data);
  std::printf("postgres load rows=%zu seconds=%.1f\n", n, Seconds(t0));

  const std::string data_dir =
      absl::StrCat(std::filesystem::temp_directory_path().string(), "/qvs-bench-", getpid());
  std::filesystem::create_directories(data_dir);
  const std::vector<std::string> flags = {
      "--database_url=" + (*server)->conninfo(), "--data_dir=" + data_dir,
      "--snapshot_interval=24h", absl::StrCat("--quantize=", quantize ? "true" : "false")};
  auto start_service = [&](const char* how) {
    const auto begin = Clock::now();
    auto service = quarry::testing::ServiceProcess::Start(
        "vector_search_bench", absl::GetFlag(FLAGS_service_binary), flags, absl::Minutes(10));
    if (!service.ok()) Die(service.status().ToString());
    if (!(*service)->WaitServing(absl::Minutes(10)).ok()) Die((*service)->Log());
    std::printf("cold_start %-13s seconds=%.2f (process start to SERVING)\n", how, Seconds(begin));
    return std::move(*service);
  };
  {
    auto first = start_service("from_postgres");
    first->process().Signal(SIGTERM);  // drain writes the snapshot
    if (!first->process().Wait(absl::Minutes(2)).ok()) Die("service did not drain");
  }
  auto service = start_service("from_snapshot");

  // The snapshot the service wrote and now serves: the same graph in process.
  std::string snapshot_file;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data_dir)) {
    if (entry.path().extension() == ".snap") snapshot_file = entry.path().string();
  }
  if (snapshot_file.empty()) Die("the service wrote no snapshot");
  auto snapshot = qv::ReadSnapshotFile(snapshot_file);
  if (!snapshot.ok()) Die(snapshot.status().ToString());
  qv::HnswOptions options;
  options.metric = qv::Metric::kCosine;
  options.dimension = dim;
  options.quantize_int8 = quantize;
  options.float_store_dir = data_dir;
  options.rebuild_min_slots = n * 10;
  auto index = qv::HnswIndex::FromSnapshot(options, *std::move(snapshot));
  if (!index.ok()) Die(index.status().ToString());

  auto to_ids = [](const auto& hits, auto id_of) {
    std::vector<size_t> out;
    for (const auto& h : hits) {
      size_t v = 0;
      (void)absl::SimpleAtoi(id_of(h), &v);
      out.push_back(v);
    }
    return out;
  };
  auto in_process = [&](size_t ef, bool exact) {
    return [&, ef, exact](size_t first, size_t count) {
      std::vector<std::vector<size_t>> ids;
      for (size_t i = first; i < first + count; ++i) {
        const size_t q = i % nq;
        qv::SearchRequest r;
        r.query.assign(data.query(q), data.query(q) + dim);
        r.k = 10;
        r.effort = ef;
        r.exact = exact;
        auto result = (*index)->Search(r);
        if (!result.ok()) Die(result.status().ToString());
        ids.push_back(
            to_ids(result->hits, [](const qv::Hit& h) -> const std::string& { return h.id; }));
      }
      return ids;
    };
  };
  std::vector<std::vector<size_t>> truth(nq);
  t0 = Clock::now();
  const double exact_cpu0 = ProcessCpuSeconds();
  for (size_t q = 0; q < nq; ++q) truth[q] = in_process(0, true)(q, 1)[0];
  const double exact_qps = nq / Seconds(t0);
  const double exact_cpu_qps = nq / (ProcessCpuSeconds() - exact_cpu0);
  std::printf("exact scan in_process qps=%.0f cpu_qps=%.0f\n", exact_qps, exact_cpu_qps);

  const pid_t service_pid = service->process().pid();
  auto channel = service->NewChannel();
  auto stub = sv::ShardService::NewStub(channel);
  auto shard_request = [&](size_t q, size_t ef) {
    sv::SearchShardRequest request;
    request.set_collection_id(collection_id);
    request.set_k(10);
    request.set_effort(static_cast<uint32_t>(ef));
    request.mutable_vector()->mutable_values()->Add(data.query(q), data.query(q) + dim);
    return request;
  };
  auto hit_ids = [&](const sv::SearchShardResponse& response) {
    return to_ids(response.hits(),
                  [](const sv::ScoredId& h) -> const std::string& { return h.id(); });
  };
  auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(10); };
  // One SearchShard call per query.
  auto through_service = [&](size_t ef) {
    return [&, ef](size_t first, size_t count) {
      std::vector<std::vector<size_t>> ids;
      for (size_t i = first; i < first + count; ++i) {
        sv::SearchShardResponse response;
        grpc::ClientContext context;
        context.set_deadline(deadline());
        grpc::Status status = stub->SearchShard(&context, shard_request(i % nq, ef), &response);
        if (!status.ok()) Die(absl::StrCat("SearchShard: ", status.error_message()));
        ids.push_back(hit_ids(response));
      }
      return ids;
    };
  };
  // One SearchShardBatch call per `count` queries.
  auto through_service_batched = [&](size_t ef) {
    return [&, ef](size_t first, size_t count) {
      sv::SearchShardBatchRequest request;
      for (size_t i = first; i < first + count; ++i) {
        *request.add_queries() = shard_request(i % nq, ef);
      }
      sv::SearchShardBatchResponse response;
      grpc::ClientContext context;
      context.set_deadline(deadline());
      grpc::Status status = stub->SearchShardBatch(&context, request, &response);
      if (!status.ok()) Die(absl::StrCat("SearchShardBatch: ", status.error_message()));
      std::vector<std::vector<size_t>> ids;
      for (const auto& result : response.results()) ids.push_back(hit_ids(result));
      return ids;
    };
  };
  // Warm the channel and the service's caches.
  Run(nq, 1, 1, 1, truth, service_pid, through_service(efforts.front()));
  const size_t batch = std::max<size_t>(1, absl::GetFlag(FLAGS_batch));

  // qps: wall clock (noisy on a shared machine). cpu_qps: queries per CPU
  // second of the process doing the search work: this thread in process; the
  // service process through gRPC (the client's own CPU is shown apart).
  // Columns: in process; one query per call at 1 and 2 client threads; then
  // `batch` queries per SearchShardBatch call at 1 and 2 client threads; the
  // ratios of the service's to the in-process rate; the speed-up over the
  // exact scan (in process, CPU).
  std::printf("\n%-4s %-7s %-6s %-6s %-7s %-6s %-6s %-6s %-7s %-6s %-6s %-7s %-6s %-6s %-6s %-6s %-6s %-7s\n",
              "ef", "recall", "qps_in", "cpu_in", "rec_rpc", "rpc_c1", "rpc_c2", "cpu_sv",
              "cli_ms", "bat_c1", "bat_c2", "cpu_bsv", "c1/in", "c2/in", "cpu/in", "b1/in",
              "b2/in", "speedup");
  for (size_t ef : efforts) {
    // The modes take turns, one pass over the queries each per round, so that
    // a change in the machine's load during the point hits all of them alike.
    Point local, rpc1, rpc2, batched, batched2;
    double local_cpu_s = 0;
    for (size_t round = 0; round < rounds; ++round) {
      const double cpu0 = ProcessCpuSeconds();
      local.Add(Run(nq, 1, 1, 1, truth, service_pid, in_process(ef, false)));
      local_cpu_s += ProcessCpuSeconds() - cpu0;
      rpc1.Add(Run(nq, 1, 1, 1, truth, service_pid, through_service(ef)));
      rpc2.Add(Run(nq, 1, 2, 1, truth, service_pid, through_service(ef)));
      batched.Add(Run(nq, 1, 1, batch, truth, service_pid, through_service_batched(ef)));
      batched2.Add(Run(nq, 1, 2, batch, truth, service_pid, through_service_batched(ef)));
    }
    if (batched.recall != rpc1.recall || rpc1.recall != local.recall) {
      Die("the service and the in-process index disagree on recall");
    }
    const double local_cpu_qps = local.calls / local_cpu_s;
    const double service_cpu_qps = rpc1.calls / rpc1.service_cpu_s;
    const double batched_cpu_qps = batched.calls / batched.service_cpu_s;
    std::printf("%-4zu %-7.4f %-6.0f %-6.0f %-7.4f %-6.0f %-6.0f %-6.0f %-7.3f %-6.0f %-6.0f %-7.0f %-6.2f %-6.2f %-6.2f %-6.2f %-6.2f %-7.1f\n",
                ef, local.recall, local.qps(), local_cpu_qps, rpc1.recall, rpc1.qps(), rpc2.qps(),
                service_cpu_qps, 1000.0 * rpc1.client_cpu_s / rpc1.calls, batched.qps(),
                batched2.qps(), batched_cpu_qps, rpc1.qps() / local.qps(),
                rpc2.qps() / local.qps(), service_cpu_qps / local_cpu_qps,
                batched.qps() / local.qps(), batched2.qps() / local.qps(),
                local_cpu_qps / exact_cpu_qps);
  }
  service->process().Signal(SIGTERM);
  (void)service->process().Wait(absl::Minutes(2));
  std::filesystem::remove_all(data_dir);
  return 0;
}
