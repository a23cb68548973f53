#include "tests/testing/netns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace quarry::testing {
namespace {

// A listening TCP socket on `address`, port chosen by the kernel.
struct Listener {
  int fd = -1;
  int port = 0;
  ~Listener() {
    if (fd >= 0) close(fd);
  }
};

void Listen(const std::string& address, Listener& listener) {
  listener.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_GE(listener.fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ASSERT_EQ(inet_pton(AF_INET, address.c_str(), &addr.sin_addr), 1);
  ASSERT_EQ(bind(listener.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener.fd, 4), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(listener.fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  listener.port = ntohs(addr.sin_port);
}

// Connects from inside `ns` to host:port with bash's /dev/tcp, 3 s at most.
bool ConnectFromInside(const NetNamespace& ns, const std::string& host, int port) {
  auto ran = RunCommand(ns.ExecArgv({"/usr/bin/timeout", "3", "/bin/bash", "-c",
                                     absl::StrCat("echo hi > /dev/tcp/", host, "/", port)}),
                        absl::Seconds(10));
  return ran.ok();
}

TEST(NetNamespaceTest, LinksTheNamespaceToTheHostAndCutsTheLink) {
  auto ns = NetNamespace::Create(250);
  ASSERT_TRUE(ns.ok()) << ns.status();  // CI runs as root with iproute2: no skip.
  EXPECT_TRUE(absl::StartsWith((*ns)->host_address(), "10.213."));

  // Inside: loopback and the inside end, nothing of the host's.
  auto addresses = RunCommand((*ns)->ExecArgv({IpBinary(), "-4", "-o", "addr", "show"}));
  ASSERT_TRUE(addresses.ok()) << addresses.status();
  EXPECT_TRUE(absl::StrContains(*addresses, (*ns)->inside_address() + "/30")) << *addresses;
  EXPECT_TRUE(absl::StrContains(*addresses, "127.0.0.1/8")) << *addresses;
  EXPECT_FALSE(absl::StrContains(*addresses, (*ns)->host_address())) << *addresses;

  Listener listener;
  Listen((*ns)->host_address(), listener);
  ASSERT_GT(listener.port, 0);
  EXPECT_TRUE(ConnectFromInside(**ns, (*ns)->host_address(), listener.port));
  // The host's loopback is not the namespace's.
  EXPECT_FALSE(ConnectFromInside(**ns, "127.0.0.1", listener.port));

  ASSERT_TRUE((*ns)->SetLinkUp(false).ok());
  EXPECT_FALSE(ConnectFromInside(**ns, (*ns)->host_address(), listener.port));
  ASSERT_TRUE((*ns)->SetLinkUp(true).ok());
  // The inside end needs a moment to see the carrier again.
  bool reconnected = false;
  for (int i = 0; i < 50 && !reconnected; ++i) {
    reconnected = ConnectFromInside(**ns, (*ns)->host_address(), listener.port);
    if (!reconnected) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(reconnected);

  const std::string name = (*ns)->name();
  ns->reset();
  auto listed = RunCommand({IpBinary(), "netns", "list"});
  ASSERT_TRUE(listed.ok());
  EXPECT_FALSE(absl::StrContains(*listed, name)) << *listed;
}

}  // namespace
}  // namespace quarry::testing
