#ifndef QUARRY_SERVICES_GATEWAY_CORE_CATALOG_H_
#define QUARRY_SERVICES_GATEWAY_CORE_CATALOG_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/embedding_client/embedding_client.h"
#include "services/gateway/core/stores.h"

namespace quarry::gateway {

// Recently looked-up collections for the search path, so that a search can
// embed its query and fan out to the shards without waiting for PostgreSQL.
//
// An entry may be stale: another gateway may have deleted the collection (and
// a client re-created the name) a moment ago. Invalidation cannot fix that in
// time: a delete returns to its client as soon as it commits, and a LISTEN /
// NOTIFY message (or any message) reaches the other gateways some time later,
// so a search arriving there just after the delete returned would still use
// the dead collection. Only asking PostgreSQL during the request is
// authoritative. So the cache only saves waiting: a search from the cache
// checks, while it embeds and fans out, that the collection is still live,
// and starts over from PostgreSQL when it is not (core/search.h).
// Writes never use it: they look the collection up and lock its row inside
// their own transaction (store::LockLiveCollection), which costs the one
// statement a check of a cached entry would cost anyway.
class CollectionCache {
 public:
  explicit CollectionCache(absl::Duration ttl) : ttl_(ttl) {}
  std::optional<store::CollectionRecord> Get(int64_t tenant_id, const std::string& name);
  void Put(const store::CollectionRecord& collection);
  // Drops the entry of `collection`'s name if it still holds that collection
  // (not a newer one of the same name that another call has put meanwhile).
  void Forget(const store::CollectionRecord& collection);

 private:
  const absl::Duration ttl_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::pair<int64_t, std::string>,
                      std::pair<store::CollectionRecord, absl::Time>>
      entries_ ABSL_GUARDED_BY(mu_);
};

// Collections of a tenant: create (against the served model), look up, list,
// delete (with its delayed purge) and their stats.
class Catalog {
 public:
  // `purge_delay`: a deleted collection's documents are purged this long
  // after the delete, once every replica has certainly dropped them.
  Catalog(CollectionStore& collections, EmbeddingClient& embedder, ShardClient& shards,
          CollectionCache& cache, absl::Duration purge_delay)
      : collections_(collections),
        embedder_(embedder),
        shards_(shards),
        cache_(cache),
        purge_delay_(purge_delay) {}

  // `wanted`: name, metric, and optionally model and dimension (0 / empty:
  // the served model's). The request is already validated.
  absl::StatusOr<store::CollectionRecord> Create(int64_t tenant_id,
                                                 store::CollectionRecord wanted);
  absl::StatusOr<store::CollectionRecord> Get(int64_t tenant_id, const std::string& name);

  struct Page {
    std::vector<store::CollectionRecord> collections;
    std::optional<std::string> next_after;  // the last name, when there are more
  };
  absl::StatusOr<Page> List(int64_t tenant_id, const std::string& after_name, int size);

  // Returns the purge job's id.
  absl::StatusOr<int64_t> Delete(int64_t tenant_id, const std::string& name);

  struct Stats {
    store::CollectionStats counts;
    int64_t min_watermark = -1;  // -1: some shard did not answer
  };
  absl::StatusOr<Stats> GetStats(int64_t tenant_id, const std::string& name);

 private:
  CollectionStore& collections_;
  EmbeddingClient& embedder_;
  ShardClient& shards_;
  CollectionCache& cache_;
  const absl::Duration purge_delay_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_CORE_CATALOG_H_
