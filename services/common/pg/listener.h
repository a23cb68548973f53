#ifndef QUARRY_SERVICES_COMMON_PG_LISTENER_H_
#define QUARRY_SERVICES_COMMON_PG_LISTENER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace quarry::pg {

struct Notification {
  std::string channel;
  std::string payload;
};

// A dedicated connection that LISTENs on fixed channels (e.g. "jobs_new",
// "documents_changed"). Not thread-safe: one thread waits on it.
//
// NOTIFY is delivered only to connected listeners, so whatever was sent while
// the connection was down is lost: after WaitForNotification returns an error,
// re-read the state you wait on (a notification is a hint to look, never the
// data itself).
class Listener {
 public:
  // Connects and LISTENs on every channel; fails with the mapped error.
  static absl::StatusOr<std::unique_ptr<Listener>> Create(
      std::string conninfo, std::vector<std::string> channels);
  ~Listener();

  // The notifications that arrived, waiting up to `timeout` for the first one:
  // an empty vector means the timeout passed. Returns UNAVAILABLE when the
  // connection broke (or cannot be re-established); the next call reconnects
  // and LISTENs again.
  absl::StatusOr<std::vector<Notification>> WaitForNotification(
      absl::Duration timeout);

 private:
  struct Session;
  Listener(std::string conninfo, std::vector<std::string> channels);
  absl::Status Connect();

  const std::string conninfo_;
  const std::vector<std::string> channels_;
  std::unique_ptr<Session> session_;  // null while disconnected
  std::vector<Notification> received_;
};

}  // namespace quarry::pg

#endif  // QUARRY_SERVICES_COMMON_PG_LISTENER_H_
