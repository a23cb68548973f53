// SharedRateLimiter against a real PostgreSQL: several limiters, each with
// its own pool as separate gateways would have, share one key's bucket, so
// together they admit burst + rate x T (within 10%) whatever their number; a
// per-process limiter would admit N times that. PostgreSQL going away puts the
// limiter on its local buckets (still limiting, never failing calls) until it
// is back.
#include "services/gateway/shared_rate_limiter.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "services/common/pg/pool.h"
#include "services/common/pg/testing/postgres_env.h"

namespace quarry::gateway {
namespace {

constexpr double kTolerance = 0.10;

// An API key row for `key_id` (rate_limit_buckets references api_keys), in a
// tenant of its own.
void InsertKey(pg::Pool& pool, const std::string& key_id) {
  const absl::Status status = pool.WithTransaction([&](pqxx::work& w) -> absl::Status {
    w.exec_params(
        "WITH t AS (INSERT INTO tenants (name) VALUES ($1) RETURNING id)"
        " INSERT INTO api_keys (id, tenant_id, key_hash, scopes)"
        " SELECT $1, t.id, decode(md5($1) || md5($1 || 'x'), 'hex'), ARRAY['read'] FROM t",
        key_id);
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
}

std::unique_ptr<pg::Pool> NewPool(const std::string& conninfo) {
  pg::PoolOptions options;
  options.conninfo = conninfo;
  options.size = 2;
  auto pool = pg::Pool::Create(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *std::move(pool) : nullptr;
}

TEST(SharedRateLimiterTest, SliceSizeIsAShareOfTheRateBetweenOneTokenAndTheBurst) {
  EXPECT_EQ(SharedRateLimiter::SliceSize(100, 200, 0.05), 5);
  EXPECT_EQ(SharedRateLimiter::SliceSize(50, 50, 0.05), 2);  // 2.5, rounded down
  // Never less than one token, however slow the key.
  EXPECT_EQ(SharedRateLimiter::SliceSize(1, 5, 0.05), 1);
  EXPECT_EQ(SharedRateLimiter::SliceSize(0.5, 1, 0.05), 1);
  // Never more than the burst: a slice cannot exceed what the bucket holds.
  EXPECT_EQ(SharedRateLimiter::SliceSize(100000, 10, 0.05), 10);
  EXPECT_EQ(SharedRateLimiter::SliceSize(100000, 100000, 0.05), 5000);
  // A nonsensical burst still leases one token rather than none.
  EXPECT_EQ(SharedRateLimiter::SliceSize(1000, 0, 0.05), 1);
}

// N limiters, two client threads each, offering several times the limit for
// kLoad: what they admit together is the limit, not N times it.
TEST(SharedRateLimiterTest, LimitHoldsAcrossOneTwoAndFourLimiters) {
  constexpr double kRate = 100;
  constexpr int kBurst = 100;
  constexpr int kThreadsPerLimiter = 2;
  constexpr absl::Duration kLoad = absl::Seconds(3);
  constexpr absl::Duration kPause = absl::Milliseconds(1);
  constexpr int64_t kMaxCallsPerThread = 20000;

  auto db = pg::NewTestDatabase(/*pool_size=*/2);
  ASSERT_TRUE(db.ok()) << db.status();
  for (int n : {1, 2, 4}) {
    SCOPED_TRACE(absl::StrCat(n, " limiters"));
    const std::string key_id = absl::StrCat("limiters", n);
    InsertKey(*db->pool, key_id);
    std::vector<std::unique_ptr<pg::Pool>> pools;
    std::vector<std::unique_ptr<SharedRateLimiter>> limiters;
    for (int i = 0; i < n; ++i) {
      pools.push_back(NewPool(db->conninfo));
      ASSERT_NE(pools.back(), nullptr);
      limiters.push_back(std::make_unique<SharedRateLimiter>(*pools.back()));
    }
    std::atomic<int64_t> admitted{0}, refused{0};
    const absl::Time start = absl::Now();
    const absl::Time stop = start + kLoad;
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      for (int t = 0; t < kThreadsPerLimiter; ++t) {
        threads.emplace_back([&, i] {
          for (int64_t c = 0; c < kMaxCallsPerThread && absl::Now() < stop; ++c) {
            const absl::Duration wait = limiters[i]->Admit(key_id, kRate, kBurst);
            if (wait == absl::ZeroDuration()) {
              ++admitted;
            } else {
              EXPECT_GT(wait, absl::ZeroDuration());
              ++refused;
            }
            absl::SleepFor(kPause);
          }
        });
      }
    }
    for (auto& thread : threads) thread.join();
    const absl::Duration elapsed = absl::Now() - start;
    const double expected = kBurst + kRate * absl::ToDoubleSeconds(elapsed);
    const double ratio = admitted.load() / expected;
    int64_t leases = 0;
    for (const auto& limiter : limiters) {
      leases += limiter->leases();
      EXPECT_FALSE(limiter->degraded());
    }
    const int64_t offered = admitted.load() + refused.load();
    std::printf("SHARED_LIMIT limiters=%d admitted=%lld expected=%.1f ratio=%.3f offered=%lld "
                "leases=%lld\n",
                n, static_cast<long long>(admitted.load()), expected, ratio,
                static_cast<long long>(offered), static_cast<long long>(leases));
    std::fflush(stdout);
    // The load must exceed the limit, or the lower bound means nothing.
    EXPECT_GT(offered, 3 * expected);
    EXPECT_LE(admitted.load(), (1 + kTolerance) * expected);
    EXPECT_GE(admitted.load(), (1 - kTolerance) * expected);
    // Slices, not a round trip per call: refusals are decided locally.
    EXPECT_LT(leases, offered / 4);
  }
}

// Restarts the shared test server however the test ends.
struct RestartOnExit {
  ~RestartOnExit() {
    if (!pg::TestPostgres().running()) {
      const absl::Status status = pg::TestPostgres().Start();
      EXPECT_TRUE(status.ok()) << status;
    }
  }
};

TEST(SharedRateLimiterTest, FallsBackToLocalBucketsWhilePostgresIsDownAndRecovers) {
  constexpr double kRate = 1;
  constexpr int kBurst = 5;
  auto db = pg::NewTestDatabase(/*pool_size=*/2);
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string key_id = "fallback";
  InsertKey(*db->pool, key_id);
  SharedRateLimiterOptions options;
  options.fallback_period = absl::Milliseconds(200);
  options.lease_wait = absl::Milliseconds(500);
  SharedRateLimiter limiter(*db->pool, options);

  // Up: the shared bucket answers.
  ASSERT_EQ(limiter.Admit(key_id, kRate, kBurst), absl::ZeroDuration());
  EXPECT_FALSE(limiter.degraded());
  const int64_t leases_up = limiter.leases();
  EXPECT_GE(leases_up, 1);

  RestartOnExit restart;
  ASSERT_TRUE(pg::TestPostgres().Stop().ok());

  // Down: calls are still limited, by this process's bucket for the key (its
  // burst, then refusals), and never fail.
  int admitted = 0;
  absl::Duration last_wait;
  const absl::Time down_start = absl::Now();
  for (int i = 0; i < 20; ++i) {
    last_wait = limiter.Admit(key_id, kRate, kBurst);
    if (last_wait == absl::ZeroDuration()) ++admitted;
  }
  const absl::Duration down_elapsed = absl::Now() - down_start;
  EXPECT_TRUE(limiter.degraded());
  EXPECT_GE(admitted, kBurst);
  EXPECT_LE(admitted, kBurst + 1 + static_cast<int>(kRate * absl::ToDoubleSeconds(down_elapsed)));
  EXPECT_GT(last_wait, absl::ZeroDuration());
  EXPECT_GT(limiter.leases(), leases_up);  // it did try PostgreSQL

  // Back up: within a few fallback periods the limiter leases again. Each
  // attempt is at most one Admit per 50 ms, bounded in count and time.
  ASSERT_TRUE(pg::TestPostgres().Start().ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  for (int i = 0; i < 300 && limiter.degraded() && absl::Now() < deadline; ++i) {
    limiter.Admit(key_id, kRate, kBurst);
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_FALSE(limiter.degraded());
  // And the shared bucket is the one in use: it kept what the outage left
  // (four tokens plus the refill), which a second limiter sees too.
  SharedRateLimiter other(*db->pool, options);
  EXPECT_EQ(other.Admit(key_id, kRate, kBurst), absl::ZeroDuration());
  EXPECT_FALSE(other.degraded());
}

}  // namespace
}  // namespace quarry::gateway
