#ifndef QUARRY_SERVICES_EMBEDDING_SERVING_EMBEDDING_CACHE_H_
#define QUARRY_SERVICES_EMBEDDING_SERVING_EMBEDDING_CACHE_H_

#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/common/cache/lru_cache.h"
#include "services/common/pg/pool.h"
#include "services/embedding/serving/batcher.h"

namespace quarry::embedding {

struct EncodedTextSizer {
  size_t operator()(const std::string& key, const EncodedText& value) const {
    return key.size() + value.vector.size() * sizeof(float) + 96;
  }
};

struct CacheCounters {
  uint64_t l1_hits = 0, l1_misses = 0, l2_hits = 0, l2_misses = 0, l2_write_drops = 0;
};

// Two levels in front of the model, keyed by (model, SHA-256 of the text):
// L1 an in-process LRU bounded in bytes; L2 the embedding_cache table in
// PostgreSQL, shared by every replica and surviving restarts. L2 is optional
// (no pool) and best effort: a database error reads as a miss and writes go
// through a bounded background queue that drops rather than slowing requests.
class EmbeddingCache {
 public:
  // `pool` may be null (L1 only).
  EmbeddingCache(std::string model, size_t l1_bytes, pg::Pool* pool);
  ~EmbeddingCache();

  // SHA-256 of `text`: the cache key (and the documents' content_hash).
  static std::string Key(absl::string_view text);

  // Looks up every key; found entries are filled in `out` (same size as keys).
  void Lookup(const std::vector<std::string>& keys, std::vector<std::optional<EncodedText>>& out);
  // Stores fresh results in L1 and queues them for L2.
  void Store(const std::vector<std::string>& keys, const std::vector<EncodedText>& values);

  CacheCounters counters() const;
  // Waits until queued L2 writes are done (tests, shutdown).
  void Flush();

 private:
  void WriteLoop();

  const std::string model_;
  LruCache<EncodedText, EncodedTextSizer> l1_;
  pg::Pool* const pool_;

  mutable absl::Mutex mu_;
  CacheCounters counters_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<std::string, EncodedText>> pending_ ABSL_GUARDED_BY(mu_);
  int writing_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

}  // namespace quarry::embedding

#endif  // QUARRY_SERVICES_EMBEDDING_SERVING_EMBEDDING_CACHE_H_
