#include "services/common/jobqueue/job_kind.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "services/common/model/limits.h"

namespace quarry::jobqueue {
namespace {

absl::Status Invalid(absl::string_view prefix, absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(prefix, ".", field, ": ", rule));
}

bool NameChar(char c, bool first) {
  if (c >= 'a' && c <= 'z') return true;
  if (first) return false;
  return (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

}  // namespace

absl::Status ValidateJobKindName(absl::string_view field, absl::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxJobKindNameBytes;
  for (size_t i = 0; ok && i < name.size(); ++i) ok = NameChar(name[i], i == 0);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": must match [a-z][a-z0-9_.-]{0,", kMaxJobKindNameBytes - 1, "} (a lower-case "
        "letter, then up to ", kMaxJobKindNameBytes - 1, " of a-z, 0-9, '_', '.', '-')"));
  }
  return absl::OkStatus();
}

absl::Status ValidateJobKind(absl::string_view prefix, const JobKind& kind) {
  if (absl::Status s = ValidateJobKindName(absl::StrCat(prefix, ".name"), kind.name); !s.ok()) {
    return s;
  }
  if (kind.description.size() > kMaxJobKindDescriptionBytes) {
    return Invalid(prefix, "description",
                   absl::StrCat("at most ", kMaxJobKindDescriptionBytes, " bytes, got ",
                                kind.description.size()));
  }
  if (kind.max_attempts < 1 || kind.max_attempts > model::kMaxMaxAttempts) {
    return Invalid(prefix, "max_attempts",
                   absl::StrCat("must be in [1, ", model::kMaxMaxAttempts, "], got ",
                                kind.max_attempts));
  }
  if (kind.priority < model::kMinPriority || kind.priority > model::kMaxPriority) {
    return Invalid(prefix, "priority",
                   absl::StrCat("must be in [", model::kMinPriority, ", ", model::kMaxPriority,
                                "], got ", kind.priority));
  }
  const BackoffPolicy& b = kind.backoff;
  if (b.initial < absl::Milliseconds(1) || b.initial > kMaxBackoff) {
    return Invalid(prefix, "retry.initial_backoff",
                   absl::StrCat("must be in [1ms, ", absl::FormatDuration(kMaxBackoff), "], got ",
                                absl::FormatDuration(b.initial)));
  }
  if (!std::isfinite(b.multiplier) || b.multiplier < 1 || b.multiplier > 10) {
    return Invalid(prefix, "retry.multiplier",
                   absl::StrCat("must be in [1, 10], got ", b.multiplier));
  }
  if (b.max < b.initial || b.max > kMaxBackoff) {
    return Invalid(prefix, "retry.max_backoff",
                   absl::StrCat("must be in [initial_backoff, ", absl::FormatDuration(kMaxBackoff),
                                "], got ", absl::FormatDuration(b.max)));
  }
  if (!std::isfinite(b.jitter) || b.jitter < 0 || b.jitter > 1) {
    return Invalid(prefix, "retry.jitter", absl::StrCat("must be in [0, 1], got ", b.jitter));
  }
  if (kind.attempt_timeout < kMinAttemptTimeout || kind.attempt_timeout > kMaxAttemptTimeout) {
    return Invalid(prefix, "attempt_timeout",
                   absl::StrCat("must be in [", absl::FormatDuration(kMinAttemptTimeout), ", ",
                                absl::FormatDuration(kMaxAttemptTimeout), "], got ",
                                absl::FormatDuration(kind.attempt_timeout)));
  }
  if (kind.max_concurrency < 0 || kind.max_concurrency > kMaxJobKindConcurrency) {
    return Invalid(prefix, "max_concurrency",
                   absl::StrCat("must be 0 (no limit) or in [1, ", kMaxJobKindConcurrency,
                                "], got ", kind.max_concurrency));
  }
  if (kind.starts_per_minute < 0 || kind.starts_per_minute > kMaxJobKindStartsPerMinute) {
    return Invalid(prefix, "starts_per_minute",
                   absl::StrCat("must be 0 (no limit) or in [1, ", kMaxJobKindStartsPerMinute,
                                "], got ", kind.starts_per_minute));
  }
  if (kind.cost_per_minute < 0 || kind.cost_per_minute > kMaxJobCost) {
    return Invalid(prefix, "cost_per_minute",
                   absl::StrCat("must be 0 (no limit) or in [1, ", kMaxJobCost, "], got ",
                                kind.cost_per_minute));
  }
  if (kind.max_result_bytes < 2 || kind.max_result_bytes > kMaxResultBytesLimit) {
    return Invalid(prefix, "max_result_bytes",
                   absl::StrCat("must be in [2, ", kMaxResultBytesLimit, "], got ",
                                kind.max_result_bytes));
  }
  if (kind.retention < kMinRetention || kind.retention > kMaxRetention) {
    return Invalid(prefix, "retention",
                   absl::StrCat("must be in [", absl::FormatDuration(kMinRetention), ", ",
                                absl::FormatDuration(kMaxRetention), "], got ",
                                absl::FormatDuration(kind.retention)));
  }
  return absl::OkStatus();
}

}  // namespace quarry::jobqueue
