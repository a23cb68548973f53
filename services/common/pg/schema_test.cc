// Tests of migrations/0001_initial.sql against a real server: triggers,
// constraints, indexes and the SQL/C++ shard hash agreement.
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/model/document_sql.h"
#include "services/common/pg/listener.h"
#include "services/common/pg/pool.h"
#include "services/common/pg/shard_hash.h"
#include "services/common/pg/testing/postgres_env.h"

namespace quarry::pg {
namespace {

class SchemaTest : public DatabaseTest {
 protected:
  SchemaTest() : DatabaseTest(/*pool_size=*/4) {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(DatabaseTest::SetUp());
    collection_ = QueryInt(
        "WITH t AS (INSERT INTO tenants (name) VALUES ('t') RETURNING id)"
        " INSERT INTO collections (tenant_id, name, dimension, metric, model)"
        " SELECT id, 'c', 2, 'cosine', 'm' FROM t RETURNING id");
  }

  // The single value of `sql`; fails the test (returning -1) on error.
  int64_t QueryInt(const std::string& sql) {
    absl::StatusOr<pqxx::result> r = pool_->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status();
    if (!r.ok() || r->empty() || (*r)[0][0].is_null()) return -1;
    return (*r)[0][0].as<int64_t>();
  }

  std::string Plan(const std::string& query) {
    absl::StatusOr<std::string> plan =
        pool_->WithTransaction([&](pqxx::work& tx) -> absl::StatusOr<std::string> {
          tx.exec("SET LOCAL enable_seqscan = off");
          std::string text;
          for (const auto& row : tx.exec("EXPLAIN " + query)) {
            text += row[0].as<std::string>() + "\n";
          }
          return text;
        });
    EXPECT_TRUE(plan.ok()) << plan.status();
    return plan.value_or("");
  }

  std::string InsertDoc(const std::string& doc_id) {
    return absl::StrCat("INSERT INTO documents (collection_id, doc_id, text, content_hash)"
                        " VALUES (", collection_, ", '", doc_id, "', 'text of ", doc_id,
                        "', sha256('", doc_id, "'::bytea)) RETURNING seq");
  }

  int64_t collection_ = 0;
};

TEST_F(SchemaTest, SeqIsBumpedOnInsertUpdateAndTombstone) {
  const int64_t inserted = QueryInt(InsertDoc("a"));
  const int64_t updated = QueryInt(absl::StrCat(
      "UPDATE documents SET text = 'new' WHERE doc_id = 'a' RETURNING seq"));
  const int64_t embedded = QueryInt(
      "UPDATE documents SET embedding = '\\x0000803f00000040', embedding_model = 'm',"
      " embedded_hash = content_hash WHERE doc_id = 'a' RETURNING seq");
  const int64_t tombstoned =
      QueryInt("UPDATE documents SET deleted = true WHERE doc_id = 'a' RETURNING seq");
  EXPECT_GT(inserted, 0);
  EXPECT_GT(updated, inserted);
  EXPECT_GT(embedded, updated);
  EXPECT_GT(tombstoned, embedded);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM documents WHERE deleted_at IS NOT NULL"
                     " AND updated_at >= created_at"),
            1);
  // A client cannot pick its own seq: the trigger overrides it.
  EXPECT_GT(QueryInt(absl::StrCat(
                "INSERT INTO documents (collection_id, doc_id, content_hash, seq) VALUES (",
                collection_, ", 'b', sha256('b'), 1) RETURNING seq")),
            tombstoned);
}

