#include "tests/testing/netns.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace quarry::testing {
namespace {

// Our namespaces are "qt-<pid>-<n>": the pid tells whether the test that made
// one is still alive.
constexpr char kPrefix[] = "qt-";
constexpr char kGuardMetric[] = "4213";

std::atomic<int> next_sequence{0};

std::string TempPath() {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/netns-cmd-XXXXXX");
  const int fd = mkstemp(path.data());
  if (fd < 0) return "";
  close(fd);
  return path;
}

// Deletes namespaces of test processes that are gone (killed before their
// destructors ran). Best effort.
void DeleteStaleNamespaces(const std::string& ip) {
  auto listed = RunCommand({ip, "netns", "list"});
  if (!listed.ok()) return;
  for (absl::string_view line : absl::StrSplit(*listed, '\n', absl::SkipEmpty())) {
    const std::string name(line.substr(0, line.find(' ')));
    if (!absl::StartsWith(name, kPrefix)) continue;
    std::vector<std::string> parts = absl::StrSplit(name, '-');
    int pid = 0;
    if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &pid) || pid <= 0) continue;
    if (kill(pid, 0) == 0 || errno != ESRCH) continue;
    (void)RunCommand({ip, "netns", "del", name});
  }
}

}  // namespace

std::string IpBinary() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                       absl::Duration timeout) {
  const std::string output_path = TempPath();
  if (output_path.empty()) return absl::InternalError("mkstemp for command output failed");
  auto process = Subprocess::Start(argv, output_path);
  if (!process.ok()) return process.status();
  absl::StatusOr<int> status = (*process)->Wait(timeout);
  std::ifstream in(output_path);
  std::stringstream output;
  output << in.rdbuf();
  std::remove(output_path.c_str());
  const std::string command = absl::StrJoin(argv, " ");
  if (!status.ok()) {
    return absl::DeadlineExceededError(absl::StrCat(command, ": still running after ",
                                                    absl::FormatDuration(timeout)));
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return absl::InternalError(
        absl::StrCat(command, " failed (wait status ", *status, "): ", output.str()));
  }
  return output.str();
}

absl::StatusOr<std::unique_ptr<NetNamespace>> NetNamespace::Create(int subnet) {
  if (subnet < 1 || subnet > 254) {
    return absl::InvalidArgumentError(absl::StrCat("subnet must be in [1, 254], got ", subnet));
  }
  auto ns = std::unique_ptr<NetNamespace>(new NetNamespace());
  if (absl::Status status = ns->Init(subnet); !status.ok()) return status;
  return ns;
}

absl::Status NetNamespace::Init(int subnet) {
  const std::string ip = IpBinary();
  if (ip.empty()) {
    return absl::FailedPreconditionError("no `ip` binary (iproute2) to create a network namespace");
  }
  DeleteStaleNamespaces(ip);

  const int sequence = next_sequence.fetch_add(1);
  name_ = absl::StrCat(kPrefix, getpid(), "-", sequence);
  // Interface names have at most 15 characters: "qt" + pid (<= 7) + 1 + n.
  host_link_ = absl::StrCat("qt", getpid(), "h", sequence);
  inside_link_ = absl::StrCat("qt", getpid(), "i", sequence);

  if (auto added = RunCommand({ip, "netns", "add", name_}); !added.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create a network namespace (needs CAP_NET_ADMIN and a writable /run/netns): ",
        added.status().message()));
  }
  created_ = true;

  // A /30 no interface here uses yet.
  auto addresses = RunCommand({ip, "-4", "-o", "addr", "show"});
  if (!addresses.ok()) return addresses.status();
  auto routes = RunCommand({ip, "-4", "route", "show"});
  if (!routes.ok()) return routes.status();
  const std::string in_use = absl::StrCat(*addresses, "\n", *routes);
  int chosen = 0;
  for (int i = 0; i < 254 && chosen == 0; ++i) {
    const int candidate = (subnet - 1 + i) % 254 + 1;
    if (!absl::StrContains(in_use, absl::StrCat("10.213.", candidate, "."))) {
      chosen = candidate;
    }
  }
  if (chosen == 0) return absl::ResourceExhaustedError("every 10.213.X.0/30 is in use");
  host_address_ = absl::StrCat("10.213.", chosen, ".1");
  inside_address_ = absl::StrCat("10.213.", chosen, ".2");

  subnet_route_ = absl::StrCat("10.213.", chosen, ".0/30");
  // While the link is down its connected route is gone, and traffic to the
  // inside address would follow the default route off this machine. This
  // route (a worse metric than the connected one) keeps it here: unreachable.
  if (auto routed = RunCommand({ip, "route", "add", "unreachable", subnet_route_, "metric",
                                kGuardMetric});
      !routed.ok()) {
    subnet_route_.clear();
    return routed.status();
  }

  const std::vector<std::vector<std::string>> commands = {
      {ip, "link", "add", host_link_, "type", "veth", "peer", "name", inside_link_, "netns",
       name_},
      {ip, "addr", "add", host_address_ + "/30", "dev", host_link_},
      {ip, "link", "set", host_link_, "up"},
      {ip, "-n", name_, "addr", "add", inside_address_ + "/30", "dev", inside_link_},
      {ip, "-n", name_, "link", "set", inside_link_, "up"},
      {ip, "-n", name_, "link", "set", "lo", "up"},
  };
  for (const auto& command : commands) {
    if (auto ran = RunCommand(command); !ran.ok()) return ran.status();
  }
  return absl::OkStatus();
}

NetNamespace::~NetNamespace() {
  if (!created_) return;
  const std::string ip = IpBinary();
  // Deleting one end of a pair deletes both; the namespace itself goes once
  // no process is left in it.
  (void)RunCommand({ip, "link", "del", host_link_});
  (void)RunCommand({ip, "netns", "del", name_});
  // Last, so that nothing still trying the inside address is ever routed out.
  if (!subnet_route_.empty()) {
    (void)RunCommand({ip, "route", "del", "unreachable", subnet_route_, "metric", kGuardMetric});
  }
}

std::vector<std::string> NetNamespace::ExecArgv(const std::vector<std::string>& argv) const {
  std::vector<std::string> full = {IpBinary(), "netns", "exec", name_};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

absl::StatusOr<std::unique_ptr<Subprocess>> NetNamespace::Start(
    const std::vector<std::string>& argv, const std::string& log_path) const {
  return Subprocess::Start(ExecArgv(argv), log_path);
}

absl::Status NetNamespace::SetLinkUp(bool up) {
  auto ran = RunCommand({IpBinary(), "link", "set", host_link_, up ? "up" : "down"});
  return ran.ok() ? absl::OkStatus() : ran.status();
}

}  // namespace quarry::testing
