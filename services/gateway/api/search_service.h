#ifndef QUARRY_SERVICES_GATEWAY_API_SEARCH_SERVICE_H_
#define QUARRY_SERVICES_GATEWAY_API_SEARCH_SERVICE_H_

#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "services/gateway/api/admission.h"
#include "services/gateway/core/search.h"

namespace quarry::gateway {

// quarry.gateway.v1.SearchService: admit, then core/search.h.
class SearchServiceImpl final : public quarry::gateway::v1::SearchService::Service {
 public:
  SearchServiceImpl(Admitter& admit, Searcher& searcher) : admit_(admit), searcher_(searcher) {}
  grpc::Status Search(grpc::ServerContext*, const v1::SearchRequest*,
                      v1::SearchResponse*) override;
  // Counts as one call against the key's rate limit, as an upsert of many
  // documents does.
  grpc::Status SearchBatch(grpc::ServerContext*, const v1::SearchBatchRequest*,
                           v1::SearchBatchResponse*) override;

 private:
  Admitter& admit_;
  Searcher& searcher_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_API_SEARCH_SERVICE_H_
