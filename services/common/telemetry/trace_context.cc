#include "services/common/telemetry/trace_context.h"

#include <cstdint>
#include <utility>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace quarry::telemetry {
namespace {

thread_local std::optional<SpanContext> current_span_context;

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsAllZero(absl::string_view s) { return s.find_first_not_of('0') == absl::string_view::npos; }

int HexDigit(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

std::string RandomHex(int bytes) {
  // One generator per thread: absl::BitGen is not thread-safe and seeding it
  // per call would be slow on the request path.
  thread_local absl::BitGen gen;
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  do {
    out.clear();
    for (int i = 0; i < bytes; ++i) {
      const auto byte = absl::Uniform<uint8_t>(gen);
      out.push_back(kDigits[byte >> 4]);
      out.push_back(kDigits[byte & 0xf]);
    }
  } while (IsAllZero(out));
  return out;
}

absl::Status Invalid(absl::string_view value, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid traceparent \"", value, "\": ", why));
}

}  // namespace

absl::StatusOr<SpanContext> ParseTraceparent(absl::string_view value) {
  // "vv-" + 32 + "-" + 16 + "-" + "ff"
  constexpr size_t kLength = 55;
  if (value.size() < kLength) return Invalid(value, "too short");
  const absl::string_view version = value.substr(0, 2);
  if (!IsLowerHex(version)) return Invalid(value, "version is not lowercase hex");
  if (version == "ff") return Invalid(value, "version ff is forbidden");
  if (version == "00" && value.size() != kLength) return Invalid(value, "wrong length");
  if (value.size() > kLength && value[kLength] != '-') return Invalid(value, "wrong length");
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') {
    return Invalid(value, "fields must be separated by '-'");
  }
  const absl::string_view trace_id = value.substr(3, 32);
  const absl::string_view span_id = value.substr(36, 16);
  const absl::string_view flags = value.substr(53, 2);
  if (!IsLowerHex(trace_id)) return Invalid(value, "trace id is not lowercase hex");
  if (!IsLowerHex(span_id)) return Invalid(value, "parent id is not lowercase hex");
  if (!IsLowerHex(flags)) return Invalid(value, "flags are not lowercase hex");
  if (IsAllZero(trace_id)) return Invalid(value, "trace id is all zero");
  if (IsAllZero(span_id)) return Invalid(value, "parent id is all zero");
  SpanContext context;
  context.trace_id = std::string(trace_id);
  context.span_id = std::string(span_id);
  context.sampled = (HexDigit(flags[1]) & 1) != 0;
  return context;
}

std::string FormatTraceparent(const SpanContext& context) {
  return absl::StrCat("00-", context.trace_id, "-", context.span_id, "-",
                      context.sampled ? "01" : "00");
}

std::string NewTraceId() { return RandomHex(16); }
std::string NewSpanId() { return RandomHex(8); }

std::optional<SpanContext> CurrentSpanContext() { return current_span_context; }

std::string CurrentTraceparent() {
  std::optional<SpanContext> current = CurrentSpanContext();
  return current.has_value() ? FormatTraceparent(*current) : "";
}

std::string CurrentTraceId() {
  return current_span_context.has_value() ? current_span_context->trace_id : std::string();
}

std::optional<SpanContext> ExchangeCurrentSpanContext(std::optional<SpanContext> context) {
  return std::exchange(current_span_context, std::move(context));
}

ScopedSpanContext::ScopedSpanContext(std::optional<SpanContext> context)
    : previous_(ExchangeCurrentSpanContext(std::move(context))) {}

ScopedSpanContext::~ScopedSpanContext() { ExchangeCurrentSpanContext(std::move(previous_)); }

}  // namespace quarry::telemetry
