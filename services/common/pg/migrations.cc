#include "services/common/pg/migrations.h"

#include <cstdlib>
#include <exception>
#include <set>

#include <pqxx/pqxx>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/pg/embedded_migrations.h"
#include "services/common/pg/errors.h"
#include "services/common/status/macros.h"

namespace quarry::pg {
namespace {

constexpr char kCreateTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

std::vector<Migration> ParseEmbedded() {
  std::vector<Migration> out;
  for (int i = 0; i < internal::kEmbeddedMigrationCount; ++i) {
    const internal::EmbeddedFile& f = internal::kEmbeddedMigrations[i];
    std::string name = f.name;
    size_t digits = 0;
    while (digits < name.size() && absl::ascii_isdigit(name[digits])) ++digits;
    int version = 0;
    if (digits == 0 || !absl::SimpleAtoi(name.substr(0, digits), &version)) {
      // A build-time mistake (a file without a version prefix): skipping it
      // silently would ship a schema without it.
      std::abort();
    }
    out.push_back(Migration{version, std::move(name), f.contents});
  }
  return out;
}

absl::Status Validate(const std::vector<Migration>& migrations) {
  int previous = 0;
  for (const Migration& m : migrations) {
    if (m.version <= previous) {
      return absl::InvalidArgumentError(absl::StrCat(
          "migration ", m.name, " has version ", m.version,
          ", which is not greater than the previous one (", previous, ")"));
    }
    previous = m.version;
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<Migration>& BuiltinMigrations() {
  static const std::vector<Migration>* const migrations =
      new std::vector<Migration>(ParseEmbedded());
  return *migrations;
}

absl::Status Migrate(const std::string& conninfo) {
  return Migrate(conninfo, BuiltinMigrations());
}

absl::Status Migrate(const std::string& conninfo,
                     const std::vector<Migration>& migrations) {
  QUARRY_RETURN_IF_ERROR(Validate(migrations));
  const Migration* current = nullptr;
  try {
    pqxx::connection conn(conninfo);
    conn.inhibit_reactivation(true);
    {
      pqxx::nontransaction tx(conn);
      // Session-level: held across the per-migration transactions below and
      // released by the unlock (or by the connection closing on any error).
      tx.exec(absl::StrCat("SELECT pg_advisory_lock(", kMigrationLockKey, ")"));
      // Under the lock: concurrent CREATE TABLE IF NOT EXISTS can still race.
      tx.exec(kCreateTable);
    }
    std::set<int> applied;
    {
      pqxx::nontransaction tx(conn);
      for (const auto& row : tx.exec("SELECT version FROM schema_migrations")) {
        applied.insert(row[0].as<int>());
      }
    }
    for (const Migration& m : migrations) {
      if (applied.count(m.version) > 0) continue;
      current = &m;
      pqxx::work tx(conn);
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                     m.version, m.name);
      tx.commit();
      current = nullptr;
    }
    pqxx::nontransaction tx(conn);
    tx.exec(absl::StrCat("SELECT pg_advisory_unlock(", kMigrationLockKey, ")"));
    return absl::OkStatus();
  } catch (const std::exception& e) {
    absl::Status status = StatusFromException(e);
    if (current == nullptr) return status;
    return absl::Status(status.code(),
                        absl::StrCat("migration ", current->name, " (version ",
                                     current->version, ") failed and was rolled back: ",
                                     status.message()));
  }
}

absl::StatusOr<int> SchemaVersion(const std::string& conninfo) {
  try {
    pqxx::connection conn(conninfo);
    pqxx::nontransaction tx(conn);
    // Two statements: a query naming a missing table fails at parse time.
    if (tx.exec("SELECT to_regclass('schema_migrations') IS NULL")[0][0].as<bool>()) {
      return 0;
    }
    pqxx::result r =
        tx.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
    return r[0][0].as<int>();
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

}  // namespace quarry::pg
