// jobs: list, inspect, submit, cancel, retry and watch background jobs.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/ascii.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "tools/quarryctl/commands.h"
#include "tools/quarryctl/common.h"

namespace quarry::ctl {

using namespace quarry::gateway::v1;  // NOLINT: a CLI over one API package.

int Jobs(const Ctl& ctl, const JobOptions& options, const std::vector<std::string>& args) {
  auto stub = JobService::NewStub(ctl.channel());
  const std::string verb = args.size() > 1 ? args[1] : "";
  if (verb == "list") {
    ListJobsRequest request;
    if (const std::string state = options.state; !state.empty()) {
      JobState value;
      if (!JobState_Parse("JOB_STATE_" + absl::AsciiStrToUpper(state), &value)) {
        return Fail("--state must be queued, running, succeeded, dead or cancelled");
      }
      request.add_states(value);
    }
    request.set_kind(options.kind);
    ListJobsResponse response;
    return Print(stub->ListJobs(ctl.Context().get(), request, &response), response);
  }
  if (args.size() < 3) return Fail("jobs " + verb + " needs an argument");
  if (verb == "submit") {
    SubmitJobRequest request;
    request.set_kind(args[2]);
    request.set_payload_json(options.payload);
    SubmitJobResponse response;
    return Print(stub->SubmitJob(ctl.Context().get(), request, &response), response);
  }
  if (verb == "get") {
    GetJobRequest request;
    request.set_id(args[2]);
    GetJobResponse response;
    return Print(stub->GetJob(ctl.Context().get(), request, &response), response);
  }
  if (verb == "cancel") {
    CancelJobRequest request;
    request.set_id(args[2]);
    CancelJobResponse response;
    return Print(stub->CancelJob(ctl.Context().get(), request, &response), response);
  }
  if (verb == "retry") {
    RetryJobRequest request;
    request.set_id(args[2]);
    RetryJobResponse response;
    return Print(stub->RetryJob(ctl.Context().get(), request, &response), response);
  }
  if (verb == "watch") {
    WatchJobRequest request;
    request.set_id(args[2]);
    grpc::ClientContext context;  // No deadline: a watch lasts as long as the job.
    if (const char* key = std::getenv("QUARRY_API_KEY"); options.api_key.empty() && key) {
      context.AddMetadata("authorization", std::string("Bearer ") + key);
    } else if (!options.api_key.empty()) {
      context.AddMetadata("authorization", "Bearer " + options.api_key);
    }
    auto reader = stub->WatchJob(&context, request);
    WatchJobResponse update;
    while (reader->Read(&update)) {
      const Job& job = update.job();
      std::cout << JobState_Name(job.state()) << " " << static_cast<int>(job.progress() * 100)
                << "% " << job.progress_message() << std::endl;
    }
    return Print(reader->Finish(), update);
  }
  return Fail("unknown: jobs " + verb);
}

}  // namespace quarry::ctl
