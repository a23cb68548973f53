// keys (API keys through AdminService) and admin bootstrap (the first key,
// straight into PostgreSQL).
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "quarry/gateway/v1/admin_service.grpc.pb.h"
#include "services/common/model/scopes.h"
#include "services/common/pg/migrations.h"
#include "services/common/pg/pool.h"
#include "services/gateway/api_key.h"
#include "services/gateway/store.h"
#include "tools/quarryctl/commands.h"
#include "tools/quarryctl/common.h"

namespace quarry::ctl {

using namespace quarry::gateway::v1;  // NOLINT: a CLI over one API package.

int Keys(const Ctl& ctl, const KeyOptions& options, const std::vector<std::string>& args) {
  auto stub = AdminService::NewStub(ctl.channel());
  const std::string verb = args.size() > 1 ? args[1] : "";
  if (verb == "list") {
    ListApiKeysResponse response;
    return Print(stub->ListApiKeys(ctl.Context().get(), {}, &response), response);
  }
  if (verb == "create") {
    CreateApiKeyRequest request;
    request.mutable_key()->set_name(options.name);
    request.mutable_key()->set_rate_limit_per_second(options.rate);
    request.mutable_key()->set_burst(options.burst);
    for (absl::string_view scope : absl::StrSplit(options.scopes, ',')) {
      Scope value;
      if (!Scope_Parse("SCOPE_" + absl::AsciiStrToUpper(scope), &value)) {
        return Fail("--scopes takes read, write, admin");
      }
      request.mutable_key()->add_scopes(value);
    }
    CreateApiKeyResponse response;
    return Print(stub->CreateApiKey(ctl.Context().get(), request, &response), response);
  }
  if (verb == "revoke" && args.size() > 2) {
    RevokeApiKeyRequest request;
    request.set_id(args[2]);
    RevokeApiKeyResponse response;
    return Print(stub->RevokeApiKey(ctl.Context().get(), request, &response), response);
  }
  return Fail("keys create | list | revoke ID");
}

// The first tenant and key cannot come through the API (every call needs a
// key), so this talks to PostgreSQL directly, as an operator would.
int Admin(const AdminOptions& admin, const std::vector<std::string>& args) {
  if (args.size() < 2 || args[1] != "bootstrap") return Fail("admin bootstrap");
  const std::string url = EnvOr(admin.database_url, "QUARRY_DATABASE_URL", "");
  if (url.empty()) return Fail("admin bootstrap needs --database_url");
  if (auto status = quarry::pg::Migrate(url); !status.ok()) {
    return Fail(absl::StrCat("database: ", status.ToString()));
  }
  quarry::pg::PoolOptions options;
  options.conninfo = url;
  options.size = 1;
  auto pool = quarry::pg::Pool::Create(options);
  if (!pool.ok()) return Fail(absl::StrCat("database: ", pool.status().ToString()));
  const quarry::gateway::NewApiKey key = quarry::gateway::GenerateApiKey();
  auto stored = (*pool)->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    quarry::gateway::store::KeyRecord record;
    record.id = key.id;
    record.tenant_id = quarry::gateway::store::EnsureTenant(txn, admin.tenant);
    record.name = admin.name.empty() ? "bootstrap admin" : admin.name;
    // Admin implies write and read; the worker scope is for workers' keys.
    record.scopes = {std::string(quarry::model::kScopeRead),
                     std::string(quarry::model::kScopeWrite),
                     std::string(quarry::model::kScopeAdmin)};
    quarry::gateway::store::InsertKey(txn, record, key.hash);
    return record.tenant_id;
  });
  if (!stored.ok()) return Fail(absl::StrCat("database: ", stored.status().ToString()));
  std::cerr << "tenant \"" << admin.tenant << "\" (id " << *stored << "), admin key " << key.id
            << " created; the key is shown once:\n";
  std::cout << key.secret << std::endl;
  return 0;
}

}  // namespace quarry::ctl
