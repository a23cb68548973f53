#ifndef QUARRY_TESTS_TESTING_NETNS_H_
#define QUARRY_TESTS_TESTING_NETNS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/subprocess.h"

namespace quarry::testing {

// A network namespace joined to the host by one veth pair, for fault tests
// that cut a link: a process started inside is reachable from the host only
// through the pair, so setting the link down partitions it from everything
// else (both directions) while both sides keep running.
//
// Addresses come from 10.213.<subnet>.0/30: the host end is .1, the inside end
// .2. An "unreachable" route for the /30 makes sure that, with the link down,
// nothing addressed to the inside end leaves the machine by the default route. Needs CAP_NET_ADMIN (root) and the `ip` tool; Create() returns
// FAILED_PRECONDITION with the reason when either is missing (the tests fail
// on it: CI runs as root with iproute2).
//
// The destructor deletes the pair and the namespace. Processes started inside
// should be stopped first: a namespace lives on while a process is in it.
class NetNamespace {
 public:
  // `subnet` in [1, 254] is a preference: the first /30 from it on that no
  // interface of this host already uses is taken (tests running at once on
  // one machine must not share a subnet). Namespaces left behind by a test
  // process that no longer exists are deleted first.
  static absl::StatusOr<std::unique_ptr<NetNamespace>> Create(int subnet);
  ~NetNamespace();

  NetNamespace(const NetNamespace&) = delete;
  NetNamespace& operator=(const NetNamespace&) = delete;

  const std::string& name() const { return name_; }
  // The host end's address (reachable from inside) and the inside end's
  // (reachable from the host), without prefix length.
  const std::string& host_address() const { return host_address_; }
  const std::string& inside_address() const { return inside_address_; }
  const std::string& host_link() const { return host_link_; }

  // `argv` run inside the namespace: "ip netns exec <name> argv...". `ip`
  // execs the program in place, so the pid is the program's own.
  std::vector<std::string> ExecArgv(const std::vector<std::string>& argv) const;
  // Starts `argv` inside the namespace (see Subprocess::Start).
  absl::StatusOr<std::unique_ptr<Subprocess>> Start(const std::vector<std::string>& argv,
                                                    const std::string& log_path) const;

  // Sets the host end of the pair down (the partition: packets are dropped in
  // both directions, open connections hang rather than reset) or up again.
  absl::Status SetLinkUp(bool up);

 private:
  NetNamespace() = default;
  absl::Status Init(int subnet);

  std::string name_;
  std::string host_link_;
  std::string inside_link_;
  std::string host_address_;
  std::string inside_address_;
  std::string subnet_route_;  // "10.213.X.0/30" once its guard route exists
  bool created_ = false;
};

// Runs `argv` to completion within `timeout` and returns what it printed
// (stdout and stderr); INTERNAL with that output when it exits non-zero.
absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                       absl::Duration timeout = absl::Seconds(10));

// The `ip` binary (absolute: Bazel's strict test PATH has no sbin), or empty.
std::string IpBinary();

}  // namespace quarry::testing

#endif  // QUARRY_TESTS_TESTING_NETNS_H_
