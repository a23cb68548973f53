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

ShardFanout::ShardFanout(std::vector<std::shared_ptr<grpc::Channel>> channels) {
  for (auto& channel : channels) {
    stubs_.push_back(quarry::search::v1::ShardService::NewStub(channel));
  }
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
  const size_t n = stubs_.size();
  std::vector<grpc::ClientContext> contexts(n);
  std::vector<quarry::search::v1::WaitForWatermarkRequest> requests(n);
  std::vector<quarry::search::v1::WaitForWatermarkResponse> responses(n);
  std::vector<absl::Status> statuses(n);
  Pending pending;
  {
    absl::MutexLock lock(&pending.mu);
    pending.remaining = static_cast<int>(n);
  }
  for (size_t i = 0; i < n; ++i) {
    contexts[i].set_deadline(Chrono(deadline));
    requests[i].set_min_sequence(sequence);
    stubs_[i]->async()->WaitForWatermark(&contexts[i], &requests[i], &responses[i],
                                         [&statuses, &pending, i](grpc::Status status) {
                                           statuses[i] = FromGrpcStatus(status);
                                           pending.Done();
                                         });
  }
  pending.Wait();
  for (size_t i = 0; i < n; ++i) {
    if (statuses[i].code() == absl::StatusCode::kDeadlineExceeded) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the write is durable but shard ", i, " had not indexed sequence ", sequence,
          " before the deadline"));
    }
    if (!statuses[i].ok()) {
      return absl::UnavailableError(absl::StrCat("shard ", i, ": ", statuses[i].message()));
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
