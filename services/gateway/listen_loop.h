#ifndef QUARRY_SERVICES_GATEWAY_LISTEN_LOOP_H_
#define QUARRY_SERVICES_GATEWAY_LISTEN_LOOP_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "services/common/pg/listener.h"

namespace quarry::gateway {

// The body of a gateway thread that owns one LISTEN connection: until
// `stop`, (re)connects on `channels` (retrying every second while PostgreSQL
// is away), calls `connected` after each connect (what was sent meanwhile was
// lost), and hands every non-empty batch of notifications to `received`.
void ListenUntil(const std::string& conninfo, const std::vector<std::string>& channels,
                 absl::Notification& stop, const std::function<void()>& connected,
                 const std::function<void(std::vector<pg::Notification>&)>& received);

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_LISTEN_LOOP_H_
