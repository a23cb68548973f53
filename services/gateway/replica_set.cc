#include "services/gateway/replica_set.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/status/macros.h"

namespace quarry::gateway {
namespace {

constexpr absl::string_view kIpv4 = "ipv4:";
constexpr absl::string_view kIpv6 = "ipv6:";

// "host:port" or "[v6]:port" with a numeric port in [1, 65535].
bool SplitHostPort(absl::string_view text, std::string* host, std::string* port) {
  absl::string_view h, p;
  if (absl::StartsWith(text, "[")) {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos || text.substr(close + 1, 1) != ":") return false;
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos) return false;
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (absl::StrContains(h, ':')) return false;  // an IPv6 address needs brackets
  }
  int number = 0;
  if (h.empty() || p.empty() || !std::all_of(p.begin(), p.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(p, &number) || number < 1 || number > 65535) {
    return false;
  }
  *host = std::string(h);
  *port = std::string(p);
  return true;
}

// The address in a message: the target without its ipv4:/ipv6: scheme.
std::string AddressOf(absl::string_view target) {
  if (!absl::ConsumePrefix(&target, kIpv4)) absl::ConsumePrefix(&target, kIpv6);
  return std::string(target);
}

}  // namespace

absl::StatusOr<ReplicaTargets> ParseReplicaTargets(absl::string_view target) {
  target = absl::StripAsciiWhitespace(target);
  auto invalid = [target](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("shard target \"", target, "\": ", why));
  };
  if (target.empty()) return absl::InvalidArgumentError("shard target is empty");
  ReplicaTargets replicas;
  std::string host, port;
  absl::string_view rest = target;
  if (absl::StartsWith(rest, kIpv4) || absl::StartsWith(rest, kIpv6)) {
    const absl::string_view scheme = rest.substr(0, kIpv4.size());
    rest.remove_prefix(scheme.size());
    for (absl::string_view entry : absl::StrSplit(rest, ',', absl::SkipWhitespace())) {
      entry = absl::StripAsciiWhitespace(entry);
      if (!SplitHostPort(entry, &host, &port)) {
        return invalid(absl::StrCat("\"", entry, "\" is not address:port"));
      }
      replicas.fixed.push_back(absl::StrCat(scheme, entry));
    }
    if (replicas.fixed.empty()) return invalid("lists no address");
    return replicas;
  }
  if (absl::ConsumePrefix(&rest, "dns:")) {
    if (absl::ConsumePrefix(&rest, "//")) {
      // dns://authority/name:port: the authority is a DNS server; the
      // gateway uses the system resolver, as for dns:///name:port.
      const size_t slash = rest.find('/');
      if (slash == absl::string_view::npos) return invalid("needs dns:///name:port");
      rest.remove_prefix(slash + 1);
    }
    if (!SplitHostPort(rest, &replicas.dns_host, &replicas.dns_port)) {
      return invalid("needs dns:///name:port (a port is required)");
    }
    return replicas;
  }
  if (absl::StartsWith(rest, "unix:") || absl::StartsWith(rest, "unix-abstract:")) {
    replicas.fixed.emplace_back(target);
    return replicas;
  }
  if (SplitHostPort(rest, &host, &port)) {
    replicas.fixed.emplace_back(target);
    return replicas;
  }
  if (const size_t colon = rest.find(':'); colon != absl::string_view::npos && colon > 0) {
    return invalid(absl::StrCat("the replicas of a ", rest.substr(0, colon + 1),
                                " target cannot be listed; use ipv4:, ipv6:, dns:/// or "
                                "host:port"));
  }
  return invalid("is not host:port");
}

absl::StatusOr<std::vector<std::string>> ResolveReplicas(const std::string& host,
                                                         const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int error = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); error != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", host, ":", port, ": ", gai_strerror(error)));
  }
  std::set<std::string> targets;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ai_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      if (inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text)) != nullptr) {
        targets.insert(absl::StrCat(kIpv4, text, ":", port));
      }
    } else if (a->ai_family == AF_INET6) {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      if (inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text)) != nullptr) {
        targets.insert(absl::StrCat(kIpv6, "[", text, "]:", port));
      }
    }
  }
  freeaddrinfo(found);
  if (targets.empty()) {
    return absl::UnavailableError(absl::StrCat(host, ":", port, " resolves to no address"));
  }
  return std::vector<std::string>(targets.begin(), targets.end());
}

ReplicaSet::ReplicaSet(ReplicaTargets targets, ChannelFactory channel_to)
    : targets_(std::move(targets)), channel_to_(std::move(channel_to)) {}

absl::StatusOr<std::vector<Replica>> ReplicaSet::Current() {
  const bool dns = !targets_.dns_host.empty();
  std::vector<std::string> now = targets_.fixed;
  if (dns) {
    QUARRY_ASSIGN_OR_RETURN(now, ResolveReplicas(targets_.dns_host, targets_.dns_port));
  }
  std::vector<Replica> replicas;
  absl::MutexLock lock(&mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> kept;
  for (const std::string& target : now) {
    std::shared_ptr<grpc::Channel>& channel = channels_[target];
    if (channel == nullptr) channel = channel_to_(target);
    kept[target] = channel;
    replicas.push_back({AddressOf(target), channel});
  }
  // Pods come and go behind a name: forget the addresses it no longer has.
  if (dns) channels_ = std::move(kept);
  return replicas;
}

}  // namespace quarry::gateway
