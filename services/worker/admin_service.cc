#include "services/worker/admin_service.h"

#include "absl/strings/str_cat.h"

namespace quarry::worker {
namespace {

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t nanos = absl::ToUnixNanos(time);
  out->set_seconds(nanos / 1'000'000'000);
  out->set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
}

}  // namespace

grpc::Status AdminService::GetWorkerStatus(grpc::ServerContext* context,
                                           const quarry::jobs::v1::GetWorkerStatusRequest* request,
                                           quarry::jobs::v1::GetWorkerStatusResponse* response) {
  response->set_worker_id(runner_.options().owner);
  response->set_capacity(runner_.options().threads);
  response->set_draining(runner_.draining());
  for (const RunningJobInfo& job : runner_.Running()) {
    auto* out = response->add_running();
    out->set_id(absl::StrCat(job.id));
    out->set_kind(job.kind);
    out->set_attempt(job.attempt);
    out->set_progress(job.progress);
    SetTimestamp(job.start_time, out->mutable_start_time());
  }
  for (const std::string& kind : runner_.kinds()) response->add_kinds(kind);
  return grpc::Status::OK;
}

grpc::Status AdminService::Drain(grpc::ServerContext* context,
                                 const quarry::jobs::v1::DrainRequest* request,
                                 quarry::jobs::v1::DrainResponse* response) {
  absl::Duration grace = default_grace_;
  if (request->has_grace()) {
    if (request->grace().seconds() < 0 || request->grace().seconds() > 3600) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("grace: must be in [0s, 3600s], got ",
                                       request->grace().seconds(), "s"));
    }
    grace = absl::Seconds(request->grace().seconds()) + absl::Nanoseconds(request->grace().nanos());
  }
  auto [finished, released] = runner_.Drain(grace);
  response->set_finished(finished);
  response->set_released(released);
  return grpc::Status::OK;
}

}  // namespace quarry::worker
