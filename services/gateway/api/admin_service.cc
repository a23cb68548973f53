#include "services/gateway/api/admin_service.h"

#include "absl/strings/str_cat.h"
#include "services/common/model/scopes.h"
#include "services/common/status/macros.h"
#include "services/gateway/api/convert.h"
#include "services/gateway/api_key.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {

grpc::Status AdminServiceImpl::CreateApiKey(grpc::ServerContext* context,
                                            const v1::CreateApiKeyRequest* request,
                                            v1::CreateApiKeyResponse* response) {
  return admit_.Run(*context, Scope::kAdmin, [&](const Principal& caller) -> absl::Status {
    QUARRY_RETURN_IF_ERROR(ValidateCreateApiKey(*request));
    const NewApiKey secret = GenerateApiKey();
    store::KeyRecord key;
    key.id = secret.id;
    key.tenant_id = caller.tenant_id;
    key.name = request->key().name();
    for (int scope : request->key().scopes()) key.scopes.push_back(ScopeName(scope));
    if (key.scopes.empty()) key.scopes.push_back(std::string(model::kScopeRead));
    if (request->key().rate_limit_per_second() > 0) {
      key.rate_limit_per_second = request->key().rate_limit_per_second();
    }
    if (request->key().burst() > 0) key.burst = request->key().burst();
    key.worker_kinds.assign(request->key().worker_kinds().begin(),
                            request->key().worker_kinds().end());
    QUARRY_ASSIGN_OR_RETURN(auto stored, keys_.Insert(key, secret.hash));
    ToProto(stored, admit_.gate().LimitInForce(stored), response->mutable_key());
    response->set_secret(secret.secret);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::ListApiKeys(grpc::ServerContext* context,
                                           const v1::ListApiKeysRequest* request,
                                           v1::ListApiKeysResponse* response) {
  return admit_.Run(*context, Scope::kAdmin, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto keys, keys_.List(caller.tenant_id));
    for (const auto& key : keys) {
      ToProto(key, admit_.gate().LimitInForce(key), response->add_keys());
    }
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::RevokeApiKey(grpc::ServerContext* context,
                                            const v1::RevokeApiKeyRequest* request,
                                            v1::RevokeApiKeyResponse* response) {
  return admit_.Run(*context, Scope::kAdmin, [&](const Principal& caller) -> absl::Status {
    QUARRY_RETURN_IF_ERROR(ValidateApiKeyId("id", request->id()));
    QUARRY_ASSIGN_OR_RETURN(auto key, keys_.Revoke(caller.tenant_id, request->id()));
    if (!key.has_value()) {
      return absl::NotFoundError(absl::StrCat("API key ", request->id(), " not found"));
    }
    ToProto(*key, admit_.gate().LimitInForce(*key), response->mutable_key());
    return absl::OkStatus();
  });
}

}  // namespace quarry::gateway
