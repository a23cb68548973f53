#include "services/embedding/serving/service_options.h"

#include "absl/strings/str_cat.h"

namespace quarry::embedding {

absl::Status EmbeddingServiceOptions::Validate() const {
  if (model_dir.empty() && model != kHashingModel) {
    return absl::InvalidArgumentError(absl::StrCat("--model: unknown built-in model \"", model,
                                                   "\" (use hashing, or --model_dir)"));
  }
  if (cache_bytes < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cache_bytes: must not be negative, got ", cache_bytes));
  }
  if (batch.token_budget < 1) {
    return absl::InvalidArgumentError("--batch_token_budget: must be at least 1, got 0");
  }
  if (batch.max_wait < absl::ZeroDuration() || batch.max_wait > kMaxBatchWait) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--batch_max_wait: must be in [0s, ", absl::FormatDuration(kMaxBatchWait), "], got ",
        absl::FormatDuration(batch.max_wait)));
  }
  if (batch.max_queued_texts < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_queued_texts: must be at least 1, got ", batch.max_queued_texts));
  }
  return absl::OkStatus();
}

}  // namespace quarry::embedding
