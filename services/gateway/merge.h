#ifndef QUARRY_SERVICES_GATEWAY_MERGE_H_
#define QUARRY_SERVICES_GATEWAY_MERGE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "quarry/gateway/v1/search_service.pb.h"
#include "quarry/search/v1/shard_service.pb.h"

namespace quarry::gateway {

// What one shard contributed to a search: its answer, or why there is none.
struct ShardAnswer {
  uint32_t shard = 0;
  absl::Status status;  // OK when `response` holds the shard's answer.
  quarry::search::v1::SearchShardResponse response;
  uint32_t latency_us = 0;
};

struct MergedHit {
  std::string id;
  float score = 0;
  uint32_t shard = 0;
};

struct MergeResult {
  // At most top_k hits, best score first, ties broken by id so that the order
  // does not depend on which shard answered first.
  std::vector<MergedHit> hits;
  // One report per shard, in shard order.
  std::vector<quarry::gateway::v1::ShardReport> reports;
  bool partial = false;
};

// Merges per-shard top-k lists into the global top-k and applies min_score.
// A shard whose status is DEADLINE_EXCEEDED is reported as TIMED_OUT, any
// other failure as FAILED; either makes the result partial. NOT_FOUND (the
// shard has not seen a document of the collection yet) counts as an empty
// answer. A document id is
// kept once even if two shards returned it (mid-resharding), with its best score.
MergeResult MergeShardAnswers(std::vector<ShardAnswer> answers, int top_k,
                              std::optional<float> min_score);

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_MERGE_H_
