#ifndef QUARRY_SERVICES_COMMON_SERVER_DATABASE_H_
#define QUARRY_SERVICES_COMMON_SERVER_DATABASE_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "services/common/pg/pool.h"

namespace quarry::server {

// What every database-backed main() does at start: apply the migrations
// (under their advisory lock, so replicas starting together migrate once) and
// open a pool of `size` connections with a statement timeout. An unreachable
// database or a failed migration exits with one line naming --database_url.
std::unique_ptr<pg::Pool> OpenDatabaseOrExit(const std::string& database_url, int size,
                                             absl::Duration statement_timeout);

}  // namespace quarry::server

#endif  // QUARRY_SERVICES_COMMON_SERVER_DATABASE_H_
