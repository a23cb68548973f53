#include "services/common/pg/testing/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <postgresql/libpq-fe.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/common/pg/migrations.h"
#include "services/common/status/macros.h"

namespace quarry::pg {
namespace {

constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin";
constexpr char kTemplateDb[] = "quarry_template";
constexpr int kMaxServers = 16;

// Postmasters to SIGQUIT from the signal handler and atexit; 0 = free slot.
std::atomic<pid_t> g_postmasters[kMaxServers];

void RegisterPostmaster(pid_t pid) {
  for (auto& slot : g_postmasters) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return;
  }
}

void UnregisterPostmaster(pid_t pid) {
  for (auto& slot : g_postmasters) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

// Async-signal-safe: only kill().
void KillAllPostmasters() {
  for (auto& slot : g_postmasters) {
    const pid_t pid = slot.load();
    if (pid > 0) kill(pid, SIGQUIT);
  }
}

void OnFatalSignal(int sig) {
  KillAllPostmasters();
  signal(sig, SIG_DFL);
  raise(sig);
}

void InstallExitHooks() {
  static const bool installed = [] {
    std::atexit(KillAllPostmasters);
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
      struct sigaction action;
      std::memset(&action, 0, sizeof(action));
      action.sa_handler = OnFatalSignal;
      sigaction(sig, &action, nullptr);
    }
    return true;
  }();
  (void)installed;
}

std::string TailOf(const std::string& path, int lines) {
  std::ifstream in(path);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  return absl::StrJoin(tail, "\n");
}

struct ChildSpec {
  std::vector<std::string> argv;
  std::string cwd;
  std::string log_path;  // stdout and stderr are appended here
  bool drop_privileges = false;
  uid_t uid = 0;
  gid_t gid = 0;
  bool die_with_parent = false;
};

// fork + exec. Between the two only async-signal-safe calls (the parent may
// have threads).
absl::StatusOr<pid_t> Spawn(const ChildSpec& spec) {
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int log_fd = open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat("open ", spec.log_path, ": ", strerror(errno)));
  }
  if (spec.drop_privileges && fchown(log_fd, spec.uid, spec.gid) != 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("chown ", spec.log_path, ": ", strerror(errno)));
  }
  const pid_t parent = getpid();
  const bool main_thread = syscall(SYS_gettid) == parent;
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0) _exit(126);
    if (chdir(spec.cwd.c_str()) != 0) _exit(126);
    if (spec.drop_privileges) {
      if (setgroups(0, nullptr) != 0 || setgid(spec.gid) != 0 || setuid(spec.uid) != 0) _exit(126);
    }
    // After setuid: a credential change clears the parent-death signal. It
    // fires when the forking *thread* exits, hence only from the main thread.
    if (spec.die_with_parent && main_thread) {
      prctl(PR_SET_PDEATHSIG, SIGQUIT);
      if (getppid() != parent) _exit(126);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  return pid;
}

// Waits for `pid` up to `timeout`; true if it exited (status in *status).
bool WaitFor(pid_t pid, absl::Duration timeout, int* status) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

}  // namespace

absl::StatusOr<int> PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string err = strerror(errno);
    close(fd);
    return absl::InternalError(absl::StrCat("bind to port 0: ", err));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

absl::StatusOr<std::unique_ptr<PostgresTestServer>> PostgresTestServer::Create() {
  InstallExitHooks();
  std::unique_ptr<PostgresTestServer> server(new PostgresTestServer());
  if (absl::Status s = server->Init(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(s.message(), "\n--- PostgreSQL log tail ---\n",
                                               server->LogTail()));
  }
  return server;
}

