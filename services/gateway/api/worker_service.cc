#include "services/gateway/api/worker_service.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/status/macros.h"
#include "services/gateway/api/convert.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {
namespace {

absl::StatusOr<Workers::Lease> LeaseOf(const Principal& caller, const v1::JobLease& lease) {
  QUARRY_RETURN_IF_ERROR(ValidateJobLease(lease));
  Workers::Lease out;
  out.key_id = caller.key_id;
  out.worker_id = lease.worker_id();
  out.attempt = lease.attempt();
  if (!absl::SimpleAtoi(lease.job_id(), &out.job_id)) {
    return absl::InvalidArgumentError("lease.job_id: out of range");
  }
  return out;
}

}  // namespace

grpc::Status WorkerServiceImpl::ClaimJobs(grpc::ServerContext* context,
                                          const v1::ClaimJobsRequest* request,
                                          v1::ClaimJobsResponse* response) {
  return admit_.Run(*context, Scope::kWorker, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(absl::Duration wait, ValidateClaimJobs(*request));
    // Never past the client's own deadline: an answer it no longer waits
    // for would hold jobs under a lease nobody renews.
    const absl::Duration until_deadline =
        absl::FromChrono(context->deadline()) - absl::Now() - absl::Milliseconds(200);
    wait = std::max(absl::ZeroDuration(), std::min(wait, until_deadline));
    const std::vector<std::string> kinds(request->kinds().begin(), request->kinds().end());
    QUARRY_RETURN_IF_ERROR(CheckWorkerKinds(caller, kinds));
    QUARRY_ASSIGN_OR_RETURN(
        auto jobs, workers_.Claim(caller.tenant_id, caller.key_id, request->worker_id(), kinds,
                                  request->max_jobs(), wait,
                                  [context] { return context->IsCancelled(); }));
    for (const jobqueue::Job& job : jobs) {
      v1::ClaimedJob* out = response->add_jobs();
      out->set_job_id(absl::StrCat(job.id));
      out->set_kind(job.kind);
      out->set_payload_json(job.payload_json);
      out->set_attempt(job.attempts);
      out->set_max_attempts(job.max_attempts);
      out->set_traceparent(job.traceparent);
      if (job.lease_expires_at.has_value()) {
        SetTime(*job.lease_expires_at, out->mutable_lease_deadline());
      }
    }
    return absl::OkStatus();
  });
}

grpc::Status WorkerServiceImpl::HeartbeatJob(grpc::ServerContext* context,
                                             const v1::HeartbeatJobRequest* request,
                                             v1::HeartbeatJobResponse* response) {
  return admit_.Run(*context, Scope::kWorker, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto lease, LeaseOf(caller, request->lease()));
    QUARRY_RETURN_IF_ERROR(ValidateHeartbeatJob(*request));
    QUARRY_ASSIGN_OR_RETURN(auto beat, workers_.Heartbeat(caller.tenant_id, lease,
                                                          request->progress(),
                                                          request->progress_message()));
    SetTime(beat.lease_deadline, response->mutable_lease_deadline());
    response->set_cancel_requested(beat.cancel_requested);
    return absl::OkStatus();
  });
}

grpc::Status WorkerServiceImpl::CompleteJob(grpc::ServerContext* context,
                                            const v1::CompleteJobRequest* request,
                                            v1::CompleteJobResponse*) {
  return admit_.Run(*context, Scope::kWorker, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto lease, LeaseOf(caller, request->lease()));
    return workers_.Complete(caller.tenant_id, lease, request->result_json());
  });
}

grpc::Status WorkerServiceImpl::FailJob(grpc::ServerContext* context,
                                        const v1::FailJobRequest* request, v1::FailJobResponse*) {
  return admit_.Run(*context, Scope::kWorker, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto lease, LeaseOf(caller, request->lease()));
    QUARRY_ASSIGN_OR_RETURN(absl::Duration retry_after, ValidateFailJob(*request));
    Workers::Failure failure = Workers::Failure::kRetryable;
    if (request->kind() == v1::FAILURE_KIND_PERMANENT) failure = Workers::Failure::kPermanent;
    if (request->kind() == v1::FAILURE_KIND_RATE_LIMITED) failure = Workers::Failure::kRateLimited;
    return workers_.Fail(caller.tenant_id, lease, request->error(), failure, retry_after);
  });
}

grpc::Status WorkerServiceImpl::ReleaseJob(grpc::ServerContext* context,
                                           const v1::ReleaseJobRequest* request,
                                           v1::ReleaseJobResponse*) {
  return admit_.Run(*context, Scope::kWorker, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto lease, LeaseOf(caller, request->lease()));
    return workers_.Release(caller.tenant_id, lease);
  });
}

grpc::Status WorkerServiceImpl::AcknowledgeCancel(grpc::ServerContext* context,
                                                  const v1::AcknowledgeCancelRequest* request,
                                                  v1::AcknowledgeCancelResponse*) {
  return admit_.Run(*context, Scope::kWorker, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto lease, LeaseOf(caller, request->lease()));
    return workers_.AcknowledgeCancel(caller.tenant_id, lease);
  });
}

}  // namespace quarry::gateway
