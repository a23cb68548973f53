#ifndef QUARRY_SERVICES_GATEWAY_API_ADMIN_SERVICE_H_
#define QUARRY_SERVICES_GATEWAY_API_ADMIN_SERVICE_H_

#include "quarry/gateway/v1/admin_service.grpc.pb.h"
#include "services/gateway/api/admission.h"
#include "services/gateway/core/stores.h"

namespace quarry::gateway {

// quarry.gateway.v1.AdminService: API keys of the caller's tenant, through
// the KeyStore. Shown limits are the ones in force (Gatekeeper::LimitInForce).
class AdminServiceImpl final : public quarry::gateway::v1::AdminService::Service {
 public:
  AdminServiceImpl(Admitter& admit, KeyStore& keys) : admit_(admit), keys_(keys) {}
  grpc::Status CreateApiKey(grpc::ServerContext*, const v1::CreateApiKeyRequest*,
                            v1::CreateApiKeyResponse*) override;
  grpc::Status ListApiKeys(grpc::ServerContext*, const v1::ListApiKeysRequest*,
                           v1::ListApiKeysResponse*) override;
  grpc::Status RevokeApiKey(grpc::ServerContext*, const v1::RevokeApiKeyRequest*,
                            v1::RevokeApiKeyResponse*) override;

 private:
  Admitter& admit_;
  KeyStore& keys_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_API_ADMIN_SERVICE_H_
