#include "services/gateway/auth.h"

#include <algorithm>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "services/common/model/scopes.h"
#include "services/common/status/macros.h"
#include "services/gateway/api_key.h"

namespace quarry::gateway {

RateLimit Gatekeeper::LimitInForce(const store::KeyRecord& key) const {
  return {key.rate_limit_per_second.value_or(options_.default_rate_per_second),
          key.burst.value_or(options_.default_burst)};
}

absl::StatusOr<Principal> Gatekeeper::Authenticate(const std::string& secret) {
  const std::string hash = HashApiKey(secret);
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && it->second.expires > now) return it->second.principal;
  }
  // A database error is not the caller's fault and is not cached.
  QUARRY_ASSIGN_OR_RETURN(
      auto key,
      pool_.WithTransaction(
          [&](pqxx::work& txn) -> absl::StatusOr<std::optional<store::KeyRecord>> {
            return store::FindKeyByHash(txn, hash);
          }));
  absl::StatusOr<Principal> principal;
  if (!key.has_value() || key->revoked_at.has_value()) {
    principal = absl::UnauthenticatedError("invalid or revoked API key");
  } else {
    Principal p;
    p.key_id = key->id;
    p.tenant_id = key->tenant_id;
    for (const std::string& scope : key->scopes) {
      p.read |= scope == model::kScopeRead || scope == model::kScopeWrite ||
                scope == model::kScopeAdmin;
      p.write |= scope == model::kScopeWrite || scope == model::kScopeAdmin;
      p.admin |= scope == model::kScopeAdmin;
    }
    p.worker = p.write || absl::c_linear_search(key->scopes, model::kScopeWorker);
    if (p.worker && !p.write) p.worker_kinds = key->worker_kinds;
    const RateLimit limit = LimitInForce(*key);
    p.rate_per_second = limit.rate_per_second;
    p.burst = limit.burst;
    principal = std::move(p);
  }
  absl::MutexLock lock(&mu_);
  // Bounded: an attacker cycling random keys cannot grow the cache forever.
  if (cache_.size() > 100000) cache_.clear();
  cache_[hash] = {principal, now + options_.key_cache_ttl};
  return principal;
}

absl::Status CheckWorkerKinds(const Principal& caller, const std::vector<std::string>& kinds) {
  if (!caller.worker_kinds.has_value()) return absl::OkStatus();
  for (const std::string& kind : kinds) {
    if (!absl::c_linear_search(*caller.worker_kinds, kind)) {
      return absl::PermissionDeniedError(
          absl::StrCat("API key ", caller.key_id, " may claim only kinds ",
                       absl::StrJoin(*caller.worker_kinds, ", "), "; not \"", kind, "\""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Gatekeeper::Admission> Gatekeeper::Admit(const grpc::ServerContext& context,
                                                        Scope scope) {
  std::string authorization;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    authorization.assign(it->second.data(), it->second.size());
  }
  QUARRY_ASSIGN_OR_RETURN(auto secret, ParseBearer(authorization));
  QUARRY_ASSIGN_OR_RETURN(auto principal, Authenticate(secret));

  const absl::Duration wait =
      rate_limiter_.Admit(principal.key_id, principal.rate_per_second, principal.burst);
  if (wait > absl::ZeroDuration()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("rate limit of API key ", principal.key_id, " (",
                     principal.rate_per_second, "/s, burst ", principal.burst,
                     ") exceeded; retry in ",
                     std::max<int64_t>(1, absl::ToInt64Milliseconds(wait)), " ms"));
  }
  const bool allowed = scope == Scope::kRead    ? principal.read
                       : scope == Scope::kWrite ? principal.write
                       : scope == Scope::kAdmin ? principal.admin
                                                : principal.worker;
  if (!allowed) {
    // model::kScopes lists the scopes in Scope's order.
    return absl::PermissionDeniedError(absl::StrCat("API key ", principal.key_id, " lacks the ",
                                                    model::kScopes[static_cast<int>(scope)],
                                                    " scope"));
  }
  if (in_flight_.fetch_add(1) >= options_.max_in_flight) {
    in_flight_.fetch_sub(1);
    return absl::ResourceExhaustedError(absl::StrCat(
        "gateway overloaded (", options_.max_in_flight, " calls in flight); retry with backoff"));
  }
  return Admission(this, std::move(principal));
}

}  // namespace quarry::gateway
