#include "services/common/pg/pool.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/pg/testing/postgres_env.h"

namespace quarry::pg {
namespace {

class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> db = TestPostgres().CreateDatabase();
    ASSERT_TRUE(db.ok()) << db.status();
    conninfo_ = *db;
  }

  std::unique_ptr<Pool> MakePool(PoolOptions options) {
    options.conninfo = conninfo_;
    absl::StatusOr<std::unique_ptr<Pool>> pool = Pool::Create(std::move(options));
    EXPECT_TRUE(pool.ok()) << pool.status();
    return pool.ok() ? *std::move(pool) : nullptr;
  }

  std::string conninfo_;
};

TEST_F(PoolTest, CheckoutTimesOutWithResourceExhaustedWhenAllAreLeased) {
  PoolOptions options;
  options.size = 2;
  options.checkout_timeout = absl::Milliseconds(150);
  std::unique_ptr<Pool> pool = MakePool(options);
  ASSERT_NE(pool, nullptr);
  absl::StatusOr<Pool::Lease> a = pool->Acquire();
  absl::StatusOr<Pool::Lease> b = pool->Acquire();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(pool->open_connections(), 2);

  const absl::Time start = absl::Now();
  absl::StatusOr<Pool::Lease> c = pool->Acquire();
  const absl::Duration waited = absl::Now() - start;
  ASSERT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted) << c.status();
  EXPECT_NE(c.status().message().find("all 2 connections"), std::string::npos) << c.status();
  EXPECT_NE(c.status().message().find("150ms"), std::string::npos) << c.status();
  EXPECT_GE(waited, absl::Milliseconds(140));
  EXPECT_LT(waited, absl::Seconds(3));
  // The transaction helpers report the same instead of blocking forever.
  EXPECT_EQ(pool->Execute("SELECT 1").code(), absl::StatusCode::kResourceExhausted);

  // A returned connection is handed to the next waiter.
  std::thread release([&a] {
    absl::SleepFor(absl::Milliseconds(50));
    Pool::Lease gone = *std::move(a);
  });
  absl::StatusOr<Pool::Lease> d = pool->Acquire(absl::Seconds(5));
  release.join();
  EXPECT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(pool->open_connections(), 2);
}

