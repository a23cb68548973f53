#include "services/embedding/serving/embedding_cache.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/crypto/sha256.h"
#include "services/common/model/vector_codec.h"
#include "services/common/sql/text_array.h"

namespace quarry::embedding {
namespace {

// Most results waiting for their L2 write; past it new ones are dropped.
constexpr size_t kMaxPendingWrites = 10000;
constexpr size_t kWriteBatch = 256;

}  // namespace

EmbeddingCache::EmbeddingCache(std::string model, size_t l1_bytes, pg::Pool* pool)
    : model_(std::move(model)), l1_(l1_bytes), pool_(pool) {
  if (pool_ != nullptr) writer_ = std::thread([this] { WriteLoop(); });
}

EmbeddingCache::~EmbeddingCache() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
}

std::string EmbeddingCache::Key(absl::string_view text) { return crypto::Sha256(text); }

void EmbeddingCache::Lookup(const std::vector<std::string>& keys,
                            std::vector<std::optional<EncodedText>>& out) {
  out.assign(keys.size(), std::nullopt);
  std::vector<size_t> l1_missing;
  for (size_t i = 0; i < keys.size(); ++i) {
    out[i] = l1_.Get(keys[i]);
    if (!out[i].has_value()) l1_missing.push_back(i);
  }
  uint64_t l2_hits = 0;
  if (pool_ != nullptr && !l1_missing.empty()) {
    std::vector<std::string> hex;
    for (size_t i : l1_missing) hex.push_back(absl::BytesToHexString(keys[i]));
    auto rows = pool_->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<pqxx::result> {
      return txn.exec_params(
          "SELECT encode(content_hash, 'hex'), embedding, token_count, truncated "
          "FROM embedding_cache WHERE model = $1 AND content_hash = ANY(ARRAY("
          "SELECT decode(h, 'hex') FROM unnest($2::text[]) AS h))",
          model_, sql::TextArray(hex));
    });
    if (rows.ok()) {
      absl::flat_hash_map<std::string, EncodedText> found;
      for (const auto& row : *rows) {
        pqxx::binarystring bytes(row[1]);
        EncodedText value;
        value.vector = model::DecodeVector(absl::string_view(bytes.get(), bytes.size()));
        value.token_count = row[2].is_null() ? 0 : row[2].as<uint32_t>();
        value.truncated = !row[3].is_null() && row[3].as<bool>();
        found[absl::HexStringToBytes(row[0].as<std::string>())] = std::move(value);
      }
      for (size_t i : l1_missing) {
        auto it = found.find(keys[i]);
        if (it == found.end()) continue;
        l1_.Put(keys[i], it->second);
        out[i] = std::move(it->second);
        ++l2_hits;
      }
    }
  }
  absl::MutexLock lock(&mu_);
  counters_.l1_hits += keys.size() - l1_missing.size();
  counters_.l1_misses += l1_missing.size();
  if (pool_ != nullptr) {
    counters_.l2_hits += l2_hits;
    counters_.l2_misses += l1_missing.size() - l2_hits;
  }
}

void EmbeddingCache::Store(const std::vector<std::string>& keys,
                           const std::vector<EncodedText>& values) {
  for (size_t i = 0; i < keys.size(); ++i) l1_.Put(keys[i], values[i]);
  if (pool_ == nullptr) return;
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (pending_.size() >= kMaxPendingWrites) {
      ++counters_.l2_write_drops;
      continue;
    }
    pending_.emplace_back(keys[i], values[i]);
  }
}

void EmbeddingCache::WriteLoop() {
  while (true) {
    std::vector<std::pair<std::string, EncodedText>> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stopping_ || !pending_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (pending_.empty()) return;
      while (!pending_.empty() && batch.size() < kWriteBatch) {
        batch.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
      ++writing_;
    }
    (void)pool_->WithTransaction([&](pqxx::work& txn) -> absl::Status {
      std::vector<std::string> rows;
      for (const auto& [key, value] : batch) {
        const std::string bytes = model::EncodeVector(value.vector);
        rows.push_back(absl::StrCat(
            "(", txn.quote(model_), ", ",
            txn.quote_raw(reinterpret_cast<const unsigned char*>(key.data()), key.size()), ", ",
            txn.quote_raw(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()),
            ", ", value.token_count, ", ", value.truncated ? "true" : "false", ")"));
      }
      txn.exec(absl::StrCat(
          "INSERT INTO embedding_cache (model, content_hash, embedding, token_count, truncated) "
          "VALUES ",
          absl::StrJoin(rows, ", "), " ON CONFLICT (model, content_hash) DO NOTHING"));
      return absl::OkStatus();
    });
    absl::MutexLock lock(&mu_);
    --writing_;
  }
}

void EmbeddingCache::Flush() {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return pending_.empty() && writing_ == 0;
  };
  mu_.AwaitWithTimeout(absl::Condition(&idle), absl::Seconds(10));
}

CacheCounters EmbeddingCache::counters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

}  // namespace quarry::embedding
