#include "services/gateway/shared_rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/pg/errors.h"
#include "services/common/status/macros.h"

namespace quarry::gateway {
namespace {

// The SQL of the shared buckets, all of it. Parameters of kTake:
// $1 key id, $2 rate per second, $3 burst, $4 tokens wanted, $5 tokens given
// back (an expired slice's rest). The level is the bucket refilled by the
// time since refilled_at (never negative: a statement that waited for the
// row lock may have started before the one that refilled it last), plus what
// is given back, capped at the burst. The lease takes what it wants or the
// whole tokens there are, whichever is less.
constexpr char kLevel[] =
    "least($3::float8, tokens + $5::int"
    " + $2::float8 * greatest(0, extract(epoch FROM now() - refilled_at)::float8))";
const std::string& TakeSql() {
  static const std::string* const sql = new std::string(absl::StrCat(
      "UPDATE rate_limit_buckets SET granted = least($4::int, floor(", kLevel, "))::int,"
      " tokens = ", kLevel, " - least($4::int, floor(", kLevel, ")),"
      " refilled_at = greatest(refilled_at, now())"
      " WHERE key_id = $1 RETURNING granted, tokens"));
  return *sql;
}
// A key's first lease anywhere: its bucket starts full.
constexpr char kCreateSql[] =
    "INSERT INTO rate_limit_buckets (key_id, tokens, refilled_at) VALUES ($1, $2::float8, now())"
    " ON CONFLICT (key_id) DO NOTHING";

// Bounds the per-key state of keys seen (only authenticated keys get here).
constexpr size_t kMaxKeys = 100000;

}  // namespace

SharedRateLimiter::SharedRateLimiter(pg::Pool& pool, SharedRateLimiterOptions options,
                                     telemetry::Logger* logger)
    : pool_(pool), options_(options), logger_(logger) {}

int SharedRateLimiter::SliceSize(double rate_per_second, int burst, double slice_fraction) {
  const double slice = std::floor(rate_per_second * slice_fraction);
  return static_cast<int>(std::clamp(slice, 1.0, static_cast<double>(std::max(1, burst))));
}

bool SharedRateLimiter::degraded() const {
  absl::MutexLock lock(&mu_);
  return degraded_;
}

absl::Duration SharedRateLimiter::Admit(const std::string& key_id, double rate_per_second,
                                        int burst) {
  absl::MutexLock lock(&mu_);
  if (keys_.size() > kMaxKeys) {
    absl::erase_if(keys_, [](const auto& entry) { return entry.second->users == 0; });
  }
  std::unique_ptr<KeyState>& slot = keys_[key_id];
  if (slot == nullptr) slot = std::make_unique<KeyState>();
  KeyState& key = *slot;
  ++key.users;
  const absl::Duration wait = AdmitLocked(key, key_id, rate_per_second, burst);
  --key.users;
  return wait;
}

absl::Duration SharedRateLimiter::AdmitLocked(KeyState& key, const std::string& key_id,
                                              double rate_per_second, int burst) {
  const absl::Time wait_until = absl::Now() + options_.lease_wait;
  while (true) {
    absl::Time now = absl::Now();
    if (now < key.local_until) return AdmitLocal(key, rate_per_second, burst, now);
    if (key.tokens > 0 && now < key.expires) {
      --key.tokens;
      return absl::ZeroDuration();
    }
    if (key.leasing) {
      // Another call of this key is asking PostgreSQL: its slice serves this
      // call too. A lease that slow is treated like a failed one.
      if (key.leased.WaitWithDeadline(&mu_, wait_until)) {
        return AdmitLocal(key, rate_per_second, burst, absl::Now());
      }
      continue;
    }
    if (now < key.next_lease) return key.next_lease - now;

    const int want = SliceSize(rate_per_second, burst, options_.slice_fraction);
    const int returned = key.tokens;  // the rest of an expired slice
    key.tokens = 0;
    key.leasing = true;
    mu_.Unlock();
    absl::StatusOr<Grant> grant = Lease(key_id, rate_per_second, burst, want, returned);
    mu_.Lock();
    key.leasing = false;
    key.leased.SignalAll();
    now = absl::Now();
    if (!grant.ok()) {
      key.local_until = now + options_.fallback_period;
      if (!degraded_ && logger_ != nullptr) {
        logger_->Warn("shared rate limits unavailable: limiting each key per gateway until "
                      "PostgreSQL answers again",
                      {{"error", grant.status().ToString()}, {"key_id", key_id}});
      }
      degraded_ = true;
      continue;
    }
    if (degraded_ && logger_ != nullptr) {
      logger_->Info("shared rate limits available again", {{"key_id", key_id}});
    }
    degraded_ = false;
    key.tokens = grant->granted;
    key.expires = now + options_.slice_lifetime;
    key.next_lease = now;
    if (grant->granted < want && rate_per_second > 0) {
      // Less than a slice was there: ask again once a whole one has accrued.
      key.next_lease += absl::Seconds((want - grant->tokens_left) / rate_per_second);
    }
  }
}

absl::Duration SharedRateLimiter::AdmitLocal(KeyState& key, double rate_per_second, int burst,
                                             absl::Time now) {
  if (!key.local.has_value() || key.local_rate != rate_per_second || key.local_burst != burst) {
    key.local.emplace(rate_per_second, burst, now);
    key.local_rate = rate_per_second;
    key.local_burst = burst;
  }
  return key.local->TryTake(now);
}

absl::StatusOr<SharedRateLimiter::Grant> SharedRateLimiter::Lease(const std::string& key_id,
                                                                  double rate_per_second,
                                                                  int burst, int want,
                                                                  int returned) {
  leases_.fetch_add(1);
  QUARRY_ASSIGN_OR_RETURN(pg::Pool::Lease conn, pool_.Acquire(options_.lease_wait));
  try {
    // One statement, one round trip: no BEGIN/COMMIT around it.
    pqxx::nontransaction tx(conn.conn());
    pqxx::result r = tx.exec_params(TakeSql(), key_id, rate_per_second, burst, want, returned);
    if (r.empty()) {
      tx.exec_params(kCreateSql, key_id, static_cast<double>(burst));
      r = tx.exec_params(TakeSql(), key_id, rate_per_second, burst, want, returned);
    }
    if (r.size() != 1) {
      return absl::InternalError(absl::StrCat("no rate limit bucket for API key ", key_id));
    }
    return Grant{r[0][0].as<int>(), r[0][1].as<double>()};
  } catch (const std::exception& e) {
    if (pg::IsConnectionBroken(e)) conn.MarkBroken();
    return pg::StatusFromException(e);
  }
}

}  // namespace quarry::gateway
