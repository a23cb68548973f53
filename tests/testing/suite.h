#ifndef QUARRY_TESTS_TESTING_SUITE_H_
#define QUARRY_TESTS_TESTING_SUITE_H_

// The whole Quarry suite on loopback for fault-injection tests: a fresh
// migrated PostgreSQL database (from pg::TestPostgres(), so the test binary
// links //services/common/pg/testing:pg_test_main), the embedding service,
// shards x replicas of vector-search (each with its own data dir and
// snapshots), workers, gateways and optionally nginx in front of the gateways,
// configured from deploy/local/nginx.conf.template like scripts/quarry's.
// Every test picks its own topology; this is the only code that starts it.
//
// Every process keeps its gRPC port across Restart(): it first binds port 0,
// and a restart passes --port=<the port it got>, so the gateways' shard
// targets, the workers' embedding target and nginx's upstreams stay valid.
//
//   SuiteOptions options;
//   options.shards = 2;
//   options.replicas = 2;
//   auto suite = Suite::Start(options);
//   std::string key = *(*suite)->CreateApiKey("acme", {"read", "write", "admin"});
//   ASSERT_TRUE((*suite)->CreateCollection(key, "docs").ok());
//   (*suite)->replica(1, 0).Kill();
//   ...
//   ASSERT_TRUE((*suite)->replica(1, 0).Restart().ok());

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "quarry/gateway/v1/collection_service.pb.h"
#include "services/common/pg/pool.h"
#include "tests/testing/service_process.h"
#include "tests/testing/subprocess.h"

namespace quarry::testing {

struct SuiteOptions {
  int shards = 2;
  int replicas = 1;  // per shard
  // When not empty: replicas of each shard (size == shards), e.g. {2, 1} for
  // a shard with twins and a shard with an only replica.
  std::vector<int> replicas_per_shard;
  int workers = 1;
  int worker_threads = 2;
  // Short, so a killed worker's job is claimed again quickly (minimum 2 s).
  absl::Duration worker_lease = absl::Seconds(4);
  int gateways = 1;
  bool nginx = false;
  absl::Duration snapshot_interval = absl::Seconds(5);
  // Extra flags per service: "embedding", "vector_search", "worker", "gateway".
  std::map<std::string, std::vector<std::string>> extra_flags;
  absl::Duration start_timeout = absl::Seconds(60);
};

// One process of the suite. Its port is stable across restarts.
class Node {
 public:
  enum class Kind { kEmbedding, kVectorSearch, kWorker, kGateway, kNginx };

  ~Node();

  const std::string& name() const { return name_; }
  Kind kind() const { return kind_; }
  int port() const { return port_; }
  std::string address() const;
  // 0 when not running.
  pid_t pid() const;
  bool running();
  int restarts() const { return restarts_; }

  // Sends `signal`. For SIGKILL and SIGTERM waits up to `wait` for the exit
  // (DEADLINE_EXCEEDED if it is still running then). SIGSTOP/SIGCONT pause
  // and resume it.
  absl::Status Kill(int signal = SIGKILL, absl::Duration wait = absl::Seconds(20));
  // Starts it again with the same flags, port and data dir (SIGKILLing it
  // first if it still runs) and waits until it is SERVING (nginx: until it
  // accepts connections). Retries a few times if the port is briefly taken.
  absl::Status Restart(absl::Duration timeout = absl::Seconds(60));

  // The logs of every incarnation, oldest first.
  std::string Log() const;
  // The current incarnation (nullptr for nginx or when never started).
  ServiceProcess* service() { return service_.get(); }
  absl::StatusOr<std::string> ScrapeMetrics();
  // A long-lived channel to this node (gRPC 1.51: do not churn channels).
  std::shared_ptr<grpc::Channel> channel();

 private:
  friend class Suite;
  Node(std::string name, Kind kind, std::string binary, std::vector<std::string> flags)
      : name_(std::move(name)), kind_(kind), binary_(std::move(binary)), flags_(std::move(flags)) {}
  absl::Status Launch(absl::Duration timeout);

  const std::string name_;
  const Kind kind_;
  const std::string binary_;  // runfiles path; for nginx the nginx executable
  std::vector<std::string> flags_;  // for nginx: its state directory
  int port_ = 0;
  int restarts_ = 0;
  std::unique_ptr<ServiceProcess> service_;
  std::unique_ptr<Subprocess> nginx_;
  std::vector<std::string> log_paths_;
  std::shared_ptr<grpc::Channel> channel_;
};

class Suite {
 public:
  static absl::StatusOr<std::unique_ptr<Suite>> Start(const SuiteOptions& options);
  // Stops nginx, gateways, workers, replicas and embedding (in that order)
  // and removes the temporary directory.
  ~Suite();

  const SuiteOptions& options() const { return options_; }
  const std::string& conninfo() const { return conninfo_; }
  // A small pool on the suite's database for checks made straight in SQL.
  pg::Pool& pool() { return *pool_; }
  const std::string& temp_dir() const { return temp_dir_; }

