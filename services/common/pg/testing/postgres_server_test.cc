#include "services/common/pg/testing/postgres_server.h"

#include <string>

#include <pqxx/pqxx>

#include "gtest/gtest.h"
#include "services/common/pg/testing/postgres_env.h"

namespace quarry::pg {
namespace {

std::string QueryOne(const std::string& conninfo, const std::string& sql) {
  pqxx::connection conn(conninfo);
  pqxx::nontransaction tx(conn);
  return tx.exec1(sql)[0].as<std::string>();
}

TEST(PostgresTestServerTest, ServesAMigratedDatabaseOnLoopback) {
  PostgresTestServer& server = TestPostgres();
  EXPECT_GT(server.port(), 0);
  EXPECT_NE(server.conninfo().find("host=127.0.0.1"), std::string::npos);
  EXPECT_EQ(QueryOne(server.conninfo(), "SHOW server_version_num").substr(0, 2), "15");
  EXPECT_EQ(QueryOne(server.conninfo(), "SHOW fsync"), "off");
  EXPECT_EQ(QueryOne(server.conninfo(), "SHOW listen_addresses"), "127.0.0.1");
  EXPECT_EQ(QueryOne(server.conninfo(), "SELECT to_regclass('documents')::text"),
            "documents");
}

TEST(PostgresTestServerTest, CreatesIsolatedDatabases) {
  absl::StatusOr<std::string> a = TestPostgres().CreateDatabase();
  absl::StatusOr<std::string> b = TestPostgres().CreateDatabase();
  absl::StatusOr<std::string> empty = TestPostgres().CreateDatabase(/*migrated=*/false);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_NE(*a, *b);
  {
    pqxx::connection conn(*a);
    pqxx::work tx(conn);
    tx.exec("INSERT INTO tenants (name) VALUES ('only-in-a')");
    tx.commit();
  }
  EXPECT_EQ(QueryOne(*a, "SELECT count(*) FROM tenants"), "1");
  EXPECT_EQ(QueryOne(*b, "SELECT count(*) FROM tenants"), "0");
  EXPECT_EQ(QueryOne(*empty, "SELECT coalesce(to_regclass('tenants')::text, 'none')"),
            "none");
}

TEST(PostgresTestServerTest, RestartKeepsPortAndData) {
  PostgresTestServer& server = TestPostgres();
  absl::StatusOr<std::string> db = server.CreateDatabase();
  ASSERT_TRUE(db.ok()) << db.status();
  {
    pqxx::connection conn(*db);
    pqxx::work tx(conn);
    tx.exec("INSERT INTO tenants (name) VALUES ('survives')");
    tx.commit();
  }
  const int port = server.port();
  ASSERT_TRUE(server.Stop().ok());
  EXPECT_FALSE(server.running());
  EXPECT_THROW(pqxx::connection{*db}, pqxx::broken_connection);
  ASSERT_TRUE(server.Start().ok()) << server.LogTail();
  EXPECT_EQ(server.port(), port);
  EXPECT_EQ(QueryOne(*db, "SELECT name FROM tenants"), "survives");
  ASSERT_TRUE(server.Restart().ok()) << server.LogTail();
  EXPECT_EQ(QueryOne(*db, "SELECT count(*) FROM tenants"), "1");
}

// Last in this file: it leaves the shared server listening on a second
// address. (127.0.0.2 is loopback too; the veth case is tests/fault's.)
TEST(PostgresTestServerTest, ListensAlsoOnASecondAddress) {
  PostgresTestServer& server = TestPostgres();
  const int port = server.port();
  ASSERT_TRUE(server.ListenAlsoOn("127.0.0.2", "127.0.0.2/32").ok());
  EXPECT_EQ(server.port(), port);
  std::string conninfo = server.conninfo();
  conninfo.replace(conninfo.find("127.0.0.1"), 9, "127.0.0.2");
  EXPECT_EQ(QueryOne(conninfo, "SHOW listen_addresses"), "127.0.0.1,127.0.0.2");
  EXPECT_EQ(QueryOne(conninfo, "SELECT to_regclass('documents')::text"), "documents");
  EXPECT_FALSE(server.ListenAlsoOn("", "10.0.0.0/8").ok());
}

}  // namespace
}  // namespace quarry::pg