absl::Status PostgresTestServer::Init() {
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root but there is no 'postgres' user to run initdb as "
          "(install postgresql-15: scripts/setup.sh)");
    }
    drop_privileges_ = true;
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
  } else {
    uid_ = geteuid();
    gid_ = getegid();
  }
  char tmpl[] = "/tmp/quarry-pg-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", strerror(errno)));
  }
  dir_ = tmpl;
  if (drop_privileges_ && chown(dir_.c_str(), uid_, gid_) != 0) {
    return absl::InternalError(absl::StrCat("chown ", dir_, ": ", strerror(errno)));
  }
  StartWatchdog();

  ChildSpec initdb;
  initdb.argv = {absl::StrCat(kBinDir, "/initdb"), "-D", dir_ + "/data", "-U", "postgres",
                 "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"};
  initdb.cwd = dir_;
  initdb.log_path = dir_ + "/initdb.log";
  initdb.drop_privileges = drop_privileges_;
  initdb.uid = uid_;
  initdb.gid = gid_;
  QUARRY_ASSIGN_OR_RETURN(pid_t pid, Spawn(initdb));
  int status = 0;
  if (!WaitFor(pid, absl::Seconds(50), &status)) {
    kill(pid, SIGKILL);
    WaitFor(pid, absl::Seconds(5), &status);
    return absl::DeadlineExceededError("initdb did not finish within 50s");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("initdb failed (wait status ", status, "): ",
                                            TailOf(dir_ + "/initdb.log", 20)));
  }

  absl::Status started = absl::UnavailableError("no port tried");
  for (int attempt = 0; attempt < 5; ++attempt) {
    QUARRY_ASSIGN_OR_RETURN(int port, PickFreePort());
    bool port_in_use = false;
    started = StartOnPort(port, &port_in_use);
    if (started.ok() || !port_in_use) break;
  }
  QUARRY_RETURN_IF_ERROR(started);

  QUARRY_RETURN_IF_ERROR(Admin(absl::StrCat("CREATE DATABASE ", kTemplateDb)));
  if (absl::Status s = Migrate(ConnInfo(kTemplateDb)); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("migrating the test database: ", s.message()));
  }
  return Admin(absl::StrCat("CREATE DATABASE quarry TEMPLATE ", kTemplateDb));
}

void PostgresTestServer::StartWatchdog() {
  // A shell outside our process group that outlives us: once the test process
  // is gone it stops whatever postmaster the data directory names and deletes
  // the directory. Harmless if the destructor already did both.
  const std::string script = absl::StrCat(
      "while kill -0 ", getpid(), " 2>/dev/null; do sleep 0.5; done; ",
      "f='", dir_, "/data/postmaster.pid'; ",
      "if [ -f \"$f\" ]; then p=$(head -n 1 \"$f\"); kill -QUIT \"$p\" 2>/dev/null; ",
      "i=0; while kill -0 \"$p\" 2>/dev/null && [ $i -lt 20 ]; do sleep 0.5; i=$((i+1)); done; ",
      "kill -KILL \"$p\" 2>/dev/null; fi; rm -rf '", dir_, "'");
  const pid_t pid = fork();
  if (pid == 0) {
    setsid();
    const int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      dup2(null_fd, 0);
      dup2(null_fd, 1);
      dup2(null_fd, 2);
    }
    // Inherited pipes (e.g. Bazel's test output) must not stay open in a
    // process that outlives the test.
    syscall(SYS_close_range, 3, ~0U, 0);
    execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (pid > 0) watchdog_ = pid;
}

