#include "tools/loadgen/driver.h"

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/server/server.h"

namespace quarry::loadgen {
namespace {

std::unique_ptr<server::Server> StartServer() {
  server::ServerOptions options;
  options.service_name = "loadgen-test";
  options.host = "127.0.0.1";
  auto server = server::Server::Start(options, {});
  EXPECT_TRUE(server.ok()) << server.status();
  (*server)->SetServing(true);
  return std::move(*server);
}

WorkloadOptions Options() {
  WorkloadOptions options;
  options.texts = DefaultTexts();
  return options;
}

TEST(Drive, ClosedLoopStopsAtTheRequestBound) {
  auto server = StartServer();
  auto workload = MakeWorkload("health", server->NewLoopbackChannel(), Options());
  ASSERT_TRUE(workload.ok()) << workload.status();
  DriveOptions drive;
  drive.concurrency = 4;
  drive.max_requests = 200;
  auto [summary, elapsed] = Drive(**workload, drive);
  EXPECT_EQ(summary.requests, 200);
  EXPECT_EQ(summary.ok, 200);
  EXPECT_GT(summary.qps, 0);
  EXPECT_GT(summary.p50_ms, 0);
}

TEST(Drive, OpenLoopStopsAtTheDurationBoundAndCountsErrorsByCode) {
  auto server = StartServer();
  // No search service on this server: every call is UNIMPLEMENTED.
  auto workload = MakeMix("health:1,search:1", server->NewLoopbackChannel(), Options());
  ASSERT_TRUE(workload.ok()) << workload.status();
  DriveOptions drive;
  drive.rate = 200;
  drive.max_requests = 1'000'000;
  drive.max_duration = absl::Milliseconds(500);
  absl::Time start = absl::Now();
  auto [summary, elapsed] = Drive(**workload, drive);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_GT(summary.requests, 40);
  EXPECT_LT(summary.requests, 200);
  EXPECT_GT(summary.by_code["OK"], 0);
  EXPECT_GT(summary.by_code["UNIMPLEMENTED"], 0);
}

TEST(MakeMix, RejectsUnknownWorkloadsAndBadWeights) {
  auto server = StartServer();
  EXPECT_FALSE(MakeMix("frobnicate", server->NewLoopbackChannel(), Options()).ok());
  EXPECT_FALSE(MakeMix("search:x", server->NewLoopbackChannel(), Options()).ok());
  EXPECT_FALSE(MakeMix("search:-1", server->NewLoopbackChannel(), Options()).ok());
}

}  // namespace
}  // namespace quarry::loadgen
