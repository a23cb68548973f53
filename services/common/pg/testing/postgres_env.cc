#include "services/common/pg/testing/postgres_env.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "services/common/status/macros.h"

namespace quarry::pg {
namespace {

std::unique_ptr<PostgresTestServer>& Server() {
  static auto* server = new std::unique_ptr<PostgresTestServer>();
  return *server;
}

}  // namespace

void PostgresTestEnvironment::SetUp() {
  absl::StatusOr<std::unique_ptr<PostgresTestServer>> server =
      PostgresTestServer::Create();
  if (!server.ok()) {
    GTEST_FAIL() << "could not start a test PostgreSQL: " << server.status();
  }
  Server() = *std::move(server);
}

void PostgresTestEnvironment::TearDown() { Server().reset(); }

absl::StatusOr<TestDatabase> NewTestDatabase(int pool_size, bool migrated) {
  QUARRY_ASSIGN_OR_RETURN(std::string conninfo, TestPostgres().CreateDatabase(migrated));
  PoolOptions options;
  options.conninfo = conninfo;
  options.size = pool_size;
  QUARRY_ASSIGN_OR_RETURN(std::unique_ptr<Pool> pool, Pool::Create(options));
  return TestDatabase{conninfo, std::move(pool)};
}

void DatabaseTest::SetUp() {
  absl::StatusOr<TestDatabase> database = NewTestDatabase(pool_size_);
  ASSERT_TRUE(database.ok()) << database.status();
  conninfo_ = database->conninfo;
  pool_ = std::move(database->pool);
}

PostgresTestServer& TestPostgres() {
  if (Server() == nullptr) {
    std::fprintf(stderr,
                 "TestPostgres(): no test PostgreSQL is running; depend on "
                 "//services/common/pg/testing:pg_test_main\n");
    std::abort();
  }
  return *Server();
}

}  // namespace quarry::pg
