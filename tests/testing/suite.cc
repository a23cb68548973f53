#include "tests/testing/suite.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "quarry/gateway/v1/stats_service.grpc.pb.h"
#include "services/common/pg/testing/postgres_env.h"
#include "services/common/pg/testing/postgres_server.h"
#include "tests/testing/api_keys.h"

namespace quarry::testing {
namespace {

namespace v1 = ::quarry::gateway::v1;

std::shared_ptr<grpc::Channel> LongLivedChannel(const std::string& target) {
  grpc::ChannelArguments args;
  // A restarted server is found again within a second, not after minutes of
  // reconnect backoff.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

bool HealthServing(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, {}, &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string NginxBinary() {
  for (const char* path : {"/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

// The nginx configuration scripts/quarry writes, from the same template and
// filled in the same way: @STATE@ is `state` (with the nginx/ and logs/
// directories scripts/quarry keeps there), @NGINX_PORT@ the port to listen
// on, and the line naming @GATEWAY@ is repeated for each gateway. No user
// line: the test runs nginx as itself.
absl::StatusOr<std::string> NginxConf(const std::string& state, int port,
                                      const std::vector<std::string>& gateways) {
  const std::string path = RunfilePath("deploy/local/nginx.conf.template");
  std::ifstream in(path);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, " (a data dependency of //tests/testing:suite)"));
  }
  std::string conf;
  bool upstreams = false;
  for (std::string line; std::getline(in, line);) {
    // A placeholder the template gained and this code does not fill.
    const size_t first = line.find_first_not_of(' ');
    if (first == std::string::npos || line[first] != '#') {
      for (size_t at = line.find('@'); at != std::string::npos; at = line.find('@', at + 1)) {
        const size_t end = line.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", at + 1);
        if (end == std::string::npos || end == at + 1 || line[end] != '@') continue;
        const std::string name = line.substr(at, end - at + 1);
        if (name != "@USER_LINE@" && name != "@NGINX_PORT@" && name != "@STATE@" &&
            name != "@GATEWAY@") {
          return absl::InternalError(absl::StrCat(path, ": unknown placeholder ", name));
        }
        at = end;
      }
    }
    if (absl::StrContains(line, "@GATEWAY@")) {
      upstreams = true;
      for (const std::string& gateway : gateways) {
        absl::StrAppend(&conf, absl::StrReplaceAll(line, {{"@GATEWAY@", gateway}}), "\n");
      }
    } else {
      absl::StrAppend(&conf, line, "\n");
    }
  }
  if (!upstreams) return absl::InternalError(absl::StrCat(path, " names no @GATEWAY@"));
  conf = absl::StrReplaceAll(
      conf, {{"@USER_LINE@", ""}, {"@NGINX_PORT@", absl::StrCat(port)}, {"@STATE@", state}});
  return conf;
}

}  // namespace

// ------------------------------------------------------------------ Node

Node::~Node() {
  if (nginx_ != nullptr && nginx_->running()) {
    nginx_->Signal(SIGQUIT);
    (void)nginx_->Wait(absl::Seconds(5));
  }
}

std::string Node::address() const { return absl::StrCat("127.0.0.1:", port_); }

pid_t Node::pid() const {
  if (service_ != nullptr) return service_->process().pid();
  if (nginx_ != nullptr) return nginx_->pid();
  return 0;
}

bool Node::running() {
  if (service_ != nullptr) return service_->process().running();
  if (nginx_ != nullptr) return nginx_->running();
  return false;
}

absl::Status Node::Kill(int signal, absl::Duration wait) {
  Subprocess* process = service_ != nullptr ? &service_->process() : nginx_.get();
  if (process == nullptr || !process->running()) {
    return absl::FailedPreconditionError(absl::StrCat(name_, " is not running"));
  }
  process->Signal(signal);
  if (signal != SIGKILL && signal != SIGTERM) return absl::OkStatus();
  return process->Wait(wait).status();
}

absl::Status Node::Launch(absl::Duration timeout) {
  if (kind_ == Kind::kNginx) {
    // As scripts/quarry runs it, but in the foreground and as one process
    // (no master), so it dies with the test.
    const std::string state = flags_[0];
    const std::string log = absl::StrCat(state, "/logs/nginx-stderr-", restarts_, ".log");
    auto process = Subprocess::Start({binary_, "-p", state + "/nginx/", "-c", state + "/nginx.conf",
                                      "-e", state + "/logs/nginx-error.log", "-g",
                                      "daemon off; master_process off;"},
                                     log);
    if (!process.ok()) return process.status();
    nginx_ = std::move(*process);
    log_paths_.push_back(state + "/logs/nginx-error.log");
    log_paths_.push_back(log);
    const absl::Time end = absl::Now() + timeout;
    while (absl::Now() < end) {
      if (!nginx_->running()) {
        return absl::InternalError(absl::StrCat("nginx exited at start:\n", Log()));
      }
      if (Accepts(port_)) return absl::OkStatus();
      absl::SleepFor(absl::Milliseconds(20));
    }
    return absl::DeadlineExceededError(absl::StrCat("nginx did not listen:\n", Log()));
  }
  std::vector<std::string> flags = flags_;
  // Later flags win: after the first start the port stays the same.
  if (port_ != 0) flags.push_back(absl::StrCat("--port=", port_));
  const absl::Time end = absl::Now() + timeout;
  absl::Status last;
  for (int attempt = 0; attempt < 5 && absl::Now() < end; ++attempt) {
    auto process = ServiceProcess::Start(absl::StrCat(name_, "-", restarts_, "-", attempt), binary_,
                                         flags, end - absl::Now());
    if (!process.ok()) {
      // Most likely the old port is briefly in use; try again.
      last = process.status();
      absl::SleepFor(absl::Milliseconds(500));
      continue;
    }
    log_paths_.push_back((*process)->log_path());
    if (port_ != 0 && (*process)->port() != port_) {
      return absl::InternalError(absl::StrCat(name_, " came back on port ", (*process)->port(),
                                              ", not ", port_));
    }
    port_ = (*process)->port();
    service_ = std::move(*process);
    return service_->WaitServing(std::max(end - absl::Now(), absl::Seconds(1)));
  }
  return absl::UnavailableError(absl::StrCat(name_, " did not start: ", last.ToString()));
}

absl::Status Node::Restart(absl::Duration timeout) {
  if (running()) {
    if (absl::Status s = Kill(SIGKILL); !s.ok()) return s;
  }
  ++restarts_;
  service_.reset();
  nginx_.reset();
  return Launch(timeout);
}

std::string Node::Log() const {
  std::string all;
  for (const std::string& path : log_paths_) {
    absl::StrAppend(&all, "==== ", path, "\n", ReadFile(path));
  }
  return all;
}

absl::StatusOr<std::string> Node::ScrapeMetrics() {
  if (service_ == nullptr) return absl::FailedPreconditionError("no metrics");
  return service_->ScrapeMetrics();
}

std::shared_ptr<grpc::Channel> Node::channel() {
  if (channel_ == nullptr) channel_ = LongLivedChannel(address());
  return channel_;
}

// ------------------------------------------------------------------ Suite

absl::StatusOr<std::unique_ptr<Suite>> Suite::Start(const SuiteOptions& options) {
  if (options.shards < 1 || options.replicas < 1 || options.workers < 0 || options.gateways < 1) {
    return absl::InvalidArgumentError("a suite needs shards, replicas and gateways >= 1");
  }
  if (!options.replicas_per_shard.empty() &&
      static_cast<int>(options.replicas_per_shard.size()) != options.shards) {
    return absl::InvalidArgumentError("replicas_per_shard needs one count per shard");
  }
  auto suite = std::unique_ptr<Suite>(new Suite(options));
  if (absl::Status s = suite->StartAll(); !s.ok()) return s;
  return suite;
}

absl::StatusOr<Node*> Suite::Add(std::vector<std::unique_ptr<Node>>& list,
                                 std::unique_ptr<Node> node) {
  Node* raw = node.get();
  list.push_back(std::move(node));
  if (absl::Status s = raw->Launch(options_.start_timeout); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(raw->name(), ": ", s.message(), "\n", raw->Log()));
  }
  return raw;
}

absl::Status Suite::StartAll() {
  auto conninfo = pg::TestPostgres().CreateDatabase();
  if (!conninfo.ok()) return conninfo.status();
  conninfo_ = *conninfo;
  pg::PoolOptions pool_options;
  pool_options.conninfo = conninfo_;
  pool_options.size = 4;
  auto pool = pg::Pool::Create(pool_options);
  if (!pool.ok()) return pool.status();
  pool_ = std::move(*pool);

  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/suite-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp");
  temp_dir_ = pattern;

  auto extra = [this](const std::string& service, std::vector<std::string> flags) {
    auto it = options_.extra_flags.find(service);
    if (it != options_.extra_flags.end()) flags.insert(flags.end(), it->second.begin(), it->second.end());
    return flags;
  };
  const std::string db = "--database_url=" + conninfo_;

  std::vector<std::unique_ptr<Node>> one;
  auto embedding = Add(one, std::unique_ptr<Node>(new Node(
                                "embedding", Node::Kind::kEmbedding, "services/embedding/embedding",
                                extra("embedding", {db}))));
  if (!embedding.ok()) return embedding.status();
  embedding_ = std::move(one.back());

  std::vector<std::string> shard_targets;
  replicas_.resize(options_.shards);
  for (int s = 0; s < options_.shards; ++s) {
    std::vector<std::string> addresses;
    const int replicas =
        options_.replicas_per_shard.empty() ? options_.replicas : options_.replicas_per_shard[s];
    for (int r = 0; r < replicas; ++r) {
      const std::string data_dir = absl::StrCat(temp_dir_, "/replica-", s, "-", r);
      std::filesystem::create_directories(data_dir);
      auto node = Add(replicas_[s],
                      std::unique_ptr<Node>(new Node(
                          absl::StrCat("shard", s, "-replica", r), Node::Kind::kVectorSearch,
                          "services/vector_search/vector_search",
                          extra("vector_search",
                                {db, absl::StrCat("--shard_index=", s),
                                 absl::StrCat("--shard_count=", options_.shards),
                                 "--data_dir=" + data_dir,
                                 "--snapshot_interval=" +
                                     absl::FormatDuration(options_.snapshot_interval)}))));
      if (!node.ok()) return node.status();
      addresses.push_back((*node)->address());
    }
    shard_targets.push_back(addresses.size() == 1
                                ? addresses[0]
                                : absl::StrCat("ipv4:", absl::StrJoin(addresses, ",")));
  }
  // A trailing ';' keeps a single multi-replica shard from being split on ','.
  const std::string shard_flag = absl::StrCat("--shard_targets=", absl::StrJoin(shard_targets, ";"),
                                              shard_targets.size() == 1 ? ";" : "");
  const std::string embedding_flag = "--embedding_target=" + embedding_->address();

  for (int w = 0; w < options_.workers; ++w) {
    auto node = Add(workers_, std::unique_ptr<Node>(new Node(
                                  absl::StrCat("worker", w), Node::Kind::kWorker,
                                  "services/worker/worker",
                                  extra("worker", {db, embedding_flag,
                                                   absl::StrCat("--threads=", options_.worker_threads),
                                                   "--lease=" + absl::FormatDuration(
                                                                    options_.worker_lease)}))));
    if (!node.ok()) return node.status();
  }
  gateway_flags_ = extra("gateway", {db, embedding_flag, shard_flag, "--key_cache_ttl=500ms"});
  for (int g = 0; g < options_.gateways; ++g) {
    auto node = Add(gateways_, std::unique_ptr<Node>(new Node(absl::StrCat("gateway", g),
                                                              Node::Kind::kGateway,
                                                              "services/gateway/gateway",
                                                              gateway_flags_)));
    if (!node.ok()) return node.status();
  }
  if (options_.nginx) return StartNginx();
  return absl::OkStatus();
}

absl::Status Suite::StartNginx() {
  const std::string binary = NginxBinary();
  if (binary.empty()) {
    return absl::FailedPreconditionError("nginx is not installed (scripts/setup.sh installs it)");
  }
  std::vector<std::string> gateways;
  for (auto& gateway : gateways_) gateways.push_back(gateway->address());
  // scripts/quarry's layout of its state directory.
  const std::string state = temp_dir_ + "/nginx-state";
  std::filesystem::create_directories(state + "/nginx/tmp");
  std::filesystem::create_directories(state + "/logs");
  absl::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    // nginx cannot report the port it bound, so it is given one free a moment ago.
    auto port = pg::PickFreePort();
    if (!port.ok()) return port.status();
    auto conf = NginxConf(state, *port, gateways);
    if (!conf.ok()) return conf.status();
    std::ofstream(state + "/nginx.conf") << *conf;
    nginx_ = std::unique_ptr<Node>(new Node("nginx", Node::Kind::kNginx, binary, {state}));
    nginx_->port_ = *port;
    last = nginx_->Launch(absl::Seconds(10));
    if (last.ok()) break;
  }
  if (!last.ok()) return last;
  // Through nginx to a SERVING gateway.
  const absl::Time end = absl::Now() + options_.start_timeout;
  while (!HealthServing(nginx_->channel())) {
    if (absl::Now() > end) return absl::DeadlineExceededError("nginx reaches no gateway");
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::OkStatus();
}

Suite::~Suite() {
  nginx_.reset();
  gateways_.clear();
  workers_.clear();
  replicas_.clear();
  embedding_.reset();
  pool_.reset();
  if (!temp_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(temp_dir_, ignored);
  }
}

std::vector<Node*> Suite::nodes() {
  std::vector<Node*> all;
  if (nginx_ != nullptr) all.push_back(nginx_.get());
  for (auto& g : gateways_) all.push_back(g.get());
  for (auto& w : workers_) all.push_back(w.get());
  for (auto& shard : replicas_) {
    for (auto& r : shard) all.push_back(r.get());
  }
  if (embedding_ != nullptr) all.push_back(embedding_.get());
  return all;
}

std::string Suite::target() const {
  return nginx_ != nullptr ? nginx_->address() : gateways_[0]->address();
}

std::shared_ptr<grpc::Channel> Suite::channel() {
  if (channel_ == nullptr) channel_ = LongLivedChannel(target());
  return channel_;
}

std::unique_ptr<grpc::ClientContext> Suite::Context(const std::string& key,
                                                    absl::Duration deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(deadline));
  if (!key.empty()) context->AddMetadata("authorization", "Bearer " + key);
  return context;
}

std::unique_ptr<grpc::ClientContext> Suite::RawAuthContext(const std::string& value,
                                                           absl::Duration deadline) {
  auto context = Context("", deadline);
  context->AddMetadata("authorization", value);
  return context;
}

absl::StatusOr<std::string> Suite::CreateApiKey(const std::string& tenant,
                                                const std::vector<std::string>& scopes,
                                                std::optional<double> rate_per_second,
                                                std::optional<int> burst) {
  return testing::CreateApiKey(*pool_, tenant, scopes, rate_per_second, burst);
}

absl::StatusOr<v1::Collection> Suite::CreateCollection(const std::string& key,
                                                      const std::string& name) {
  v1::CreateCollectionRequest request;
  request.mutable_collection()->set_name(name);
  v1::CreateCollectionResponse response;
  grpc::Status status = v1::CollectionService::NewStub(channel())
                            ->CreateCollection(Context(key).get(), request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("CreateCollection ", name, ": ", status.error_message()));
  }
  return response.collection();
}

