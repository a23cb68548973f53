// Fault injection under load. One suite on loopback shared by the
// tests: embedding, shard 0 with two replicas, shard 1 with an only replica,
// two workers, two gateways behind nginx. Each test starts a bounded mix of
// upserts and searches through nginx on a collection of its own, injects one
// fault mid-load, ends it, and checks (README.md has the list and the bounds):
//   1. clients saw only UNAVAILABLE, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED;
//   2. service is back in full (a search answers OK and not partial) within
//      kRecoveryBound of the fault's end;
//   3. every acknowledged upsert is gettable, embedded and searchable;
//   4. no job lost or applied twice in effect: every index_documents job of
//      the collection succeeded (none dead or still open), the vectors the
//      jobs report written do not exceed the documents, and each replica
//      holds exactly one vector per document of its shard.
// A summary line per fault goes to the log and, as JSON, to
// $TEST_UNDECLARED_OUTPUTS_DIR/fault_summary.jsonl.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "quarry/search/v1/shard_service.grpc.pb.h"
#include "services/common/pg/testing/postgres_env.h"
#include "tests/testing/suite.h"

namespace quarry {
namespace {

namespace v1 = ::quarry::gateway::v1;
using testing::CallRecord;
using testing::Load;
using testing::LoadOptions;
using testing::Node;
using testing::Suite;
using testing::SuiteOptions;

// Fault end -> first full (OK, not partial) search.
constexpr absl::Duration kRecoveryBound = absl::Seconds(30);
// Fault end -> every acknowledged upsert indexed and every job settled.
constexpr absl::Duration kIndexedBound = absl::Seconds(90);
// Probes in a row (50 ms apart) that must answer in full before the load
// runs its last kSteadyLoad.
constexpr int kStableProbes = 20;
// Load before the fault and after recovery.
constexpr absl::Duration kSteadyLoad = absl::Seconds(2);
// Hard bound of each load run (it is stopped long before, after recovery).
constexpr absl::Duration kMaxLoad = absl::Seconds(90);

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

std::string CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {
      "OK",           "CANCELLED",         "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",    "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",   "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",         "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : absl::StrCat("CODE_", i);
}

// When the fault began and ended (the dead process is back, or the outage over).
struct FaultWindow {
  absl::Time start = absl::InfinitePast();
  absl::Time end = absl::InfinitePast();
};

struct Outcome {
  std::vector<CallRecord> records;
  std::vector<std::string> acked;
  FaultWindow window;
  absl::Time recovered = absl::InfiniteFuture();
  int64_t collection_id = 0;
  nlohmann::json summary;
};

class FaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SuiteOptions options;
    options.shards = 2;
    options.replicas_per_shard = {2, 1};
    options.workers = 2;
    options.worker_threads = 2;
    options.worker_lease = absl::Seconds(4);
    options.gateways = 2;
    options.nginx = true;
    options.snapshot_interval = absl::Seconds(3);
    auto suite = Suite::Start(options);
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = suite->release();
    // A quota well above the load (~150 calls/s): with one gateway down the
    // other takes every call, and its per-key limiter (default 100/s) must
    // not be what the test measures.
    auto key = suite_->CreateApiKey("acme", {"read", "write", "admin"}, 10000.0, 10000);
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = new std::string(*key);
  }

  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
    delete key_;
    key_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(suite_, nullptr) << "the suite did not start"; }

  // A failed test must not leave the next one with a dead process.
  void TearDown() override {
    if (suite_ == nullptr) return;
    for (Node* node : suite_->nodes()) {
      if (!node->running()) {
        ADD_FAILURE() << node->name() << " was left stopped";
        EXPECT_TRUE(node->Restart().ok()) << node->name();
      }
    }
    if (!pg::TestPostgres().running()) {
      EXPECT_TRUE(pg::TestPostgres().Start().ok());
    }
  }

  // The collection's id, for checks made in SQL.
  static int64_t CollectionId(const std::string& name) {
    auto id = suite_->pool().WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
      return txn.exec_params1("SELECT id FROM collections WHERE name = $1 AND deleted_at IS NULL",
                              name)[0]
          .as<int64_t>();
    });
    EXPECT_TRUE(id.ok()) << id.status();
    return id.value_or(0);
  }

  // Upserts `count` documents "<prefix>-<i>" in batches; returns the acked ids.
  static std::vector<std::string> Upsert(const std::string& collection, const std::string& prefix,
                                         int count, int batch, bool wait_for_indexed) {
    auto documents = v1::DocumentService::NewStub(suite_->channel());
    std::vector<std::string> acked;
    for (int start = 0; start < count; start += batch) {
      v1::UpsertDocumentsRequest request;
      request.set_collection(collection);
      request.set_wait_for_indexed(wait_for_indexed);
      std::vector<std::string> ids;
      for (int i = start; i < std::min(count, start + batch); ++i) {
        const std::string id = absl::StrCat(prefix, "-", i);
        auto* doc = request.add_documents();
        doc->set_id(id);
        doc->set_text(Load::TextFor(id));
        ids.push_back(id);
      }
      v1::UpsertDocumentsResponse response;
      grpc::Status status = documents->UpsertDocuments(
          Suite::Context(*key_, absl::Seconds(60)).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (status.ok()) acked.insert(acked.end(), ids.begin(), ids.end());
    }
    return acked;
  }

  // One search; OK and not partial is "full".
  static grpc::Status Probe(const std::string& collection, const std::string& text, bool* partial) {
    v1::SearchRequest request;
    request.set_collection(collection);
    request.set_text(text);
    request.set_top_k(5);
    v1::SearchResponse response;
    grpc::Status status = v1::SearchService::NewStub(suite_->channel())
                              ->Search(Suite::Context(*key_, absl::Seconds(2)).get(), request,
                                       &response);
    *partial = status.ok() && response.partial();
    return status;
  }

  // The whole run: seed, load, fault, recovery, checks, summary.
  // `inject` runs the fault mid-load and sets the window; `before_checks`
  // (optional) runs after recovery, before the checks, and may add acked ids.
  using Inject = std::function<void(const std::string& collection, FaultWindow&,
                                    std::vector<std::string>& extra_acked)>;
  static Outcome RunFault(const std::string& fault, const Inject& inject,
                          const std::function<void(std::vector<std::string>& extra_acked)>&
                              before_checks = nullptr) {
    Outcome out;
    const std::string collection = fault;
    EXPECT_TRUE(suite_->CreateCollection(*key_, collection).ok());
    out.collection_id = CollectionId(collection);
    // What the probe searches for.
    std::vector<std::string> extra = Upsert(collection, fault + "-seed", 20, 20, true);

    LoadOptions load_options;
    load_options.api_key = *key_;
    load_options.collection = collection;
    load_options.id_prefix = fault;
    load_options.threads = 4;
    load_options.max_calls = 50000;
    load_options.max_duration = kMaxLoad;
    Load load(suite_->channel(), load_options);
    load.Start();
    absl::SleepFor(kSteadyLoad);

    inject(collection, out.window, extra);
    EXPECT_NE(out.window.end, absl::InfinitePast()) << "the fault did not end";

    // Recovery. Probes (searches through nginx, so over both gateways) run
    // until kStableProbes in a row answer in full; then the load runs on for
    // kSteadyLoad. Full service is back at the end of the last call, load or
    // probe, that failed or came back partial: recovery is that minus the
    // fault's end (0 if clients saw nothing after it).
    const std::string probe_text = Load::TextFor(fault + "-seed-0");
    int64_t probes = 0;
    int streak = 0;
    absl::Time first_full = absl::InfiniteFuture();
    absl::Time stable = absl::InfiniteFuture();
    std::map<std::string, int64_t> probe_errors;
    std::vector<CallRecord> probe_records;
    while (absl::Now() < out.window.end + kRecoveryBound) {
      CallRecord record;
      record.start = absl::Now();
      grpc::Status status = Probe(collection, probe_text, &record.partial);
      record.end = absl::Now();
      record.code = status.error_code();
      probe_records.push_back(record);
      ++probes;
      if (status.ok() && !record.partial) {
        first_full = std::min(first_full, record.end);
        if (++streak >= kStableProbes) {
          stable = record.end;
          break;
        }
      } else {
        streak = 0;
        if (!status.ok()) ++probe_errors[CodeName(status.error_code())];
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_NE(stable, absl::InfiniteFuture())
        << fault << ": searches not back in full " << absl::FormatDuration(kRecoveryBound)
        << " after the fault";

    absl::SleepFor(kSteadyLoad);
    load.Stop();
    if (before_checks) before_checks(extra);
    out.records = load.records();
    out.acked = load.acked_ids();
    out.acked.insert(out.acked.end(), extra.begin(), extra.end());

    absl::Time last_bad = absl::InfinitePast();
    int64_t bad_after_stable = 0;
    for (const auto* records : {&out.records, &probe_records}) {
      for (const CallRecord& r : *records) {
        if (r.code == grpc::StatusCode::OK && !r.partial) continue;
        if (r.end >= out.window.start) last_bad = std::max(last_bad, r.end);
        bad_after_stable += r.start > stable;
      }
    }
    out.recovered = std::max(out.window.end, last_bad);
    const absl::Duration recovery = out.recovered - out.window.end;
    EXPECT_LE(recovery, kRecoveryBound) << fault << ": full service came back too late";
    EXPECT_EQ(bad_after_stable, 0)
        << fault << ": calls failed or were partial after searches were back in full";

    // 1. Only retryable codes, during the fault or not.
    std::map<std::string, int64_t> errors, errors_in_fault;
    int64_t ok = 0, partial = 0, partial_in_fault = 0, partial_after = 0, calls_in_fault = 0;
    int non_retryable_shown = 0;
    absl::Time first_error = absl::InfiniteFuture(), last_error = absl::InfinitePast();
    for (const CallRecord& r : out.records) {
      const bool in_fault = r.end >= out.window.start && r.start <= out.window.end;
      calls_in_fault += in_fault;
      if (r.code == grpc::StatusCode::OK) {
        ++ok;
        partial += r.partial;
        partial_in_fault += r.partial && in_fault;
        partial_after += r.partial && r.start > out.recovered;
        continue;
      }
      ++errors[CodeName(r.code)];
      if (in_fault) ++errors_in_fault[CodeName(r.code)];
      first_error = std::min(first_error, r.end);
      last_error = std::max(last_error, r.end);
      if (!Retryable(r.code) && non_retryable_shown++ < 5) {
        ADD_FAILURE() << fault << ": non-retryable " << CodeName(r.code) << " ("
                      << (r.upsert ? "upsert" : "search") << " at "
                      << absl::FormatDuration(r.start - out.window.start)
                      << " from the fault): " << r.message;
      }
    }
    for (const auto& [code, n] : probe_errors) {
      EXPECT_TRUE(code == "UNAVAILABLE" || code == "DEADLINE_EXCEEDED" ||
                  code == "RESOURCE_EXHAUSTED")
          << fault << ": probe got " << n << " x " << code;
    }
    EXPECT_EQ(partial_after, 0) << fault << ": partial results after recovery";

    // 3 and 4, after everything has settled.
    const absl::Time check_start = absl::Now();
    absl::Status indexed = suite_->WaitIndexed(*key_, collection, kIndexedBound);
    EXPECT_TRUE(indexed.ok()) << indexed;
    absl::Status settled = suite_->WaitJobsSettled(kIndexedBound);
    EXPECT_TRUE(settled.ok()) << settled;
    const double settle_seconds = absl::ToDoubleSeconds(absl::Now() - out.window.end);
    const nlohmann::json jobs = CheckAcked(collection, out);
    CheckReplicas(out.collection_id);

    out.summary = {
        {"fault", fault},
        {"calls", out.records.size()},
        {"ok", ok},
        {"errors", errors},
        {"calls_during_fault", calls_in_fault},
        {"errors_during_fault", errors_in_fault},
        // When clients saw errors, in seconds from the fault's start.
        {"first_error_seconds", errors.empty() ? nlohmann::json(nullptr)
                                               : nlohmann::json(absl::ToDoubleSeconds(
                                                     first_error - out.window.start))},
        {"last_error_seconds", errors.empty() ? nlohmann::json(nullptr)
                                              : nlohmann::json(absl::ToDoubleSeconds(
                                                    last_error - out.window.start))},
        {"partial", partial},
        {"partial_during_fault", partial_in_fault},
        {"partial_after_recovery", partial_after},
        {"fault_seconds", absl::ToDoubleSeconds(out.window.end - out.window.start)},
        {"recovery_seconds", absl::ToDoubleSeconds(recovery)},
        {"first_full_probe_seconds", absl::ToDoubleSeconds(first_full - out.window.end)},
        {"recovery_bound_seconds", absl::ToDoubleSeconds(kRecoveryBound)},
        {"probes", probes},
        {"probe_errors", probe_errors},
        {"acked_documents", out.acked.size()},
        {"all_indexed_seconds_after_fault", settle_seconds},
        {"jobs", jobs},
        {"check_seconds", absl::ToDoubleSeconds(absl::Now() - check_start)},
    };
    return out;
  }

  // Every acked id: gettable, embedded with its current text, and (a sample)
  // found by a search for its text. Returns the collection's job figures.
  static nlohmann::json CheckAcked(const std::string& collection, const Outcome& out) {
    const std::set<std::string> unique(out.acked.begin(), out.acked.end());
    EXPECT_EQ(unique.size(), out.acked.size()) << "an id was acknowledged twice";
    const std::vector<std::string> ids(unique.begin(), unique.end());
    auto documents = v1::DocumentService::NewStub(suite_->channel());
    int64_t missing = 0;
    for (size_t start = 0; start < ids.size(); start += 500) {
      v1::GetDocumentsRequest request;
      request.set_collection(collection);
      for (size_t i = start; i < std::min(ids.size(), start + 500); ++i) request.add_ids(ids[i]);
      v1::GetDocumentsResponse response;
      grpc::Status status = documents->GetDocuments(Suite::Context(*key_).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      missing += response.missing_ids_size();
      for (const auto& id : response.missing_ids()) ADD_FAILURE() << "acked " << id << " is lost";
    }
    EXPECT_EQ(missing, 0);

    // Embedded from the current text, not deleted: in SQL, over all acked ids.
    auto unembedded = suite_->pool().WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
      int64_t n = 0;
      for (const std::string& id : ids) {
        n += txn.exec_params1(
                    "SELECT count(*) FROM documents WHERE collection_id = $1 AND doc_id = $2 AND "
                    "(deleted OR embedding IS NULL OR embedded_hash IS DISTINCT FROM content_hash)",
                    out.collection_id, id)[0]
                 .as<int64_t>();
      }
      return n;
    });
    EXPECT_TRUE(unembedded.ok()) << unembedded.status();
    EXPECT_EQ(unembedded.value_or(-1), 0) << "acked documents without a current vector";

    // A sample is found by its own text.
    auto search = v1::SearchService::NewStub(suite_->channel());
    const size_t step = std::max<size_t>(1, ids.size() / 25);
    int searched = 0, found = 0;
    for (size_t i = 0; i < ids.size(); i += step) {
      v1::SearchRequest request;
      request.set_collection(collection);
      request.set_text(Load::TextFor(ids[i]));
      request.set_top_k(10);
      v1::SearchResponse response;
      grpc::Status status = search->Search(Suite::Context(*key_).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_FALSE(response.partial());
      ++searched;
      bool hit = false;
      for (const auto& h : response.hits()) hit |= h.id() == ids[i];
      found += hit;
      EXPECT_TRUE(hit) << "search for acked " << ids[i] << "'s text does not find it";
    }

    // Jobs of this collection: all succeeded; what they wrote fits the documents.
    nlohmann::json jobs;
    auto rows = suite_->pool().WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<pqxx::result> {
      return txn.exec_params(
          "SELECT state, count(*), max(attempts), sum(attempts), "
          "coalesce(sum((result->>'written')::bigint), 0) FROM jobs "
          "WHERE kind = 'index_documents' AND (payload->>'collection_id')::bigint = $1 "
          "GROUP BY state",
          out.collection_id);
    });
    EXPECT_TRUE(rows.ok()) << rows.status();
    int64_t written = 0, total = 0;
    if (rows.ok()) {
      for (const auto& row : *rows) {
        const std::string state = row[0].as<std::string>();
        jobs[state] = {{"jobs", row[1].as<int64_t>()},
                       {"max_attempts", row[2].as<int64_t>()},
                       {"attempts", row[3].as<int64_t>()}};
        total += row[1].as<int64_t>();
        EXPECT_EQ(state, "succeeded") << row[1].as<int64_t>() << " index_documents jobs are "
                                      << state;
        if (state == "succeeded") written = row[4].as<int64_t>();
      }
    }
    auto docs = suite_->pool().WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
      return txn.exec_params1("SELECT count(*) FROM documents WHERE collection_id = $1",
                              out.collection_id)[0]
          .as<int64_t>();
    });
    EXPECT_TRUE(docs.ok());
    EXPECT_LE(written, docs.value_or(0)) << "jobs wrote more vectors than there are documents";
    EXPECT_GE(docs.value_or(0), static_cast<int64_t>(ids.size()));
    return {{"by_state", jobs}, {"total", total}, {"vectors_written", written},
            {"documents", docs.value_or(-1)}, {"searched", searched}, {"found", found}};
  }

  // Each replica holds exactly one vector per live, embedded document of its
  // shard in this collection (a job applied twice or a replayed tail would
  // not change the rows, but a duplicate would show here).
  static void CheckReplicas(int64_t collection_id) {
    const int shards = suite_->options().shards;
    for (int s = 0; s < shards; ++s) {
      auto expected = suite_->pool().WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
        return txn.exec_params1(
                      "SELECT count(*) FROM documents WHERE collection_id = $1 AND NOT deleted "
                      "AND embedding IS NOT NULL AND shard_hash % $2 = $3",
                      collection_id, shards, s)[0]
            .as<int64_t>();
      });
      ASSERT_TRUE(expected.ok()) << expected.status();
      for (int r = 0; r < suite_->replica_count(s); ++r) {
        Node& replica = suite_->replica(s, r);
        auto stub = search::v1::ShardService::NewStub(replica.channel());
        int64_t vectors = -1;
        // A twin the gateway did not wait for may still be tailing.
        const absl::Time end = absl::Now() + absl::Seconds(20);
        while (absl::Now() < end) {
          search::v1::GetShardStatusResponse status;
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
          if (stub->GetShardStatus(&context, {}, &status).ok()) {
            vectors = 0;
            for (const auto& c : status.collections()) {
              if (c.collection_id() == collection_id) vectors = c.vectors();
            }
            if (vectors == *expected) break;
          }
          absl::SleepFor(absl::Milliseconds(200));
        }
        EXPECT_EQ(vectors, *expected) << replica.name() << " of collection " << collection_id;
      }
    }
  }

  static void Report(const Outcome& out) {
    const nlohmann::json& s = out.summary;
    std::string errors;
    for (const auto& [code, n] : s["errors"].items()) {
      absl::StrAppend(&errors, errors.empty() ? "" : ",", code, ":", n.get<int64_t>());
    }
    std::printf("FAULT %-28s calls=%lld ok=%lld errors={%s} partial=%lld recovery=%.2fs "
                "acked_docs=%lld all_indexed_after=%.1fs\n",
                s["fault"].get<std::string>().c_str(),
                static_cast<long long>(s["calls"].get<int64_t>()),
                static_cast<long long>(s["ok"].get<int64_t>()), errors.c_str(),
                static_cast<long long>(s["partial"].get<int64_t>()),
                s["recovery_seconds"].get<double>(),
                static_cast<long long>(s["acked_documents"].get<int64_t>()),
                s["all_indexed_seconds_after_fault"].get<double>());
    if (s.contains("killed_job_succeeded_seconds_after_kill")) {
      std::printf("FAULT %-28s killed job %lld (progress %.2f) succeeded after %d attempts, "
                  "%.2fs after the kill\n",
                  s["fault"].get<std::string>().c_str(),
                  static_cast<long long>(s["killed_job"].get<int64_t>()),
                  s["killed_job_progress_at_kill"].get<double>(),
                  static_cast<int>(s["killed_job_attempts"].get<int64_t>()),
                  s["killed_job_succeeded_seconds_after_kill"].get<double>());
    }
    std::fflush(stdout);
    const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    std::ofstream(absl::StrCat(dir != nullptr ? dir : "/tmp", "/fault_summary.jsonl"),
                  std::ios::app)
        << s.dump() << "\n";
  }

  static inline Suite* suite_ = nullptr;
  static inline std::string* key_ = nullptr;
};

