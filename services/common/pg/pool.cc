#include "services/common/pg/pool.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <pqxx/nontransaction>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/pg/errors.h"
#include "services/common/status/macros.h"

namespace quarry::pg {
namespace {

// Appends libpq's connect_timeout unless the caller chose one.
std::string WithConnectTimeout(const std::string& conninfo,
                               absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration() ||
      absl::StrContains(conninfo, "connect_timeout")) {
    return conninfo;
  }
  // libpq counts whole seconds and treats anything below 2 as 2.
  const int64_t seconds =
      std::max<int64_t>(2, absl::ToInt64Seconds(absl::Ceil(timeout, absl::Seconds(1))));
  if (absl::StartsWith(conninfo, "postgres://") ||
      absl::StartsWith(conninfo, "postgresql://")) {
    return absl::StrCat(conninfo, absl::StrContains(conninfo, "?") ? "&" : "?",
                        "connect_timeout=", seconds);
  }
  return absl::StrCat(conninfo, conninfo.empty() ? "" : " ",
                      "connect_timeout=", seconds);
}

}  // namespace

Pool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), conn_(std::move(other.conn_)), broken_(other.broken_) {
  other.pool_ = nullptr;
}

Pool::Lease& Pool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = other.pool_;
    conn_ = std::move(other.conn_);
    broken_ = other.broken_;
    other.pool_ = nullptr;
  }
  return *this;
}

Pool::Lease::~Lease() { Release(); }

void Pool::Lease::Release() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Return(std::move(conn_), broken_);
  pool_ = nullptr;
}

Pool::Pool(PoolOptions options)
    : options_(std::move(options)),
      conninfo_(WithConnectTimeout(options_.conninfo, options_.connect_timeout)) {}

Pool::~Pool() = default;

absl::StatusOr<std::unique_ptr<Pool>> Pool::Create(PoolOptions options) {
  if (options.size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("pool size must be >= 1, got ", options.size));
  }
  if (options.checkout_timeout < absl::ZeroDuration() ||
      options.statement_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("pool timeouts must not be negative");
  }
  for (const PreparedStatement& p : options.prepared) {
    if (p.name.empty()) {
      return absl::InvalidArgumentError("prepared statement without a name");
    }
  }
  std::unique_ptr<Pool> pool(new Pool(std::move(options)));
  QUARRY_RETURN_IF_ERROR(pool->Acquire().status());
  return pool;
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> Pool::Connect() const {
  try {
    auto conn = std::make_unique<pqxx::connection>(conninfo_);
    // The pool, not libpqxx, decides when to reconnect: a silent reconnect
    // would lose the session settings below and hide failures from the pool.
    conn->inhibit_reactivation(true);
    if (options_.statement_timeout > absl::ZeroDuration()) {
      pqxx::nontransaction tx(*conn);
      tx.exec(absl::StrCat("SET statement_timeout = ",
                           absl::ToInt64Milliseconds(options_.statement_timeout)));
    }
    for (const PreparedStatement& p : options_.prepared) {
      conn->prepare(p.name, p.sql);
      conn->prepare_now(p.name);
    }
    return conn;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::StatusOr<Pool::Lease> Pool::Acquire() {
  return Acquire(options_.checkout_timeout);
}

absl::StatusOr<Pool::Lease> Pool::Acquire(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<std::unique_ptr<pqxx::connection>> closed;
  auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !idle_.empty() || open_ < options_.size;
  };
  absl::MutexLock lock(&mu_);
  while (true) {
    if (!mu_.AwaitWithDeadline(absl::Condition(&available), deadline)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "PostgreSQL connection pool exhausted: all ", options_.size,
          " connections in use, none came free within ",
          absl::FormatDuration(timeout)));
    }
    while (!idle_.empty()) {
      std::unique_ptr<pqxx::connection> conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->is_open()) return Lease(this, std::move(conn));
      --open_;
      closed.push_back(std::move(conn));
    }
    if (open_ < options_.size) break;
  }
  // Reserve the slot, then connect without holding the lock.
  ++open_;
  mu_.Unlock();
  closed.clear();
  absl::StatusOr<std::unique_ptr<pqxx::connection>> conn = Connect();
  mu_.Lock();
  if (!conn.ok()) {
    --open_;
    return conn.status();
  }
  return Lease(this, *std::move(conn));
}

void Pool::Return(std::unique_ptr<pqxx::connection> conn, bool broken) {
  std::vector<std::unique_ptr<pqxx::connection>> dropped;
  {
    absl::MutexLock lock(&mu_);
    if (broken || !conn->is_open()) {
      --open_;
      dropped.push_back(std::move(conn));
      if (broken) {
        // The idle connections most likely broke for the same reason (server
        // restart, failover); replacing them now spares later callers a
        // failure each.
        open_ -= static_cast<int>(idle_.size());
        for (auto& c : idle_) dropped.push_back(std::move(c));
        idle_.clear();
      }
    } else {
      idle_.push_back(std::move(conn));
    }
  }
  // Closing talks to the server (or times out on a dead socket): not under mu_.
  dropped.clear();
}

absl::Status Pool::RunTransaction(
    absl::FunctionRef<absl::Status(pqxx::work&)> fn) {
  QUARRY_ASSIGN_OR_RETURN(Lease lease, Acquire());
  try {
    pqxx::work tx(lease.conn());
    absl::Status status = fn(tx);
    if (!status.ok()) {
      tx.abort();
      return status;
    }
    tx.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    if (IsConnectionBroken(e)) lease.MarkBroken();
    return StatusFromException(e);
  } catch (...) {
    lease.MarkBroken();
    return absl::InternalError("non-standard exception in a PostgreSQL transaction");
  }
}

absl::Status Pool::Execute(std::string_view sql) {
  return RunTransaction([sql](pqxx::work& tx) -> absl::Status {
    tx.exec(std::string(sql));
    return absl::OkStatus();
  });
}

absl::StatusOr<pqxx::result> Pool::Query(std::string_view sql) {
  return WithTransaction([sql](pqxx::work& tx) -> absl::StatusOr<pqxx::result> {
    return tx.exec(std::string(sql));
  });
}

int Pool::open_connections() const {
  absl::MutexLock lock(&mu_);
  return open_;
}

int Pool::idle_connections() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(idle_.size());
}

}  // namespace quarry::pg
