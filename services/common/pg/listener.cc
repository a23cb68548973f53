#include "services/common/pg/listener.h"

#include <exception>
#include <utility>

#include <pqxx/connection>
#include <pqxx/notification>

#include "services/common/pg/errors.h"
#include "services/common/status/macros.h"

namespace quarry::pg {
namespace {

// libpqxx delivers notifications to one receiver object per channel.
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::string& channel,
           std::vector<Notification>* sink)
      : pqxx::notification_receiver(conn, channel), sink_(sink) {}
  void operator()(const std::string& payload, int backend_pid) override {
    sink_->push_back(Notification{channel(), payload});
  }

 private:
  std::vector<Notification>* sink_;
};

}  // namespace

// Receivers must die before their connection.
struct Listener::Session {
  std::unique_ptr<pqxx::connection> conn;
  std::vector<std::unique_ptr<Receiver>> receivers;
  ~Session() { receivers.clear(); }
};

Listener::Listener(std::string conninfo, std::vector<std::string> channels)
    : conninfo_(std::move(conninfo)), channels_(std::move(channels)) {}

Listener::~Listener() = default;

absl::StatusOr<std::unique_ptr<Listener>> Listener::Create(
    std::string conninfo, std::vector<std::string> channels) {
  if (channels.empty()) return absl::InvalidArgumentError("no channels to LISTEN on");
  std::unique_ptr<Listener> listener(
      new Listener(std::move(conninfo), std::move(channels)));
  QUARRY_RETURN_IF_ERROR(listener->Connect());
  return listener;
}

absl::Status Listener::Connect() {
  session_.reset();
  try {
    auto session = std::make_unique<Session>();
    session->conn = std::make_unique<pqxx::connection>(conninfo_);
    session->conn->inhibit_reactivation(true);
    for (const std::string& channel : channels_) {
      // Registering the receiver issues LISTEN right away.
      session->receivers.push_back(
          std::make_unique<Receiver>(*session->conn, channel, &received_));
    }
    session_ = std::move(session);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::StatusOr<std::vector<Notification>> Listener::WaitForNotification(
    absl::Duration timeout) {
  if (session_ == nullptr) {
    QUARRY_RETURN_IF_ERROR(Connect());
  }
  const absl::Time deadline = absl::Now() + timeout;
  try {
    session_->conn->get_notifs();
    while (received_.empty()) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      const int64_t micros = absl::ToInt64Microseconds(left);
      // Returns early on any socket activity; the loop re-checks the deadline.
      session_->conn->await_notification(micros / 1000000, micros % 1000000);
      if (!session_->conn->is_open()) {
        session_.reset();
        return absl::UnavailableError("LISTEN connection to PostgreSQL lost");
      }
    }
  } catch (const std::exception& e) {
    session_.reset();
    absl::Status status = StatusFromException(e);
    if (status.code() != absl::StatusCode::kUnavailable) {
      // Whatever broke the wait, the session is gone; report it as such.
      return absl::UnavailableError(status.message());
    }
    return status;
  }
  return std::exchange(received_, {});
}

}  // namespace quarry::pg
