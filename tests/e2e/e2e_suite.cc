#include "tests/e2e/e2e_suite.h"

#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "services/common/pg/pool.h"
#include "services/common/pg/testing/postgres_env.h"
#include "tests/testing/api_keys.h"

namespace quarry::e2e {

using testing::ServiceProcess;

void E2eSuite::SetUpTestSuite() {
  auto conninfo = pg::TestPostgres().CreateDatabase();
  ASSERT_TRUE(conninfo.ok()) << conninfo.status();
  conninfo_ = new std::string(*conninfo);
  const std::string db = "--database_url=" + *conninfo_;
  embedding_ = Start("embedding", "services/embedding/embedding", {db});
  ASSERT_NE(embedding_, nullptr);
  shard0_ = Start("shard0", "services/vector_search/vector_search",
                  {db, "--shard_index=0", "--shard_count=2"});
  shard1_ = Start("shard1", "services/vector_search/vector_search",
                  {db, "--shard_index=1", "--shard_count=2"});
  ASSERT_NE(shard0_, nullptr);
  ASSERT_NE(shard1_, nullptr);
  worker_ = Start("worker", "services/worker/worker",
                  {db, "--embedding_target=" + embedding_->address(), "--threads=2"});
  ReplaceGateway(Start("gateway", "services/gateway/gateway",
                       {db, "--embedding_target=" + embedding_->address(),
                        "--shard_targets=" + shard0_->address() + ";" + shard1_->address(),
                        "--key_cache_ttl=200ms"}));
  admin_key_ = new std::string(MakeKey("acme", {"read", "write", "admin"}));
}

void E2eSuite::TearDownTestSuite() {
  delete channel_;
  channel_ = nullptr;
  for (ServiceProcess** p : {&gateway_, &worker_, &shard1_, &shard0_, &embedding_}) {
    delete *p;
    *p = nullptr;
  }
}

ServiceProcess* E2eSuite::Start(const std::string& name, const std::string& binary,
                                std::vector<std::string> flags) {
  auto process = ServiceProcess::Start(name, binary, std::move(flags));
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return nullptr;
  EXPECT_TRUE((*process)->WaitServing(absl::Seconds(30)).ok()) << (*process)->Log();
  return process->release();
}

std::string E2eSuite::MakeKey(const std::string& tenant, std::vector<std::string> scopes,
                              std::optional<double> rate, std::optional<int> burst) {
  pg::PoolOptions options;
  options.conninfo = *conninfo_;
  auto pool = pg::Pool::Create(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  if (!pool.ok()) return "";
  auto key = testing::CreateApiKey(**pool, tenant, scopes, rate, burst);
  EXPECT_TRUE(key.ok()) << key.status();
  return key.value_or("");
}

std::unique_ptr<grpc::ClientContext> E2eSuite::Context(const std::string& key,
                                                       absl::Duration deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(deadline));
  if (!key.empty()) context->AddMetadata("authorization", "Bearer " + key);
  return context;
}

std::unique_ptr<grpc::ClientContext> E2eSuite::RawAuthContext(const std::string& value) {
  auto context = Context("");
  context->AddMetadata("authorization", value);
  return context;
}

std::shared_ptr<grpc::Channel> E2eSuite::Channel() {
  if (channel_ == nullptr) {
    channel_ = new std::shared_ptr<grpc::Channel>(gateway_ == nullptr ? nullptr
                                                                      : gateway_->NewChannel());
  }
  return *channel_;
}

void E2eSuite::ReplaceGateway(ServiceProcess* gateway) {
  delete channel_;
  channel_ = nullptr;
  if (gateway_ != gateway) delete gateway_;
  gateway_ = gateway;
}

void E2eSuite::CreateCollection(const std::string& key, const std::string& name) {
  using namespace quarry::gateway::v1;  // NOLINT: a test of this API.
  CreateCollectionRequest request;
  request.mutable_collection()->set_name(name);
  CreateCollectionResponse response;
  grpc::Status status = CollectionService::NewStub(Channel())->CreateCollection(
      Context(key).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.collection().model(), "hashing-384");
  EXPECT_EQ(response.collection().dimension(), 384u);
}

}  // namespace quarry::e2e
