#ifndef QUARRY_SERVICES_COMMON_PG_POOL_H_
#define QUARRY_SERVICES_COMMON_PG_POOL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// The whole of libpqxx: callers use results, rows and fields too.
#include <pqxx/pqxx>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace quarry::pg {

// A statement every pooled connection prepares (exec_prepared(name, ...)).
struct PreparedStatement {
  std::string name;
  std::string sql;
};

struct PoolOptions {
  // libpq connection string ("host=... port=... dbname=..." or a URI).
  std::string conninfo;
  // Most connections open at once. Must be >= 1.
  int size = 8;
  // How long Acquire() waits for a free connection before RESOURCE_EXHAUSTED.
  absl::Duration checkout_timeout = absl::Seconds(5);
  // Passed to libpq as connect_timeout (whole seconds, libpq's minimum is 2)
  // unless the conninfo already sets one.
  absl::Duration connect_timeout = absl::Seconds(5);
  // SET statement_timeout on every connection; zero means none. A statement
  // that runs longer fails with DEADLINE_EXCEEDED.
  absl::Duration statement_timeout = absl::ZeroDuration();
  // Prepared on every new (or replacement) connection before it is handed out,
  // so a bad statement fails the checkout, not some later call.
  std::vector<PreparedStatement> prepared;
};

// A bounded pool of libpqxx connections that never lets an exception escape.
//
// Connections are opened lazily up to `size`. A connection found closed at
// checkout, or one that failed with a broken-connection error, is discarded and
// replaced on a later checkout; after a broken connection the idle ones are
// dropped too (they share the fate: usually the server restarted). So after a
// server restart the first call may fail with UNAVAILABLE and later calls work.
// Thread-safe.
class Pool {
 public:
  // Exclusive use of one connection; gives it back on destruction. Movable.
  // Do not keep a transaction open on it past the lease.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    ~Lease();

    pqxx::connection& conn() { return *conn_; }
    pqxx::connection* operator->() { return conn_.get(); }
    // The connection will be closed instead of reused (e.g. its session state
    // was changed in a way the next user must not see).
    void MarkBroken() { broken_ = true; }

   private:
    friend class Pool;
    Lease(Pool* pool, std::unique_ptr<pqxx::connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    void Release();

    Pool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
    bool broken_ = false;
  };

  // Validates the options and opens one connection so that a wrong conninfo
  // fails here (INVALID_ARGUMENT for bad options, the mapped error otherwise).
  static absl::StatusOr<std::unique_ptr<Pool>> Create(PoolOptions options);
  // All leases must have been returned.
  ~Pool();

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A connection, waiting up to options.checkout_timeout (or `timeout`) for one
  // to come free. RESOURCE_EXHAUSTED when none did; UNAVAILABLE (or another
  // mapped code) when a new connection could not be opened or prepared.
  absl::StatusOr<Lease> Acquire();
  absl::StatusOr<Lease> Acquire(absl::Duration timeout);

  // Runs `fn` in a read-committed transaction and commits when it returns OK;
  // rolls back when it returns an error (which is returned as is) or throws
  // (mapped with StatusFromException). `fn` may call any libpqxx function; it
  // should not commit itself. For another isolation level, make the first
  // statement "SET TRANSACTION ISOLATION LEVEL ...". Nothing is retried: an
  // ABORTED (serialization failure) transaction is the caller's to repeat.
  // `Fn` returns absl::Status or absl::StatusOr<T>; so does WithTransaction.
  template <typename Fn>
  auto WithTransaction(Fn&& fn) -> std::invoke_result_t<Fn&, pqxx::work&>;

  // One statement in its own transaction (no parameters).
  absl::Status Execute(std::string_view sql);
  // The same, returning the rows.
  absl::StatusOr<pqxx::result> Query(std::string_view sql);
  // A statement registered in PoolOptions::prepared, in its own transaction.
  template <typename... Args>
  absl::StatusOr<pqxx::result> ExecutePrepared(const std::string& name,
                                               Args&&... args);

  int size() const { return options_.size; }
  // Connections currently open (idle + leased).
  int open_connections() const;
  int idle_connections() const;

 private:
  explicit Pool(PoolOptions options);

  // The type-erased core of WithTransaction.
  absl::Status RunTransaction(absl::FunctionRef<absl::Status(pqxx::work&)> fn);
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect() const;
  void Return(std::unique_ptr<pqxx::connection> conn, bool broken);

  const PoolOptions options_;
  const std::string conninfo_;  // options_.conninfo plus connect_timeout
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mu_);
  // Open connections plus connections being opened (a slot is reserved
  // before connecting so the bound holds while mu_ is released).
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

// ---------------------------------------------------------------------------
// Implementation details of the templates.

namespace internal {
template <typename T>
struct IsStatusOr : std::false_type {};
template <typename T>
struct IsStatusOr<absl::StatusOr<T>> : std::true_type {};
}  // namespace internal

template <typename Fn>
auto Pool::WithTransaction(Fn&& fn) -> std::invoke_result_t<Fn&, pqxx::work&> {
  using R = std::invoke_result_t<Fn&, pqxx::work&>;
  if constexpr (std::is_same_v<R, absl::Status>) {
    return RunTransaction([&fn](pqxx::work& w) -> absl::Status { return fn(w); });
  } else {
    static_assert(internal::IsStatusOr<R>::value,
                  "WithTransaction's function must return absl::Status or "
                  "absl::StatusOr<T>");
    std::optional<R> result;
    absl::Status status = RunTransaction([&](pqxx::work& w) -> absl::Status {
      result.emplace(fn(w));
      return result->status();
    });
    if (!status.ok()) return R(std::move(status));
    return std::move(*result);
  }
}

template <typename... Args>
absl::StatusOr<pqxx::result> Pool::ExecutePrepared(const std::string& name,
                                                   Args&&... args) {
  return WithTransaction([&](pqxx::work& w) -> absl::StatusOr<pqxx::result> {
    return w.exec_prepared(name, std::forward<Args>(args)...);
  });
}

}  // namespace quarry::pg

#endif  // QUARRY_SERVICES_COMMON_PG_POOL_H_
