#include "services/gateway/shards.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/common/status/status.h"

namespace quarry::gateway {
namespace {

std::chrono::system_clock::time_point Chrono(absl::Time deadline) {
  return absl::ToChronoTime(deadline);
}

// Counts down outstanding callbacks.
struct Pending {
  absl::Mutex mu;
  int remaining ABSL_GUARDED_BY(mu) = 0;
  void Done() {
    absl::MutexLock lock(&mu);
    --remaining;
  }
  void Wait() {
    absl::MutexLock lock(&mu);
    auto done = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return remaining == 0; };
    mu.Await(absl::Condition(&done));
  }
};

}  // namespace

std::vector<std::string> SplitShardTargets(const std::string& flag) {
  const char separator = flag.find(';') != std::string::npos ? ';' : ',';
  std::vector<std::string> targets;
  for (absl::string_view part : absl::StrSplit(flag, separator, absl::SkipWhitespace())) {
    targets.emplace_back(part);
  }
  return targets;
}

absl::Time ShardCallDeadline(absl::Time now, absl::Time call_deadline) {
  const absl::Duration left = call_deadline - now;
  if (left <= absl::ZeroDuration()) return call_deadline;
  const absl::Duration reserve =
      std::clamp(left / 10, absl::Milliseconds(20), absl::Milliseconds(250));
  return call_deadline - std::min(reserve, left / 2);
}

absl::StatusOr<std::unique_ptr<ShardFanout>> ShardFanout::Create(
    const std::vector<std::string>& targets, const ChannelFactory& balanced_channel,
    const ChannelFactory& replica_channel) {
  auto fanout = std::unique_ptr<ShardFanout>(new ShardFanout());
  for (size_t i = 0; i < targets.size(); ++i) {
    auto replicas = ParseReplicaTargets(targets[i]);
    if (!replicas.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("shard ", i, ": ", replicas.status().message()));
    }
    fanout->stubs_.push_back(
        quarry::search::v1::ShardService::NewStub(balanced_channel(targets[i])));
    fanout->replicas_.push_back(std::make_unique<ReplicaSet>(*std::move(replicas), replica_channel));
  }
  return fanout;
}

std::vector<ShardAnswer> ShardFanout::Search(const quarry::search::v1::SearchShardRequest& request,
                                             absl::Time deadline) {
  const size_t n = stubs_.size();
  std::vector<ShardAnswer> answers(n);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts(n);
  std::vector<absl::Time> starts(n);
  Pending pending;
  {
    absl::MutexLock lock(&pending.mu);
    pending.remaining = static_cast<int>(n);
  }
  const absl::Time shard_deadline = ShardCallDeadline(absl::Now(), deadline);
  for (size_t i = 0; i < n; ++i) {
    answers[i].shard = static_cast<uint32_t>(i);
    contexts[i] = std::make_unique<grpc::ClientContext>();
    contexts[i]->set_deadline(Chrono(shard_deadline));
    starts[i] = absl::Now();
    stubs_[i]->async()->SearchShard(
        contexts[i].get(), &request, &answers[i].response,
        [&answers, &starts, &pending, i](grpc::Status status) {
          answers[i].status = FromGrpcStatus(status);
          answers[i].latency_us =
              static_cast<uint32_t>(absl::ToInt64Microseconds(absl::Now() - starts[i]));
          pending.Done();
        });
  }
  pending.Wait();
  return answers;
}

