#ifndef QUARRY_BENCH_JOBS_BENCH_POSTGRES_H_
#define QUARRY_BENCH_JOBS_BENCH_POSTGRES_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/common/pg/testing/postgres_server.h"

namespace quarry::bench {

// Where a job-queue benchmark gets its fresh, migrated databases from:
//
//   - the throwaway test cluster (pg::PostgresTestServer) when
//     `admin_conninfo` is empty. It runs with fsync, synchronous_commit and
//     full_page_writes off, so its figures are "no durability";
//   - an existing cluster reached by `admin_conninfo` (a superuser session on
//     its "postgres" database) otherwise, e.g. the one bench/jobs/compare.sh
//     starts with PostgreSQL's durable defaults. The test cluster cannot be
//     given fsync=on (it is a command-line setting, which ALTER SYSTEM does
//     not override), hence this second source.
class BenchPostgres {
 public:
  static absl::StatusOr<std::unique_ptr<BenchPostgres>> Create(const std::string& admin_conninfo);

  // A new database with the built-in migrations applied; its conninfo.
  absl::StatusOr<std::string> CreateDatabase();

  // The settings a commit's durability depends on, as the server reports
  // them for `conninfo`: "fsync=on synchronous_commit=on full_page_writes=on".
  static absl::StatusOr<std::string> Durability(const std::string& conninfo);

 private:
  BenchPostgres() = default;

  std::unique_ptr<pg::PostgresTestServer> throwaway_;
  std::string admin_conninfo_;
  bool template_ready_ = false;
  int next_ = 0;
};

}  // namespace quarry::bench

#endif  // QUARRY_BENCH_JOBS_BENCH_POSTGRES_H_
