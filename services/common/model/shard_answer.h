#ifndef QUARRY_SERVICES_COMMON_MODEL_SHARD_ANSWER_H_
#define QUARRY_SERVICES_COMMON_MODEL_SHARD_ANSWER_H_

#include <optional>

#include "absl/status/status.h"

namespace quarry::model {

// What a shard's search answer means, agreed by the vector-search shard and
// the gateway's merge.

// A shard knows a collection only once it has seen one of its documents, so
// NOT_FOUND from a shard means "none of this collection here yet": an empty
// share of the answer, not a failure. The gateway has already found the
// collection in PostgreSQL. The shard applies this inside SearchShardBatch
// (one such query must not fail the batch); the gateway's merge applies it
// to a SearchShard call's status.
inline bool IsEmptyShardShare(const absl::Status& status) { return absl::IsNotFound(status); }

// Whether a hit scoring `score` is dropped under `min_score`: strictly below
// drops, equal keeps, unset keeps everything.
//
// Owner: the shard. min_score has been part of SearchShardRequest since its
// first version, and the index drops such hits before they are sent, so no
// shard returns one. The gateway's merge applies the same predicate once
// more; that is redundant today, and stays because MergeShardAnswers'
// contract (and its test) is to apply min_score on whatever shards return.
// Both go through this function so the two can never disagree on the
// boundary.
inline bool BelowMinScore(float score, std::optional<float> min_score) {
  return min_score.has_value() && score < *min_score;
}

}  // namespace quarry::model

#endif  // QUARRY_SERVICES_COMMON_MODEL_SHARD_ANSWER_H_
