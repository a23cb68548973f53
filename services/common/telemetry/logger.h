#ifndef QUARRY_SERVICES_COMMON_TELEMETRY_LOGGER_H_
#define QUARRY_SERVICES_COMMON_TELEMETRY_LOGGER_H_

#include <atomic>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace quarry::telemetry {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Extra key/value pairs of one log line, in order: {{"port", "50051"}}.
using LogFields = std::vector<std::pair<std::string, std::string>>;

// One finished RPC, as the server interceptor reports it.
struct RpcLogRecord {
  std::string rpc;       // "/quarry.gateway.v1.SearchService/Search"
  std::string status;    // gRPC status code name, "OK", "NOT_FOUND", ...
  double latency_ms = 0;
  std::string trace_id;  // "" when the RPC was not traced
  std::string message;   // the status message for failed RPCs
};

// Structured logs: one JSON object per line, e.g.
//   {"time":"2024-05-01T12:00:00.123Z","level":"info","service":"gateway",
//    "message":"started","trace_id":"4bf9...","port":"50051"}
// Keys in order: time (RFC 3339, UTC, milliseconds), level, service, then
// rpc/status/latency_ms for RPC lines, message, trace_id (when a span is
// current on the calling thread, or given), then the extra fields. An extra
// field never replaces one of those keys; it is dropped instead.
//
//   Logger logger("gateway");
//   logger.Info("started", {{"port", "50051"}});
//
// Thread-safe: each line is written whole, under a lock, and flushed.
class Logger {
 public:
  // Writes to `out` (not owned; must outlive the logger), std::cerr if null.
  explicit Logger(std::string service, std::ostream* out = nullptr);
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void Log(LogLevel level, absl::string_view message, const LogFields& fields = {});
  void Debug(absl::string_view message, const LogFields& fields = {}) {
    Log(LogLevel::kDebug, message, fields);
  }
  void Info(absl::string_view message, const LogFields& fields = {}) {
    Log(LogLevel::kInfo, message, fields);
  }
  void Warn(absl::string_view message, const LogFields& fields = {}) {
    Log(LogLevel::kWarning, message, fields);
  }
  void Error(absl::string_view message, const LogFields& fields = {}) {
    Log(LogLevel::kError, message, fields);
  }

  // One line for a finished RPC: level info for OK, warn otherwise. Written
  // only while rpc_logging() is on, since it is one line per request.
  void LogRpc(const RpcLogRecord& record);

  // Lines below `level` are discarded. Default kInfo.
  void set_min_level(LogLevel level) { min_level_.store(level); }
  // Per-RPC lines on or off; may be flipped at any time. Default on.
  void set_rpc_logging(bool enabled) { rpc_logging_.store(enabled); }
  bool rpc_logging() const { return rpc_logging_.load(); }

  const std::string& service() const { return service_; }

 private:
  void Write(const std::string& line);

  const std::string service_;
  std::ostream* const out_;
  std::atomic<LogLevel> min_level_{LogLevel::kInfo};
  std::atomic<bool> rpc_logging_{true};
  absl::Mutex mu_;
};

}  // namespace quarry::telemetry

#endif  // QUARRY_SERVICES_COMMON_TELEMETRY_LOGGER_H_