TEST_F(FaultTest, WorkerKilledMidIndexDocuments) {
  int64_t killed_job = 0;
  double progress_at_kill = -1;
  std::string killed_worker;
  std::thread upserts;
  std::atomic<bool> caught{false};
  std::vector<std::string> big;
  Outcome out = RunFault(
      "worker-kill",
      [&](const std::string& collection, FaultWindow& window, std::vector<std::string>&) {
        const int64_t collection_id = CollectionId(collection);
        // Big jobs (500 documents, 8 embedding batches each) next to the
        // load's small ones, so that one is caught with some of its batches
        // written and others not.
        // Until one is caught (at most 12 jobs).
        upserts = std::thread([&] {
          for (int i = 0; i < 12 && !caught; ++i) {
            std::vector<std::string> ids =
                Upsert(collection, absl::StrCat("worker-kill-big", i), 500, 500, false);
            big.insert(big.end(), ids.begin(), ids.end());
          }
        });
        const absl::Time end = absl::Now() + absl::Seconds(30);
        Node* victim = nullptr;
        while (victim == nullptr && absl::Now() < end) {
          auto running = suite_->pool().WithTransaction(
              [&](pqxx::work& txn) -> absl::StatusOr<pqxx::result> {
                return txn.exec_params(
                    "SELECT id, lease_owner, progress FROM jobs WHERE kind = 'index_documents' "
                    "AND state = 'running' AND (payload->>'collection_id')::bigint = $1 AND "
                    "jsonb_array_length(payload->'ids') >= 500 AND progress > 0 AND progress < 0.75 "
                    "LIMIT 1",
                    collection_id);
              });
          if (!running.ok() || running->empty()) {
            absl::SleepFor(absl::Milliseconds(2));
            continue;
          }
          // lease_owner is "host:pid:random".
          std::vector<std::string> parts =
              absl::StrSplit((*running)[0][1].as<std::string>(), ':');
          int pid = 0;
          if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &pid)) {
            for (int w = 0; w < suite_->options().workers; ++w) {
              if (suite_->worker(w).pid() == pid) victim = &suite_->worker(w);
            }
          }
          killed_job = (*running)[0][0].as<int64_t>();
          progress_at_kill = (*running)[0][2].as<double>();
        }
        caught = true;
        ASSERT_NE(victim, nullptr) << "no big index_documents job was seen running";
        killed_worker = victim->name();
        window.start = absl::Now();
        ASSERT_TRUE(victim->Kill(SIGKILL).ok());
        // Back at once, as an orchestrator would restart it; the killed job's
        // lease still has to expire before anyone claims it again.
        ASSERT_TRUE(victim->Restart().ok()) << victim->Log();
        window.end = absl::Now();
      },
      [&](std::vector<std::string>& extra) {
        if (upserts.joinable()) upserts.join();
        EXPECT_GE(big.size(), 500u);
        extra.insert(extra.end(), big.begin(), big.end());
      });
  if (upserts.joinable()) upserts.join();
  // The killed job was claimed again when its lease expired and succeeded,
  // within the bound of the kill.
  auto job = suite_->pool().WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::tuple<int64_t, double, int64_t>> {
        auto row = txn.exec_params1(
            "SELECT attempts, extract(epoch FROM finished_at)::float8, "
            "(result->>'written')::bigint FROM jobs WHERE id = $1 AND state = 'succeeded'",
            killed_job);
        return std::make_tuple(row[0].as<int64_t>(), row[1].as<double>(), row[2].as<int64_t>());
      });
  ASSERT_TRUE(job.ok()) << "the killed job did not succeed: " << job.status();
  const auto [attempts, finished_at, written] = *job;
  const double job_recovery =
      finished_at - absl::ToDoubleSeconds(out.window.start - absl::UnixEpoch());
  EXPECT_GE(attempts, 2) << "the killed attempt was not counted";
  // The batches the killed attempt wrote are not written again.
  EXPECT_LT(written, 500) << "the re-run rewrote what the killed attempt had written";
  EXPECT_LE(job_recovery, absl::ToDoubleSeconds(kRecoveryBound))
      << "the killed job was not re-run in time";
  out.summary["killed_worker"] = killed_worker;
  out.summary["killed_job"] = killed_job;
  out.summary["killed_job_progress_at_kill"] = progress_at_kill;
  out.summary["killed_job_attempts"] = attempts;
  out.summary["killed_job_rerun_wrote"] = written;
  out.summary["killed_job_succeeded_seconds_after_kill"] = job_recovery;
  Report(out);
}

