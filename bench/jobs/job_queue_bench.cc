// Benchmark of the durable job queue against a throwaway PostgreSQL 15 (no
// durability) or, with --postgres, a cluster of the caller's (compare.sh
// starts one with fsync and synchronous_commit on); the settings in force are
// read from the server and printed with every figure:
//
//   1. no-op throughput: jobs/s completed by an in-process Runner with 1, 4
//      and 16 handler threads, with the jobs pre-enqueued in one statement;
//   2. enqueue -> start latency of single jobs into an idle queue (LISTEN /
//      NOTIFY wakes the runner) and while a background producer keeps it busy;
//   3. index_documents end to end: the real worker and embedding binaries,
//      documents/s until every document has a current vector.
//
// The machine is shared and noisy, so every figure comes with a baseline
// measured in the same run: commits/s of a trivial transaction on one
// connection (what a job's claim + complete costs at least), and the
// embedding service's own documents/s for the same texts and batch size.
//
//   bench/jobs/run.sh   (builds with --config=opt and passes the flags below)
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/jobs/bench_common.h"
#include "bench/jobs/bench_postgres.h"
#include "nlohmann/json.hpp"
#include "services/common/client/channel.h"
#include "services/common/embedding_client/embedding_client.h"
#include "services/common/jobqueue/job.h"
#include "services/common/jobqueue/pg_job_queue.h"
#include "services/common/model/document_sql.h"
#include "services/common/model/job_kinds.h"
#include "services/common/pg/pool.h"
#include "services/common/sql/text_array.h"
#include "services/worker/job_handler.h"
#include "services/worker/runner.h"
#include "tests/testing/service_process.h"

ABSL_FLAG(std::string, postgres, "",
          "Superuser conninfo (dbname=postgres) of a running cluster to create the databases "
          "in, e.g. compare.sh's durable one; empty: a throwaway test cluster with fsync, "
          "synchronous_commit and full_page_writes off.");
ABSL_FLAG(std::string, phases, "throughput,latency,index",
          "Comma-separated phases to run: throughput, whatif, latency, index.");
ABSL_FLAG(std::vector<std::string>, thread_counts, std::vector<std::string>({"1", "4", "16"}),
          "Runner handler threads for the no-op throughput phase.");
ABSL_FLAG(std::vector<std::string>, whatif_threads, std::vector<std::string>({"1", "4"}),
          "Consumer threads of the batched what-if phase (phase \"whatif\", not run by default).");
ABSL_FLAG(int, whatif_batch, 16, "Jobs claimed and completed per transaction in the what-if.");
ABSL_FLAG(int, jobs, 20000, "No-op jobs pre-enqueued per throughput run.");
ABSL_FLAG(int, baseline_transactions, 2000, "Trivial commits timed for the baseline.");
ABSL_FLAG(int, latency_jobs, 200, "Probe jobs per latency run.");
ABSL_FLAG(int, latency_threads, 4, "Runner handler threads in the latency phase (worker default).");
ABSL_FLAG(std::vector<std::string>, load_fractions, std::vector<std::string>({"0.5", "0.8"}),
          "Background producer rates under load, as fractions of the no-op throughput measured "
          "with --latency_threads (or of --load_reference_rate when that phase did not run).");
ABSL_FLAG(absl::Duration, latency_run_timeout, absl::Seconds(30),
          "Upper bound on the probes of one latency run: past capacity the backlog (and so the "
          "latency) grows without bound, and the table shows it with the backlog column.");
ABSL_FLAG(absl::Duration, probe_timeout, absl::Seconds(10),
          "How long one probe may take to start before it counts as late (and ends its run).");
ABSL_FLAG(double, load_reference_rate, 1000, "jobs/s used for the load rates without phase 1.");
ABSL_FLAG(std::string, worker_binary, "", "The //services/worker:worker binary (index phase).");
ABSL_FLAG(std::string, embedding_binary, "",
          "The //services/embedding:embedding binary (index phase).");
ABSL_FLAG(std::string, texts_file, "", "Document texts, one per line (index phase).");
ABSL_FLAG(int, documents, 20000, "Documents indexed per index_documents run.");
ABSL_FLAG(int, ids_per_job, 500, "Document ids in one index_documents job's payload.");
ABSL_FLAG(std::vector<std::string>, index_threads, std::vector<std::string>({"1", "2"}),
          "Worker --threads for the index_documents phase.");
ABSL_FLAG(absl::Duration, phase_timeout, absl::Seconds(180),
          "Upper bound on any one measured run; a run that hits it is reported as such.");

