#include "services/gateway/api/job_service.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/status/macros.h"
#include "services/gateway/api/convert.h"
#include "services/gateway/page_token.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {

namespace {

Jobs::Submission SubmissionOf(const v1::SubmitJobRequest& request) {
  Jobs::Submission submission;
  submission.kind = request.kind();
  submission.payload_json = request.payload_json();
  submission.priority = request.priority();
  if (request.has_run_at()) submission.run_at = FromProto(request.run_at());
  submission.max_attempts = request.max_attempts();
  submission.idempotency_key = request.idempotency_key();
  submission.cost = request.cost();
  submission.depends_on.assign(request.depends_on().begin(), request.depends_on().end());
  return submission;
}

}  // namespace

grpc::Status JobServiceImpl::SubmitJob(grpc::ServerContext* context,
                                       const v1::SubmitJobRequest* request,
                                       v1::SubmitJobResponse* response) {
  return admit_.Run(*context, Scope::kWrite, [&](const Principal& caller) -> absl::Status {
    QUARRY_RETURN_IF_ERROR(ValidateSubmitJob(*request));
    QUARRY_ASSIGN_OR_RETURN(auto result, jobs_.Submit(caller.tenant_id, SubmissionOf(*request)));
    ToProto(result.job, response->mutable_job());
    response->set_created(result.created);
    return absl::OkStatus();
  });
}

grpc::Status JobServiceImpl::SubmitJobs(grpc::ServerContext* context,
                                        const v1::SubmitJobsRequest* request,
                                        v1::SubmitJobsResponse* response) {
  return admit_.Run(*context, Scope::kWrite, [&](const Principal& caller) -> absl::Status {
    QUARRY_RETURN_IF_ERROR(ValidateSubmitJobs(*request));
    std::vector<Jobs::BatchJob> batch;
    batch.reserve(request->jobs_size());
    for (const v1::BatchJob& job : request->jobs()) {
      batch.push_back({job.ref(), SubmissionOf(job.job()), {job.after().begin(), job.after().end()}});
    }
    QUARRY_ASSIGN_OR_RETURN(auto results, jobs_.SubmitBatch(caller.tenant_id, batch));
    for (const auto& result : results) {
      v1::SubmitJobResponse* out = response->add_jobs();
      ToProto(result.job, out->mutable_job());
      out->set_created(result.created);
    }
    return absl::OkStatus();
  });
}

grpc::Status JobServiceImpl::GetJob(grpc::ServerContext* context, const v1::GetJobRequest* request,
                                    v1::GetJobResponse* response) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto id, Jobs::ParseId(request->id()));
    QUARRY_ASSIGN_OR_RETURN(auto job, jobs_.Get(caller.tenant_id, id));
    ToProto(job, response->mutable_job());
    return absl::OkStatus();
  });
}

grpc::Status JobServiceImpl::ListJobs(grpc::ServerContext* context,
                                      const v1::ListJobsRequest* request,
                                      v1::ListJobsResponse* response) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) -> absl::Status {
    QUARRY_RETURN_IF_ERROR(ValidateListJobs(*request));
    QUARRY_ASSIGN_OR_RETURN(auto size, PageSize("page", request->page()));
    QUARRY_ASSIGN_OR_RETURN(
        auto cursor, DecodePageToken("page.page_token", "jobs", request->page().page_token()));
    int64_t before_id = 0;
    if (!cursor.empty() && !absl::SimpleAtoi(cursor, &before_id)) {
      return absl::InvalidArgumentError("page.page_token: malformed cursor");
    }
    std::vector<jobqueue::JobState> states;
    for (int state : request->states()) {
      std::optional<jobqueue::JobState> known = JobStateFromProto(state);
      if (!known.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat("states: unknown job state ", state));
      }
      states.push_back(*known);
    }
    QUARRY_ASSIGN_OR_RETURN(auto page, jobs_.List(caller.tenant_id, std::move(states),
                                                  request->kind(), before_id, size));
    for (const auto& job : page.jobs) ToProto(job, response->add_jobs());
    if (page.next_before.has_value()) {
      response->mutable_page()->set_next_page_token(
          EncodePageToken("jobs", absl::StrCat(*page.next_before)));
    }
    return absl::OkStatus();
  });
}

grpc::Status JobServiceImpl::CancelJob(grpc::ServerContext* context,
                                       const v1::CancelJobRequest* request,
                                       v1::CancelJobResponse* response) {
  return admit_.Run(*context, Scope::kWrite, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto id, Jobs::ParseId(request->id()));
    QUARRY_ASSIGN_OR_RETURN(auto job, jobs_.Cancel(caller.tenant_id, id));
    ToProto(job, response->mutable_job());
    return absl::OkStatus();
  });
}

grpc::Status JobServiceImpl::RetryJob(grpc::ServerContext* context,
                                      const v1::RetryJobRequest* request,
                                      v1::RetryJobResponse* response) {
  return admit_.Run(*context, Scope::kAdmin, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto id, Jobs::ParseId(request->id()));
    QUARRY_ASSIGN_OR_RETURN(auto job, jobs_.Retry(caller.tenant_id, id));
    ToProto(job, response->mutable_job());
    return absl::OkStatus();
  });
}

grpc::Status JobServiceImpl::WatchJob(grpc::ServerContext* context,
                                      const v1::WatchJobRequest* request,
                                      grpc::ServerWriter<v1::WatchJobResponse>* writer) {
  return admit_.Run(*context, Scope::kRead, [&](const Principal& caller) -> absl::Status {
    QUARRY_ASSIGN_OR_RETURN(auto id, Jobs::ParseId(request->id()));
    return jobs_.Watch(
        caller.tenant_id, id,
        [&](const jobqueue::Job& job) {
          v1::WatchJobResponse update;
          ToProto(job, update.mutable_job());
          return writer->Write(update);
        },
        [&] { return context->IsCancelled(); });
  });
}

}  // namespace quarry::gateway
