#include "services/common/telemetry/logger.h"

#include <iostream>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/common/telemetry/trace_context.h"

namespace quarry::telemetry {
namespace {

using Json = nlohmann::ordered_json;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

Json Header(LogLevel level, const std::string& service) {
  Json line;
  line["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  line["level"] = LevelName(level);
  line["service"] = service;
  return line;
}

void AddFields(Json& line, const LogFields& fields) {
  for (const auto& [key, value] : fields) {
    if (!line.contains(key)) line[key] = value;
  }
}

std::string Dump(const Json& line) {
  // Messages may quote request data with invalid UTF-8: replace, never throw.
  // dump() escapes control characters, so a line never contains '\n'.
  return line.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

Logger::Logger(std::string service, std::ostream* out)
    : service_(std::move(service)), out_(out != nullptr ? out : &std::cerr) {}

void Logger::Log(LogLevel level, absl::string_view message, const LogFields& fields) {
  if (level < min_level_.load()) return;
  Json line = Header(level, service_);
  line["message"] = std::string(message);
  if (std::string trace_id = CurrentTraceId(); !trace_id.empty()) line["trace_id"] = trace_id;
  AddFields(line, fields);
  Write(Dump(line));
}

void Logger::LogRpc(const RpcLogRecord& record) {
  if (!rpc_logging()) return;
  const LogLevel level = record.status == "OK" ? LogLevel::kInfo : LogLevel::kWarning;
  if (level < min_level_.load()) return;
  Json line = Header(level, service_);
  line["rpc"] = record.rpc;
  line["status"] = record.status;
  line["latency_ms"] = record.latency_ms;
  if (!record.message.empty()) line["message"] = record.message;
  if (!record.trace_id.empty()) line["trace_id"] = record.trace_id;
  Write(Dump(line));
}

void Logger::Write(const std::string& line) {
  absl::MutexLock lock(&mu_);
  *out_ << line << '\n';
  out_->flush();
}

}  // namespace quarry::telemetry