namespace quarry::bench {
namespace {

constexpr char kNoopKind[] = "bench_noop";

// ---------------------------------------------------------------------------
// Small helpers.

// The no-op backlog of a throughput run, in one statement so that enqueueing
// is not what is timed, with fresh statistics as autovacuum would have them
// on a long-lived table.
absl::Status InsertNoopBacklog(pg::Pool& pool, int jobs) {
  return pool.Execute(absl::StrCat("INSERT INTO jobs (kind, payload) SELECT '", kNoopKind,
                                   "', '{}' FROM generate_series(1, ", jobs, "); ANALYZE jobs"));
}

// Commits/s of a one-row UPDATE in its own transaction, from `connections`
// threads each on its own connection and row: the floor under every queue
// operation (a job is at least a claim and a completion). Measured right
// before each run it is compared with, so a machine made busy by others shows
// up in the baseline as well as in the result.
absl::StatusOr<double> MeasureCommitBaseline(const std::string& conninfo, int connections,
                                             int transactions) {
  auto pool = NewPool(conninfo, connections);
  if (!pool.ok()) return pool.status();
  if (auto s = (*pool)->Execute(absl::StrCat(
          "DROP TABLE IF EXISTS bench_baseline; "
          "CREATE TABLE bench_baseline (id int PRIMARY KEY, n bigint NOT NULL); "
          "INSERT INTO bench_baseline SELECT i, 0 FROM generate_series(0, ",
          connections - 1, ") AS i"));
      !s.ok()) {
    return s;
  }
  const int per_connection = std::max(1, transactions / connections);
  std::vector<absl::Status> errors(connections);
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now();
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      const std::string sql = absl::StrCat("UPDATE bench_baseline SET n = n + 1 WHERE id = ", c);
      for (int i = 0; i < per_connection && errors[c].ok(); ++i) {
        errors[c] = (*pool)->Execute(sql);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  for (const absl::Status& e : errors) {
    if (!e.ok()) return e;
  }
  return per_connection * connections / seconds;
}

// ---------------------------------------------------------------------------
// The no-op handler, which also timestamps probe jobs ({"probe": i}).

class ProbeRecorder {
 public:
  void Reset(int n) {
    absl::MutexLock lock(&mu_);
    started_.assign(n, std::nullopt);
  }
  void Started(int i, absl::Time at) {
    absl::MutexLock lock(&mu_);
    if (i >= 0 && i < static_cast<int>(started_.size()) && !started_[i].has_value()) {
      started_[i] = at;
    }
  }
  // The start time of probe `i`, waiting up to `timeout` for it.
  std::optional<absl::Time> WaitStarted(int i, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto started = [this, i]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return started_[i].has_value();
    };
    mu_.AwaitWithTimeout(absl::Condition(&started), timeout);
    return started_[i];
  }

 private:
  absl::Mutex mu_;
  std::vector<std::optional<absl::Time>> started_ ABSL_GUARDED_BY(mu_);
};

class NoopHandler final : public worker::JobHandler {
 public:
  explicit NoopHandler(ProbeRecorder& probes) : probes_(probes) {}
  absl::string_view kind() const override { return kNoopKind; }
  absl::StatusOr<std::string> Run(worker::JobContext& context) override {
    // Timestamp first: the latency is up to the moment the handler runs.
    const absl::Time now = absl::Now();
    const std::string& payload = context.job().payload_json;
    if (absl::StrContains(payload, "probe")) {
      auto json = nlohmann::json::parse(payload, nullptr, false);
      if (json.is_object() && json.contains("probe") && json["probe"].is_number_integer()) {
        probes_.Started(json["probe"].get<int>(), now);
      }
    }
    return std::string("{}");
  }

 private:
  ProbeRecorder& probes_;
};

// An in-process runner over its own pool and queue, counting completions.
class NoopWorker {
 public:
  static absl::StatusOr<std::unique_ptr<NoopWorker>> Create(const std::string& conninfo,
                                                            int threads, ProbeRecorder& probes) {
    auto worker = std::unique_ptr<NoopWorker>(new NoopWorker());
    // As the worker binary sizes it: handlers, heartbeats, dispatcher, spare.
    auto pool = NewPool(conninfo, threads + 3);
    if (!pool.ok()) return pool.status();
    worker->pool_ = std::move(*pool);
    worker->queue_ = std::make_unique<jobqueue::PgJobQueue>(*worker->pool_, conninfo);
    if (auto s = worker->registry_.Register(std::make_unique<NoopHandler>(probes)); !s.ok()) {
      return s;
    }
    worker::RunnerOptions options;
    options.owner = absl::StrCat("bench:", getpid(), ":", threads);
    options.threads = threads;
    options.lease = absl::Seconds(30);
    options.heartbeat = absl::Seconds(5);
    std::atomic<int64_t>* succeeded = &worker->succeeded_;
    options.on_event = [succeeded](const worker::JobEvent& event) {
      if (event.kind == worker::JobEvent::kSucceeded) succeeded->fetch_add(1);
    };
    worker->runner_ =
        std::make_unique<worker::Runner>(*worker->queue_, worker->registry_, options);
    return worker;
  }

  ~NoopWorker() {
    if (runner_ != nullptr) runner_->Drain(absl::Seconds(5));
  }

  void Start() { runner_->Start(); }
  int64_t succeeded() const { return succeeded_.load(); }
  pg::Pool& pool() { return *pool_; }
  jobqueue::PgJobQueue& queue() { return *queue_; }

