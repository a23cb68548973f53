#include "tools/loadgen/workload.h"

#include <atomic>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "quarry/embedding/v1/embedding_service.grpc.pb.h"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "quarry/search/v1/shard_service.grpc.pb.h"
#include "services/common/model/limits.h"
#include "services/common/status/macros.h"

namespace quarry::loadgen {
namespace {

// Everything one call needs, alive until its callback has run.
template <typename Request, typename Response>
struct Call {
  grpc::ClientContext context;
  Request request;
  Response response;
};

template <typename Request, typename Response>
std::unique_ptr<Call<Request, Response>> NewCall(const WorkloadOptions& options) {
  auto call = std::make_unique<Call<Request, Response>>();
  call->context.set_deadline(std::chrono::system_clock::now() +
                             absl::ToChronoNanoseconds(options.deadline));
  if (!options.api_key.empty()) {
    call->context.AddMetadata("authorization", "Bearer " + options.api_key);
  }
  return call;
}

// Shared state of the request generators.
class Generator {
 public:
  explicit Generator(const WorkloadOptions& options) : options_(options) {}
  const std::string& Text() {
    absl::MutexLock lock(&mu_);
    return options_.texts[absl::Uniform<size_t>(random_, 0, options_.texts.size())];
  }
  void RandomVector(google::protobuf::RepeatedField<float>* values) {
    absl::MutexLock lock(&mu_);
    for (int i = 0; i < options_.dimension; ++i) values->Add(absl::Gaussian<float>(random_));
  }
  int64_t NextId() { return next_id_++; }
  const WorkloadOptions& options() const { return options_; }

 private:
  const WorkloadOptions options_;
  absl::Mutex mu_;
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> next_id_{0};
};

class SearchWorkload final : public Workload {
 public:
  SearchWorkload(std::shared_ptr<grpc::Channel> channel, const WorkloadOptions& options)
      : stub_(quarry::gateway::v1::SearchService::NewStub(channel)), gen_(options) {}
  std::string name() const override { return "search"; }
  void Issue(std::function<void(const grpc::Status&)> done) override {
    auto call = NewCall<quarry::gateway::v1::SearchRequest, quarry::gateway::v1::SearchResponse>(
        gen_.options());
    call->request.set_collection(gen_.options().collection);
    call->request.set_top_k(gen_.options().top_k);
    if (gen_.options().vector_queries) {
      gen_.RandomVector(call->request.mutable_vector()->mutable_values());
    } else {
      call->request.set_text(gen_.Text());
    }
    auto* raw = call.release();
    stub_->async()->Search(&raw->context, &raw->request, &raw->response,
                           [raw, done](grpc::Status status) {
                             std::unique_ptr<std::remove_pointer_t<decltype(raw)>> owned(raw);
                             done(status);
                           });
  }

 private:
  std::unique_ptr<quarry::gateway::v1::SearchService::Stub> stub_;
  Generator gen_;
};

// SearchBatch with --batch queries per call (throughput in queries/s is the
// call rate times the batch).
class SearchBatchWorkload final : public Workload {
 public:
  SearchBatchWorkload(std::shared_ptr<grpc::Channel> channel, const WorkloadOptions& options)
      : stub_(quarry::gateway::v1::SearchService::NewStub(channel)), gen_(options) {}
  std::string name() const override { return "search_batch"; }
  void Issue(std::function<void(const grpc::Status&)> done) override {
    using Request = quarry::gateway::v1::SearchBatchRequest;
    using Response = quarry::gateway::v1::SearchBatchResponse;
    auto call = NewCall<Request, Response>(gen_.options());
    for (int i = 0; i < gen_.options().upsert_batch; ++i) {
      auto* query = call->request.add_queries();
      query->set_collection(gen_.options().collection);
      query->set_top_k(gen_.options().top_k);
      if (gen_.options().vector_queries) {
        gen_.RandomVector(query->mutable_vector()->mutable_values());
      } else {
        query->set_text(gen_.Text());
      }
    }
    auto* raw = call.release();
    stub_->async()->SearchBatch(&raw->context, &raw->request, &raw->response,
                                [raw, done](grpc::Status status) {
                                  std::unique_ptr<Call<Request, Response>> owned(raw);
                                  done(status);
                                });
  }