absl::StatusOr<std::unique_ptr<Node>> Suite::StartGateway(const std::string& name,
                                                          const std::vector<std::string>& flags) {
  std::vector<std::string> all = gateway_flags_;
  all.insert(all.end(), flags.begin(), flags.end());
  auto node = std::unique_ptr<Node>(
      new Node(name, Node::Kind::kGateway, "services/gateway/gateway", std::move(all)));
  if (absl::Status s = node->Launch(options_.start_timeout); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(name, ": ", s.message(), "\n", node->Log()));
  }
  return node;
}

absl::Status Suite::WaitIndexed(const std::string& key, const std::string& collection,
                                absl::Duration timeout) {
  auto stats = v1::StatsService::NewStub(channel());
  const absl::Time end = absl::Now() + timeout;
  std::string last = "no answer";
  while (absl::Now() < end) {
    v1::GetCollectionStatsRequest request;
    request.set_collection(collection);
    v1::GetCollectionStatsResponse response;
    grpc::Status status = stats->GetCollectionStats(Context(key, absl::Seconds(5)).get(), request,
                                                    &response);
    if (status.ok()) {
      if (response.pending() == 0 && response.min_watermark() >= response.latest_sequence()) {
        return absl::OkStatus();
      }
      last = absl::StrCat("pending=", response.pending(), " min_watermark=",
                          response.min_watermark(), " latest_sequence=", response.latest_sequence());
    } else {
      last = absl::StrCat("GetCollectionStats: ", status.error_code(), " ", status.error_message());
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(collection, " not indexed after ", absl::FormatDuration(timeout), ": ", last));
}

absl::Status Suite::WaitJobsSettled(absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  std::string last = "no answer";
  while (absl::Now() < end) {
    auto rows = pool_->Query("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')");
    if (rows.ok()) {
      const int64_t open = (*rows)[0][0].as<int64_t>();
      if (open == 0) return absl::OkStatus();
      last = absl::StrCat(open, " jobs queued or running");
    } else {
      last = rows.status().ToString();
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("jobs not settled after ", absl::FormatDuration(timeout), ": ", last));
}

// ------------------------------------------------------------------ Load

Load::Load(std::shared_ptr<grpc::Channel> channel, LoadOptions options)
    : channel_(std::move(channel)), options_(std::move(options)) {}

Load::~Load() { Stop(); }

void Load::Start() {
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this, i] { Run(i); });
}