TEST_F(FaultTest, ReplicaKilledItsTwinServes) {
  Node& victim = suite_->replica(0, 0);
  Outcome out = RunFault("twin-replica-kill", [&](const std::string&, FaultWindow& window,
                                                  std::vector<std::string>&) {
    window.start = absl::Now();
    ASSERT_TRUE(victim.Kill(SIGKILL).ok());
    absl::SleepFor(absl::Seconds(5));
    ASSERT_TRUE(victim.Restart().ok()) << victim.Log();
    window.end = absl::Now();
  });
  // The twin answers for the shard: no result is partial.
  EXPECT_EQ(out.summary["partial"].get<int64_t>(), 0);
  Report(out);
}

TEST_F(FaultTest, OnlyReplicaKilledPartialThenFullFromSnapshotAndTail) {
  Node& victim = suite_->replica(1, 0);
  Outcome out = RunFault("only-replica-kill", [&](const std::string&, FaultWindow& window,
                                                  std::vector<std::string>&) {
    // A snapshot to restart from (the interval is 3 s).
    absl::SleepFor(absl::Seconds(4));
    window.start = absl::Now();
    ASSERT_TRUE(victim.Kill(SIGKILL).ok());
    absl::SleepFor(absl::Seconds(5));
    ASSERT_TRUE(victim.Restart().ok()) << victim.Log();
    window.end = absl::Now();
  });
  EXPECT_GT(out.summary["partial_during_fault"].get<int64_t>(), 0)
      << "searches during the outage were not flagged partial";
  EXPECT_EQ(out.summary["partial_after_recovery"].get<int64_t>(), 0);
  ASSERT_NE(victim.service(), nullptr);
  EXPECT_NE(victim.service()->Log().find("snapshot loaded"), std::string::npos)
      << "the replica did not restart from its snapshot:\n" << victim.service()->Log();
  Report(out);
}

