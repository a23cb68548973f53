#include "services/common/server/database.h"

#include "services/common/pg/migrations.h"
#include "services/common/server/runtime.h"

namespace quarry::server {

std::unique_ptr<pg::Pool> OpenDatabaseOrExit(const std::string& database_url, int size,
                                             absl::Duration statement_timeout) {
  if (database_url.empty()) {
    ExitOnStartupError("--database_url", absl::InvalidArgumentError("must be set"));
  }
  if (absl::Status status = pg::Migrate(database_url); !status.ok()) {
    ExitOnStartupError("database (--database_url)", status);
  }
  pg::PoolOptions options;
  options.conninfo = database_url;
  options.size = size;
  options.statement_timeout = statement_timeout;
  auto pool = pg::Pool::Create(options);
  if (!pool.ok()) ExitOnStartupError("database (--database_url)", pool.status());
  return std::move(*pool);
}

}  // namespace quarry::server
