// main() for tests that need PostgreSQL: gtest/gmock plus one throwaway
// cluster for the whole binary (see postgres_env.h).
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/pg/testing/postgres_env.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  // gtest owns and deletes the environment.
  ::testing::AddGlobalTestEnvironment(new quarry::pg::PostgresTestEnvironment());
  return RUN_ALL_TESTS();
}
