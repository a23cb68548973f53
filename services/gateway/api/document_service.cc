#include "services/gateway/api/document_service.h"

#include "services/gateway/api/convert.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {

grpc::Status DocumentServiceImpl::UpsertDocuments(grpc::ServerContext* context,
                                                  const v1::UpsertDocumentsRequest* request,
                                                  v1::UpsertDocumentsResponse* response) {
  return admit_.Run(*context, Scope::kWrite, [&](const Principal& caller) -> absl::Status {
    // Validated by Ingest::Upsert, which also checks vectors against the
    // collection's dimension.
    auto upserted = ingest_.Upsert(caller.tenant_id, *request, admit_.Deadline(*context));
    if (!upserted.ok()) return upserted.status();
    ToProto(upserted->job, response->mutable_job());
    response->set_inserted(upserted->result.inserted);
    response->set_updated(upserted->result.updated);
    response->set_unchanged(upserted->result.unchanged);
    response->set_sequence(upserted->sequence);
    return absl::OkStatus();
  });
}

grpc::Status DocumentServiceImpl::GetDocuments(grpc::ServerContext* context,
                                               const v1::GetDocumentsRequest* request,
                                               v1::GetDocumentsResponse* response) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) -> absl::Status {
    if (absl::Status s = ValidateCollectionName("collection", request->collection()); !s.ok()) {
      return s;
    }
    if (absl::Status s = ValidateDocumentIds("ids", request->ids()); !s.ok()) return s;
    std::vector<std::string> ids(request->ids().begin(), request->ids().end());
    auto fetched = ingest_.Get(caller.tenant_id, request->collection(), ids);
    if (!fetched.ok()) return fetched.status();
    for (auto& doc : fetched->documents) *response->add_documents() = std::move(doc);
    for (auto& id : fetched->missing_ids) response->add_missing_ids(std::move(id));
    return absl::OkStatus();
  });
}

grpc::Status DocumentServiceImpl::DeleteDocuments(grpc::ServerContext* context,
                                                  const v1::DeleteDocumentsRequest* request,
                                                  v1::DeleteDocumentsResponse* response) {
  return admit_.Run(*context, Scope::kWrite, [&](const Principal& caller) -> absl::Status {
    if (absl::Status s = ValidateCollectionName("collection", request->collection()); !s.ok()) {
      return s;
    }
    if (absl::Status s = ValidateDocumentIds("ids", request->ids()); !s.ok()) return s;
    std::vector<std::string> ids(request->ids().begin(), request->ids().end());
    auto deleted = ingest_.Delete(caller.tenant_id, request->collection(), ids,
                                  request->wait_for_indexed(), admit_.Deadline(*context));
    if (!deleted.ok()) return deleted.status();
    response->set_deleted(deleted->deleted);
    response->set_sequence(deleted->max_seq);
    return absl::OkStatus();
  });
}

}  // namespace quarry::gateway