TEST_F(PoolTest, NeverOpensMoreThanItsSize) {
  PoolOptions options;
  options.size = 3;
  options.checkout_timeout = absl::Seconds(20);
  std::unique_ptr<Pool> pool = MakePool(options);
  ASSERT_NE(pool, nullptr);
  std::atomic<int> active{0};
  std::atomic<int> peak{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        absl::Status s = pool->WithTransaction([&](pqxx::work& tx) -> absl::Status {
          const int now = ++active;
          int seen = peak.load();
          while (now > seen && !peak.compare_exchange_weak(seen, now)) {
          }
          tx.exec("SELECT pg_sleep(0.005)");
          --active;
          return absl::OkStatus();
        });
        if (!s.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(peak.load(), 3);
  EXPECT_GE(peak.load(), 2);  // it did run concurrently
  EXPECT_LE(pool->open_connections(), 3);
  absl::StatusOr<pqxx::result> backends = pool->Query(
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()");
  ASSERT_TRUE(backends.ok()) << backends.status();
  EXPECT_LE((*backends)[0][0].as<int>(), 3);
}

TEST_F(PoolTest, WithTransactionCommitsOnOkAndRollsBackOtherwise) {
  std::unique_ptr<Pool> pool = MakePool({});
  ASSERT_NE(pool, nullptr);
  absl::StatusOr<int64_t> id = pool->WithTransaction(
      [](pqxx::work& tx) -> absl::StatusOr<int64_t> {
        return tx.exec1("INSERT INTO tenants (name) VALUES ('kept') RETURNING id")[0]
            .as<int64_t>();
      });
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_GT(*id, 0);

  absl::Status returned_error = pool->WithTransaction([](pqxx::work& tx) {
    tx.exec("INSERT INTO tenants (name) VALUES ('rolled-back-1')");
    return absl::FailedPreconditionError("changed my mind");
  });
  EXPECT_EQ(returned_error, absl::FailedPreconditionError("changed my mind"));

  absl::StatusOr<int> thrown = pool->WithTransaction(
      [](pqxx::work& tx) -> absl::StatusOr<int> {
        tx.exec("INSERT INTO tenants (name) VALUES ('rolled-back-2')");
        tx.exec("SELEC 1");
        return 1;
      });
  EXPECT_EQ(thrown.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(thrown.status().message().find("SQLSTATE 42601"), std::string::npos)
      << thrown.status();

  absl::StatusOr<pqxx::result> names = pool->Query("SELECT name FROM tenants ORDER BY id");
  ASSERT_TRUE(names.ok()) << names.status();
  ASSERT_EQ(names->size(), 1u);
  EXPECT_EQ((*names)[0][0].as<std::string>(), "kept");
}

TEST_F(PoolTest, ServerErrorsMapToStatusCodes) {
  // Only the timeout case runs with a tight statement timeout: on a loaded
  // machine (CI shares two cores) even a plain INSERT can take 100 ms.
  PoolOptions options;
  options.statement_timeout = absl::Milliseconds(100);
  std::unique_ptr<Pool> strict = MakePool(options);
  ASSERT_NE(strict, nullptr);
  std::unique_ptr<Pool> pool = MakePool(PoolOptions());
  ASSERT_NE(pool, nullptr);
  ASSERT_TRUE(pool->Execute("INSERT INTO tenants (name) VALUES ('dup')").ok());

  auto raise = [&](const std::string& sqlstate) {
    return pool->Execute(absl::StrCat(
        "DO $$ BEGIN RAISE EXCEPTION 'raised %', '", sqlstate,
        "' USING ERRCODE = '", sqlstate, "'; END $$"));
  };
  const absl::Time start = absl::Now();
  absl::Status timeout = strict->Execute("SELECT pg_sleep(2)");
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
  const struct {
    std::string name;
    absl::Status got;
    absl::StatusCode want;
  } cases[] = {
      {"unique violation", pool->Execute("INSERT INTO tenants (name) VALUES ('dup')"),
       absl::StatusCode::kAlreadyExists},
      {"statement timeout", timeout, absl::StatusCode::kDeadlineExceeded},
      {"check violation",
       pool->Execute("INSERT INTO collections (tenant_id, name, dimension, metric, model)"
                     " SELECT id, 'c', 0, 'l2', 'm' FROM tenants"),
       absl::StatusCode::kInternal},
      {"40001", raise("40001"), absl::StatusCode::kAborted},
      {"40P01", raise("40P01"), absl::StatusCode::kAborted},
      {"57P03", raise("57P03"), absl::StatusCode::kUnavailable},
      {"23505 raised", raise("23505"), absl::StatusCode::kAlreadyExists},
      {"XX000", raise("XX000"), absl::StatusCode::kInternal},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(c.got.code(), c.want) << c.got;
  }
  EXPECT_NE(cases[2].got.message().find("SQLSTATE 23514"), std::string::npos) << cases[2].got;
  EXPECT_NE(cases[7].got.message().find("SQLSTATE XX000: ERROR:  raised XX000"),
            std::string::npos)
      << cases[7].got;
  // The statement timeout did not break the connection.
  EXPECT_TRUE(strict->Execute("SELECT 1").ok());
}

TEST_F(PoolTest, PreparesStatementsOnEveryConnection) {
  PoolOptions options;
  options.size = 2;
  options.prepared = {{"tenant_id", "SELECT id FROM tenants WHERE name = $1"},
                      {"add_tenant", "INSERT INTO tenants (name) VALUES ($1) RETURNING id"}};
  std::unique_ptr<Pool> pool = MakePool(options);
  ASSERT_NE(pool, nullptr);
  absl::StatusOr<pqxx::result> added = pool->ExecutePrepared("add_tenant", "acme");
  ASSERT_TRUE(added.ok()) << added.status();
  // Hold one connection so the next call needs the second (new) one.
  absl::StatusOr<Pool::Lease> held = pool->Acquire();
  ASSERT_TRUE(held.ok());
  absl::StatusOr<pqxx::result> found = pool->ExecutePrepared("tenant_id", std::string("acme"));
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0][0].as<int64_t>(), (*added)[0][0].as<int64_t>());
  EXPECT_EQ(pool->open_connections(), 2);

  PoolOptions bad;
  bad.conninfo = conninfo_;
  bad.prepared = {{"broken", "SELEC nothing"}};
  absl::StatusOr<std::unique_ptr<Pool>> failed = Pool::Create(bad);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal) << failed.status();
}

TEST_F(PoolTest, RejectsBadOptionsAndUnreachableServers) {
  PoolOptions zero;
  zero.conninfo = conninfo_;
  zero.size = 0;
  EXPECT_EQ(Pool::Create(zero).status().code(), absl::StatusCode::kInvalidArgument);

  PoolOptions nowhere;
  // Port 1 on loopback: refused at once.
  nowhere.conninfo = "host=127.0.0.1 port=1 user=postgres dbname=quarry";
  EXPECT_EQ(Pool::Create(nowhere).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(PoolTest, ReplacesAConnectionTheServerKilled) {
  PoolOptions options;
  options.size = 1;
  std::unique_ptr<Pool> pool = MakePool(options);
  ASSERT_NE(pool, nullptr);
  absl::StatusOr<pqxx::result> pid = pool->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.ok()) << pid.status();
  {
    pqxx::connection admin(conninfo_);
    pqxx::nontransaction tx(admin);
    tx.exec(absl::StrCat("SELECT pg_terminate_backend(", (*pid)[0][0].as<int>(), ")"));
  }
  absl::Status first = pool->Execute("SELECT 1");
  // The pool may or may not notice the closed socket before using it.
  EXPECT_TRUE(first.ok() || first.code() == absl::StatusCode::kUnavailable) << first;
  absl::StatusOr<pqxx::result> again = pool->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE((*again)[0][0].as<int>(), (*pid)[0][0].as<int>());
  EXPECT_EQ(pool->open_connections(), 1);
}

TEST_F(PoolTest, RecoversAfterTheServerRestarts) {
  PoolOptions options;
  options.size = 3;
  options.statement_timeout = absl::Seconds(5);
  options.prepared = {{"one", "SELECT 1"}};
  std::unique_ptr<Pool> pool = MakePool(options);
  ASSERT_NE(pool, nullptr);
  {
    // Open all three so that every one of them is stale after the restart.
    std::vector<Pool::Lease> leases;
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<Pool::Lease> lease = pool->Acquire();
      ASSERT_TRUE(lease.ok()) << lease.status();
      leases.push_back(*std::move(lease));
    }
  }
  ASSERT_EQ(pool->idle_connections(), 3);

  ASSERT_TRUE(TestPostgres().Restart().ok()) << TestPostgres().LogTail();

  absl::Status first = pool->Execute("SELECT 1");
  EXPECT_TRUE(first.ok() || first.code() == absl::StatusCode::kUnavailable) << first;
  // From the second call on everything works, with the session settings and
  // prepared statements of the replacement connections in place.
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<pqxx::result> r = pool->ExecutePrepared("one");
    ASSERT_TRUE(r.ok()) << "call " << i << ": " << r.status();
    absl::StatusOr<pqxx::result> timeout = pool->Query("SHOW statement_timeout");
    ASSERT_TRUE(timeout.ok()) << timeout.status();
    EXPECT_EQ((*timeout)[0][0].as<std::string>(), "5s");
  }
}

}  // namespace
}  // namespace quarry::pg
