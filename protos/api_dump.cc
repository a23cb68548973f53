#include "protos/api_dump.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "quarry/common/v1/filter.pb.h"
#include "quarry/common/v1/hit.pb.h"
#include "quarry/common/v1/paging.pb.h"
#include "quarry/common/v1/vector.pb.h"
#include "quarry/gateway/v1/admin_service.pb.h"
#include "quarry/gateway/v1/collection_service.pb.h"
#include "quarry/gateway/v1/document_service.pb.h"
#include "quarry/gateway/v1/job_kind_service.pb.h"
#include "quarry/gateway/v1/job_service.pb.h"
#include "quarry/gateway/v1/schedule_service.pb.h"
#include "quarry/gateway/v1/search_service.pb.h"
#include "quarry/gateway/v1/stats_service.pb.h"
#include "quarry/gateway/v1/worker_service.pb.h"

namespace quarry::protos {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;

std::string FieldType(const FieldDescriptor& field) {
  if (field.is_map()) {
    return absl::StrCat("map<", FieldType(*field.message_type()->map_key()), ", ",
                        FieldType(*field.message_type()->map_value()), ">");
  }
  switch (field.type()) {
    case FieldDescriptor::TYPE_MESSAGE:
      return field.message_type()->full_name();
    case FieldDescriptor::TYPE_ENUM:
      return field.enum_type()->full_name();
    default:
      return field.type_name();
  }
}

std::string FieldLabel(const FieldDescriptor& field) {
  if (field.is_map()) return "";
  if (field.is_repeated()) return "repeated ";
  if (field.has_optional_keyword()) return "optional ";
  if (field.real_containing_oneof() != nullptr) {
    return absl::StrCat("oneof ", field.real_containing_oneof()->name(), " ");
  }
  return "";
}

void DumpEnum(const EnumDescriptor& e, std::vector<std::string>& out) {
  for (int i = 0; i < e.value_count(); ++i) {
    out.push_back(absl::StrCat("enum ", e.full_name(), ".", e.value(i)->name(),
                               " = ", e.value(i)->number()));
  }
}

void DumpMessage(const Descriptor& m, std::vector<std::string>& out) {
  if (m.options().map_entry()) return;  // Covered by the map field's type.
  for (int i = 0; i < m.field_count(); ++i) {
    const FieldDescriptor& f = *m.field(i);
    out.push_back(absl::StrCat("field ", m.full_name(), ".", f.name(), " = ",
                               f.number(), " ", FieldLabel(f), FieldType(f)));
  }
  for (int i = 0; i < m.nested_type_count(); ++i) DumpMessage(*m.nested_type(i), out);
  for (int i = 0; i < m.enum_type_count(); ++i) DumpEnum(*m.enum_type(i), out);
}

void DumpFile(const FileDescriptor& file, std::vector<std::string>& out) {
  for (int i = 0; i < file.message_type_count(); ++i) DumpMessage(*file.message_type(i), out);
  for (int i = 0; i < file.enum_type_count(); ++i) DumpEnum(*file.enum_type(i), out);
  for (int i = 0; i < file.service_count(); ++i) {
    const auto& service = *file.service(i);
    for (int j = 0; j < service.method_count(); ++j) {
      const auto& method = *service.method(j);
      out.push_back(absl::StrCat(
          "rpc ", service.full_name(), ".", method.name(), "(",
          method.client_streaming() ? "stream " : "", method.input_type()->full_name(),
          ") returns (", method.server_streaming() ? "stream " : "",
          method.output_type()->full_name(), ")"));
    }
  }
}

}  // namespace

std::vector<std::string> DumpPublicApi() {
  // One message per file: referencing it links the file's descriptor in.
  const FileDescriptor* files[] = {
      quarry::common::v1::Filter::descriptor()->file(),
      quarry::common::v1::Hit::descriptor()->file(),
      quarry::common::v1::PageRequest::descriptor()->file(),
      quarry::common::v1::Vector::descriptor()->file(),
      quarry::gateway::v1::ApiKey::descriptor()->file(),
      quarry::gateway::v1::Collection::descriptor()->file(),
      quarry::gateway::v1::Document::descriptor()->file(),
      quarry::gateway::v1::Job::descriptor()->file(),
      quarry::gateway::v1::JobKind::descriptor()->file(),
      quarry::gateway::v1::JobLease::descriptor()->file(),
      quarry::gateway::v1::Schedule::descriptor()->file(),
      quarry::gateway::v1::SearchRequest::descriptor()->file(),
      quarry::gateway::v1::JobKindStats::descriptor()->file(),
  };
  std::vector<std::string> out;
  for (const FileDescriptor* file : files) DumpFile(*file, out);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace quarry::protos
