#include "services/common/pg/migrations.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "gtest/gtest.h"
#include "services/common/pg/testing/postgres_env.h"

namespace quarry::pg {
namespace {

std::string EmptyDatabase() {
  absl::StatusOr<std::string> db = TestPostgres().CreateDatabase(/*migrated=*/false);
  EXPECT_TRUE(db.ok()) << db.status();
  return db.value_or("");
}

int64_t CountRows(const std::string& conninfo, const std::string& sql) {
  pqxx::connection conn(conninfo);
  pqxx::nontransaction tx(conn);
  return tx.exec1(sql)[0].as<int64_t>();
}

int LatestBuiltin() { return BuiltinMigrations().back().version; }

TEST(MigrationsTest, TheSqlFilesAreCompiledIn) {
  const std::vector<Migration>& builtin = BuiltinMigrations();
  ASSERT_FALSE(builtin.empty());
  EXPECT_EQ(builtin[0].version, 1);
  EXPECT_EQ(builtin[0].name, "0001_initial.sql");
  EXPECT_NE(builtin[0].sql.find("CREATE TABLE documents"), std::string::npos);
}

TEST(MigrationsTest, RunningTwiceIsHarmless) {
  const std::string db = EmptyDatabase();
  absl::StatusOr<int> before = SchemaVersion(db);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(*before, 0);

  ASSERT_TRUE(Migrate(db).ok());
  absl::StatusOr<int> after = SchemaVersion(db);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, LatestBuiltin());

  absl::Status again = Migrate(db);
  EXPECT_TRUE(again.ok()) << again;
  EXPECT_EQ(SchemaVersion(db).value_or(-1), LatestBuiltin());
  EXPECT_EQ(CountRows(db, "SELECT count(*) FROM schema_migrations"),
            static_cast<int64_t>(BuiltinMigrations().size()));
}

TEST(MigrationsTest, RacingMigratorsMigrateOnce) {
  const std::string db = EmptyDatabase();
  // A migration that would fail if it ran twice (and counts its runs).
  std::vector<Migration> migrations = BuiltinMigrations();
  migrations.push_back({1000, "1000_counter.sql",
                        "CREATE TABLE migration_runs (n int);"
                        " INSERT INTO migration_runs VALUES (1);"});
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      absl::Status s = Migrate(db, migrations);
      if (!s.ok()) {
        ++failures;
        ADD_FAILURE() << s;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(SchemaVersion(db).value_or(-1), 1000);
  EXPECT_EQ(CountRows(db, "SELECT count(*) FROM migration_runs"), 1);
  EXPECT_EQ(CountRows(db, "SELECT count(*) FROM schema_migrations"),
            static_cast<int64_t>(migrations.size()));
}

TEST(MigrationsTest, AFailingMigrationLeavesThePreviousVersion) {
  const std::string db = EmptyDatabase();
  std::vector<Migration> migrations = BuiltinMigrations();
  migrations.push_back({1001, "1001_half_done.sql",
                        "CREATE TABLE half_done (x int);"
                        " SELECT * FROM no_such_table;"});
  absl::Status s = Migrate(db, migrations);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("1001_half_done.sql"), std::string::npos) << s;
  EXPECT_NE(s.message().find("SQLSTATE 42P01"), std::string::npos) << s;
  EXPECT_EQ(SchemaVersion(db).value_or(-1), LatestBuiltin());
  // The statement before the failing one was rolled back with it.
  EXPECT_EQ(CountRows(db, "SELECT count(*) FROM pg_class WHERE relname = 'half_done'"), 0);

  // Fixing the file lets the next run finish.
  migrations.back().sql = "CREATE TABLE half_done (x int);";
  ASSERT_TRUE(Migrate(db, migrations).ok());
  EXPECT_EQ(SchemaVersion(db).value_or(-1), 1001);
}

TEST(MigrationsTest, RejectsUnorderedLists) {
  const std::vector<Migration> unordered = {{2, "0002_b.sql", "SELECT 1"},
                                            {1, "0001_a.sql", "SELECT 1"}};
  EXPECT_EQ(Migrate(TestPostgres().conninfo(), unordered).code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<Migration> duplicate = {{1, "0001_a.sql", "SELECT 1"},
                                            {1, "0001_b.sql", "SELECT 1"}};
  EXPECT_EQ(Migrate(TestPostgres().conninfo(), duplicate).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MigrationsTest, UnreachableDatabaseIsUnavailable) {
  const std::string nowhere = "host=127.0.0.1 port=1 user=postgres dbname=x";
  EXPECT_EQ(Migrate(nowhere).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(SchemaVersion(nowhere).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace quarry::pg
