// jobs: list, inspect, submit, cancel, retry and watch background jobs; the
// queues per kind; and retry or cancel in bulk.
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "tools/quarryctl/commands.h"
#include "tools/quarryctl/common.h"
#include "tools/quarryctl/job_ops.h"

namespace quarry::ctl {

using namespace quarry::gateway::v1;  // NOLINT: a CLI over one API package.

namespace {

// Calls `each` for the jobs in `states` (of `kind` unless empty), newest
// first, at most `limit` of them; *truncated says whether more were left.
grpc::Status ListJobsBounded(JobService::Stub& stub, const Ctl& ctl,
                             const std::vector<JobState>& states, const std::string& kind,
                             int64_t limit, const std::function<void(const Job&)>& each,
                             bool* truncated) {
  *truncated = false;
  ListJobsRequest request;
  for (JobState state : states) request.add_states(state);
  request.set_kind(kind);
  // Payloads may be up to 64 KiB each: a page too large for one message is
  // asked for again in smaller pages.
  int64_t page_size = 500;
  int64_t seen = 0;
  while (true) {
    request.mutable_page()->set_page_size(
        static_cast<int32_t>(std::max<int64_t>(1, std::min(page_size, limit + 1 - seen))));
    ListJobsResponse page;
    const grpc::Status status = stub.ListJobs(ctl.Context().get(), request, &page);
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED && page_size > 1) {
      page_size /= 2;
      continue;
    }
    if (!status.ok()) return status;
    for (const Job& job : page.jobs()) {
      if (seen == limit) {
        *truncated = true;
        return grpc::Status::OK;
      }
      ++seen;
      each(job);
    }
    if (page.page().next_page_token().empty()) return grpc::Status::OK;
    request.mutable_page()->set_page_token(page.page().next_page_token());
  }
}

// `jobs`: per kind, jobs per state. GetJobStats is not used: it has no
// waiting count and reads a view refreshed only now and then.
int QueueSummary(JobService::Stub& stub, const Ctl& ctl, const JobOptions& options) {
  QueueCounts counts;
  if (options.kind.empty()) {
    // Every kind the tenant sees, idle ones too.
    ListJobKindsResponse listed;
    const grpc::Status status = ListAllJobKinds(ctl, &listed);
    if (!status.ok()) return Print(status, listed);
    for (const JobKind& kind : listed.kinds()) counts.AddKind(kind.name());
  } else {
    counts.AddKind(options.kind);
  }
  // One listing per state, so that a long history of finished jobs cannot
  // hide the waiting, queued and running ones behind the limit.
  for (JobState state : kCountedStates) {
    bool truncated = false;
    const grpc::Status status = ListJobsBounded(
        stub, ctl, {state}, options.kind, options.limit,
        [&](const Job& job) { counts.Add(job.kind(), state); }, &truncated);
    if (!status.ok()) return Print(status, ListJobsResponse());
    if (truncated) counts.MarkTruncated(state);
  }
  if (options.json_output) {
    std::cout << counts.Json();
    return 0;
  }
  std::cout << FormatTable(counts.Rows(), {1, 2, 3, 4, 5, 6});
  if (counts.any_truncated()) {
    std::cerr << "counts marked + stopped at --limit=" << options.limit
              << " jobs of that state; there are more\n";
  }
  return 0;
}

// `jobs retry` and `jobs cancel` without an ID: every job of --kind in the
// --state(s), one call each. A job that moved on meanwhile (FAILED_PRECONDITION,
// NOT_FOUND) is skipped, not failed.
int Bulk(JobService::Stub& stub, const Ctl& ctl, const JobOptions& options,
         const std::string& verb) {
  const bool retry = verb == "retry";
  if (options.kind.empty()) return Fail("jobs " + verb + " without an ID needs --kind");
  const std::vector<JobState> allowed =
      retry ? std::vector<JobState>{JOB_STATE_DEAD}
            : std::vector<JobState>{JOB_STATE_QUEUED, JOB_STATE_WAITING, JOB_STATE_RUNNING};
  auto states = ParseJobStates("state", options.state, allowed, allowed);
  if (!states.ok()) return Fail(std::string(states.status().message()));
  // Listed in full before the first change, so that changes cannot move the
  // listing under its cursor and --dry_run shows exactly what would be done.
  std::vector<Job> jobs;
  bool truncated = false;
  const grpc::Status listed = ListJobsBounded(
      stub, ctl, *states, options.kind, options.limit,
      [&](const Job& job) {
        Job& kept = jobs.emplace_back();
        kept.set_id(job.id());
        kept.set_state(job.state());
      },
      &truncated);
  if (!listed.ok()) return Print(listed, ListJobsResponse());
  if (truncated) {
    std::cerr << "stopped listing at --limit=" << options.limit
              << " jobs; run again for the rest\n";
  }
  int64_t done = 0, skipped = 0, failed = 0;
  for (const Job& job : jobs) {
    if (options.dry_run) {
      if (!options.json_output) {
        std::cout << "would " << verb << " " << job.id() << " (" << JobStateName(job.state())
                  << ")\n";
      }
      continue;
    }
    grpc::Status status;
    if (retry) {
      RetryJobRequest request;
      request.set_id(job.id());
      RetryJobResponse response;
      status = stub.RetryJob(ctl.Context().get(), request, &response);
    } else {
      CancelJobRequest request;
      request.set_id(job.id());
      CancelJobResponse response;
      status = stub.CancelJob(ctl.Context().get(), request, &response);
    }
    if (status.ok()) {
      ++done;
    } else if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
               status.error_code() == grpc::StatusCode::NOT_FOUND) {
      ++skipped;
      std::cerr << "skipped " << job.id() << ": " << StatusText(status) << "\n";
    } else {
      ++failed;
      std::cerr << "failed " << job.id() << ": " << StatusText(status) << "\n";
      // Every further call would be refused the same way.
      if (status.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
          status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
        break;
      }
    }
  }
  const int64_t matched = static_cast<int64_t>(jobs.size());
  std::vector<std::string> state_names;
  for (JobState state : *states) state_names.push_back(JobStateName(state));
  if (options.json_output) {
    std::cout << nlohmann::json{{"action", verb},
                                {"kind", options.kind},
                                {"states", state_names},
                                {"dry_run", options.dry_run},
                                {"matched", matched},
                                {"done", done},
                                {"skipped", skipped},
                                {"failed", failed},
                                {"not_attempted",
                                 options.dry_run ? 0 : matched - done - skipped - failed},
                                {"truncated", truncated}}
                     .dump(2)
              << "\n";
  } else if (options.dry_run) {
    std::cout << "dry run: would " << verb << " " << matched << " "
              << absl::StrJoin(state_names, "/") << " jobs of kind " << options.kind << "\n";
  } else {
    std::cout << verb << ": " << done << " done, " << skipped << " skipped, " << failed
              << " failed of " << matched << " " << absl::StrJoin(state_names, "/")
              << " jobs of kind " << options.kind;
    if (const int64_t rest = matched - done - skipped - failed; rest > 0) {
      std::cout << " (" << rest << " not attempted)";
    }
    std::cout << "\n";
  }
  return failed > 0 ? 1 : 0;
}

}  // namespace

int Jobs(const Ctl& ctl, const JobOptions& options, const std::vector<std::string>& args) {
  auto stub = JobService::NewStub(ctl.channel());
  const std::string verb = args.size() > 1 ? args[1] : "";
  if (options.limit < 1) return Fail("--limit must be at least 1");
  if (verb.empty()) return QueueSummary(*stub, ctl, options);
  if ((verb == "retry" || verb == "cancel") && args.size() == 2) {
    return Bulk(*stub, ctl, options, verb);
  }
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
