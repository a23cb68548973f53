#ifndef QUARRY_SERVICES_COMMON_PG_EMBEDDED_MIGRATIONS_H_
#define QUARRY_SERVICES_COMMON_PG_EMBEDDED_MIGRATIONS_H_

// The migrations/*.sql files compiled into the binary by embed_sql.sh. Use
// BuiltinMigrations() (migrations.h) instead of these.
namespace quarry::pg::internal {

struct EmbeddedFile {
  const char* name;      // file name, e.g. "0001_initial.sql"
  const char* contents;  // the SQL text
};

extern const EmbeddedFile kEmbeddedMigrations[];  // sorted by name
extern const int kEmbeddedMigrationCount;

}  // namespace quarry::pg::internal

#endif  // QUARRY_SERVICES_COMMON_PG_EMBEDDED_MIGRATIONS_H_
