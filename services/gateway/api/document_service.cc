#include "services/gateway/api/document_service.h"

#include "services/common/status/macros.h"
#include "services/gateway/api/convert.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {

grpc::Status DocumentServiceImpl::UpsertDocuments(grpc::ServerContext* context,
                                                  const v1::UpsertDocumentsRequest* request,
                                                  v1::UpsertDocumentsResponse* response) {
  return admit_.Run(*context, Scope::kWrite, [&](const Principal& caller) -> absl::Status {
    // Validated by Ingest::Upsert, which also checks vectors against the
    // collection's dimension.
    QUARRY_ASSIGN_OR_RETURN(auto upserted,
                            ingest_.Upsert(caller.tenant_id, *request, admit_.Deadline(*context)));
    ToProto(upserted.job, response->mutable_job());
    response->set_inserted(upserted.result.inserted);
    response->set_updated(upserted.result.updated);
    response->set_unchanged(upserted.result.unchanged);
    response->set_sequence(upserted.sequence);
    return absl::OkStatus();
  });
}

grpc::Status DocumentServiceImpl::GetDocuments(grpc::ServerContext* context,
                                               const v1::GetDocumentsRequest* request,
                                               v1::GetDocumentsResponse* response) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) -> absl::Status {
    QUARRY_RETURN_IF_ERROR(ValidateCollectionName("collection", request->collection()));
    QUARRY_RETURN_IF_ERROR(ValidateDocumentIds("ids", request->ids()));
    std::vector<std::string> ids(request->ids().begin(), request->ids().end());
    QUARRY_ASSIGN_OR_RETURN(auto fetched,
                            ingest_.Get(caller.tenant_id, request->collection(), ids));
    for (auto& doc : fetched.documents) *response->add_documents() = std::move(doc);
    for (auto& id : fetched.missing_ids) response->add_missing_ids(std::move(id));
    return absl::OkStatus();
  });
}

grpc::Status DocumentServiceImpl::DeleteDocuments(grpc::ServerContext* context,
                                                  const v1::DeleteDocumentsRequest* request,
                                                  v1::DeleteDocumentsResponse* response) {
  return admit_.Run(*context, Scope::kWrite, [&](const Principal& caller) -> absl::Status {
    QUARRY_RETURN_IF_ERROR(ValidateCollectionName("collection", request->collection()));
    QUARRY_RETURN_IF_ERROR(ValidateDocumentIds("ids", request->ids()));
    std::vector<std::string> ids(request->ids().begin(), request->ids().end());
    QUARRY_ASSIGN_OR_RETURN(auto deleted,
                            ingest_.Delete(caller.tenant_id, request->collection(), ids,
                                           request->wait_for_indexed(), admit_.Deadline(*context)));
    response->set_deleted(deleted.deleted);
    response->set_sequence(deleted.max_seq);
    return absl::OkStatus();
  });
}

}  // namespace quarry::gateway
