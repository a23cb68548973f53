#include "services/vector_search/serving/shard_state.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "absl/strings/numbers.h"
#include "services/common/status/macros.h"
#include "services/vector_search/crc32c.h"
#include "services/vector_search/snapshot.h"

namespace quarry::vector_search {

void ShardState::SetCollections(const std::vector<CollectionSpec>& specs) {
  // Writers queue on write_mu_, never on mu_ while a snapshot is exported:
  // the export holds mu_ shared for seconds, and a writer waiting on mu_
  // makes every new search wait behind it (the soak's p99 of 1.5-2.9 s at
  // snapshot time was the tailer's collection refresh doing just that). And
  // the refresh runs on every catch-up, so it takes mu_ exclusively only
  // when a collection is new or changed.
  absl::MutexLock write_lock(&write_mu_);
  {
    absl::ReaderMutexLock lock(&mu_);
    bool changed = false;
    for (const CollectionSpec& spec : specs) {
      auto it = specs_.find(spec.id);
      if (it == specs_.end() || it->second.metric != spec.metric ||
          it->second.dimension != spec.dimension) {
        changed = true;
        break;
      }
    }
    if (!changed) return;
  }
  absl::MutexLock lock(&mu_);
  for (const CollectionSpec& spec : specs) specs_[spec.id] = spec;
}

bool ShardState::KnowsCollection(int64_t id) const {
  absl::ReaderMutexLock lock(&mu_);
  return specs_.count(id) > 0;
}

HnswIndex* ShardState::FindIndex(int64_t collection_id) const {
  auto it = indexes_.find(collection_id);
  return it == indexes_.end() ? nullptr : it->second.get();
}

absl::Status ShardState::Apply(const DocumentChange& change) {
  HnswIndex* index = nullptr;
  {
    absl::MutexLock lock(&mu_);
    index = FindIndex(change.collection_id);
    if (index == nullptr) {
      if (change.deleted || change.vector.empty()) return absl::OkStatus();  // Nothing to hold.
      auto spec = specs_.find(change.collection_id);
      if (spec == specs_.end()) {
        return absl::FailedPreconditionError(
            absl::StrCat("collection ", change.collection_id, " is unknown to this replica"));
      }
      HnswOptions options = base_options_;
      options.metric = spec->second.metric;
      options.dimension = spec->second.dimension;
      QUARRY_ASSIGN_OR_RETURN(std::unique_ptr<HnswIndex> created, HnswIndex::Create(options));
      index = created.get();
      indexes_[change.collection_id] = std::move(created);
    }
  }
  // The index is internally synchronised; searches continue meanwhile.
  absl::Status status =
      change.deleted || change.vector.empty()
          ? (change.deleted ? index->Delete(change.doc_id, change.seq) : absl::OkStatus())
          : index->Upsert(change.doc_id, change.vector, change.tags, change.metadata, change.seq);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("applying ", change.doc_id, " seq ", change.seq,
                                            " of collection ", change.collection_id, ": ",
                                            status.message()));
  }
  return absl::OkStatus();
}

absl::Status ShardState::ApplyBatch(const std::vector<DocumentChange>& changes,
                                    int64_t watermark) {
  absl::MutexLock write_lock(&write_mu_);
  for (const DocumentChange& change : changes) {
    QUARRY_RETURN_IF_ERROR(Apply(change));
  }
  absl::MutexLock lock(&mu_);
  if (watermark > watermark_) watermark_ = watermark;
  return absl::OkStatus();
}

int64_t ShardState::watermark() const {
  absl::ReaderMutexLock lock(&mu_);
  return watermark_;
}

bool ShardState::WaitForWatermark(int64_t seq, absl::Time deadline) const {
  absl::ReaderMutexLock lock(&mu_);
  auto reached = [this, seq]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return watermark_ >= seq; };
  return mu_.AwaitWithDeadline(absl::Condition(&reached), deadline);
}

absl::StatusOr<SearchResult> ShardState::Search(int64_t collection_id,
                                                const SearchRequest& request) const {
  absl::ReaderMutexLock lock(&mu_);
  if (!specs_.count(collection_id)) {
    return absl::NotFoundError(absl::StrCat("collection_id: ", collection_id, " not found"));
  }
  HnswIndex* index = FindIndex(collection_id);
  if (index == nullptr) {
    SearchResult empty;
    empty.watermark = watermark_;
    return empty;
  }
  auto result = index->Search(request);
  if (result.ok()) result->watermark = watermark_;
  return result;
}

