// Benchmark of the public worker API with the Python worker runtime
// (clients/python's quarry_client.Worker), as a tenant runs it: the real
// gateway binary on PostgreSQL, real `python3` worker processes claiming a
// tenant's own no-op kind over gRPC (ClaimJobs long-poll, CompleteJob):
//
//   1. throughput: jobs/s drained from a backlog by 1, 2 and 4 worker
//      processes (each running --concurrency jobs at once, the runtime's
//      threads);
//   2. enqueue -> start latency: SubmitJob through the gateway until the
//      Python function runs (it stamps its start into the job's result), one
//      probe at a time, into an idle queue and while a background producer
//      offers --load_fraction of the best measured throughput.
//
// The runtime is used as it is: its hot path has no sleeps (the claim loop
// waits on a condition variable for a free slot, the heartbeat thread on an
// event), so a hand-written loop on the stubs would measure something no
// tenant runs. The gateway's ClaimJobs waits for PostgreSQL's 'jobs_new'
// notification of the kind (looking again every second without one), so the
// idle latency shows a notification's round trip, not a poll interval.
//
// Only the gateway is started: the worker API needs nothing else (its
// embedding and shard targets point at a closed port and are never called).
// tests/testing/suite.h would start more, and only on the throwaway
// PostgreSQL with fsync off. Run it through bench/jobs/compare.sh.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/jobs/bench_common.h"
#include "bench/jobs/bench_postgres.h"
#include "quarry/gateway/v1/job_kind_service.grpc.pb.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "services/common/pg/pool.h"
#include "tests/testing/api_keys.h"
#include "tests/testing/service_process.h"
#include "tests/testing/subprocess.h"

ABSL_FLAG(std::string, postgres, "",
          "Superuser conninfo (dbname=postgres) of a running cluster, e.g. compare.sh's "
          "durable one; empty: a throwaway test cluster with durability off.");
ABSL_FLAG(std::string, gateway_binary, "", "The //services/gateway:gateway binary.");
ABSL_FLAG(std::string, python, "/usr/bin/python3", "The Python with grpcio and protobuf.");
ABSL_FLAG(std::string, worker_script, "bench/jobs/noop_worker.py", "The no-op worker.");
ABSL_FLAG(std::string, python_path, "clients/python", "Where quarry_client lives.");
ABSL_FLAG(std::vector<std::string>, processes, std::vector<std::string>({"1", "2", "4"}),
          "Python worker processes per throughput run.");
ABSL_FLAG(int, concurrency, 4, "Jobs at once per worker process (the runtime's default).");
ABSL_FLAG(int, jobs, 10000, "No-op jobs in the backlog of each throughput run.");
ABSL_FLAG(absl::Duration, run_timeout, absl::Seconds(60),
          "Upper bound on one throughput run; a run that hits it is reported as such.");
ABSL_FLAG(int, latency_processes, 4, "Worker processes in the latency runs.");
ABSL_FLAG(int, latency_probes, 100, "Probe jobs per latency run.");
ABSL_FLAG(absl::Duration, latency_run_timeout, absl::Seconds(30),
          "Probes are enqueued for at most this long per latency run.");
ABSL_FLAG(absl::Duration, probe_timeout, absl::Seconds(10),
          "How long one probe may take to start before it counts as late (and ends its run).");
ABSL_FLAG(int, probe_gap_max_ms, 300,
          "Probes are spaced by a uniform 10..this many ms (chosen when the gateway's claim "
          "polled with a backoff, so that they met every phase of it; kept for comparison).");
ABSL_FLAG(double, load_fraction, 0.5,
          "Background load of the loaded latency run, as a fraction of the best throughput.");

