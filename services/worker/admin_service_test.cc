#include "services/worker/admin_service.h"

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/jobqueue/testing/in_memory_job_queue.h"
#include "services/common/server/server.h"

namespace quarry::worker {
namespace {

class BlockingHandler final : public JobHandler {
 public:
  absl::string_view kind() const override { return "index_documents"; }
  absl::StatusOr<std::string> Run(JobContext& context) override {
    if (!started.HasBeenNotified()) started.Notify();
    while (!context.ShouldStop()) absl::SleepFor(absl::Milliseconds(5));
    return absl::CancelledError("stopped");
  }
  absl::Notification started;
};

TEST(AdminService, ReportsRunningJobsAndDrainsOverGrpc) {
  jobqueue::InMemoryJobQueue queue;
  HandlerRegistry registry;
  auto handler = std::make_unique<BlockingHandler>();
  BlockingHandler* blocking = handler.get();
  ASSERT_TRUE(registry.Register(std::move(handler)).ok());
  jobqueue::JobSpec spec;
  spec.kind = "index_documents";
  const int64_t id = queue.Enqueue(spec);

  RunnerOptions options;
  options.owner = "test-worker";
  options.threads = 2;
  options.poll_interval = absl::Milliseconds(10);
  Runner runner(queue, registry, options);
  runner.Start();
  ASSERT_TRUE(blocking->started.WaitForNotificationWithTimeout(absl::Seconds(10)));

  AdminService admin(runner, absl::Seconds(1));
  server::ServerOptions server_options;
  server_options.service_name = "worker";
  server_options.host = "127.0.0.1";
  auto server = server::Server::Start(server_options, {&admin});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = quarry::jobs::v1::WorkerAdminService::NewStub((*server)->NewLoopbackChannel());

  grpc::ClientContext status_context;
  quarry::jobs::v1::GetWorkerStatusResponse status;
  ASSERT_TRUE(stub->GetWorkerStatus(&status_context, {}, &status).ok());
  EXPECT_EQ(status.worker_id(), "test-worker");
  EXPECT_EQ(status.capacity(), 2);
  ASSERT_EQ(status.running_size(), 1);
  EXPECT_EQ(status.running(0).id(), std::to_string(id));
  EXPECT_EQ(status.kinds(0), "index_documents");

  grpc::ClientContext drain_context;
  quarry::jobs::v1::DrainRequest drain;
  drain.mutable_grace()->set_nanos(50'000'000);
  quarry::jobs::v1::DrainResponse drained;
  ASSERT_TRUE(stub->Drain(&drain_context, drain, &drained).ok());
  EXPECT_EQ(drained.released(), 1);
  EXPECT_EQ(queue.Get(id).state, jobqueue::JobState::kQueued);

  grpc::ClientContext bad_context;
  drain.mutable_grace()->set_seconds(-1);
  grpc::Status bad = stub->Drain(&bad_context, drain, &drained);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("grace"), std::string::npos);
}

}  // namespace
}  // namespace quarry::worker