absl::StatusOr<uint32_t> ShardState::Dimension(int64_t collection_id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = specs_.find(collection_id);
  if (it == specs_.end()) {
    return absl::NotFoundError(absl::StrCat("collection_id: ", collection_id, " not found"));
  }
  return it->second.dimension;
}

ShardStats ShardState::Stats() const {
  absl::ReaderMutexLock lock(&mu_);
  ShardStats stats;
  for (const auto& [id, index] : indexes_) {
    ShardStats::Collection c{id, static_cast<int64_t>(index->Size()),
                             static_cast<int64_t>(index->Tombstones()),
                             static_cast<int64_t>(index->MemoryBytes())};
    stats.vectors += c.vectors;
    stats.deleted += c.deleted;
    stats.memory_bytes += c.memory_bytes;
    stats.rebuilds += static_cast<int64_t>(index->RebuildCount());
    stats.collections.push_back(c);
  }
  return stats;
}

absl::Status ShardState::WriteSnapshot(const std::string& dir) const {
  // Export under the write lock (a consistent cut at the watermark), write
  // the files without it (searches and tailing go on meanwhile).
  std::vector<std::pair<int64_t, SnapshotData>> exported;
  int64_t watermark;
  {
    absl::MutexLock write_lock(&write_mu_);
    absl::ReaderMutexLock lock(&mu_);
    watermark = watermark_;
    for (const auto& [id, index] : indexes_) {
      exported.emplace_back(id, index->ExportSnapshot(/*include_graph=*/true));
    }
  }
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  nlohmann::json manifest = {{"watermark", watermark}, {"collections", nlohmann::json::array()}};
  for (auto& [id, data] : exported) {
    const std::string file = absl::StrCat("collection-", id, "-w", watermark, ".snap");
    QUARRY_RETURN_IF_ERROR(WriteSnapshotFile(dir + "/" + file, data));
    manifest["collections"].push_back({{"id", id}, {"file", file}});
  }
  // The manifest is JSON plus its CRC-32C on a second line, written last:
  // until it is replaced, the previous one names only complete files.
  const std::string json = manifest.dump();
  QUARRY_RETURN_IF_ERROR(WriteFileAtomically(
      dir + "/MANIFEST", absl::StrCat(json, "\n", Crc32c(json.data(), json.size()), "\n")));
  // Files of older snapshots are no longer referenced.
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("collection-", 0) == 0 &&
        name.find(absl::StrCat("-w", watermark, ".snap")) == std::string::npos) {
      std::filesystem::remove(entry.path(), error);
    }
  }
  return absl::OkStatus();
}

absl::Status ShardState::LoadSnapshot(const std::string& dir) {
  std::ifstream in(dir + "/MANIFEST");
  if (!in) return absl::NotFoundError(absl::StrCat("no snapshot manifest in ", dir));
  std::string json, crc_line;
  std::getline(in, json);
  std::getline(in, crc_line);
  uint32_t crc = 0;
  if (!absl::SimpleAtoi(crc_line, &crc) || crc != Crc32c(json.data(), json.size())) {
    return absl::DataLossError("snapshot manifest checksum mismatch");
  }
  nlohmann::json manifest = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!manifest.is_object() || !manifest.contains("collections") ||
      !manifest["collections"].is_array() || !manifest.contains("watermark") ||
      !manifest["watermark"].is_number_integer()) {
    return absl::DataLossError("snapshot manifest is malformed");
  }
  std::map<int64_t, std::unique_ptr<HnswIndex>> loaded;
  std::map<int64_t, CollectionSpec> specs;
  for (const auto& entry : manifest["collections"]) {
    if (!entry.contains("id") || !entry["id"].is_number_integer() || !entry.contains("file") ||
        !entry["file"].is_string()) {
      return absl::DataLossError("snapshot manifest entry is malformed");
    }
    const int64_t id = entry["id"].get<int64_t>();
    QUARRY_ASSIGN_OR_RETURN(SnapshotData data,
                            ReadSnapshotFile(dir + "/" + entry["file"].get<std::string>()));
    HnswOptions options = base_options_;
    options.metric = data.metric;
    options.dimension = data.dimension;
    specs[id] = {id, data.metric, data.dimension};
    QUARRY_ASSIGN_OR_RETURN(loaded[id], HnswIndex::FromSnapshot(options, std::move(data)));
  }
  absl::MutexLock write_lock(&write_mu_);
  absl::MutexLock lock(&mu_);
  indexes_ = std::move(loaded);
  for (auto& [id, spec] : specs) specs_[id] = spec;
  watermark_ = manifest["watermark"].get<int64_t>();
  return absl::OkStatus();
}

}  // namespace quarry::vector_search
