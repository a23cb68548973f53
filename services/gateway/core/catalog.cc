#include "services/gateway/core/catalog.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/model/job_kinds.h"
#include "services/common/status/macros.h"

namespace quarry::gateway {

std::optional<store::CollectionRecord> CollectionCache::Get(int64_t tenant_id,
                                                            const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(std::make_pair(tenant_id, name));
  if (it == entries_.end() || it->second.second < absl::Now()) return std::nullopt;
  return it->second.first;
}

void CollectionCache::Put(const store::CollectionRecord& collection) {
  absl::MutexLock lock(&mu_);
  if (entries_.size() > 10000) entries_.clear();  // Bounded; refills on demand.
  entries_[std::make_pair(collection.tenant_id, collection.name)] = {collection,
                                                                     absl::Now() + ttl_};
}

void CollectionCache::Forget(const store::CollectionRecord& collection) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(std::make_pair(collection.tenant_id, collection.name));
  if (it != entries_.end() && it->second.first.id == collection.id) entries_.erase(it);
}

absl::StatusOr<store::CollectionRecord> Catalog::Create(int64_t tenant_id,
                                                        store::CollectionRecord wanted) {
  wanted.tenant_id = tenant_id;
  // Only the served model can embed the collection's documents and queries:
  // a collection of another would be created and then fail at every upsert
  // and search, so it is refused here, and so is a create that cannot check.
  auto served = embedder_.ModelInfo(absl::Seconds(5));
  if (!served.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "collection.model: the embedding service cannot say which models it serves: ",
        served.status().message()));
  }
  if (!wanted.model.empty() && wanted.model != served->first) {
    return absl::FailedPreconditionError(absl::StrCat(
        "collection.model: \"", wanted.model,
        "\" is not served by the embedding service; served models: ", served->first,
        " (or leave it empty for the default)"));
  }
  if (wanted.dimension != 0 && wanted.dimension != served->second) {
    return absl::FailedPreconditionError(absl::StrCat(
        "collection.dimension is ", wanted.dimension, " but model ", served->first,
        " produces dimension ", served->second));
  }
  wanted.model = served->first;
  wanted.dimension = served->second;
  auto created = collections_.Insert(wanted);
  if (created.status().code() == absl::StatusCode::kAlreadyExists) {
    return absl::AlreadyExistsError(
        absl::StrCat("collection \"", wanted.name, "\" already exists"));
  }
  return created;
}

absl::StatusOr<store::CollectionRecord> Catalog::Get(int64_t tenant_id, const std::string& name) {
  return collections_.Find(tenant_id, name);
}

absl::StatusOr<Catalog::Page> Catalog::List(int64_t tenant_id, const std::string& after_name,
                                            int size) {
  // One more than a page tells whether there is a next one.
  QUARRY_ASSIGN_OR_RETURN(auto rows, collections_.List(tenant_id, after_name, size + 1));
  Page page;
  if (static_cast<int>(rows.size()) > size) {
    rows.resize(size);
    page.next_after = rows.back().name;
  }
  page.collections = std::move(rows);
  return page;
}

absl::StatusOr<int64_t> Catalog::Delete(int64_t tenant_id, const std::string& name) {
  jobqueue::JobSpec purge;
  purge.tenant_id = tenant_id;
  purge.kind = std::string(model::kPurgeDeleted);
  purge.run_at = absl::Now() + purge_delay_;
  QUARRY_ASSIGN_OR_RETURN(auto deleted, collections_.Delete(tenant_id, name, purge));
  // Spares this gateway's next search the detour; other gateways find out
  // by their own check (see CollectionCache).
  cache_.Forget(deleted.collection);
  return deleted.purge_job_id;
}

absl::StatusOr<Catalog::Stats> Catalog::GetStats(int64_t tenant_id, const std::string& name) {
  QUARRY_ASSIGN_OR_RETURN(auto collection, collections_.Find(tenant_id, name));
  Stats stats;
  QUARRY_ASSIGN_OR_RETURN(auto counts, collections_.Stats(collection.id));
  stats.counts = counts;
  // Best effort: stats still answer while a shard is down.
  auto watermark = shards_.MinWatermark(absl::Now() + absl::Seconds(2));
  stats.min_watermark = watermark.ok() ? *watermark : -1;
  return stats;
}

}  // namespace quarry::gateway
