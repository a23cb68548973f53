#ifndef QUARRY_SERVICES_COMMON_PG_TESTING_POSTGRES_SERVER_H_
#define QUARRY_SERVICES_COMMON_PG_TESTING_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace quarry::pg {

// A throwaway PostgreSQL 15 cluster for tests: initdb into a fresh directory
// under /tmp, a server on 127.0.0.1 and a free port (durability switched off
// for speed), a database "quarry" with the built-in migrations applied.
//
// When the process runs as root, initdb and the server run as the "postgres"
// user (initdb refuses root); /tmp is used because Bazel's TEST_TMPDIR (under
// /root) is not reachable by that user. Everything is removed by the
// destructor. If the test process dies without it, the server still goes: it
// gets SIGQUIT when the process ends (parent-death signal, when started from
// the main thread), on SIGTERM/SIGINT, and a small watchdog process stops it and
// deletes the directory once the test process is gone.
class PostgresTestServer {
 public:
  // Starts a cluster. On failure the status message carries the server's log
  // tail; nothing is left behind.
  static absl::StatusOr<std::unique_ptr<PostgresTestServer>> Create();
  ~PostgresTestServer();

  PostgresTestServer(const PostgresTestServer&) = delete;
  PostgresTestServer& operator=(const PostgresTestServer&) = delete;

  // "host=127.0.0.1 port=N user=postgres dbname=quarry": the migrated database
  // shared by the tests of one binary.
  std::string conninfo() const { return ConnInfo("quarry"); }
  std::string ConnInfo(const std::string& dbname) const;
  int port() const { return port_; }

  // A new database of its own for a test that needs isolation, returning its
  // conninfo. `migrated`: a copy of the migrated schema (fast: a template
  // copy); otherwise empty. Databases go away with the cluster.
  absl::StatusOr<std::string> CreateDatabase(bool migrated = true);

  // Fast shutdown (open sessions are terminated) and wait.
  absl::Status Stop();
  // Starts the stopped server again on the same port and data.
  absl::Status Start();
  // Stop() + Start(): what clients see when the server restarts under them.
  absl::Status Restart();
  bool running() const { return pid_ > 0; }

  // Also accepts TCP connections on `address` (e.g. the host end of a veth
  // pair into a network namespace) from clients in `client_cidr`, trusted
  // like loopback ones. Restarts the server (same port and data; sessions are
  // cut) because listen addresses are fixed at start. conninfo() still names
  // 127.0.0.1; a client elsewhere uses ConnInfo(dbname) with host= replaced.
  absl::Status ListenAlsoOn(const std::string& address, const std::string& client_cidr);

  // The last `lines` lines of the server log (and initdb's output).
  std::string LogTail(int lines = 40) const;

 private:
  PostgresTestServer() = default;
  absl::Status Init();
  absl::Status StartOnPort(int port, bool* port_in_use);
  void StartWatchdog();
  absl::Status Admin(const std::string& sql);

  std::string dir_;       // /tmp/quarry-pg-XXXXXX, removed by the destructor
  uid_t uid_ = 0;         // whom initdb and postgres run as
  gid_t gid_ = 0;
  bool drop_privileges_ = false;
  int port_ = 0;
  std::string listen_addresses_ = "127.0.0.1";
  pid_t pid_ = 0;         // the postmaster, a direct child
  pid_t watchdog_ = 0;
  std::atomic<int> next_db_{0};
};

// A port nobody listens on on 127.0.0.1 right now. Another process may still
// take it before the caller binds it, so callers retry with another one.
absl::StatusOr<int> PickFreePort();

}  // namespace quarry::pg

#endif  // QUARRY_SERVICES_COMMON_PG_TESTING_POSTGRES_SERVER_H_
