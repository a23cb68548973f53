#include "services/gateway/api/job_kind_service.h"

#include "services/common/status/macros.h"
#include "services/gateway/api/convert.h"
#include "services/gateway/page_token.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {

grpc::Status JobKindServiceImpl::CreateJobKind(grpc::ServerContext* context,
                                               const v1::CreateJobKindRequest* request,
                                               v1::CreateJobKindResponse* response) {
  return admit_.Run(*context, Scope::kAdmin, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto wanted, FromProto(request->kind(), "kind"));
    QUARRY_ASSIGN_OR_RETURN(auto kind, kinds_.Create(caller.tenant_id, wanted));
    ToProto(kind, response->mutable_kind());
    return absl::OkStatus();
  });
}

grpc::Status JobKindServiceImpl::GetJobKind(grpc::ServerContext* context,
                                            const v1::GetJobKindRequest* request,
                                            v1::GetJobKindResponse* response) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto kind, kinds_.Get(caller.tenant_id, request->name()));
    ToProto(kind, response->mutable_kind());
    return absl::OkStatus();
  });
}

grpc::Status JobKindServiceImpl::ListJobKinds(grpc::ServerContext* context,
                                              const v1::ListJobKindsRequest* request,
                                              v1::ListJobKindsResponse* response) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto size, PageSize("page", request->page()));
    QUARRY_ASSIGN_OR_RETURN(
        auto after, DecodePageToken("page.page_token", "job_kinds", request->page().page_token()));
    QUARRY_ASSIGN_OR_RETURN(auto page, kinds_.List(caller.tenant_id, after, size));
    for (const auto& kind : page.kinds) ToProto(kind, response->add_kinds());
    if (page.next_after.has_value()) {
      response->mutable_page()->set_next_page_token(EncodePageToken("job_kinds", *page.next_after));
    }
    return absl::OkStatus();
  });
}

grpc::Status JobKindServiceImpl::UpdateJobKind(grpc::ServerContext* context,
                                               const v1::UpdateJobKindRequest* request,
                                               v1::UpdateJobKindResponse* response) {
  return admit_.Run(*context, Scope::kAdmin, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto wanted, FromProto(request->kind(), "kind"));
    QUARRY_ASSIGN_OR_RETURN(auto kind, kinds_.Update(caller.tenant_id, wanted));
    ToProto(kind, response->mutable_kind());
    return absl::OkStatus();
  });
}

grpc::Status JobKindServiceImpl::DeleteJobKind(grpc::ServerContext* context,
                                               const v1::DeleteJobKindRequest* request,
                                               v1::DeleteJobKindResponse*) {
  return admit_.Run(*context, Scope::kAdmin, [&](const Principal& caller) -> absl::Status {
    return kinds_.Delete(caller.tenant_id, request->name());
  });
}

}  // namespace quarry::gateway