 private:
  std::unique_ptr<quarry::gateway::v1::SearchService::Stub> stub_;
  Generator gen_;
};

class UpsertWorkload final : public Workload {
 public:
  UpsertWorkload(std::shared_ptr<grpc::Channel> channel, const WorkloadOptions& options)
      : stub_(quarry::gateway::v1::DocumentService::NewStub(channel)), gen_(options) {
    if (!options.acked_ids_file.empty()) acked_.open(options.acked_ids_file, std::ios::app);
  }
  std::string name() const override { return "upsert"; }
  void Issue(std::function<void(const grpc::Status&)> done) override {
    using Request = quarry::gateway::v1::UpsertDocumentsRequest;
    using Response = quarry::gateway::v1::UpsertDocumentsResponse;
    auto call = NewCall<Request, Response>(gen_.options());
    call->request.set_collection(gen_.options().upsert_collection);
    for (int i = 0; i < gen_.options().upsert_batch; ++i) {
      auto* doc = call->request.add_documents();
      const int64_t n = gen_.NextId();
      doc->set_id(absl::StrCat(gen_.options().run_id, "-", n));
      doc->set_text(absl::StrCat(gen_.Text(), " (loadgen document ", n, ")"));
      (*doc->mutable_metadata())["source"] = "loadgen";
      doc->add_tags(n % 2 == 0 ? "even" : "odd");
    }
    auto* raw = call.release();
    stub_->async()->UpsertDocuments(&raw->context, &raw->request, &raw->response,
                                    [this, raw, done](grpc::Status status) {
                                      std::unique_ptr<Call<Request, Response>> owned(raw);
                                      if (status.ok()) RecordAcked(owned->request);
                                      done(status);
                                    });
  }

 private:
  // Acknowledged ids go to a file so fault tests can check each one is
  // eventually searchable.
  void RecordAcked(const quarry::gateway::v1::UpsertDocumentsRequest& request) {
    if (!acked_.is_open()) return;
    absl::MutexLock lock(&mu_);
    for (const auto& doc : request.documents()) acked_ << doc.id() << "\n";
    acked_.flush();
  }

  std::unique_ptr<quarry::gateway::v1::DocumentService::Stub> stub_;
  Generator gen_;
  absl::Mutex mu_;
  std::ofstream acked_ ABSL_GUARDED_BY(mu_);
};

class EmbedWorkload final : public Workload {
 public:
  EmbedWorkload(std::shared_ptr<grpc::Channel> channel, const WorkloadOptions& options)
      : stub_(quarry::embedding::v1::EmbeddingService::NewStub(channel)), gen_(options) {}
  std::string name() const override { return "embed"; }
  void Issue(std::function<void(const grpc::Status&)> done) override {
    using Request = quarry::embedding::v1::EmbedRequest;
    using Response = quarry::embedding::v1::EmbedResponse;
    auto call = NewCall<Request, Response>(gen_.options());
    for (int i = 0; i < gen_.options().upsert_batch; ++i) call->request.add_texts(gen_.Text());
    auto* raw = call.release();
    stub_->async()->Embed(&raw->context, &raw->request, &raw->response,
                          [raw, done](grpc::Status status) {
                            std::unique_ptr<Call<Request, Response>> owned(raw);
                            done(status);
                          });
  }

 private:
  std::unique_ptr<quarry::embedding::v1::EmbeddingService::Stub> stub_;
  Generator gen_;
};

class ShardSearchWorkload final : public Workload {
 public:
  ShardSearchWorkload(std::shared_ptr<grpc::Channel> channel, const WorkloadOptions& options)
      : stub_(quarry::search::v1::ShardService::NewStub(channel)), gen_(options) {}
  std::string name() const override { return "shard_search"; }
  void Issue(std::function<void(const grpc::Status&)> done) override {
    using Request = quarry::search::v1::SearchShardRequest;
    using Response = quarry::search::v1::SearchShardResponse;
    auto call = NewCall<Request, Response>(gen_.options());
    call->request.set_collection_id(gen_.options().collection_id);
    call->request.set_k(gen_.options().top_k);
    gen_.RandomVector(call->request.mutable_vector()->mutable_values());
    auto* raw = call.release();
    stub_->async()->SearchShard(&raw->context, &raw->request, &raw->response,
                                [raw, done](grpc::Status status) {
                                  std::unique_ptr<Call<Request, Response>> owned(raw);
                                  done(status);
                                });
  }

 private:
  std::unique_ptr<quarry::search::v1::ShardService::Stub> stub_;
  Generator gen_;
};

class HealthWorkload final : public Workload {
 public:
  HealthWorkload(std::shared_ptr<grpc::Channel> channel, const WorkloadOptions& options)
      : stub_(grpc::health::v1::Health::NewStub(channel)), options_(options) {}
  std::string name() const override { return "health"; }
  void Issue(std::function<void(const grpc::Status&)> done) override {
    using Request = grpc::health::v1::HealthCheckRequest;
    using Response = grpc::health::v1::HealthCheckResponse;
    auto* raw = NewCall<Request, Response>(options_).release();
    stub_->async()->Check(&raw->context, &raw->request, &raw->response,
                          [raw, done](grpc::Status status) {
                            std::unique_ptr<Call<Request, Response>> owned(raw);
                            done(status);
                          });
  }