absl::Status PostgresTestServer::StartOnPort(int port, bool* port_in_use) {
  *port_in_use = false;
  ChildSpec postgres;
  postgres.argv = {absl::StrCat(kBinDir, "/postgres"),
                   "-D", dir_ + "/data",
                   "-p", absl::StrCat(port),
                   "-k", dir_,
                   "-c", "listen_addresses=" + listen_addresses_,
                   "-c", "fsync=off",
                   "-c", "synchronous_commit=off",
                   "-c", "full_page_writes=off",
                   "-c", "shared_buffers=32MB",
                   "-c", "max_connections=100",
                   "-c", "logging_collector=off"};
  postgres.cwd = dir_;
  postgres.log_path = dir_ + "/postgres.log";
  postgres.drop_privileges = drop_privileges_;
  postgres.uid = uid_;
  postgres.gid = gid_;
  postgres.die_with_parent = true;
  const size_t log_offset = TailOf(postgres.log_path, 1 << 30).size();
  QUARRY_ASSIGN_OR_RETURN(pid_, Spawn(postgres));
  port_ = port;
  RegisterPostmaster(pid_);

  const std::string ping = absl::StrCat(ConnInfo("postgres"), " connect_timeout=2");
  const absl::Time deadline = absl::Now() + absl::Seconds(40);
  while (true) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      UnregisterPostmaster(pid_);
      pid_ = 0;
      const std::string log = TailOf(postgres.log_path, 1 << 30);
      const std::string fresh = log.size() > log_offset ? log.substr(log_offset) : log;
      *port_in_use = absl::StrContains(fresh, "could not bind") ||
                     absl::StrContains(fresh, "Address already in use");
      return absl::UnavailableError(
          absl::StrCat("postgres exited during startup (wait status ", status, ")"));
    }
    if (PQping(ping.c_str()) == PQPING_OK) return absl::OkStatus();
    if (absl::Now() > deadline) {
      Stop().IgnoreError();
      return absl::DeadlineExceededError("postgres did not accept connections within 40s");
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

PostgresTestServer::~PostgresTestServer() {
  Stop().IgnoreError();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  // The watchdog would exit by itself once we are gone; reap it now instead.
  if (watchdog_ > 0) {
    kill(watchdog_, SIGKILL);
    int status = 0;
    waitpid(watchdog_, &status, 0);
  }
}

std::string PostgresTestServer::ConnInfo(const std::string& dbname) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " user=postgres dbname=", dbname);
}

absl::Status PostgresTestServer::Admin(const std::string& sql) {
  try {
    pqxx::connection conn(ConnInfo("postgres"));
    pqxx::nontransaction tx(conn);
    tx.exec(sql);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(sql, ": ", e.what()));
  }
}

absl::StatusOr<std::string> PostgresTestServer::CreateDatabase(bool migrated) {
  const std::string name = absl::StrCat("quarry_test_", next_db_.fetch_add(1));
  QUARRY_RETURN_IF_ERROR(Admin(
      absl::StrCat("CREATE DATABASE ", name, " TEMPLATE ", migrated ? kTemplateDb : "template0")));
  return ConnInfo(name);
}

absl::Status PostgresTestServer::Stop() {
  if (pid_ <= 0) return absl::OkStatus();
  const pid_t pid = pid_;
  kill(pid, SIGINT);  // fast shutdown: roll back and disconnect every session
  int status = 0;
  if (!WaitFor(pid, absl::Seconds(30), &status)) {
    kill(pid, SIGKILL);
    WaitFor(pid, absl::Seconds(5), &status);
  }
  UnregisterPostmaster(pid);
  pid_ = 0;
  return absl::OkStatus();
}

absl::Status PostgresTestServer::Start() {
  if (pid_ > 0) return absl::OkStatus();
  // The port was ours a moment ago; another process may grab it, but a fixed
  // port is the point (clients keep their conninfo), so retry briefly.
  absl::Status status;
  for (int attempt = 0; attempt < 20; ++attempt) {
    bool port_in_use = false;
    status = StartOnPort(port_, &port_in_use);
    if (status.ok() || !port_in_use) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat(status.message(),
                                                    "\n--- PostgreSQL log tail ---\n",
                                                    LogTail()));
  }
  return status;
}

absl::Status PostgresTestServer::ListenAlsoOn(const std::string& address,
                                              const std::string& client_cidr) {
  if (address.empty() || client_cidr.find('/') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("ListenAlsoOn: want an address and a CIDR, got \"", address, "\", \"",
                     client_cidr, "\""));
  }
  std::ofstream hba(dir_ + "/data/pg_hba.conf", std::ios::app);
  hba << "host all all " << client_cidr << " trust\n";
  hba.close();
  if (!hba) return absl::InternalError(absl::StrCat("cannot append to ", dir_, "/data/pg_hba.conf"));
  listen_addresses_ = absl::StrCat(listen_addresses_, ",", address);
  return Restart();
}

absl::Status PostgresTestServer::Restart() {
  QUARRY_RETURN_IF_ERROR(Stop());
  return Start();
}

std::string PostgresTestServer::LogTail(int lines) const {
  if (dir_.empty()) return "(no data directory)";
  return absl::StrCat(TailOf(dir_ + "/initdb.log", lines), "\n",
                      TailOf(dir_ + "/postgres.log", lines));
}

}  // namespace quarry::pg
