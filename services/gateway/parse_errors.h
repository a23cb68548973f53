#ifndef QUARRY_SERVICES_GATEWAY_PARSE_ERRORS_H_
#define QUARRY_SERVICES_GATEWAY_PARSE_ERRORS_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/server_interceptor.h"

namespace quarry::gateway {

// Requests the server cannot even parse. proto3 `string` fields must hold
// valid UTF-8, and protobuf's C++ parser rejects a message that breaks this
// before any handler runs; gRPC then answers INTERNAL with an empty message,
// which blames the server and names nothing. This interceptor turns such a
// failure into INVALID_ARGUMENT naming the field's path in the request, e.g.
//   "documents[].text: must be valid UTF-8 (the request could not be parsed)"
// (the element index is not known at that point), or, when the failure is not
// a UTF-8 one, "request: is not a valid quarry.gateway.v1.SearchRequest".
//
// It must run before interceptors that record the status (metrics, logs), so
// they record INVALID_ARGUMENT. It relies on the synchronous server parsing a
// request on the thread that then runs the interceptors, and on protobuf's
// log line naming the field; creating the factory installs a protobuf log
// handler for that (other log lines are passed on unchanged).
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewParseErrorInterceptorFactory();

// The path of `field` inside messages of type `root`: repeated message fields
// get "[]", a map's key and value read "<map> key" and "<map> value", e.g.
// "documents[].metadata key". Empty when `field` is not reachable from `root`.
std::string FieldPath(const google::protobuf::Descriptor& root,
                      const google::protobuf::FieldDescriptor& field);

// The field full name in a protobuf "invalid UTF-8 when parsing" log message,
// or empty when `message` is not one.
std::string Utf8ErrorField(absl::string_view message);

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_PARSE_ERRORS_H_
