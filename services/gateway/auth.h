#ifndef QUARRY_SERVICES_GATEWAY_AUTH_H_
#define QUARRY_SERVICES_GATEWAY_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/pg/pool.h"
#include "services/common/telemetry/logger.h"
#include "services/gateway/shared_rate_limiter.h"
#include "services/gateway/store.h"

namespace quarry::gateway {

// In model::kScopes' order. kWorker: the worker API (ClaimJobs and the
// calls on a held job).
enum class Scope { kRead, kWrite, kAdmin, kWorker };

// Who is calling: the key's tenant and what it may do.
struct Principal {
  std::string key_id;
  int64_t tenant_id = 0;
  bool read = false, write = false, admin = false, worker = false;
  // With the worker scope but not write: the only kinds its workers may
  // claim. nullopt: every kind of the tenant.
  std::optional<std::vector<std::string>> worker_kinds;
  double rate_per_second = 0;
  int burst = 0;
};

// PERMISSION_DENIED, naming the kind, when `caller`'s key may claim only
// some kinds (the worker scope without write) and `kinds` has another. The
// calls on a held job need no such check: a lease is owned by the key that
// claimed it.
absl::Status CheckWorkerKinds(const Principal& caller, const std::vector<std::string>& kinds);

// A key's token bucket: sustained calls per second and burst.
struct RateLimit {
  double rate_per_second = 0;
  int burst = 0;
};

struct AuthOptions {
  // How long a key lookup is trusted: a revoked key stops working within this.
  absl::Duration key_cache_ttl = absl::Seconds(5);
  // Defaults for keys stored without a rate limit. Every gateway of a
  // deployment must use the same: they share one bucket per key.
  double default_rate_per_second = 100;
  int default_burst = 200;
  // How gateways share each key's bucket through PostgreSQL.
  SharedRateLimiterOptions rate_limits;
  // RPCs in progress across the gateway; past it new calls are shed with
  // RESOURCE_EXHAUSTED instead of queueing without bound.
  int max_in_flight = 512;
};

// Authentication (API key -> tenant, cached briefly), per-key rate limits,
// scopes and the global in-flight limit, in the order a caller should see
// failures: UNAUTHENTICATED, RESOURCE_EXHAUSTED, PERMISSION_DENIED.
class Gatekeeper {
 public:
  // `logger` (may be null) hears when rate limiting falls back to per-gateway
  // buckets because PostgreSQL is unreachable, and when it recovers.
  Gatekeeper(pg::Pool& pool, AuthOptions options, telemetry::Logger* logger = nullptr)
      : pool_(pool), options_(options), rate_limiter_(pool, options.rate_limits, logger) {}

  // Holds one in-flight slot until destroyed.
  class Admission {
   public:
    Admission(Admission&& other) noexcept : gate_(other.gate_), principal(other.principal) {
      other.gate_ = nullptr;
    }
    Admission& operator=(Admission&&) = delete;
    ~Admission() {
      if (gate_ != nullptr) gate_->in_flight_.fetch_sub(1);
    }
    const Principal& operator*() const { return principal; }
    const Principal* operator->() const { return &principal; }

   private:
    friend class Gatekeeper;
    Admission(Gatekeeper* gate, Principal p) : gate_(gate), principal(std::move(p)) {}
    Gatekeeper* gate_;
    Principal principal;
  };

  // Admits a call needing `scope`, reading the key from the "authorization"
  // metadata of `context`.
  absl::StatusOr<Admission> Admit(const grpc::ServerContext& context, Scope scope);

  // The principal for a secret (through the cache); UNAUTHENTICATED for an
  // unknown or revoked key.
  absl::StatusOr<Principal> Authenticate(const std::string& secret);

  // The limit in force for `key`: its own, or the defaults where it has none.
  RateLimit LimitInForce(const store::KeyRecord& key) const;

  int in_flight() const { return in_flight_.load(); }

 private:
  struct CacheEntry {
    absl::StatusOr<Principal> principal;
    absl::Time expires;
  };

  pg::Pool& pool_;
  const AuthOptions options_;
  SharedRateLimiter rate_limiter_;
  std::atomic<int> in_flight_{0};
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, CacheEntry> cache_ ABSL_GUARDED_BY(mu_);  // by key hash
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_AUTH_H_