std::vector<std::vector<ShardAnswer>> ShardFanout::SearchBatch(
    const quarry::search::v1::SearchShardBatchRequest& request, absl::Time deadline) {
  const size_t n = stubs_.size();
  struct Call {
    grpc::ClientContext context;
    quarry::search::v1::SearchShardBatchResponse response;
    absl::Status status;
    absl::Time start;
    uint32_t latency_us = 0;
  };
  std::vector<Call> calls(n);
  Pending pending;
  {
    absl::MutexLock lock(&pending.mu);
    pending.remaining = static_cast<int>(n);
  }
  const absl::Time shard_deadline = ShardCallDeadline(absl::Now(), deadline);
  for (size_t i = 0; i < n; ++i) {
    Call& call = calls[i];
    call.context.set_deadline(Chrono(shard_deadline));
    call.start = absl::Now();
    stubs_[i]->async()->SearchShardBatch(&call.context, &request, &call.response,
                                         [&call, &pending](grpc::Status status) {
                                           call.status = FromGrpcStatus(status);
                                           call.latency_us = static_cast<uint32_t>(
                                               absl::ToInt64Microseconds(absl::Now() - call.start));
                                           pending.Done();
                                         });
  }
  pending.Wait();
  const int queries = request.queries_size();
  std::vector<std::vector<ShardAnswer>> answers(queries, std::vector<ShardAnswer>(n));
  for (size_t i = 0; i < n; ++i) {
    Call& call = calls[i];
    if (call.status.ok() && call.response.results_size() != queries) {
      call.status = absl::InternalError(absl::StrCat("shard ", i, " answered ",
                                                     call.response.results_size(), " of ",
                                                     queries, " queries"));
    }
    for (int q = 0; q < queries; ++q) {
      ShardAnswer& answer = answers[q][i];
      answer.shard = static_cast<uint32_t>(i);
      answer.status = call.status;
      answer.latency_us = call.latency_us;
      if (call.status.ok()) answer.response = std::move(*call.response.mutable_results(q));
    }
  }
  return answers;
}

absl::Status ShardFanout::WaitForWatermark(int64_t sequence, absl::Time deadline) {
  struct Call {
    uint32_t shard = 0;
    std::string address;
    std::unique_ptr<quarry::search::v1::ShardService::Stub> stub;
    grpc::ClientContext context;
    quarry::search::v1::WaitForWatermarkRequest request;
    quarry::search::v1::WaitForWatermarkResponse response;
    absl::Status status;
  };
  std::vector<std::vector<Replica>> shards;
  size_t total = 0;
  for (size_t i = 0; i < replicas_.size(); ++i) {
    auto replicas = replicas_[i]->Current();
    if (!replicas.ok()) {
      return absl::UnavailableError(absl::StrCat("shard ", i, ": ", replicas.status().message()));
    }
    total += replicas->size();
    shards.push_back(*std::move(replicas));
  }
  std::vector<Call> calls(total);
  size_t next = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    for (Replica& replica : shards[i]) {
      Call& call = calls[next++];
      call.shard = static_cast<uint32_t>(i);
      call.address = std::move(replica.address);
      call.stub = quarry::search::v1::ShardService::NewStub(replica.channel);
      call.context.set_deadline(Chrono(deadline));
      call.request.set_min_sequence(sequence);
    }
  }
  Pending pending;
  {
    absl::MutexLock lock(&pending.mu);
    pending.remaining = static_cast<int>(total);
  }
  for (Call& call : calls) {
    call.stub->async()->WaitForWatermark(&call.context, &call.request, &call.response,
                                         [&call, &pending](grpc::Status status) {
                                           call.status = FromGrpcStatus(status);
                                           pending.Done();
                                         });
  }
  pending.Wait();
  for (const Call& call : calls) {
    if (call.status.code() == absl::StatusCode::kDeadlineExceeded) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the write is durable but shard ", call.shard, " replica ", call.address,
          " had not indexed sequence ", sequence, " before the deadline"));
    }
    if (!call.status.ok()) {
      return absl::UnavailableError(absl::StrCat("shard ", call.shard, " replica ", call.address,
                                                 ": ", call.status.message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ShardFanout::MinWatermark(absl::Time deadline) {
  int64_t lowest = INT64_MAX;
  for (size_t i = 0; i < stubs_.size(); ++i) {
    grpc::ClientContext context;
    context.set_deadline(Chrono(deadline));
    quarry::search::v1::GetShardStatusResponse status;
    grpc::Status result = stubs_[i]->GetShardStatus(&context, {}, &status);
    if (!result.ok()) return FromGrpcStatus(result);
    lowest = std::min(lowest, status.watermark());
  }
  return stubs_.empty() ? 0 : lowest;
}

}  // namespace quarry::gateway