TEST_F(FaultTest, GatewayKilledBehindNginx) {
  Node& victim = suite_->gateway(0);
  Outcome out = RunFault("gateway-kill", [&](const std::string&, FaultWindow& window,
                                             std::vector<std::string>&) {
    window.start = absl::Now();
    ASSERT_TRUE(victim.Kill(SIGKILL).ok());
    absl::SleepFor(absl::Seconds(5));
    ASSERT_TRUE(victim.Restart().ok()) << victim.Log();
    window.end = absl::Now();
  });
  Report(out);
}

TEST_F(FaultTest, EmbeddingStoppedTenSeconds) {
  Node& victim = suite_->embedding();
  Outcome out = RunFault("embedding-outage", [&](const std::string&, FaultWindow& window,
                                                 std::vector<std::string>&) {
    window.start = absl::Now();
    ASSERT_TRUE(victim.Kill(SIGKILL).ok());
    absl::SleepFor(absl::Seconds(10));
    ASSERT_TRUE(victim.Restart().ok()) << victim.Log();
    window.end = absl::Now();
  });
  // A transient outage kills no job (checked for the collection in RunFault;
  // here for every kind).
  auto dead = suite_->pool().Query("SELECT count(*) FROM jobs WHERE state = 'dead'");
  ASSERT_TRUE(dead.ok());
  EXPECT_EQ((*dead)[0][0].as<int64_t>(), 0);
  // Workers wait for the embedding service (within the embed timeout) rather
  // than spend attempts on the outage: at most the attempt whose call was in
  // flight at the kill is lost.
  EXPECT_LE(out.summary["jobs"]["by_state"]["succeeded"]["max_attempts"].get<int64_t>(), 2);
  Report(out);
}

TEST_F(FaultTest, PostgresRestarted) {
  Outcome out = RunFault("postgres-restart", [&](const std::string&, FaultWindow& window,
                                                 std::vector<std::string>&) {
    window.start = absl::Now();
    ASSERT_TRUE(pg::TestPostgres().Restart().ok()) << pg::TestPostgres().LogTail();
    window.end = absl::Now();
  });
  // Every process rode it out.
  for (Node* node : suite_->nodes()) EXPECT_TRUE(node->running()) << node->name();
  Report(out);
}

}  // namespace
}  // namespace quarry