TEST_F(SchemaTest, CommitOrderEqualsSeqOrder) {
  pqxx::connection conn_a(conninfo_);
  pqxx::connection conn_b(conninfo_);
  pqxx::work a(conn_a);
  const int64_t seq_a = a.exec1(InsertDoc("from-a"))[0].as<int64_t>();

  std::atomic<bool> b_inserted{false};
  int64_t seq_b = 0;
  std::string b_error;
  std::thread writer([&] {
    try {
      pqxx::work b(conn_b);
      seq_b = b.exec1(InsertDoc("from-b"))[0].as<int64_t>();
      b_inserted = true;
      b.commit();
    } catch (const std::exception& e) {
      b_error = e.what();
    }
  });
  // B must be waiting on the seq lock, not merely slow: ask the server.
  bool b_waits_on_lock = false;
  for (int i = 0; i < 200 && !b_waits_on_lock; ++i) {
    b_waits_on_lock =
        QueryInt(absl::StrCat("SELECT count(*) FROM pg_locks WHERE NOT granted"
                              " AND locktype = 'advisory' AND pid = ",
                              conn_b.backendpid())) == 1;
    if (!b_waits_on_lock) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(b_waits_on_lock);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(b_inserted.load()) << "B got a seq while A was uncommitted";
  a.commit();
  writer.join();
  ASSERT_EQ(b_error, "");
  EXPECT_TRUE(b_inserted.load());
  EXPECT_GT(seq_b, seq_a);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM documents"), 2);
}

TEST_F(SchemaTest, DocumentWritesNotifyWithTheHighestSeq) {
  absl::StatusOr<std::unique_ptr<Listener>> listener =
      Listener::Create(conninfo_, {"documents_changed"});
  ASSERT_TRUE(listener.ok()) << listener.status();
  ASSERT_TRUE(pool_->Execute(absl::StrCat(
      "INSERT INTO documents (collection_id, doc_id, content_hash) VALUES (",
      collection_, ", 'x', sha256('x')), (", collection_, ", 'y', sha256('y'))")).ok());
  const int64_t max_seq = QueryInt("SELECT max(seq) FROM documents");
  absl::StatusOr<std::vector<Notification>> got =
      (*listener)->WaitForNotification(absl::Seconds(10));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);  // one per statement, not per row
  EXPECT_EQ((*got)[0].payload, std::to_string(max_seq));
}

