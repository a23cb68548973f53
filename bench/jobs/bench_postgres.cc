#include "bench/jobs/bench_postgres.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "bench/jobs/bench_common.h"
#include "services/common/pg/migrations.h"
#include "services/common/pg/pool.h"
#include "services/common/status/macros.h"

namespace quarry::bench {
namespace {

// libpq keeps the last value of a repeated keyword, so appending one
// overrides what the admin conninfo says.
std::string WithDatabase(const std::string& conninfo, const std::string& dbname) {
  return absl::StrCat(conninfo, " dbname=", dbname);
}

absl::Status Admin(const std::string& conninfo, const std::string& sql) {
  QUARRY_ASSIGN_OR_RETURN(std::unique_ptr<pg::Pool> pool, NewPool(conninfo, 1));
  // CREATE DATABASE cannot run in a transaction block.
  QUARRY_ASSIGN_OR_RETURN(pg::Pool::Lease lease, pool->Acquire());
  try {
    pqxx::nontransaction txn(lease.conn());
    txn.exec(sql);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(sql, ": ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<BenchPostgres>> BenchPostgres::Create(
    const std::string& admin_conninfo) {
  auto source = std::unique_ptr<BenchPostgres>(new BenchPostgres());
  if (admin_conninfo.empty()) {
    QUARRY_ASSIGN_OR_RETURN(source->throwaway_, pg::PostgresTestServer::Create());
  } else {
    source->admin_conninfo_ = admin_conninfo;
  }
  return source;
}

absl::StatusOr<std::string> BenchPostgres::CreateDatabase() {
  if (throwaway_ != nullptr) return throwaway_->CreateDatabase();
  // Migrated once into a template; every database is a copy of it, as the
  // test cluster does it, so a run does not pay for the migrations.
  const std::string prefix = absl::StrCat("bench_", getpid(), "_");
  if (!template_ready_) {
    QUARRY_RETURN_IF_ERROR(
        Admin(admin_conninfo_, absl::StrCat("CREATE DATABASE ", prefix, "template")));
    QUARRY_RETURN_IF_ERROR(pg::Migrate(WithDatabase(admin_conninfo_, prefix + "template")));
    template_ready_ = true;
  }
  const std::string name = absl::StrCat(prefix, next_++);
  QUARRY_RETURN_IF_ERROR(Admin(admin_conninfo_, absl::StrCat("CREATE DATABASE ", name,
                                                              " TEMPLATE ", prefix, "template")));
  return WithDatabase(admin_conninfo_, name);
}

absl::StatusOr<std::string> BenchPostgres::Durability(const std::string& conninfo) {
  QUARRY_ASSIGN_OR_RETURN(std::unique_ptr<pg::Pool> pool, NewPool(conninfo, 1));
  QUARRY_ASSIGN_OR_RETURN(
      pqxx::result r,
      pool->Query("SELECT current_setting('fsync'), current_setting('synchronous_commit'), "
                  "current_setting('full_page_writes')"));
  return absl::StrCat("fsync=", r[0][0].as<std::string>(),
                      " synchronous_commit=", r[0][1].as<std::string>(),
                      " full_page_writes=", r[0][2].as<std::string>());
}

}  // namespace quarry::bench