namespace quarry::bench {
namespace {

using gateway::v1::CreateJobKindRequest;
using gateway::v1::CreateJobKindResponse;
using gateway::v1::JobKindService;
using gateway::v1::JobService;
using gateway::v1::SubmitJobRequest;
using gateway::v1::SubmitJobResponse;

constexpr char kKind[] = "bench.noop";
constexpr char kSystem[] = "Quarry worker API + Python runtime";
// Each run starts from an empty queue; the bench creates no schedules and no
// dependencies, but their tables reference jobs, so TRUNCATE must name them too.
constexpr char kEmptyQueue[] = "TRUNCATE jobs, job_schedules, job_dependencies";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Everything a run needs: one database, its gateway, a tenant's key and kind.
class Fixture {
 public:
  static absl::StatusOr<std::unique_ptr<Fixture>> Create(BenchPostgres& postgres) {
    auto f = std::unique_ptr<Fixture>(new Fixture());
    auto conninfo = postgres.CreateDatabase();
    if (!conninfo.ok()) return conninfo.status();
    f->conninfo_ = *conninfo;
    auto durability = BenchPostgres::Durability(f->conninfo_);
    if (!durability.ok()) return durability.status();
    f->durability_ = *durability;
    auto pool = NewPool(f->conninfo_, 3);
    if (!pool.ok()) return pool.status();
    f->pool_ = std::move(*pool);
    // No rate limit worth the name: the benchmark measures the queue.
    auto key = testing::CreateApiKey(*f->pool_, "bench", {"read", "write", "admin"}, 1e6, 1000000);
    if (!key.ok()) return key.status();
    f->key_ = *key;
    auto tenant = QueryInt(*f->pool_, "SELECT id FROM tenants WHERE name = 'bench'");
    if (!tenant.ok()) return tenant.status();
    f->tenant_ = *tenant;
    auto gateway = testing::ServiceProcess::Start(
        "bench-gateway", absl::GetFlag(FLAGS_gateway_binary),
        {"--database_url=" + f->conninfo_, "--embedding_target=127.0.0.1:1",
         "--shard_targets=127.0.0.1:1", "--log_rpcs=false"},
        absl::Seconds(60));
    if (!gateway.ok()) return gateway.status();
    f->gateway_ = std::move(*gateway);
    if (auto s = f->gateway_->WaitServing(absl::Seconds(60)); !s.ok()) return s;
    f->channel_ = f->gateway_->NewChannel();

    CreateJobKindRequest request;
    request.mutable_kind()->set_name(kKind);
    request.mutable_kind()->set_max_attempts(3);
    request.mutable_kind()->mutable_attempt_timeout()->set_seconds(30);
    CreateJobKindResponse response;
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + f->key_);
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::Status s = JobKindService::NewStub(f->channel_)->CreateJobKind(&context, request, &response);
    if (!s.ok()) return absl::InternalError(absl::StrCat("CreateJobKind: ", s.error_message()));
    return f;
  }

  ~Fixture() {
    if (gateway_ != nullptr) {
      gateway_->process().Signal(SIGTERM);
      if (!gateway_->process().Wait(absl::Seconds(20)).ok()) gateway_->process().Signal(SIGKILL);
      std::remove(gateway_->log_path().c_str());
    }
  }