 private:
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
  WorkloadOptions options_;
};

class MixWorkload final : public Workload {
 public:
  MixWorkload(std::vector<std::unique_ptr<Workload>> parts, std::vector<double> weights)
      : parts_(std::move(parts)), weights_(std::move(weights)) {}
  std::string name() const override { return "mix"; }
  void Issue(std::function<void(const grpc::Status&)> done) override {
    size_t pick;
    {
      absl::MutexLock lock(&mu_);
      double total = 0;
      for (double w : weights_) total += w;
      double r = absl::Uniform<double>(random_, 0, total);
      for (pick = 0; pick + 1 < weights_.size() && r >= weights_[pick]; ++pick) r -= weights_[pick];
    }
    parts_[pick]->Issue(std::move(done));
  }

 private:
  std::vector<std::unique_ptr<Workload>> parts_;
  std::vector<double> weights_;
  absl::Mutex mu_;
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

bool SpecUpserts(const std::string& spec) {
  for (absl::string_view part : absl::StrSplit(spec, ',')) {
    if (std::vector<absl::string_view>(absl::StrSplit(part, ':'))[0] == "upsert") return true;
  }
  return false;
}

std::string OwnUpsertCollectionName(const std::string& prefix, int64_t pid, int64_t unix_seconds) {
  const std::string suffix = absl::StrCat("-loadgen-", pid, "-", unix_seconds);
  std::string name = prefix.substr(0, quarry::model::kMaxCollectionNameBytes - suffix.size());
  // Collection names start with a letter or digit; an empty prefix still needs one.
  if (name.empty()) name = "lg";
  return absl::StrCat(name, suffix);
}

std::vector<std::string> DefaultTexts() {
  return {
      "disk full on the build agent during artifact upload",
      "segmentation fault in the image decoder when the file is truncated",
      "login page times out behind the corporate proxy",
      "how do I rotate the database credentials without downtime",
      "memory usage grows steadily after the cache warm-up",
      "flaky integration test waits for a port that is already in use",
      "terminal file manager with vi key bindings",
      "library for parsing command line options in C",
      "the deployment rolled back because the readiness probe failed",
      "search results are empty for queries with accented characters",
  };
}

absl::StatusOr<std::unique_ptr<Workload>> MakeWorkload(const std::string& name,
                                                       std::shared_ptr<grpc::Channel> channel,
                                                       const WorkloadOptions& options) {
  if (options.texts.empty()) return absl::InvalidArgumentError("no texts to send");
  if (name == "search") return std::make_unique<SearchWorkload>(channel, options);
  if (name == "search_batch") return std::make_unique<SearchBatchWorkload>(channel, options);
  if (name == "upsert") {
    if (options.upsert_collection.empty()) {
      return absl::InvalidArgumentError("upsert: no collection to upsert into");
    }
    return std::make_unique<UpsertWorkload>(channel, options);
  }
  if (name == "embed") return std::make_unique<EmbedWorkload>(channel, options);
  if (name == "shard_search") return std::make_unique<ShardSearchWorkload>(channel, options);
  if (name == "health") return std::make_unique<HealthWorkload>(channel, options);
  return absl::InvalidArgumentError(absl::StrCat(
      "--rpc: unknown workload \"", name, "\" (search, search_batch, upsert, embed, shard_search, "
      "health, or a mix like search:8,upsert:2)"));
}

absl::StatusOr<std::unique_ptr<Workload>> MakeMix(const std::string& spec,
                                                  std::shared_ptr<grpc::Channel> channel,
                                                  const WorkloadOptions& options) {
  if (spec.find(':') == std::string::npos) return MakeWorkload(spec, channel, options);
  std::vector<std::unique_ptr<Workload>> parts;
  std::vector<double> weights;
  for (absl::string_view part : absl::StrSplit(spec, ',')) {
    std::vector<std::string> name_weight = absl::StrSplit(part, ':');
    double weight = 0;
    if (name_weight.size() != 2 || !absl::SimpleAtod(name_weight[1], &weight) || weight <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("--rpc: bad mix entry \"", part, "\""));
    }
    QUARRY_ASSIGN_OR_RETURN(auto workload, MakeWorkload(name_weight[0], channel, options));
    parts.push_back(std::move(workload));
    weights.push_back(weight);
  }
  return std::make_unique<MixWorkload>(std::move(parts), std::move(weights));
}

}  // namespace quarry::loadgen
