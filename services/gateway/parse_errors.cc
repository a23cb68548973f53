#include "services/gateway/parse_errors.h"

#include <deque>
#include <utility>

#include "absl/base/call_once.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/stubs/logging.h"

namespace quarry::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// The field named by the last UTF-8 parse error on this thread.
thread_local std::string last_utf8_error_field;

google::protobuf::LogHandler* previous_log_handler = nullptr;

void CaptureUtf8Errors(google::protobuf::LogLevel level, const char* filename, int line,
                       const std::string& message) {
  std::string field = Utf8ErrorField(message);
  if (!field.empty()) {
    // A client's mistake, answered as INVALID_ARGUMENT: not worth a server log line.
    last_utf8_error_field = std::move(field);
    return;
  }
  if (previous_log_handler != nullptr) previous_log_handler(level, filename, line, message);
}

void InstallLogHandler() {
  static absl::once_flag once;
  absl::call_once(once, [] { previous_log_handler = google::protobuf::SetLogHandler(&CaptureUtf8Errors); });
}

class ParseErrorInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit ParseErrorInterceptor(grpc::experimental::ServerRpcInfo* info) : info_(info) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      if (methods->GetRecvMessage() == nullptr) {
        failed_ = true;
        field_ = std::move(last_utf8_error_field);
      }
      last_utf8_error_field.clear();
    }
    if (failed_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        methods->GetSendStatus().error_code() == grpc::StatusCode::INTERNAL) {
      methods->ModifySendStatus(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, Message()));
    }
    methods->Proceed();
  }

 private:
  std::string Message() const {
    // "/quarry.gateway.v1.SearchService/Search" -> the method's descriptor.
    std::string method = absl::StrReplaceAll(absl::string_view(info_->method()).substr(1),
                                             {{"/", "."}});
    const auto* pool = google::protobuf::DescriptorPool::generated_pool();
    const google::protobuf::MethodDescriptor* rpc = pool->FindMethodByName(method);
    const Descriptor* request = rpc == nullptr ? nullptr : rpc->input_type();
    if (!field_.empty()) {
      const FieldDescriptor* field = pool->FindFieldByName(field_);
      std::string path =
          request != nullptr && field != nullptr ? FieldPath(*request, *field) : std::string();
      return absl::StrCat(path.empty() ? field_ : path,
                          ": must be valid UTF-8 (the request could not be parsed)");
    }
    return absl::StrCat("request: is not a valid ",
                        request != nullptr ? request->full_name() : std::string("request message"),
                        " (malformed protobuf)");
  }

  grpc::experimental::ServerRpcInfo* info_;
  bool failed_ = false;
  std::string field_;
};

class ParseErrorInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  ParseErrorInterceptorFactory() { InstallLogHandler(); }
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new ParseErrorInterceptor(info);
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewParseErrorInterceptorFactory() {
  return std::make_unique<ParseErrorInterceptorFactory>();
}

std::string Utf8ErrorField(absl::string_view message) {
  // protobuf 3.21: "String field '<full name>' contains invalid UTF-8 data
  // when parsing a protocol buffer. ..."
  constexpr absl::string_view kPrefix = "String field '";
  const size_t start = message.find(kPrefix);
  if (start == absl::string_view::npos) return "";
  const size_t name_start = start + kPrefix.size();
  const size_t name_end = message.find('\'', name_start);
  if (name_end == absl::string_view::npos) return "";
  const absl::string_view rest = message.substr(name_end);
  if (rest.find("invalid UTF-8") == absl::string_view::npos ||
      rest.find("when parsing") == absl::string_view::npos) {
    return "";
  }
  return std::string(message.substr(name_start, name_end - name_start));
}

std::string FieldPath(const Descriptor& root, const FieldDescriptor& field) {
  // Breadth first: the shortest path wins when a type is reachable twice.
  std::deque<std::pair<const Descriptor*, std::string>> queue = {{&root, ""}};
  absl::flat_hash_set<const Descriptor*> seen = {&root};
  while (!queue.empty()) {
    auto [type, prefix] = queue.front();
    queue.pop_front();
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* f = type->field(i);
      if (f == &field) return absl::StrCat(prefix, f->name());
      if (f->type() != FieldDescriptor::TYPE_MESSAGE) continue;
      const Descriptor* child = f->message_type();
      if (f->is_map()) {
        if (field.containing_type() == child) {
          return absl::StrCat(prefix, f->name(), field.number() == 1 ? " key" : " value");
        }
        continue;
      }
      if (!seen.insert(child).second) continue;
      queue.emplace_back(child, absl::StrCat(prefix, f->name(), f->is_repeated() ? "[]" : "", "."));
    }
  }
  return "";
}

}  // namespace quarry::gateway
