#ifndef QUARRY_SERVICES_GATEWAY_API_COLLECTION_SERVICE_H_
#define QUARRY_SERVICES_GATEWAY_API_COLLECTION_SERVICE_H_

#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "services/gateway/api/admission.h"
#include "services/gateway/core/catalog.h"

namespace quarry::gateway {

// quarry.gateway.v1.CollectionService: admit, validate, core/catalog.h.
class CollectionServiceImpl final : public quarry::gateway::v1::CollectionService::Service {
 public:
  CollectionServiceImpl(Admitter& admit, Catalog& catalog) : admit_(admit), catalog_(catalog) {}
  grpc::Status CreateCollection(grpc::ServerContext*, const v1::CreateCollectionRequest*,
                                v1::CreateCollectionResponse*) override;
  grpc::Status GetCollection(grpc::ServerContext*, const v1::GetCollectionRequest*,
                             v1::GetCollectionResponse*) override;
  grpc::Status ListCollections(grpc::ServerContext*, const v1::ListCollectionsRequest*,
                               v1::ListCollectionsResponse*) override;
  grpc::Status DeleteCollection(grpc::ServerContext*, const v1::DeleteCollectionRequest*,
                                v1::DeleteCollectionResponse*) override;

 private:
  Admitter& admit_;
  Catalog& catalog_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_API_COLLECTION_SERVICE_H_
