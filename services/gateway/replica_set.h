#ifndef QUARRY_SERVICES_GATEWAY_REPLICA_SET_H_
#define QUARRY_SERVICES_GATEWAY_REPLICA_SET_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace quarry::gateway {

// The replicas a shard's gRPC target names. Searches go to one replica
// through a load-balanced channel; a read-your-writes wait must reach every
// replica, because the next search may land on any of them.
struct ReplicaTargets {
  // Replicas named in the target itself, one gRPC target each
  // ("ipv4:127.0.0.1:50071"): an "ipv4:" or "ipv6:" list, or one replica
  // (a plain host:port, or a unix: socket). Empty for a dns: target.
  std::vector<std::string> fixed;
  // A dns: target's name and port, looked up at each use: a Kubernetes
  // headless Service answers one address per ready pod, and pods change.
  std::string dns_host;
  std::string dns_port;
};

// Parses one shard target:
//   "ipv4:h:p1,h:p2" (or "ipv6:[a]:p1,[b]:p2")  every listed address;
//   "dns:///name:port" (or "dns://authority/name:port", "dns:name:port")
//                                                every address the name has;
//   "host:port", "unix:path"                     one replica.
// INVALID_ARGUMENT naming the target for anything else (a missing port, an
// empty list, a scheme such as xds: whose replicas cannot be enumerated).
absl::StatusOr<ReplicaTargets> ParseReplicaTargets(absl::string_view target);

// The addresses `host`:`port` resolves to (getaddrinfo), as gRPC targets
// ("ipv4:10.0.0.7:50071", "ipv6:[fd00::7]:50071"), sorted, without
// duplicates. UNAVAILABLE naming the name when it does not resolve.
absl::StatusOr<std::vector<std::string>> ResolveReplicas(const std::string& host,
                                                         const std::string& port);

// One replica: its address for messages ("127.0.0.1:50071") and a channel
// to it alone.
struct Replica {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
};

// Makes a channel to exactly the one replica a gRPC target names.
using ChannelFactory = std::function<std::shared_ptr<grpc::Channel>(const std::string& target)>;

// Every replica of one shard, each with its own channel, kept across calls
// (gRPC 1.51: a new channel per call would reconnect every time).
// Thread-safe.
class ReplicaSet {
 public:
  // `channel_to` must not balance over health: a replica that is still
  // catching up (NOT_SERVING) has to be reachable to be waited for.
  ReplicaSet(ReplicaTargets targets, ChannelFactory channel_to);

  // The replicas now. A dns: name is resolved again at each call; channels
  // of addresses it no longer has are dropped. UNAVAILABLE when the name
  // does not resolve or has no address.
  absl::StatusOr<std::vector<Replica>> Current();

 private:
  const ReplicaTargets targets_;
  const ChannelFactory channel_to_;
  absl::Mutex mu_;
  // By gRPC target.
  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_REPLICA_SET_H_
