// The fixture of the e2e tests that share one suite per binary (the harness's
// default topology); the gateways' key cache lives 200 ms, so revocations show,
// and the worker's scheduler looks for due schedules every second.
#ifndef QUARRY_TESTS_E2E_E2E_SUITE_H_
#define QUARRY_TESTS_E2E_E2E_SUITE_H_
#include "gtest/gtest.h"
#include "tests/testing/suite.h"
namespace quarry::e2e {
class E2eSuite : public ::testing::Test {
 protected:
  using Suite = testing::Suite;
  static void SetUpTestSuite() {
    testing::SuiteOptions options;
    options.extra_flags["gateway"] = {"--key_cache_ttl=200ms"};
    // Schedules fire within a second of their tick, not five.
    options.extra_flags["worker"] = {"--scheduler_poll=1s"};
    auto suite = Suite::Start(options);
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = suite->release();
    admin_key_ = new std::string(MakeKey("acme", {"read", "write", "admin"}));
  }
  static void TearDownTestSuite() { delete suite_; suite_ = nullptr; }
  // A key written straight into PostgreSQL; "" (with a test failure) if that fails.
  static std::string MakeKey(const std::string& tenant, const std::vector<std::string>& scopes,
                             std::optional<double> rate = std::nullopt,
                             std::optional<int> burst = std::nullopt) {
    auto key = suite_->CreateApiKey(tenant, scopes, rate, burst);
    EXPECT_TRUE(key.ok()) << key.status();
    return key.value_or("");
  }
  // The embedding service's default model (384 dims).
  static void CreateCollection(const std::string& key, const std::string& name) {
    auto collection = suite_->CreateCollection(key, name);
    ASSERT_TRUE(collection.ok()) << collection.status();
    EXPECT_EQ(collection->model(), "hashing-384");
    EXPECT_EQ(collection->dimension(), 384u);
  }
  static auto Context(const std::string& key, absl::Duration deadline = absl::Seconds(30)) {
    return Suite::Context(key, deadline);
  }
  static auto RawAuthContext(const std::string& value) {
    return Suite::RawAuthContext(value, absl::Seconds(30));
  }
  static std::shared_ptr<grpc::Channel> Channel() { return suite_->channel(); }
  static inline Suite* suite_ = nullptr;
  static inline std::string* admin_key_ = nullptr;  // tenant "acme", every scope
};
}  // namespace quarry::e2e
#endif  // QUARRY_TESTS_E2E_E2E_SUITE_H_
