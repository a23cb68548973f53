#ifndef QUARRY_SERVICES_EMBEDDING_SERVING_SERVICE_OPTIONS_H_
#define QUARRY_SERVICES_EMBEDDING_SERVING_SERVICE_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/embedding/serving/batcher.h"

namespace quarry::embedding {

// The embedding service's own settings, filled from its flags in main.cc and
// validated once before the model loads (the common server settings are
// server::ServerOptions).
struct EmbeddingServiceOptions {
  // The built-in model used when `model_dir` is empty; only "hashing" exists.
  std::string model = "hashing";
  // A sentence-transformers model directory; overrides `model`. Its files are
  // checked when it loads (BertEncoder::Load).
  std::string model_dir;
  // Dimension of the built-in hashing model; checked by HashingEmbedder::Create.
  uint32_t dimension = 384;
  // In-process (L1) cache size in bytes; 0 turns it off.
  int64_t cache_bytes = 256 << 20;
  // PostgreSQL for the shared (L2) cache; empty: L1 only.
  std::string database_url;
  // Dynamic batching; each bound below is checked by Validate.
  BatcherOptions batch;

  static constexpr char kHashingModel[] = "hashing";
  // A text waits at most this long for company: longer only adds latency.
  static constexpr absl::Duration kMaxBatchWait = absl::Seconds(1);

  // INVALID_ARGUMENT naming the first bad field by its flag, e.g.
  // "--max_queued_texts: must be at least 1, got 0".
  absl::Status Validate() const;
};

}  // namespace quarry::embedding

#endif  // QUARRY_SERVICES_EMBEDDING_SERVING_SERVICE_OPTIONS_H_
