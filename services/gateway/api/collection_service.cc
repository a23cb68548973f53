#include "services/gateway/api/collection_service.h"

#include "absl/strings/str_cat.h"
#include "services/common/status/macros.h"
#include "services/gateway/api/convert.h"
#include "services/gateway/page_token.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {

grpc::Status CollectionServiceImpl::CreateCollection(grpc::ServerContext* context,
                                                     const v1::CreateCollectionRequest* request,
                                                     v1::CreateCollectionResponse* response) {
  return admit_.Run(*context, Scope::kWrite, [&](const Principal& caller) -> absl::Status {
    QUARRY_RETURN_IF_ERROR(ValidateCreateCollection(*request));
    const v1::Collection& wanted = request->collection();
    store::CollectionRecord record;
    record.name = wanted.name();
    record.dimension = static_cast<int>(wanted.dimension());
    record.model = wanted.model();
    record.metric = MetricName(wanted.metric());
    QUARRY_ASSIGN_OR_RETURN(auto created, catalog_.Create(caller.tenant_id, std::move(record)));
    ToProto(created, response->mutable_collection());
    return absl::OkStatus();
  });
}

grpc::Status CollectionServiceImpl::GetCollection(grpc::ServerContext* context,
                                                  const v1::GetCollectionRequest* request,
                                                  v1::GetCollectionResponse* response) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) -> absl::Status {
    QUARRY_RETURN_IF_ERROR(ValidateCollectionName("name", request->name()));
    QUARRY_ASSIGN_OR_RETURN(auto collection, catalog_.Get(caller.tenant_id, request->name()));
    ToProto(collection, response->mutable_collection());
    return absl::OkStatus();
  });
}

grpc::Status CollectionServiceImpl::ListCollections(grpc::ServerContext* context,
                                                    const v1::ListCollectionsRequest* request,
                                                    v1::ListCollectionsResponse* response) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto size, PageSize("page", request->page()));
    QUARRY_ASSIGN_OR_RETURN(auto after, DecodePageToken("page.page_token", "collections",
                                                        request->page().page_token()));
    QUARRY_ASSIGN_OR_RETURN(auto page, catalog_.List(caller.tenant_id, after, size));
    for (const auto& collection : page.collections) {
      ToProto(collection, response->add_collections());
    }
    if (page.next_after.has_value()) {
      response->mutable_page()->set_next_page_token(
          EncodePageToken("collections", *page.next_after));
    }
    return absl::OkStatus();
  });
}

grpc::Status CollectionServiceImpl::DeleteCollection(grpc::ServerContext* context,
                                                     const v1::DeleteCollectionRequest* request,
                                                     v1::DeleteCollectionResponse* response) {
  return admit_.Run(*context, Scope::kAdmin, [&](const Principal& caller) -> absl::Status {
    QUARRY_RETURN_IF_ERROR(ValidateCollectionName("name", request->name()));
    QUARRY_ASSIGN_OR_RETURN(auto purge_job, catalog_.Delete(caller.tenant_id, request->name()));
    response->set_purge_job_id(absl::StrCat(purge_job));
    return absl::OkStatus();
  });
}

}  // namespace quarry::gateway
