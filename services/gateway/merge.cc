#include "services/gateway/merge.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "services/common/model/shard_answer.h"

namespace quarry::gateway {

using quarry::gateway::v1::ShardOutcome;
using quarry::gateway::v1::ShardReport;

MergeResult MergeShardAnswers(std::vector<ShardAnswer> answers, int top_k,
                              std::optional<float> min_score) {
  std::sort(answers.begin(), answers.end(),
            [](const ShardAnswer& a, const ShardAnswer& b) { return a.shard < b.shard; });
  MergeResult result;
  absl::flat_hash_map<std::string, size_t> position;  // id -> index in result.hits
  for (const ShardAnswer& answer : answers) {
    ShardReport& report = result.reports.emplace_back();
    report.set_shard(answer.shard);
    if (model::IsEmptyShardShare(answer.status)) {
      // A new collection whose documents all live on other shards: this
      // shard's share of the answer is empty, not missing.
      report.set_outcome(ShardOutcome::SHARD_OUTCOME_ANSWERED);
      report.set_latency_us(answer.latency_us);
      report.set_message("no documents of this collection on the shard yet");
      continue;
    }
    if (!answer.status.ok()) {
      report.set_outcome(answer.status.code() == absl::StatusCode::kDeadlineExceeded
                             ? ShardOutcome::SHARD_OUTCOME_TIMED_OUT
                             : ShardOutcome::SHARD_OUTCOME_FAILED);
      report.set_message(std::string(answer.status.message()));
      result.partial = true;
      continue;
    }
    report.set_outcome(ShardOutcome::SHARD_OUTCOME_ANSWERED);
    report.set_watermark(answer.response.watermark());
    report.set_latency_us(answer.latency_us);
    for (const auto& hit : answer.response.hits()) {
      // Shards already drop these (model::BelowMinScore says why it is
      // applied again here).
      if (model::BelowMinScore(hit.score(), min_score)) continue;
      auto [it, inserted] = position.emplace(hit.id(), result.hits.size());
      if (inserted) {
        result.hits.push_back({hit.id(), hit.score(), answer.shard});
      } else if (hit.score() > result.hits[it->second].score) {
        result.hits[it->second].score = hit.score();
        result.hits[it->second].shard = answer.shard;
      }
    }
  }
  auto better = [](const MergedHit& a, const MergedHit& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  };
  const size_t keep = std::min(result.hits.size(), static_cast<size_t>(std::max(top_k, 0)));
  std::partial_sort(result.hits.begin(), result.hits.begin() + keep, result.hits.end(), better);
  result.hits.resize(keep);
  return result;
}

}  // namespace quarry::gateway
