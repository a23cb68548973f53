#include "services/gateway/listen_loop.h"

#include <memory>

#include "absl/time/time.h"

namespace quarry::gateway {

void ListenUntil(const std::string& conninfo, const std::vector<std::string>& channels,
                 absl::Notification& stop, const std::function<void()>& connected,
                 const std::function<void(std::vector<pg::Notification>&)>& received) {
  std::unique_ptr<pg::Listener> listener;
  while (!stop.HasBeenNotified()) {
    if (listener == nullptr) {
      auto created = pg::Listener::Create(conninfo, channels);
      if (!created.ok()) {
        stop.WaitForNotificationWithTimeout(absl::Seconds(1));
        continue;
      }
      listener = std::move(*created);
      connected();
    }
    auto notifications = listener->WaitForNotification(absl::Milliseconds(500));
    if (!notifications.ok()) {
      listener.reset();
      continue;
    }
    if (!notifications->empty()) received(*notifications);
  }
}

}  // namespace quarry::gateway