void Load::Stop() {
  stop_ = true;
  Join();
}

void Load::Join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::vector<CallRecord> Load::records() const {
  absl::MutexLock lock(&mu_);
  return records_;
}

std::vector<std::string> Load::acked_ids() const {
  absl::MutexLock lock(&mu_);
  return acked_;
}

std::string Load::TextFor(const std::string& id) {
  static constexpr const char* kWords[] = {
      "disk",    "full",     "build",   "agent",    "segfault", "decoder", "proxy",  "timeout",
      "rotate",  "database", "memory",  "cache",    "flaky",    "port",    "vi",     "parser",
      "rollback", "probe",   "accent",  "query",    "kernel",   "socket",  "thread", "lock",
      "index",   "shard",    "replica", "snapshot", "lease",    "worker",  "vector", "gateway"};
  // Deterministic words from the id, and the id itself: the document's own
  // text finds it first.
  uint64_t h = 1469598103934665603ull;
  for (char c : id) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  std::string text = absl::StrCat("fault load document ", id);
  for (int i = 0; i < 6; ++i) {
    absl::StrAppend(&text, " ", kWords[h % 32]);
    h /= 32;
  }
  return text;
}

void Load::Run(int thread_index) {
  auto search = v1::SearchService::NewStub(channel_);
  auto documents = v1::DocumentService::NewStub(channel_);
  absl::BitGen random;
  const absl::Time end = absl::Now() + options_.max_duration;
  const int total_weight = options_.search_weight + options_.upsert_weight;
  while (!stop_ && absl::Now() < end) {
    if (calls_.fetch_add(1) >= options_.max_calls) break;
    CallRecord record;
    record.upsert = absl::Uniform<int>(random, 0, total_weight) >= options_.search_weight;
    auto context = Suite::Context(options_.api_key, options_.call_deadline);
    record.start = absl::Now();
    grpc::Status status;
    std::vector<std::string> ids;
    if (record.upsert) {
      v1::UpsertDocumentsRequest request;
      request.set_collection(options_.collection);
      for (int i = 0; i < options_.upsert_batch; ++i) {
        const std::string id = absl::StrCat(options_.id_prefix, "-", next_id_.fetch_add(1));
        auto* doc = request.add_documents();
        doc->set_id(id);
        doc->set_text(TextFor(id));
        ids.push_back(id);
      }
      v1::UpsertDocumentsResponse response;
      status = documents->UpsertDocuments(context.get(), request, &response);
    } else {
      v1::SearchRequest request;
      request.set_collection(options_.collection);
      request.set_text(TextFor(absl::StrCat(options_.id_prefix, "-",
                                            absl::Uniform<int64_t>(random, 0, next_id_ + 1))));
      request.set_top_k(10);
      v1::SearchResponse response;
      status = search->Search(context.get(), request, &response);
      record.partial = status.ok() && response.partial();
    }
    record.end = absl::Now();
    record.code = status.error_code();
    if (!status.ok()) record.message = status.error_message();
    {
      absl::MutexLock lock(&mu_);
      records_.push_back(std::move(record));
      if (status.ok()) acked_.insert(acked_.end(), ids.begin(), ids.end());
    }
    absl::SleepFor(options_.pause);
  }
  (void)thread_index;
}

}  // namespace quarry::testing