 private:
  NoopWorker() = default;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<jobqueue::PgJobQueue> queue_;
  worker::HandlerRegistry registry_;
  std::atomic<int64_t> succeeded_{0};
  std::unique_ptr<worker::Runner> runner_;  // Last: drained before the rest goes.
};

// ---------------------------------------------------------------------------
// Phase 1: no-op throughput.

struct ThroughputRow {
  std::string label;
  int threads = 0;
  double baseline_commits_per_second = 0;  // same connections, just before
  int64_t jobs = 0;
  double seconds = 0;
  double jobs_per_second = 0;
  bool timed_out = false;
};

absl::StatusOr<ThroughputRow> RunThroughput(BenchPostgres& server, int threads,
                                            int jobs, ProbeRecorder& probes) {
  auto conninfo = server.CreateDatabase();
  if (!conninfo.ok()) return conninfo.status();
  ThroughputRow row;
  row.label = absl::StrCat("Runner, ", threads, " threads");
  row.threads = threads;
  auto baseline =
      MeasureCommitBaseline(*conninfo, threads, absl::GetFlag(FLAGS_baseline_transactions));
  if (!baseline.ok()) return baseline.status();
  row.baseline_commits_per_second = *baseline;
  auto worker = NoopWorker::Create(*conninfo, threads, probes);
  if (!worker.ok()) return worker.status();
  pg::Pool& pool = (*worker)->pool();
  if (auto s = InsertNoopBacklog(pool, jobs); !s.ok()) return s;

  const absl::Time start = absl::Now();
  const absl::Time deadline = start + absl::GetFlag(FLAGS_phase_timeout);
  (*worker)->Start();
  while ((*worker)->succeeded() < jobs && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  const absl::Time end = absl::Now();
  row.jobs = (*worker)->succeeded();
  row.timed_out = row.jobs < jobs;
  row.seconds = absl::ToDoubleSeconds(end - start);
  row.jobs_per_second = row.jobs / row.seconds;
  worker->reset();
  // Cross-check with the table: the runner's count must match the database.
  auto pool2 = NewPool(*conninfo, 1);
  if (!pool2.ok()) return pool2.status();
  auto done = QueryInt(**pool2, "SELECT count(*) FROM jobs WHERE state = 'succeeded'");
  if (!done.ok()) return done.status();
  if (*done < row.jobs) {
    return absl::InternalError(absl::StrCat("runner counted ", row.jobs,
                                            " completions, the table has ", *done));
  }
  return row;
}

// The queue's SQL alone: Claim(1) + Complete in a loop on one thread, no
// Runner. The difference to the 1-thread Runner row is the runner's own cost
// (dispatcher -> handler thread hand-offs); this row is what one serial
// consumer can reach at all on this machine.
absl::StatusOr<ThroughputRow> RunRawQueue(BenchPostgres& server, int jobs) {
  auto conninfo = server.CreateDatabase();
  if (!conninfo.ok()) return conninfo.status();
  ThroughputRow row;
  row.label = "queue API alone: Claim(1) + Complete loop, 1 thread";
  row.threads = 1;
  auto baseline = MeasureCommitBaseline(*conninfo, 1, absl::GetFlag(FLAGS_baseline_transactions));
  if (!baseline.ok()) return baseline.status();
  row.baseline_commits_per_second = *baseline;
  auto pool = NewPool(*conninfo, 1);
  if (!pool.ok()) return pool.status();
  if (auto s = InsertNoopBacklog(**pool, jobs); !s.ok()) return s;
  jobqueue::PgJobQueue queue(**pool, *conninfo);
  const std::vector<std::string> kinds = {kNoopKind};
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + absl::GetFlag(FLAGS_phase_timeout);
  while (row.jobs < jobs && absl::Now() < deadline) {
    auto claimed = queue.Claim("bench-raw", kinds, 1, absl::Seconds(30));
    if (!claimed.ok()) return claimed.status();
    if (claimed->empty()) break;
    if (auto s = queue.Complete(claimed->front(), "{}"); !s.ok()) return s;
    ++row.jobs;
  }
  row.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  row.jobs_per_second = row.jobs / row.seconds;
  row.timed_out = row.jobs < jobs;
  return row;
}

// The queue's SQL alone, batched: `threads` consumers, each claiming up to
// `batch` jobs with the queue's Claim and completing them all with one
// CompleteBatch (one transaction), with no Runner in between. The gap to the
// Runner rows is the runner's own cost (hand-offs, claim-ahead and completer
// batches smaller than `batch`).
absl::StatusOr<ThroughputRow> RunBatchedWhatIf(BenchPostgres& server, int jobs, int threads,
                                               int batch) {
  auto conninfo = server.CreateDatabase();
  if (!conninfo.ok()) return conninfo.status();
  ThroughputRow row;
  row.label = absl::StrCat("what-if: Claim(", batch, ") + one batched Complete, ", threads,
                           " threads");
  row.threads = threads;
  auto baseline =
      MeasureCommitBaseline(*conninfo, threads, absl::GetFlag(FLAGS_baseline_transactions));
  if (!baseline.ok()) return baseline.status();
  row.baseline_commits_per_second = *baseline;
  auto pool = NewPool(*conninfo, threads);
  if (!pool.ok()) return pool.status();
  if (auto s = InsertNoopBacklog(**pool, jobs); !s.ok()) return s;
  jobqueue::PgJobQueue queue(**pool, *conninfo);
  const std::vector<std::string> kinds = {kNoopKind};
  std::atomic<int64_t> done{0};
  std::vector<absl::Status> errors(threads);
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + absl::GetFlag(FLAGS_phase_timeout);
  std::vector<std::thread> consumers;
  for (int t = 0; t < threads; ++t) {
    consumers.emplace_back([&, t] {
      const std::string owner = absl::StrCat("bench-batched-", t);
      while (done.load() < jobs && absl::Now() < deadline) {
        auto claimed = queue.Claim(owner, kinds, batch, absl::Seconds(30));
        if (!claimed.ok()) {
          errors[t] = claimed.status();
          return;
        }
        if (claimed->empty()) return;
        std::vector<jobqueue::JobQueue::Completion> completions;
        for (const jobqueue::Job& job : *claimed) completions.push_back({&job, "{}"});
        auto recorded = queue.CompleteBatch(completions);
        if (!recorded.ok()) {
          errors[t] = recorded.status();
          return;
        }
        auto completed = std::count(recorded->begin(), recorded->end(), true);
        done.fetch_add(completed);
      }
    });
  }
  for (std::thread& c : consumers) c.join();
  for (const absl::Status& e : errors) {
    if (!e.ok()) return e;
  }
  row.jobs = done.load();
  row.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  row.jobs_per_second = row.jobs / row.seconds;
  row.timed_out = row.jobs < jobs;
  return row;
}

// ---------------------------------------------------------------------------
// Phase 2: enqueue -> start latency, idle and under load.

struct LatencyRow {
  std::string label;
  double offered_rate = 0;    // background jobs/s asked for
  double achieved_rate = 0;   // background jobs/s inserted
  double completed_rate = 0;  // jobs/s the runner completed during the run
  int64_t final_backlog = 0;  // queued jobs when the probes ended
  // Probes not started within --probe_timeout of their enqueue. Their
  // latency is unknown (only "more than the timeout"), so they are counted,
  // not sampled, and the run stops at the first: past capacity the backlog
  // only grows.
  int late = 0;
  // Late probes whose row, once the queue had drained, had still not
  // succeeded: a job the queue really lost (or never ran). Checked in the
  // table, not inferred from the handler.
  int lost = 0;
  std::string late_states;  // "id=state ..." of the late probes, after the drain
  LatencySummary latency;
};

absl::StatusOr<LatencyRow> RunLatency(BenchPostgres& server, int threads, int probes_n,
                                      double load_rate, ProbeRecorder& probes) {
  auto conninfo = server.CreateDatabase();
  if (!conninfo.ok()) return conninfo.status();
  auto worker = NoopWorker::Create(*conninfo, threads, probes);
  if (!worker.ok()) return worker.status();
  // The client side has its own pool, as the gateway would.
  auto client_pool = NewPool(*conninfo, 2);
  if (!client_pool.ok()) return client_pool.status();
  jobqueue::PgJobQueue client(**client_pool, *conninfo);
  auto producer_pool = NewPool(*conninfo, 1);
  if (!producer_pool.ok()) return producer_pool.status();

  probes.Reset(probes_n);
  (*worker)->Start();
  // Let the dispatcher find the queue empty and block in LISTEN: "idle".
  absl::SleepFor(absl::Milliseconds(300));

  LatencyRow row;
  row.offered_rate = load_rate;
  std::unique_ptr<BackgroundProducer> producer;
  if (load_rate > 0) {
    producer = std::make_unique<BackgroundProducer>(
        **producer_pool, load_rate, absl::GetFlag(FLAGS_phase_timeout), [](int64_t n) {
          return absl::StrCat("INSERT INTO jobs (kind, payload) SELECT '", kNoopKind,
                              "', '{}' FROM generate_series(1, ", n, ")");
        });
    producer->Start();
    absl::SleepFor(absl::Seconds(1));  // reach a steady state before probing
  }
  const int64_t completed_before = (*worker)->succeeded();
  const absl::Time probes_start = absl::Now();
  // The run's bound is on enqueueing probes; a probe enqueued before it still
  // gets its whole --probe_timeout. (Cutting the last probe's wait short at
  // the run's deadline made a merely slow probe look lost, and dropped the
  // slowest sample from p99.)
  const absl::Time deadline = probes_start + absl::GetFlag(FLAGS_latency_run_timeout);
  const absl::Duration probe_timeout = absl::GetFlag(FLAGS_probe_timeout);
  absl::BitGen random;
  std::vector<absl::Duration> samples;
  std::vector<int64_t> late_ids;
  for (int i = 0; i < probes_n && absl::Now() < deadline; ++i) {
    // A random gap so probes do not phase-lock with the producer's ticks,
    // long enough that an idle runner is back in its wait.
    absl::SleepFor(absl::Milliseconds(absl::Uniform(random, 10, 30)));
    jobqueue::JobSpec spec;
    spec.kind = kNoopKind;
    spec.payload_json = absl::StrCat(R"({"probe": )", i, "}");
    const absl::Time enqueued = absl::Now();
    auto result = client.Enqueue(spec);
    if (!result.ok()) return result.status();
    auto started = probes.WaitStarted(i, probe_timeout);
    if (!started.has_value()) {
      ++row.late;
      late_ids.push_back(result->job.id);
      break;
    }
    samples.push_back(*started - enqueued);
  }
  const absl::Time probes_end = absl::Now();
  const double seconds = absl::ToDoubleSeconds(probes_end - probes_start);
  row.completed_rate = ((*worker)->succeeded() - completed_before) / seconds;
  if (producer != nullptr) {
    producer->Stop();
    row.achieved_rate =
        producer->inserted() / absl::ToDoubleSeconds(probes_end - producer->start());
  }
  auto backlog = QueryInt(**client_pool, "SELECT count(*) FROM jobs WHERE state = 'queued'");
  if (backlog.ok()) row.final_backlog = *backlog;
  if (!late_ids.empty()) {
    // Is a late probe lost, or only slow? The producer has stopped; let the
    // runner drain what is queued (bounded), then ask the table.
    const absl::Time drain_deadline = absl::Now() + absl::GetFlag(FLAGS_latency_run_timeout);
    while (absl::Now() < drain_deadline) {
      auto open = QueryInt(**client_pool,
                           "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')");
      if (!open.ok() || *open == 0) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    for (int64_t id : late_ids) {
      auto state = (*client_pool)->Query(absl::StrCat(
          "SELECT state, attempts FROM jobs WHERE id = ", id));
      if (!state.ok()) return state.status();
      const std::string text =
          state->empty() ? std::string("missing")
                         : absl::StrCat((*state)[0][0].as<std::string>(), "/attempts=",
                                        (*state)[0][1].as<int>());
      absl::StrAppend(&row.late_states, row.late_states.empty() ? "" : " ", id, "=", text);
      if (state->empty() || (*state)[0][0].as<std::string>() != "succeeded") ++row.lost;
    }
  }
  row.latency = Summarize(std::move(samples));
  return row;
}

// ---------------------------------------------------------------------------
// Phase 3: index_documents end to end with the real binaries.

struct IndexRow {
  std::string label;
  int documents = 0;
  double seconds = 0;
  double docs_per_second = 0;
  std::string jobs;  // "state=count ..." at the end
  bool timed_out = false;
};

absl::StatusOr<std::vector<std::string>> ReadTexts(const std::string& path, int n) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read --texts_file ", path));
  std::vector<std::string> texts;
  for (std::string line; static_cast<int>(texts.size()) < n && std::getline(in, line);) {
    if (!line.empty()) texts.push_back(line);
  }
  if (static_cast<int>(texts.size()) < n) {
    return absl::InvalidArgumentError(absl::StrCat("--texts_file has ", texts.size(),
                                                   " lines, --documents wants ", n));
  }
  return texts;
}

absl::StatusOr<std::unique_ptr<testing::ServiceProcess>> StartEmbedding() {
  auto embedding = testing::ServiceProcess::Start(
      "bench-embedding", absl::GetFlag(FLAGS_embedding_binary), {"--model=hashing"});
  if (!embedding.ok()) return embedding.status();
  if (auto s = (*embedding)->WaitServing(absl::Seconds(60)); !s.ok()) return s;
  return embedding;
}

void StopProcess(testing::ServiceProcess& process) {
  process.process().Signal(SIGTERM);
  if (!process.process().Wait(absl::Seconds(30)).ok()) process.process().Signal(SIGKILL);
  std::remove(process.log_path().c_str());
}

// Baseline: the embedding service alone, the same texts in the worker's batch
// size (64), one caller: what a one-thread worker could reach if PostgreSQL
// cost nothing. A fresh process, so its cache holds none of these texts.
absl::StatusOr<IndexRow> RunEmbeddingBaseline(const std::vector<std::string>& texts) {
  auto embedding = StartEmbedding();
  if (!embedding.ok()) return embedding.status();
  client::ChannelOptions channel_options;
  channel_options.health_checked_round_robin = false;
  GrpcEmbeddingClient client(
      client::NewInternalChannel((*embedding)->address(), std::move(channel_options)));
  IndexRow row;
  row.label = "embedding service alone (batches of 64, 1 caller)";
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + absl::GetFlag(FLAGS_phase_timeout);
  for (size_t i = 0; i < texts.size() && absl::Now() < deadline; i += 64) {
    std::vector<std::string> batch(texts.begin() + i,
                                   texts.begin() + std::min(texts.size(), i + 64));
    auto vectors = client.Embed("hashing-384", 384, batch, absl::Seconds(30));
    if (!vectors.ok()) {
      StopProcess(**embedding);
      return vectors.status();
    }
    row.documents += static_cast<int>(batch.size());
  }
  row.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  row.docs_per_second = row.documents / row.seconds;
  row.timed_out = row.documents < static_cast<int>(texts.size());
  StopProcess(**embedding);
  return row;
}

absl::StatusOr<IndexRow> RunIndex(BenchPostgres& server,
                                  const std::vector<std::string>& texts, int threads) {
  auto conninfo = server.CreateDatabase();
  if (!conninfo.ok()) return conninfo.status();
  auto pool = NewPool(*conninfo, 2);
  if (!pool.ok()) return pool.status();

  // Tenant, collection and documents as the gateway writes them, directly in
  // SQL: content_hash = SHA-256 of the text, seq from the trigger.
  auto ids = (*pool)->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    const int64_t tenant =
        txn.exec1("INSERT INTO tenants (name) VALUES ('bench') RETURNING id")[0].as<int64_t>();
    return txn
        .exec_params1("INSERT INTO collections (tenant_id, name, dimension, metric, model) "
                      "VALUES ($1, 'bench', 384, 'cosine', 'hashing-384') RETURNING id",
                      tenant)[0]
        .as<int64_t>();
  });
  if (!ids.ok()) return ids.status();
  const int64_t collection = *ids;
  constexpr size_t kInsertChunk = 2000;
  for (size_t i = 0; i < texts.size(); i += kInsertChunk) {
    std::vector<std::string> doc_ids, chunk;
    for (size_t j = i; j < std::min(texts.size(), i + kInsertChunk); ++j) {
      doc_ids.push_back(absl::StrFormat("doc-%06d", j));
      chunk.push_back(texts[j]);
    }
    auto s = (*pool)->WithTransaction([&](pqxx::work& txn) -> absl::Status {
      txn.exec_params(
          "INSERT INTO documents (collection_id, doc_id, text, content_hash) "
          "SELECT $1, d, t, sha256(convert_to(t, 'UTF8')) "
          "FROM unnest($2::text[], $3::text[]) AS u(d, t)",
          collection, sql::TextArray(doc_ids), sql::TextArray(chunk));
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
  }
  if (auto s = (*pool)->Execute("ANALYZE documents"); !s.ok()) return s;

  auto embedding = StartEmbedding();
  if (!embedding.ok()) return embedding.status();
  auto worker = testing::ServiceProcess::Start(
      "bench-worker", absl::GetFlag(FLAGS_worker_binary),
      {absl::StrCat("--database_url=", *conninfo),
       absl::StrCat("--embedding_target=", (*embedding)->address()),
       absl::StrCat("--threads=", threads), "--lease=30s"});
  if (!worker.ok()) {
    StopProcess(**embedding);
    return worker.status();
  }
  if (auto s = (*worker)->WaitServing(absl::Seconds(60)); !s.ok()) return s;
  absl::SleepFor(absl::Milliseconds(300));  // idle, waiting on LISTEN

  IndexRow row;
  row.label = absl::StrCat("worker --threads=", threads);
  row.documents = static_cast<int>(texts.size());
  const int per_job = absl::GetFlag(FLAGS_ids_per_job);
  const absl::Time start = absl::Now();
  // Every job in one statement: {"collection_id": N, "ids": [up to per_job ids]}.
  if (auto s = (*pool)->Execute(absl::StrCat(
          "INSERT INTO jobs (tenant_id, kind, payload) "
          "SELECT c.tenant_id, '", quarry::model::kIndexDocuments, "', "
          "  jsonb_build_object('collection_id', c.id, 'ids', jsonb_agg(s.doc_id ORDER BY s.doc_id)) "
          "FROM (SELECT doc_id, (row_number() OVER (ORDER BY doc_id) - 1) / ", per_job,
          " AS chunk FROM documents WHERE collection_id = ", collection, ") s "
          "JOIN collections c ON c.id = ", collection, " GROUP BY c.tenant_id, c.id, s.chunk"));
      !s.ok()) {
    return s;
  }
  const absl::Time deadline = start + absl::GetFlag(FLAGS_phase_timeout);
  const std::string pending_sql = absl::StrCat(
      "SELECT count(*) FROM documents WHERE collection_id = ", collection,
      " AND ", quarry::model::PendingDocumentSql());
  while (true) {
    auto pending = QueryInt(**pool, pending_sql);
    if (!pending.ok()) return pending.status();
    if (*pending == 0) break;
    if (absl::Now() >= deadline) {
      row.timed_out = true;
      row.documents -= static_cast<int>(*pending);
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  row.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  row.docs_per_second = row.documents / row.seconds;
  auto states = (*pool)->Query("SELECT state, count(*) FROM jobs GROUP BY state ORDER BY state");
  if (states.ok()) {
    for (const auto& r : *states) {
      absl::StrAppend(&row.jobs, row.jobs.empty() ? "" : " ", r[0].as<std::string>(), "=",
                      r[1].as<int64_t>());
    }
  }
  StopProcess(**worker);
  StopProcess(**embedding);
  return row;
}

// ---------------------------------------------------------------------------

int Fail(absl::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "job_queue_bench: %s: %s\n", std::string(what).c_str(),
               status.ToString().c_str());
  return 1;
}

int Main() {
  const std::string phases = absl::GetFlag(FLAGS_phases);
  auto server = BenchPostgres::Create(absl::GetFlag(FLAGS_postgres));
  if (!server.ok()) return Fail("starting PostgreSQL", server.status());
  std::string durability;
  {
    // Read from the server, not assumed: the figures mean nothing without it.
    auto probe_db = (*server)->CreateDatabase();
    if (!probe_db.ok()) return Fail("creating a database", probe_db.status());
    auto settings = BenchPostgres::Durability(*probe_db);
    if (!settings.ok()) return Fail("reading the durability settings", settings.status());
    durability = *settings;
  }
  std::printf("PostgreSQL 15 (%s): %s\n",
              absl::GetFlag(FLAGS_postgres).empty() ? "throwaway test cluster" : "--postgres",
              durability.c_str());
  std::printf("machine: %u CPUs, load average at start: ",
              std::thread::hardware_concurrency());
  std::printf("%s\n\n", LoadAverage().c_str());
  std::fflush(stdout);

  ProbeRecorder probes;
  std::vector<ThroughputRow> throughput;
  if (absl::StrContains(phases, "throughput")) {
    auto raw = RunRawQueue(**server, std::min(absl::GetFlag(FLAGS_jobs), 5000));
    if (!raw.ok()) return Fail("throughput, queue API alone", raw.status());
    std::printf("  %s: %.0f jobs/s (baseline %.0f commits/s)\n", raw->label.c_str(),
                raw->jobs_per_second, raw->baseline_commits_per_second);
    PrintResult({{"system", "Quarry queue API, Claim(1)+Complete loop"}, {"workers", "1 thread"},
                 {"jobs", raw->jobs}, {"seconds", raw->seconds},
                 {"jobs_per_s", raw->jobs_per_second}, {"timed_out", raw->timed_out},
                 {"baseline_commits_per_s", raw->baseline_commits_per_second},
                 {"durability", durability}});
    throughput.push_back(*raw);
    for (int threads : ParseInts(absl::GetFlag(FLAGS_thread_counts))) {
      probes.Reset(0);
      auto row = RunThroughput(**server, threads, absl::GetFlag(FLAGS_jobs), probes);
      if (!row.ok()) return Fail(absl::StrCat("throughput, ", threads, " threads"), row.status());
      std::printf("  no-op, %2d threads: %lld jobs in %.2f s = %.0f jobs/s%s (baseline %.0f "
                  "commits/s on %d connections)\n",
                  threads, static_cast<long long>(row->jobs), row->seconds, row->jobs_per_second,
                  row->timed_out ? " (TIMED OUT)" : "", row->baseline_commits_per_second,
                  threads);
      PrintResult({{"system", "Quarry in-process Runner (C++)"},
                   {"workers", absl::StrCat(threads, " threads")}, {"threads", threads},
                   {"jobs", row->jobs}, {"seconds", row->seconds},
                   {"jobs_per_s", row->jobs_per_second}, {"timed_out", row->timed_out},
                   {"baseline_commits_per_s", row->baseline_commits_per_second},
                   {"durability", durability}});
      throughput.push_back(*row);
    }
  }

  if (absl::StrContains(phases, "whatif")) {
    for (int threads : ParseInts(absl::GetFlag(FLAGS_whatif_threads))) {
      auto row = RunBatchedWhatIf(**server, absl::GetFlag(FLAGS_jobs), threads,
                                  absl::GetFlag(FLAGS_whatif_batch));
      if (!row.ok()) return Fail(absl::StrCat("what-if, ", threads, " threads"), row.status());
      std::printf("  %s: %.0f jobs/s (baseline %.0f commits/s)\n", row->label.c_str(),
                  row->jobs_per_second, row->baseline_commits_per_second);
      PrintResult({{"system", absl::StrCat("what-if: Quarry SQL, Claim(",
                                           absl::GetFlag(FLAGS_whatif_batch),
                                           ") + batched Complete")},
                   {"workers", absl::StrCat(threads, " threads")}, {"jobs", row->jobs},
                   {"seconds", row->seconds}, {"jobs_per_s", row->jobs_per_second},
                   {"timed_out", row->timed_out},
                   {"baseline_commits_per_s", row->baseline_commits_per_second},
                   {"durability", durability}});
      throughput.push_back(*row);
    }
  }

  std::vector<LatencyRow> latency;
  if (absl::StrContains(phases, "latency")) {
    const int threads = absl::GetFlag(FLAGS_latency_threads);
    double reference = absl::GetFlag(FLAGS_load_reference_rate);
    for (const ThroughputRow& row : throughput) {
      if (row.label.rfind("Runner", 0) == 0 && row.threads == threads && !row.timed_out) reference = row.jobs_per_second;
    }
    std::vector<double> loads = {0};
    for (const std::string& f : absl::GetFlag(FLAGS_load_fractions)) {
      double fraction = 0;
      if (absl::SimpleAtod(f, &fraction) && fraction > 0) loads.push_back(fraction);
    }
    for (double fraction : loads) {
      auto row = RunLatency(**server, threads, absl::GetFlag(FLAGS_latency_jobs),
                            fraction * reference, probes);
      if (!row.ok()) return Fail("latency", row.status());
      row->label = fraction == 0
                       ? std::string("idle")
                       : absl::StrFormat("load %.0f%% (%.0f jobs/s offered)", fraction * 100,
                                         fraction * reference);
      std::printf("  latency, %s: p50 %.2f ms, p99 %.2f ms (%d probes, %d late, %d lost%s%s)\n",
                  row->label.c_str(), row->latency.p50_ms, row->latency.p99_ms,
                  row->latency.count, row->late, row->lost, row->late_states.empty() ? "" : ": ",
                  row->late_states.c_str());
      PrintResult({{"system", "Quarry in-process Runner (C++)"},
                   {"workers", absl::StrCat(threads, " threads")}, {"latency", true},
                   {"load", fraction}, {"offered_per_s", fraction * reference},
                   {"probes", row->latency.count}, {"p50_ms", row->latency.p50_ms},
                   {"p99_ms", row->latency.p99_ms}, {"late", row->late}, {"lost", row->lost},
                   {"durability", durability}});
      latency.push_back(*row);
    }
  }

  std::vector<IndexRow> index;
  if (absl::StrContains(phases, "index")) {
    auto texts = ReadTexts(absl::GetFlag(FLAGS_texts_file), absl::GetFlag(FLAGS_documents));
    if (!texts.ok()) return Fail("texts", texts.status());
    auto baseline = RunEmbeddingBaseline(*texts);
    if (!baseline.ok()) return Fail("embedding baseline", baseline.status());
    std::printf("  index: %s: %.0f docs/s\n", baseline->label.c_str(),
                baseline->docs_per_second);
    std::fflush(stdout);
    index.push_back(*baseline);
    for (int threads : ParseInts(absl::GetFlag(FLAGS_index_threads))) {
      auto row = RunIndex(**server, *texts, threads);
      if (!row.ok()) return Fail(absl::StrCat("index, ", threads, " threads"), row.status());
      std::printf("  index: %s: %.0f docs/s (%s)\n", row->label.c_str(), row->docs_per_second,
                  row->jobs.c_str());
      std::fflush(stdout);
      index.push_back(*row);
    }
  }

  // The tables.
  std::printf("\n== Job queue benchmark ==\n");
  if (!throughput.empty()) {
    std::printf("\nNo-op throughput (%d jobs pre-enqueued; target >= 1000 jobs/s). Baseline: "
                "trivial one-row UPDATE commits/s on as many connections as threads, "
                "measured just before each row. %s\n",
                absl::GetFlag(FLAGS_jobs), durability.c_str());
    std::printf("| consumer | jobs | seconds | jobs/s | baseline commits/s | jobs per "
                "baseline commit | target |\n");
    std::printf("|---|---:|---:|---:|---:|---:|:---:|\n");
    for (const ThroughputRow& r : throughput) {
      std::printf("| %s | %lld | %.2f | %.0f | %.0f | %.3f | %s |\n", r.label.c_str(),
                  static_cast<long long>(r.jobs), r.seconds, r.jobs_per_second,
                  r.baseline_commits_per_second,
                  r.jobs_per_second / r.baseline_commits_per_second,
                  r.timed_out ? "TIMED OUT" : (r.jobs_per_second >= 1000 ? "met" : "MISSED"));
    }
  }
  if (!latency.empty()) {
    std::printf("\nEnqueue -> handler start latency (%d runner threads; target idle p50 < 20 ms)\n",
                absl::GetFlag(FLAGS_latency_threads));
    std::printf("| queue | probes | p50 ms | p99 ms | max ms | mean ms | background jobs/s "
                "inserted | jobs/s completed | backlog at end | late | lost |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const LatencyRow& r : latency) {
      std::printf("| %s | %d | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %lld | %d | %d |\n",
                  r.label.c_str(), r.latency.count, r.latency.p50_ms, r.latency.p99_ms,
                  r.latency.max_ms, r.latency.mean_ms, r.achieved_rate, r.completed_rate,
                  static_cast<long long>(r.final_backlog), r.late, r.lost);
    }
  }
  if (!index.empty()) {
    std::printf("\nindex_documents end to end (%d documents, %d ids per job, hashing-384, "
                "real worker + embedding binaries)\n",
                absl::GetFlag(FLAGS_documents), absl::GetFlag(FLAGS_ids_per_job));
    std::printf("| run | documents | seconds | docs/s | jobs |\n");
    std::printf("|---|---:|---:|---:|---|\n");
    for (const IndexRow& r : index) {
      std::printf("| %s | %d | %.2f | %.0f%s | %s |\n", r.label.c_str(), r.documents, r.seconds,
                  r.docs_per_second, r.timed_out ? " (TIMED OUT)" : "", r.jobs.c_str());
    }
  }
  std::printf("\nload average at end: %s (shared machine: figures are noisy)\n",
              LoadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace quarry::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return quarry::bench::Main();
}