  pg::Pool& pool() { return *pool_; }
  const std::string& conninfo() const { return conninfo_; }
  const std::string& durability() const { return durability_; }
  const std::string& key() const { return key_; }
  int64_t tenant() const { return tenant_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  std::string target() const { return gateway_->address(); }

  // The statement inserting n queued no-op jobs of the tenant's kind, with
  // the kind's settings, as SubmitJob would write them.
  std::string InsertSql(int64_t n) const {
    return absl::StrCat("INSERT INTO jobs (tenant_id, kind, payload, max_attempts) SELECT ",
                        tenant_, ", '", kKind, "', '{}', 3 FROM generate_series(1, ", n, ")");
  }
  absl::Status Pause(bool paused) {
    return pool_->Execute(absl::StrCat("UPDATE job_kinds SET paused_until = ",
                                       paused ? "now() + interval '1 hour'" : "NULL",
                                       " WHERE tenant_id = ", tenant_, " AND name = '", kKind,
                                       "'"));
  }

 private:
  Fixture() = default;
  std::string conninfo_;
  std::string durability_;
  std::unique_ptr<pg::Pool> pool_;
  std::string key_;
  int64_t tenant_ = 0;
  std::unique_ptr<testing::ServiceProcess> gateway_;
  std::shared_ptr<grpc::Channel> channel_;
};

// `n` Python worker processes, each ready (it printed "worker ready") and
// then given a moment to have its first ClaimJobs waiting in the gateway.
class PythonWorkers {
 public:
  static absl::StatusOr<std::unique_ptr<PythonWorkers>> Start(Fixture& fixture, int n,
                                                               const std::string& tag) {
    auto workers = std::unique_ptr<PythonWorkers>(new PythonWorkers());
    for (int i = 0; i < n; ++i) {
      const std::string id = absl::StrCat("bench-", tag, "-", i);
      const std::string log = absl::StrCat("/tmp/", id, "-", getpid(), ".log");
      auto process = testing::Subprocess::Start(
          {"/usr/bin/env", "PYTHONPATH=" + absl::GetFlag(FLAGS_python_path),
           absl::GetFlag(FLAGS_python), absl::GetFlag(FLAGS_worker_script), "--target",
           fixture.target(), "--key", fixture.key(), "--kind", kKind, "--worker_id", id,
           "--concurrency", absl::StrCat(absl::GetFlag(FLAGS_concurrency))},
          log);
      if (!process.ok()) return process.status();
      workers->processes_.push_back(std::move(*process));
      workers->logs_.push_back(log);
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    for (size_t i = 0; i < workers->logs_.size(); ++i) {
      while (!absl::StrContains(ReadFile(workers->logs_[i]), "worker ready")) {
        if (!workers->processes_[i]->running() || absl::Now() > deadline) {
          return absl::InternalError(absl::StrCat("python worker ", i, " did not start:\n",
                                                  ReadFile(workers->logs_[i])));
        }
        absl::SleepFor(absl::Milliseconds(20));
      }
    }
    absl::SleepFor(absl::Seconds(1));
    return workers;
  }

  // SIGTERM: the runtime stops claiming and hands back what it holds.
  ~PythonWorkers() {
    for (auto& p : processes_) p->Signal(SIGTERM);
    for (auto& p : processes_) {
      if (!p->Wait(absl::Seconds(15)).ok()) p->Signal(SIGKILL);
    }
    for (const std::string& log : logs_) std::remove(log.c_str());
  }

  // Warnings the runtime logged (failed claims or completions), for the report.
  int Warnings() const {
    int n = 0;
    for (const std::string& log : logs_) {
      std::istringstream in(ReadFile(log));
      for (std::string line; std::getline(in, line);) n += absl::StrContains(line, "WARNING");
    }
    return n;
  }

 private:
  PythonWorkers() = default;
  std::vector<std::unique_ptr<testing::Subprocess>> processes_;
  std::vector<std::string> logs_;
};

struct ThroughputRow {
  int processes = 0;
  int64_t jobs = 0;
  double seconds = 0;
  double jobs_per_second = 0;
  bool timed_out = false;
  int64_t retried = 0;  // jobs that took more than one attempt
  int warnings = 0;
};

// The backlog is inserted while the kind is paused and the workers are
// already waiting in ClaimJobs, and the clock starts when the pause is
// lifted: neither inserting nor Python's start-up is what is timed. The end
// is the last job's finished_at, on the same (PostgreSQL's) clock.
absl::StatusOr<ThroughputRow> RunThroughput(Fixture& fixture, int processes) {
  ThroughputRow row;
  row.processes = processes;
  const int jobs = absl::GetFlag(FLAGS_jobs);
  pg::Pool& pool = fixture.pool();
  if (auto s = pool.Execute(kEmptyQueue); !s.ok()) return s;
  if (auto s = fixture.Pause(true); !s.ok()) return s;
  auto workers = PythonWorkers::Start(fixture, processes, absl::StrCat("t", processes));
  if (!workers.ok()) return workers.status();
  if (auto s = pool.Execute(fixture.InsertSql(jobs)); !s.ok()) return s;
  if (auto s = pool.Execute("ANALYZE jobs"); !s.ok()) return s;
  auto start_us = QueryInt(pool, "SELECT (extract(epoch from clock_timestamp()) * 1e6)::bigint");
  if (!start_us.ok()) return start_us.status();
  if (auto s = fixture.Pause(false); !s.ok()) return s;
  const absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_run_timeout);
  int64_t done = 0;
  while (absl::Now() < deadline) {
    auto n = QueryInt(pool, "SELECT count(*) FROM jobs WHERE state = 'succeeded'");
    if (!n.ok()) return n.status();
    done = *n;
    if (done >= jobs) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  row.jobs = done;
  row.timed_out = done < jobs;
  auto end_us = QueryInt(
      pool, row.timed_out
                ? "SELECT (extract(epoch from clock_timestamp()) * 1e6)::bigint"
                : "SELECT (extract(epoch from max(finished_at)) * 1e6)::bigint FROM jobs");
  if (!end_us.ok()) return end_us.status();
  row.seconds = (*end_us - *start_us) / 1e6;
  row.jobs_per_second = row.jobs / row.seconds;
  auto retried = QueryInt(pool, "SELECT count(*) FROM jobs WHERE attempts > 1");
  if (retried.ok()) row.retried = *retried;
  row.warnings = (*workers)->Warnings();
  return row;
}

struct LatencyRow {
  double offered = 0;   // background jobs/s asked for
  double achieved = 0;  // background jobs/s inserted
  int late = 0;         // probes not started within --probe_timeout
  int lost = 0;         // late probes that had not succeeded once the queue drained
  LatencySummary latency;
};

// Probes go through SubmitJob, the public path; the background load is
// inserted in SQL (it is only there to keep the workers busy). A probe's
// start is the Python function's own stamp, read from the job's result.
absl::StatusOr<LatencyRow> RunLatency(Fixture& fixture, double load_rate) {
  LatencyRow row;
  row.offered = load_rate;
  pg::Pool& pool = fixture.pool();
  if (auto s = pool.Execute(kEmptyQueue); !s.ok()) return s;
  auto workers = PythonWorkers::Start(fixture, absl::GetFlag(FLAGS_latency_processes),
                                      load_rate > 0 ? "loaded" : "idle");
  if (!workers.ok()) return workers.status();
  auto producer_pool = NewPool(fixture.conninfo(), 1);
  if (!producer_pool.ok()) return producer_pool.status();
  std::unique_ptr<BackgroundProducer> producer;
  if (load_rate > 0) {
    producer = std::make_unique<BackgroundProducer>(
        **producer_pool, load_rate,
        absl::GetFlag(FLAGS_latency_run_timeout) + absl::GetFlag(FLAGS_probe_timeout) +
            absl::Seconds(5),
        [&fixture](int64_t n) { return fixture.InsertSql(n); });
    producer->Start();
    absl::SleepFor(absl::Seconds(1));  // reach a steady state before probing
  }
  auto jobs = JobService::NewStub(fixture.channel());
  const absl::Time probes_start = absl::Now();
  const absl::Time deadline = probes_start + absl::GetFlag(FLAGS_latency_run_timeout);
  const absl::Duration probe_timeout = absl::GetFlag(FLAGS_probe_timeout);
  absl::BitGen random;
  std::vector<absl::Duration> samples;
  std::vector<std::string> late_ids;
  for (int i = 0; i < absl::GetFlag(FLAGS_latency_probes) && absl::Now() < deadline; ++i) {
    absl::SleepFor(
        absl::Milliseconds(absl::Uniform(random, 10, absl::GetFlag(FLAGS_probe_gap_max_ms))));
    SubmitJobRequest request;
    request.set_kind(kKind);
    request.set_payload_json(absl::StrCat(R"({"probe": )", i, "}"));
    SubmitJobResponse response;
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + fixture.key());
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    const absl::Time enqueued = absl::Now();
    grpc::Status s = jobs->SubmitJob(&context, request, &response);
    if (!s.ok()) return absl::InternalError(absl::StrCat("SubmitJob: ", s.error_message()));
    const std::string started_sql = absl::StrCat(
        "SELECT (result->>'started_us')::bigint FROM jobs WHERE id = ", response.job().id(),
        " AND state = 'succeeded'");
    const absl::Time give_up = enqueued + probe_timeout;
    std::optional<absl::Time> started;
    while (absl::Now() < give_up) {
      auto r = pool.Query(started_sql);
      if (!r.ok()) return r.status();
      if (!r->empty()) {
        started = absl::FromUnixMicros((*r)[0][0].as<int64_t>());
        break;
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
    if (!started.has_value()) {
      ++row.late;
      late_ids.push_back(response.job().id());
      break;
    }
    samples.push_back(*started - enqueued);
  }
  const absl::Time probes_end = absl::Now();
  if (producer != nullptr) {
    producer->Stop();
    row.achieved = producer->inserted() / absl::ToDoubleSeconds(probes_end - producer->start());
  }
  if (!late_ids.empty()) {
    // Lost or only slow? Let the workers drain what is queued, then ask the table.
    const absl::Time drain_deadline = absl::Now() + absl::GetFlag(FLAGS_latency_run_timeout);
    while (absl::Now() < drain_deadline) {
      auto open = QueryInt(pool, "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')");
      if (!open.ok() || *open == 0) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    for (const std::string& id : late_ids) {
      auto ok = QueryInt(pool, absl::StrCat("SELECT count(*) FROM jobs WHERE id = ", id,
                                            " AND state = 'succeeded'"));
      if (!ok.ok() || *ok == 0) ++row.lost;
    }
  }
  row.latency = Summarize(std::move(samples));
  return row;
}

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "worker_api_bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

int Main() {
  auto postgres = BenchPostgres::Create(absl::GetFlag(FLAGS_postgres));
  if (!postgres.ok()) return Fail("PostgreSQL", postgres.status());
  auto fixture = Fixture::Create(**postgres);
  if (!fixture.ok()) return Fail("starting the gateway", fixture.status());
  const std::string durability = (*fixture)->durability();
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  std::printf("%s: gateway %s, PostgreSQL %s; load average %s\n", kSystem,
              (*fixture)->target().c_str(), durability.c_str(), LoadAverage().c_str());
  std::fflush(stdout);

  double best = 0;
  double latency_reference = 0;
  for (int processes : ParseInts(absl::GetFlag(FLAGS_processes))) {
    auto row = RunThroughput(**fixture, processes);
    if (!row.ok()) return Fail(absl::StrCat("throughput, ", processes, " processes"), row.status());
    std::printf("  %d processes x %d: %lld jobs in %.2f s = %.0f jobs/s%s (retried %lld, "
                "runtime warnings %d)\n",
                processes, concurrency, static_cast<long long>(row->jobs), row->seconds,
                row->jobs_per_second, row->timed_out ? " (TIMED OUT)" : "",
                static_cast<long long>(row->retried), row->warnings);
    PrintResult({{"system", kSystem},
                 {"workers", absl::StrFormat("%d procs x %d threads", processes, concurrency)},
                 {"processes", processes}, {"jobs", row->jobs}, {"seconds", row->seconds},
                 {"jobs_per_s", row->jobs_per_second}, {"timed_out", row->timed_out},
                 {"retried", row->retried}, {"durability", durability}});
    best = std::max(best, row->jobs_per_second);
    if (processes == absl::GetFlag(FLAGS_latency_processes)) {
      latency_reference = row->jobs_per_second;
    }
  }
  if (latency_reference == 0) latency_reference = best;

  const int processes = absl::GetFlag(FLAGS_latency_processes);
  for (double fraction : {0.0, absl::GetFlag(FLAGS_load_fraction)}) {
    if (fraction > 0 && latency_reference <= 0) continue;
    auto row = RunLatency(**fixture, fraction * latency_reference);
    if (!row.ok()) return Fail("latency", row.status());
    std::printf("  latency, %s: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d probes, %d late, %d "
                "lost; background %.0f jobs/s offered, %.0f inserted)\n",
                fraction == 0 ? "idle" : absl::StrFormat("load %.0f%%", fraction * 100).c_str(),
                row->latency.p50_ms, row->latency.p99_ms, row->latency.max_ms,
                row->latency.count, row->late, row->lost, row->offered, row->achieved);
    PrintResult({{"system", kSystem},
                 {"workers", absl::StrFormat("%d procs x %d threads", processes, concurrency)},
                 {"latency", true}, {"load", fraction}, {"offered_per_s", row->offered},
                 {"probes", row->latency.count}, {"p50_ms", row->latency.p50_ms},
                 {"p99_ms", row->latency.p99_ms}, {"late", row->late}, {"lost", row->lost},
                 {"durability", durability}});
  }
  return 0;
}

}  // namespace
}  // namespace quarry::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return quarry::bench::Main();
}
