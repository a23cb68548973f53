#ifndef QUARRY_SERVICES_COMMON_PG_MIGRATIONS_H_
#define QUARRY_SERVICES_COMMON_PG_MIGRATIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace quarry::pg {

// Session advisory lock held by Migrate() for its whole run, so replicas that
// start together migrate once (the others wait, then find nothing to do).
inline constexpr int64_t kMigrationLockKey = 7291748335610000;
// The documents trigger's lock, kDocumentSeqLockKey, is in document_order.h.

struct Migration {
  int version = 0;   // > 0, strictly increasing
  std::string name;  // the file name, e.g. "0001_initial.sql"
  std::string sql;   // any number of statements
};

// The migrations compiled into the binary from migrations/NNNN_*.sql, in
// version order (the version is the file name's numeric prefix).
const std::vector<Migration>& BuiltinMigrations();

// Brings the database at `conninfo` to the newest version of `migrations`
// (default: BuiltinMigrations()). Each pending migration runs in its own
// transaction together with its schema_migrations(version, name, applied_at)
// row, all under kMigrationLockKey. Already-applied versions are skipped, so
// running it again (or concurrently) is harmless; versions the database has
// beyond the list (a newer binary migrated it) are left alone. A failing
// migration is rolled back, leaving the previous version, and the error names
// its file. INVALID_ARGUMENT for an unordered or duplicate list.
absl::Status Migrate(const std::string& conninfo);
absl::Status Migrate(const std::string& conninfo,
                     const std::vector<Migration>& migrations);

// The highest applied version; 0 for a database never migrated.
absl::StatusOr<int> SchemaVersion(const std::string& conninfo);

}  // namespace quarry::pg

#endif  // QUARRY_SERVICES_COMMON_PG_MIGRATIONS_H_