  Node& embedding() { return *embedding_; }
  Node& replica(int shard, int replica) { return *replicas_[shard][replica]; }
  int replica_count(int shard) const { return static_cast<int>(replicas_[shard].size()); }
  Node& worker(int i) { return *workers_[i]; }
  Node& gateway(int i) { return *gateways_[i]; }
  Node* nginx() { return nginx_.get(); }
  // Every node, front (nginx) to back (embedding).
  std::vector<Node*> nodes();

  // Where clients connect: nginx if there is one, else gateway 0.
  std::string target() const;
  // A long-lived client channel to target(), reconnecting quickly.
  std::shared_ptr<grpc::Channel> channel();

  // An API key of `tenant` (created if new) with `scopes`, written straight
  // into PostgreSQL like `quarryctl admin bootstrap`.
  absl::StatusOr<std::string> CreateApiKey(const std::string& tenant,
                                           const std::vector<std::string>& scopes,
                                           std::optional<double> rate_per_second = std::nullopt,
                                           std::optional<int> burst = std::nullopt);
  // CreateCollection through the public API (the default model); the
  // collection as created.
  absl::StatusOr<gateway::v1::Collection> CreateCollection(const std::string& key,
                                                           const std::string& name);
  // One more gateway on the suite's backends with the suite's gateway flags
  // and then `flags` (later flags win), owned by the caller: not behind
  // nginx, not in nodes().
  absl::StatusOr<std::unique_ptr<Node>> StartGateway(const std::string& name,
                                                     const std::vector<std::string>& flags);
  // Waits until the collection has nothing pending and every shard's
  // watermark has reached its latest sequence (StatsService), retrying
  // through errors until `timeout`.
  absl::Status WaitIndexed(const std::string& key, const std::string& collection,
                           absl::Duration timeout = absl::Seconds(60));
  // Waits until no job is queued or running (any kind) or `timeout`.
  absl::Status WaitJobsSettled(absl::Duration timeout = absl::Seconds(60));

  // A client context with a deadline and, unless `key` is empty, `key` as
  // bearer token.
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& key,
                                                      absl::Duration deadline = absl::Seconds(10));
  // A client context whose "authorization" metadata is exactly `value`.
  static std::unique_ptr<grpc::ClientContext> RawAuthContext(
      const std::string& value, absl::Duration deadline = absl::Seconds(10));

 private:
  explicit Suite(const SuiteOptions& options) : options_(options) {}
  absl::Status StartAll();
  absl::StatusOr<Node*> Add(std::vector<std::unique_ptr<Node>>& list, std::unique_ptr<Node> node);
  absl::Status StartNginx();

  SuiteOptions options_;
  std::string conninfo_;
  std::unique_ptr<pg::Pool> pool_;
  std::string temp_dir_;
  // Every gateway's flags (its backends, then extra_flags["gateway"]).
  std::vector<std::string> gateway_flags_;
  std::unique_ptr<Node> embedding_;
  std::vector<std::vector<std::unique_ptr<Node>>> replicas_;
  std::vector<std::unique_ptr<Node>> workers_;
  std::vector<std::unique_ptr<Node>> gateways_;
  std::unique_ptr<Node> nginx_;
  std::shared_ptr<grpc::Channel> channel_;
};

// A bounded closed-loop load of upserts and searches through one channel,
// on its own threads, recording every outcome with its time.
struct LoadOptions {
  std::string api_key;
  std::string collection;
  int threads = 4;
  // Per call kind, relative weights.
  int search_weight = 8;
  int upsert_weight = 2;
  int upsert_batch = 5;
  // Prefix of the generated document ids (unique per run).
  std::string id_prefix = "load";
  absl::Duration call_deadline = absl::Seconds(5);
  // Both bounds are required: the run ends at whichever comes first (or Stop()).
  int64_t max_calls = 20000;
  absl::Duration max_duration = absl::Seconds(30);
  // Pause between a thread's calls (keeps a 2-core machine responsive).
  absl::Duration pause = absl::Milliseconds(5);
};

struct CallRecord {
  absl::Time start;
  absl::Time end;
  bool upsert = false;
  grpc::StatusCode code = grpc::StatusCode::OK;
  bool partial = false;  // searches: the response was flagged partial
  std::string message;   // for errors
};

class Load {
 public:
  Load(std::shared_ptr<grpc::Channel> channel, LoadOptions options);
  // Stops and joins.
  ~Load();
  void Start();
  // Ends the run early (calls in flight finish) and joins the threads.
  void Stop();
  // Blocks until the run has ended by its bounds or Stop().
  void Join();

  int64_t calls() const { return calls_.load(); }
  // Copies, safe while running.
  std::vector<CallRecord> records() const;
  std::vector<std::string> acked_ids() const;
  // The document text the load wrote for `id` (for searches by it).
  static std::string TextFor(const std::string& id);

 private:
  void Run(int thread_index);

  std::shared_ptr<grpc::Channel> channel_;
  const LoadOptions options_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> calls_{0};
  std::atomic<int64_t> next_id_{0};
  mutable absl::Mutex mu_;
  std::vector<CallRecord> records_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> acked_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quarry::testing

#endif  // QUARRY_TESTS_TESTING_SUITE_H_
