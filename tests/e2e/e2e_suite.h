// The fixture every end-to-end test binary shares: the whole suite on
// loopback against a real PostgreSQL (embedding, two vector-search shards, a
// worker and a gateway with a 200 ms key cache), started once per binary.
#ifndef QUARRY_TESTS_E2E_E2E_SUITE_H_
#define QUARRY_TESTS_E2E_E2E_SUITE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/service_process.h"

namespace quarry::e2e {

class E2eSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

  // Starts a service binary (a runfiles path) and waits for it to serve;
  // nullptr (with a test failure) if it does not.
  static testing::ServiceProcess* Start(const std::string& name, const std::string& binary,
                                        std::vector<std::string> flags);

  // A key of `tenant` (created if new) with `scopes`, written straight into
  // PostgreSQL like `quarryctl admin bootstrap` does. Returns the secret.
  static std::string MakeKey(const std::string& tenant, std::vector<std::string> scopes,
                             std::optional<double> rate = std::nullopt,
                             std::optional<int> burst = std::nullopt);

  // A client context with a deadline and, unless `key` is empty,
  // "authorization: Bearer <key>".
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& key,
                                                      absl::Duration deadline = absl::Seconds(30));
  // A client context whose "authorization" metadata is exactly `value`.
  static std::unique_ptr<grpc::ClientContext> RawAuthContext(const std::string& value);

  // A long-lived channel to the current gateway (a new one after the gateway
  // is replaced with ReplaceGateway).
  static std::shared_ptr<grpc::Channel> Channel();
  static void ReplaceGateway(testing::ServiceProcess* gateway);

  // Creates a collection with the embedding service's default model (384 dims).
  static void CreateCollection(const std::string& key, const std::string& name);

  static inline std::string* conninfo_ = nullptr;
  static inline std::string* admin_key_ = nullptr;  // tenant "acme", every scope
  static inline testing::ServiceProcess* embedding_ = nullptr;
  static inline testing::ServiceProcess* shard0_ = nullptr;
  static inline testing::ServiceProcess* shard1_ = nullptr;
  static inline testing::ServiceProcess* worker_ = nullptr;
  static inline testing::ServiceProcess* gateway_ = nullptr;

 private:
  static inline std::shared_ptr<grpc::Channel>* channel_ = nullptr;
};

}  // namespace quarry::e2e

#endif  // QUARRY_TESTS_E2E_E2E_SUITE_H_