TEST_F(SchemaTest, ShardHashAgreesWithCpp) {
  const int64_t big_collection = QueryInt(
      "INSERT INTO collections (id, tenant_id, name, dimension, metric, model)"
      " SELECT 123456789012, id, 'big', 4, 'l2', 'm' FROM tenants RETURNING id");
  std::vector<std::string> ids = {"a", "a:b", "ключ-1", "文档-7", "caf\xc3\xa9", "emoji-\xf0\x9f\x98\x80",
                                  "with space", "quote''d", std::string(300, 'z')};
  for (int i = 0; i < 200; ++i) ids.push_back(absl::StrCat("doc-", i * 7919));
  absl::Status inserted = pool_->WithTransaction([&](pqxx::work& tx) {
    for (int64_t c : {collection_, big_collection}) {
      for (const std::string& id : ids) {
        tx.exec_params("INSERT INTO documents (collection_id, doc_id, content_hash)"
                       " VALUES ($1, $2, sha256(convert_to($2, 'UTF8')))",
                       c, id);
      }
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(inserted.ok()) << inserted;
  absl::StatusOr<pqxx::result> rows =
      pool_->Query("SELECT collection_id, doc_id, shard_hash, shard_hash % 3 FROM documents");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2 * ids.size());
  for (const auto& row : *rows) {
    const int64_t c = row[0].as<int64_t>();
    const std::string id = row[1].as<std::string>();
    EXPECT_EQ(row[2].as<int64_t>(), static_cast<int64_t>(ShardHash(c, id))) << c << " " << id;
    EXPECT_EQ(row[3].as<int64_t>(), static_cast<int64_t>(ShardOf(c, id, 3))) << c << " " << id;
  }
}

TEST_F(SchemaTest, HotQueriesAreIndexScans) {
  const std::string claim = Plan(
      "SELECT id FROM jobs WHERE state = 'queued' AND run_at <= now()"
      " ORDER BY priority DESC, run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED");
  EXPECT_NE(claim.find("Index Scan using jobs_claim_idx"), std::string::npos) << claim;
  EXPECT_EQ(claim.find("Sort"), std::string::npos) << claim;

  const std::string leases = Plan(
      "SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < now()"
      " ORDER BY lease_expires_at LIMIT 100");
  EXPECT_NE(leases.find("jobs_lease_idx"), std::string::npos) << leases;

  // A tailing replica is near the head: realistic statistics make the
  // planner's choice the one production gets.
  ASSERT_TRUE(pool_->Execute(absl::StrCat(
      "INSERT INTO documents (collection_id, doc_id, content_hash)"
      " SELECT ", collection_, ", 'doc-' || i, sha256(i::text::bytea)"
      " FROM generate_series(1, 3000) AS i")).ok());
  ASSERT_TRUE(pool_->Execute("ANALYZE documents").ok());
  const int64_t watermark = QueryInt("SELECT max(seq) - 40 FROM documents");
  const std::string tail = Plan(absl::StrCat(
      "SELECT doc_id, seq FROM documents WHERE seq > ", watermark,
      " AND shard_hash % 4 = 1 ORDER BY seq LIMIT 500"));
  EXPECT_NE(tail.find("Index Scan using documents_seq_idx"), std::string::npos) << tail;
  EXPECT_EQ(tail.find("Sort"), std::string::npos) << tail;

  const std::string collection_tail = Plan(absl::StrCat(
      "SELECT doc_id, seq FROM documents WHERE collection_id = ", collection_,
      " AND seq > ", watermark, " AND shard_hash % 4 = 1 ORDER BY seq LIMIT 500"));
  // With one collection the planner may prefer either seq index; both are
  // ordered by seq, so no sort and no sequential scan.
  EXPECT_NE(collection_tail.find("Index Scan using documents_"), std::string::npos)
      << collection_tail;
  EXPECT_EQ(collection_tail.find("Sort"), std::string::npos) << collection_tail;
}

// The worker's and the gateway's "pending" predicate must stay one the
// partial index documents_unembedded_idx answers: spelled differently (say
// "embedded_hash <> content_hash") PostgreSQL cannot prove it implies the
// index's WHERE and scans every live document of the collection instead.
TEST_F(SchemaTest, PendingDocumentsUseThePartialIndex) {
  ASSERT_TRUE(pool_->Execute(absl::StrCat(
      "INSERT INTO documents (collection_id, doc_id, content_hash, embedding, embedded_hash)"
      " SELECT ", collection_, ", 'doc-' || i, sha256(i::text::bytea),"
      " CASE WHEN i % 100 = 0 THEN NULL ELSE '\\x0000803f00000040'::bytea END,"
      " CASE WHEN i % 100 = 0 THEN NULL ELSE sha256(i::text::bytea) END"
      " FROM generate_series(1, 3000) AS i")).ok());
  ASSERT_TRUE(pool_->Execute("ANALYZE documents").ok());
  const std::string where =
      absl::StrCat("collection_id = ", collection_, " AND ", model::PendingDocumentSql());
  EXPECT_EQ(QueryInt(absl::StrCat("SELECT count(*) FROM documents WHERE ", where)), 30);
  const std::string plan = Plan(absl::StrCat("SELECT doc_id FROM documents WHERE ", where));
  EXPECT_NE(plan.find("documents_unembedded_idx"), std::string::npos) << plan;
  const std::string aliased = Plan(absl::StrCat(
      "SELECT d.doc_id FROM documents d WHERE d.collection_id = ", collection_, " AND ",
      model::PendingDocumentSql("d")));
  EXPECT_NE(aliased.find("documents_unembedded_idx"), std::string::npos) << aliased;
}

TEST_F(SchemaTest, JobTriggersNotify) {
  absl::StatusOr<std::unique_ptr<Listener>> listener =
      Listener::Create(conninfo_, {"jobs_new", "job_changed"});
  ASSERT_TRUE(listener.ok()) << listener.status();
  auto drain = [&] {
    std::multimap<std::string, std::string> got;
    absl::StatusOr<std::vector<Notification>> batch =
        (*listener)->WaitForNotification(absl::Seconds(10));
    while (batch.ok() && !batch->empty()) {
      for (const Notification& n : *batch) got.emplace(n.channel, n.payload);
      batch = (*listener)->WaitForNotification(absl::Milliseconds(100));
    }
    EXPECT_TRUE(batch.ok()) << batch.status();
    return got;
  };
  const int64_t id = QueryInt("INSERT INTO jobs (kind) VALUES ('index') RETURNING id");
  const std::string job = std::to_string(id);
  EXPECT_EQ(drain(), (std::multimap<std::string, std::string>{{"job_changed", job},
                                                              {"jobs_new", "index"}}));
  QueryInt(absl::StrCat("UPDATE jobs SET state = 'running' WHERE id = ", id, " RETURNING id"));
  EXPECT_EQ(drain(), (std::multimap<std::string, std::string>{{"job_changed", job}}));
  QueryInt(absl::StrCat("UPDATE jobs SET progress = 0.5 WHERE id = ", id, " RETURNING id"));
  EXPECT_EQ(drain(), (std::multimap<std::string, std::string>{{"job_changed", job}}));
  // Neither state nor progress: no notification (lease extension is frequent).
  QueryInt(absl::StrCat("UPDATE jobs SET lease_expires_at = now() WHERE id = ", id,
                        " RETURNING id"));
  QueryInt(absl::StrCat("UPDATE jobs SET state = 'queued' WHERE id = ", id, " RETURNING id"));
  EXPECT_EQ(drain(), (std::multimap<std::string, std::string>{{"job_changed", job},
                                                              {"jobs_new", "index"}}));
}

TEST_F(SchemaTest, ConstraintsRejectBadRows) {
  auto code = [&](const std::string& sql) { return pool_->Execute(sql).code(); };
  const int64_t tenant = QueryInt("SELECT id FROM tenants");
  // System jobs (NULL tenant) deduplicate by idempotency key as well.
  EXPECT_EQ(code("INSERT INTO jobs (kind, idempotency_key) VALUES ('purge', 'k')"),
            absl::StatusCode::kOk);
  EXPECT_EQ(code("INSERT INTO jobs (kind, idempotency_key) VALUES ('purge', 'k')"),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(code(absl::StrCat("INSERT INTO jobs (tenant_id, kind, idempotency_key) VALUES (",
                              tenant, ", 'purge', 'k')")),
            absl::StatusCode::kOk);
  EXPECT_EQ(code("INSERT INTO jobs (kind) VALUES ('a'), ('a')"), absl::StatusCode::kOk);
  EXPECT_EQ(code("INSERT INTO jobs (kind, state) VALUES ('a', 'lost')"),
            absl::StatusCode::kInternal);
  // Collection names are unique among live collections only.
  const std::string dup = absl::StrCat(
      "INSERT INTO collections (tenant_id, name, dimension, metric, model) VALUES (",
      tenant, ", 'c', 2, 'cosine', 'm')");
  EXPECT_EQ(code(dup), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(code("UPDATE collections SET deleted_at = now() WHERE name = 'c'"),
            absl::StatusCode::kOk);
  EXPECT_EQ(code(dup), absl::StatusCode::kOk);
  EXPECT_EQ(code(absl::StrCat("INSERT INTO collections (tenant_id, name, dimension, metric,"
                              " model) VALUES (", tenant, ", 'd', 4097, 'l2', 'm')")),
            absl::StatusCode::kInternal);
  EXPECT_EQ(code(absl::StrCat("INSERT INTO collections (tenant_id, name, dimension, metric,"
                              " model) VALUES (", tenant, ", 'd', 8, 'hamming', 'm')")),
            absl::StatusCode::kInternal);
  // API key scopes.
  const std::string key = absl::StrCat(
      "INSERT INTO api_keys (id, tenant_id, key_hash, scopes) VALUES ('k1', ", tenant,
      ", sha256('secret'), ");
  EXPECT_EQ(code(key + "'{read,superuser}')"), absl::StatusCode::kInternal);
  EXPECT_EQ(code(key + "ARRAY[NULL]::text[])"), absl::StatusCode::kInternal);
  EXPECT_EQ(code(key + "'{read,write,admin}')"), absl::StatusCode::kOk);
  // Embeddings must be dimension * 4 bytes (the live collection 'c' has 2).
  const int64_t live = QueryInt("SELECT id FROM collections WHERE name = 'c' AND deleted_at IS NULL");
  const std::string doc = absl::StrCat(
      "INSERT INTO documents (collection_id, doc_id, content_hash, embedding, metadata) VALUES (",
      live, ", ");
  EXPECT_EQ(code(doc + "'e1', sha256('1'), '\\x0000803f00000040', '{\"lang\":\"en\"}')"),
            absl::StatusCode::kOk);
  absl::Status wrong_size = pool_->Execute(doc + "'e2', sha256('2'), '\\x0000803f', '{}')");
  EXPECT_EQ(wrong_size.code(), absl::StatusCode::kInternal);
  EXPECT_NE(wrong_size.message().find("SQLSTATE 23514"), std::string::npos) << wrong_size;
  EXPECT_EQ(code(doc + "'e3', sha256('3'), NULL, '{\"n\":1}')"), absl::StatusCode::kInternal);
  EXPECT_EQ(code(doc + "'e4', '\\x00', NULL, '{}')"), absl::StatusCode::kInternal);
}

TEST_F(SchemaTest, DocumentsWithoutACurrentVector) {
  const std::string insert = absl::StrCat(
      "INSERT INTO documents (collection_id, doc_id, content_hash, embedding, embedded_hash)"
      " VALUES (", collection_, ", ");
  ASSERT_TRUE(pool_->Execute(insert + "'fresh', sha256('f'), NULL, NULL)").ok());
  ASSERT_TRUE(pool_->Execute(insert + "'current', sha256('c'), '\\x0000803f00000040',"
                                      " sha256('c'))").ok());
  ASSERT_TRUE(pool_->Execute(insert + "'stale', sha256('new'), '\\x0000803f00000040',"
                                      " sha256('old'))").ok());
  absl::StatusOr<pqxx::result> pending = pool_->Query(absl::StrCat(
      "SELECT doc_id FROM documents WHERE ", model::PendingDocumentSql(), " ORDER BY doc_id"));
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0][0].as<std::string>(), "fresh");
  EXPECT_EQ((*pending)[1][0].as<std::string>(), "stale");
}

TEST_F(SchemaTest, JobSuccessRatesRefreshConcurrently) {
  const int64_t tenant = QueryInt("SELECT id FROM tenants");
  ASSERT_TRUE(pool_->Execute(absl::StrCat(
      "INSERT INTO jobs (tenant_id, kind, state, attempts) VALUES",
      " (", tenant, ", 'index', 'succeeded', 1), (", tenant, ", 'index', 'succeeded', 1),",
      " (", tenant, ", 'index', 'succeeded', 2), (", tenant, ", 'index', 'dead', 5),",
      " (", tenant, ", 'index', 'cancelled', 0), (", tenant, ", 'index', 'queued', 0),",
      " (NULL, 'refresh', 'succeeded', 1), (NULL, 'purge', 'running', 1)")).ok());
  // Twice: the second refresh diffs against rows with a NULL tenant.
  ASSERT_TRUE(pool_->Execute("REFRESH MATERIALIZED VIEW CONCURRENTLY job_success_rates").ok());
  absl::Status again = pool_->Execute("REFRESH MATERIALIZED VIEW CONCURRENTLY job_success_rates");
  ASSERT_TRUE(again.ok()) << again;
  absl::StatusOr<pqxx::result> rows = pool_->Query(
      "SELECT coalesce(tenant_id, 0), kind, succeeded, dead, cancelled, queued, running,"
      " success_rate, mean_attempts FROM job_success_rates ORDER BY 1, 2");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  // (0, purge): nothing finished yet.
  EXPECT_EQ((*rows)[0][1].as<std::string>(), "purge");
  EXPECT_EQ((*rows)[0][6].as<int>(), 1);
  EXPECT_DOUBLE_EQ((*rows)[0][7].as<double>(), 0.0);
  EXPECT_DOUBLE_EQ((*rows)[0][8].as<double>(), 0.0);
  // (0, refresh)
  EXPECT_EQ((*rows)[1][1].as<std::string>(), "refresh");
  EXPECT_DOUBLE_EQ((*rows)[1][7].as<double>(), 1.0);
  // (tenant, index): 3 of 4 decided succeeded; attempts (1+1+2+5+0)/5.
  EXPECT_EQ((*rows)[2][0].as<int64_t>(), tenant);
  EXPECT_EQ((*rows)[2][2].as<int>(), 3);
  EXPECT_EQ((*rows)[2][3].as<int>(), 1);
  EXPECT_EQ((*rows)[2][4].as<int>(), 1);
  EXPECT_EQ((*rows)[2][5].as<int>(), 1);
  EXPECT_DOUBLE_EQ((*rows)[2][7].as<double>(), 0.75);
  EXPECT_DOUBLE_EQ((*rows)[2][8].as<double>(), 1.8);
}

}  // namespace
}  // namespace quarry::pg
