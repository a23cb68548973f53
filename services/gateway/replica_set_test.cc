#include "services/gateway/replica_set.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quarry::gateway {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Fixed(const std::string& target) {
  auto parsed = ParseReplicaTargets(target);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return {};
  EXPECT_TRUE(parsed->dns_host.empty());
  return parsed->fixed;
}

// Parsed and resolved only, never connected to: documentation addresses
// (192.0.2.0/24, 2001:db8::/32). Channels that are made point at loopback.
TEST(ParseReplicaTargetsTest, AnIpListNamesOneReplicaPerAddress) {
  EXPECT_THAT(Fixed("ipv4:192.0.2.1:7001,192.0.2.2:7002"),
              ElementsAre("ipv4:192.0.2.1:7001", "ipv4:192.0.2.2:7002"));
  EXPECT_THAT(Fixed(" ipv4:10.0.0.1:1 , 10.0.0.2:2 "),
              ElementsAre("ipv4:10.0.0.1:1", "ipv4:10.0.0.2:2"));
  EXPECT_THAT(Fixed("ipv6:[2001:db8::1]:7001,[fd00::2]:50072"),
              ElementsAre("ipv6:[2001:db8::1]:7001", "ipv6:[fd00::2]:50072"));
}

TEST(ParseReplicaTargetsTest, APlainHostPortOrSocketIsOneReplica) {
  EXPECT_THAT(Fixed("192.0.2.1:7001"), ElementsAre("192.0.2.1:7001"));
  EXPECT_THAT(Fixed("vector-search-0:50071"), ElementsAre("vector-search-0:50071"));
  EXPECT_THAT(Fixed("[2001:db8::1]:7001"), ElementsAre("[2001:db8::1]:7001"));
  EXPECT_THAT(Fixed("unix:/run/quarry/shard0.sock"), ElementsAre("unix:/run/quarry/shard0.sock"));
}

TEST(ParseReplicaTargetsTest, ADnsNameIsLookedUpLater) {
  for (const char* target : {"dns:///vector-search-0.quarry.svc:50071",
                             "dns://10.96.0.10:53/vector-search-0.quarry.svc:50071",
                             "dns:vector-search-0.quarry.svc:50071"}) {
    auto parsed = ParseReplicaTargets(target);
    ASSERT_TRUE(parsed.ok()) << target << ": " << parsed.status();
    EXPECT_TRUE(parsed->fixed.empty()) << target;
    EXPECT_EQ(parsed->dns_host, "vector-search-0.quarry.svc") << target;
    EXPECT_EQ(parsed->dns_port, "50071") << target;
  }
}

TEST(ParseReplicaTargetsTest, WhatCannotBeEnumeratedIsRejectedNamingTheTarget) {
  for (const char* target : {"", "ipv4:", "ipv4:127.0.0.1", "ipv4:127.0.0.1:0",
                             "ipv4:127.0.0.1:70000", "ipv4:192.0.2.1:7001,nope",
                             "dns:///vector-search", "dns://10.96.0.10:53", "vector-search",
                             "xds:///shard0", "::1:50071", "host:port"}) {
    auto parsed = ParseReplicaTargets(target);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << target;
    if (*target != '\0') {
      EXPECT_NE(parsed.status().message().find(target), std::string::npos) << parsed.status();
    }
  }
}

TEST(ResolveReplicasTest, ANumericNameResolvesToItself) {
  auto v4 = ResolveReplicas("192.0.2.1", "7001");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_THAT(*v4, ElementsAre("ipv4:192.0.2.1:7001"));
  auto v6 = ResolveReplicas("2001:db8::1", "7001");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_THAT(*v6, ElementsAre("ipv6:[2001:db8::1]:7001"));
}

TEST(ResolveReplicasTest, AnUnknownNameIsUnavailableNamingIt) {
  // .invalid never resolves (RFC 2606).
  auto none = ResolveReplicas("no-such-replica.invalid", "50071");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(none.status().message().find("no-such-replica.invalid:50071"), std::string::npos)
      << none.status();
}

TEST(ReplicaSetTest, KeepsOneChannelPerReplicaAcrossCalls) {
  std::vector<std::string> made;
  ReplicaSet set(*ParseReplicaTargets("ipv4:127.0.0.1:1,127.0.0.1:2"),
                 [&made](const std::string& target) {
                   made.push_back(target);
                   return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
                 });
  auto first = set.Current();
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = set.Current();
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(first->size(), 2u);
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ((*first)[0].address, "127.0.0.1:1");
  EXPECT_EQ((*first)[1].address, "127.0.0.1:2");
  EXPECT_EQ((*first)[0].channel, (*second)[0].channel);
  EXPECT_EQ((*first)[1].channel, (*second)[1].channel);
  EXPECT_THAT(made, ElementsAre("ipv4:127.0.0.1:1", "ipv4:127.0.0.1:2"));
}

TEST(ReplicaSetTest, ADnsNameIsResolvedAtEachCall) {
  int made = 0;
  ReplicaSet set(*ParseReplicaTargets("dns:///127.0.0.1:1"), [&made](const std::string& target) {
    ++made;
    return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  });
  for (int i = 0; i < 3; ++i) {
    auto replicas = set.Current();
    ASSERT_TRUE(replicas.ok()) << replicas.status();
    ASSERT_EQ(replicas->size(), 1u);
    EXPECT_EQ((*replicas)[0].address, "127.0.0.1:1");
  }
  EXPECT_EQ(made, 1);
  ReplicaSet unknown(*ParseReplicaTargets("dns:///no-such-replica.invalid:50071"),
                     [](const std::string& target) {
                       return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
                     });
  EXPECT_EQ(unknown.Current().status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace quarry::gateway
