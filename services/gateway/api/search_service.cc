#include "services/gateway/api/search_service.h"

namespace quarry::gateway {

grpc::Status SearchServiceImpl::Search(grpc::ServerContext* context,
                                       const v1::SearchRequest* request,
                                       v1::SearchResponse* response) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) {
    return searcher_.Search(caller.tenant_id, *request, admit_.Deadline(*context), response);
  });
}

grpc::Status SearchServiceImpl::SearchBatch(grpc::ServerContext* context,
                                            const v1::SearchBatchRequest* request,
                                            v1::SearchBatchResponse* response) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) {
    return searcher_.SearchBatch(caller.tenant_id, *request, admit_.Deadline(*context),
                                 response);
  });
}

}  // namespace quarry::gateway
