#include "services/vector_search/serving/tailer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "services/common/model/metric.h"
#include "services/common/model/vector_codec.h"
#include "services/common/pg/listener.h"
#include "services/common/sql/text_array.h"
#include "services/common/status/macros.h"

namespace quarry::vector_search {
namespace {

struct Batch {
  std::vector<DocumentChange> changes;
  int64_t latest = 0;    // max(seq) in the database snapshot read
  int64_t position = 0;  // where the feed now stands
  bool full = false;
  bool unknown_collection = false;
};

}  // namespace

Tailer::Tailer(pg::Pool& pool, std::string conninfo, ShardState& state, TailerOptions options)
    : pool_(pool), conninfo_(std::move(conninfo)), state_(state), options_(options) {}

Tailer::~Tailer() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

absl::Time Tailer::last_caught_up() const {
  return absl::FromUnixMicros(last_caught_up_micros_.load());
}

absl::Status Tailer::RefreshCollections() {
  QUARRY_ASSIGN_OR_RETURN(pqxx::result rows,
                          pool_.Query("SELECT id, dimension, metric FROM collections"));
  std::vector<CollectionSpec> specs;
  for (const auto& row : rows) {
    specs.push_back({row[0].as<int64_t>(), model::ParseMetric(row[2].as<std::string>()).value_or(Metric::kCosine),
                     row[1].as<uint32_t>()});
  }
  state_.SetCollections(specs);
  return absl::OkStatus();
}

absl::Status Tailer::ReadBatch(bool* more) {
  const int64_t from = state_.watermark();
  auto read = [&](pqxx::work& txn) -> absl::StatusOr<Batch> {
    // One snapshot for both statements: the maximum and the rows agree.
    txn.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    Batch b;
    b.latest = txn.exec("SELECT coalesce(max(seq), 0) FROM documents")[0][0].as<int64_t>();
    if (b.latest <= from) {
      b.position = from;
      return b;
    }
    pqxx::result rows = txn.exec_params(
        "SELECT d.collection_id, d.doc_id, d.seq, d.deleted OR c.deleted_at IS NOT NULL, "
        "d.embedding, d.tags::text, d.metadata::text "
        "FROM documents d JOIN collections c ON c.id = d.collection_id "
        "WHERE d.seq > $1 AND d.seq <= $2 AND d.shard_hash % $3 = $4 "
        "ORDER BY d.seq LIMIT $5",
        from, b.latest, static_cast<int64_t>(options_.shard_count),
        static_cast<int64_t>(options_.shard_index), options_.batch_rows);
    b.full = static_cast<int>(rows.size()) == options_.batch_rows;
    for (const auto& row : rows) {
      DocumentChange& change = b.changes.emplace_back();
      change.collection_id = row[0].as<int64_t>();
      change.doc_id = row[1].as<std::string>();
      change.seq = row[2].as<int64_t>();
      change.deleted = row[3].as<bool>();
      if (!change.deleted && !row[4].is_null()) {
        const pqxx::binarystring bytes(row[4]);
        change.vector = model::DecodeVector(absl::string_view(bytes.get(), bytes.size()));
      }
      change.tags = sql::ParseTextArray(row[5].as<std::string>());
      nlohmann::json metadata = nlohmann::json::parse(row[6].as<std::string>(), nullptr, false);
      if (metadata.is_object()) {
        for (const auto& [key, value] : metadata.items()) {
          if (value.is_string()) change.metadata[key] = value.get<std::string>();
        }
      }
    }
    // A full batch stops at its last row; otherwise everything up to the
    // snapshot's maximum has been seen.
    b.position = b.full ? b.changes.back().seq : b.latest;
    return b;
  };
  QUARRY_ASSIGN_OR_RETURN(Batch batch, pool_.WithTransaction(read));
  latest_seen_ = std::max(latest_seen_.load(), batch.latest);
  absl::Status applied = state_.ApplyBatch(batch.changes, batch.position);
  if (applied.code() == absl::StatusCode::kFailedPrecondition) {
    // A collection created after our last refresh: learn it and read again
    // (nothing was applied past the watermark, and re-applying is idempotent).
    QUARRY_RETURN_IF_ERROR(RefreshCollections());
    applied = state_.ApplyBatch(batch.changes, batch.position);
  }
  if (!applied.ok()) return applied;
  *more = batch.full;
  return absl::OkStatus();
}

absl::Status Tailer::CatchUp() {
  if (absl::Status status = RefreshCollections(); !status.ok()) {
    ++failures_;
    return status;
  }
  bool more = true;
  while (more) {
    if (absl::Status status = ReadBatch(&more); !status.ok()) {
      ++failures_;
      return status;
    }
  }
  failures_ = 0;
  last_caught_up_micros_ = absl::ToUnixMicros(absl::Now());
  return absl::OkStatus();
}

void Tailer::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Tailer::Loop() {
  std::unique_ptr<pg::Listener> listener;
  while (!stop_.HasBeenNotified()) {
    if (listener == nullptr) {
      auto created = pg::Listener::Create(conninfo_, {"documents_changed"});
      if (created.ok()) listener = std::move(*created);
    }
    // Listen first, then read: a change committed in between is either read
    // now or notified to the listener.
    (void)CatchUp();
    if (listener != nullptr) {
      auto notified = listener->WaitForNotification(options_.poll_interval);
      if (!notified.ok()) listener.reset();
    } else {
      stop_.WaitForNotificationWithTimeout(options_.poll_interval);
    }
  }
}

}  // namespace quarry::vector_search
