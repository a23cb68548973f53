#ifndef QUARRY_SERVICES_COMMON_PG_TESTING_POSTGRES_ENV_H_
#define QUARRY_SERVICES_COMMON_PG_TESTING_POSTGRES_ENV_H_

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "services/common/pg/pool.h"
#include "services/common/pg/testing/postgres_server.h"

namespace quarry::pg {

// One PostgresTestServer for a whole test binary. Depend on
// //services/common/pg/testing:pg_test_main (which registers it) instead of
// gtest_main, then use TestPostgres().conninfo() in tests. If the server cannot
// start, SetUp fails fatally with the server's log tail and no test runs: the
// binary fails, it never skips.
class PostgresTestEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
};

// The running server of the environment above. Aborts with a message if there
// is none (the environment was not registered or failed to start).
PostgresTestServer& TestPostgres();

// A fresh database of its own (migrated: a copy of the migrated schema) with
// a pool on it: what most PostgreSQL-backed test fixtures start from.
struct TestDatabase {
  std::string conninfo;
  std::unique_ptr<Pool> pool;
};
absl::StatusOr<TestDatabase> NewTestDatabase(int pool_size = 8, bool migrated = true);

// A fixture on a fresh migrated database of its own (NewTestDatabase above):
// conninfo_ and pool_ are set when the test body runs. A subclass that sets up
// more calls ASSERT_NO_FATAL_FAILURE(DatabaseTest::SetUp()) first; one that
// wants a smaller pool passes its size to the constructor.
class DatabaseTest : public ::testing::Test {
 protected:
  explicit DatabaseTest(int pool_size = 8) : pool_size_(pool_size) {}

  void SetUp() override;

  std::string conninfo_;
  std::unique_ptr<Pool> pool_;

 private:
  const int pool_size_;
};

}  // namespace quarry::pg

#endif  // QUARRY_SERVICES_COMMON_PG_TESTING_POSTGRES_ENV_H_
