#ifndef QUARRY_SERVICES_GATEWAY_API_DOCUMENT_SERVICE_H_
#define QUARRY_SERVICES_GATEWAY_API_DOCUMENT_SERVICE_H_

#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "services/gateway/api/admission.h"
#include "services/gateway/core/ingest.h"

namespace quarry::gateway {

// quarry.gateway.v1.DocumentService: admit, validate, core/ingest.h.
class DocumentServiceImpl final : public quarry::gateway::v1::DocumentService::Service {
 public:
  DocumentServiceImpl(Admitter& admit, Ingest& ingest) : admit_(admit), ingest_(ingest) {}
  grpc::Status UpsertDocuments(grpc::ServerContext*, const v1::UpsertDocumentsRequest*,
                               v1::UpsertDocumentsResponse*) override;
  grpc::Status GetDocuments(grpc::ServerContext*, const v1::GetDocumentsRequest*,
                            v1::GetDocumentsResponse*) override;
  grpc::Status DeleteDocuments(grpc::ServerContext*, const v1::DeleteDocumentsRequest*,
                               v1::DeleteDocumentsResponse*) override;

 private:
  Admitter& admit_;
  Ingest& ingest_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_API_DOCUMENT_SERVICE_H_
