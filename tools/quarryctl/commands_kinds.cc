// kinds and schedules: a tenant's own job kinds (JobKindService) and the
// schedules that submit jobs of them (ScheduleService). Listings print as
// aligned tables (--output=json: the response); get and create print the
// resource as JSON.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "quarry/gateway/v1/job_kind_service.grpc.pb.h"
#include "quarry/gateway/v1/schedule_service.grpc.pb.h"
#include "tools/quarryctl/commands.h"
#include "tools/quarryctl/common.h"
#include "tools/quarryctl/job_ops.h"

namespace quarry::ctl {

using namespace quarry::gateway::v1;  // NOLINT: a CLI over one API package.

namespace {

// A limit of 0 means none.
std::string LimitText(int64_t value) { return value == 0 ? "-" : absl::StrCat(value); }

std::string KindTable(const ListJobKindsResponse& response) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "OWNER", "MAX_ATTEMPTS", "PRIORITY", "CONCURRENCY", "STARTS/MIN", "COST/MIN",
       "ATTEMPT_TIMEOUT", "PAUSED_UNTIL"}};
  for (const JobKind& kind : response.kinds()) {
    rows.push_back({kind.name(), kind.system() ? "system" : "tenant",
                    absl::StrCat(kind.max_attempts()), absl::StrCat(kind.priority()),
                    LimitText(kind.max_concurrency()), LimitText(kind.starts_per_minute()),
                    LimitText(kind.cost_per_minute()), DurationText(kind.attempt_timeout()),
                    TimestampText(kind.paused_until())});
  }
  return FormatTable(rows, {2, 3, 4, 5, 6});
}

std::string ScheduleTable(const ListSchedulesResponse& response) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "KIND", "WHEN", "OVERLAP", "NEXT_RUN", "LAST_JOB", "SKIPPED", "LAST_ERROR"}};
  for (const Schedule& schedule : response.schedules()) {
    rows.push_back({schedule.name(), schedule.kind(),
                    schedule.cron().empty() ? "every " + DurationText(schedule.interval())
                                            : "cron " + schedule.cron(),
                    schedule.overlap() == OVERLAP_POLICY_QUEUE ? "queue" : "skip",
                    TimestampText(schedule.next_run_time()),
                    schedule.last_job_id().empty() ? "-" : schedule.last_job_id(),
                    absl::StrCat(schedule.skipped_ticks()), schedule.last_error()});
  }
  return FormatTable(rows, {6});
}

// The kind the flags describe; a usage error's message otherwise.
absl::StatusOr<JobKind> KindFromFlags(const std::string& name, const KindOptions& options) {
  JobKind kind;
  kind.set_name(name);
  kind.set_description(options.description);
  kind.set_max_attempts(options.max_attempts);
  kind.set_priority(options.priority);
  kind.set_max_concurrency(options.max_concurrency);
  kind.set_starts_per_minute(options.starts_per_minute);
  kind.set_cost_per_minute(options.cost_per_minute);
  kind.set_max_result_bytes(options.max_result_bytes);
  // A duration present but zero is out of range to the API, not its default,
  // so a zero flag leaves the field (and an empty retry policy) absent.
  const struct {
    const char* flag;
    absl::Duration value;
    google::protobuf::Duration* (*field)(JobKind&);
  } durations[] = {
      {"attempt_timeout", options.attempt_timeout,
       [](JobKind& k) { return k.mutable_attempt_timeout(); }},
      {"retention", options.retention, [](JobKind& k) { return k.mutable_retention(); }},
      {"initial_backoff", options.initial_backoff,
       [](JobKind& k) { return k.mutable_retry()->mutable_initial_backoff(); }},
      {"max_backoff", options.max_backoff,
       [](JobKind& k) { return k.mutable_retry()->mutable_max_backoff(); }},
  };
  for (const auto& d : durations) {
    auto value = ToProtoDuration(d.flag, d.value);
    if (!value.ok()) return value.status();
    if (d.value != absl::ZeroDuration()) *d.field(kind) = *value;
  }
  return kind;
}

}  // namespace

grpc::Status ListAllJobKinds(const Ctl& ctl, ListJobKindsResponse* all) {
  auto stub = JobKindService::NewStub(ctl.channel());
  return ListAll(
      [&](const ListJobKindsRequest& request, ListJobKindsResponse* page) {
        return stub->ListJobKinds(ctl.Context().get(), request, page);
      },
      ListJobKindsRequest(), all);
}

int Kinds(const Ctl& ctl, const KindOptions& options, const std::vector<std::string>& args) {
  auto stub = JobKindService::NewStub(ctl.channel());
  const std::string verb = args.size() > 1 ? args[1] : "";
  if (verb == "list") {
    ListJobKindsResponse response;
    const grpc::Status status = ListAllJobKinds(ctl, &response);
    if (!status.ok() || options.json_output) return Print(status, response);
    std::cout << KindTable(response);
    return 0;
  }
  if (verb != "get" && verb != "create" && verb != "delete") {
    return Fail("kinds list | get NAME | create NAME | delete NAME");
  }
  if (args.size() != 3) return Fail("kinds " + verb + " takes one NAME");
  if (verb == "get") {
    GetJobKindRequest request;
    request.set_name(args[2]);
    GetJobKindResponse response;
    return Print(stub->GetJobKind(ctl.Context().get(), request, &response), response);
  }
  if (verb == "create") {
    auto kind = KindFromFlags(args[2], options);
    if (!kind.ok()) return Fail(std::string(kind.status().message()));
    CreateJobKindRequest request;
    *request.mutable_kind() = *std::move(kind);
    CreateJobKindResponse response;
    return Print(stub->CreateJobKind(ctl.Context().get(), request, &response), response);
  }
  DeleteJobKindRequest request;
  request.set_name(args[2]);
  DeleteJobKindResponse response;
  const grpc::Status status = stub->DeleteJobKind(ctl.Context().get(), request, &response);
  if (!status.ok() || options.json_output) return Print(status, response);
  std::cout << "kind " << args[2] << " deleted\n";
  return 0;
}

int Schedules(const Ctl& ctl, const ScheduleOptions& options,
              const std::vector<std::string>& args) {
  auto stub = ScheduleService::NewStub(ctl.channel());
  const std::string verb = args.size() > 1 ? args[1] : "";
  if (verb == "list") {
    ListSchedulesResponse response;
    const grpc::Status status = ListAll(
        [&](const ListSchedulesRequest& request, ListSchedulesResponse* page) {
          return stub->ListSchedules(ctl.Context().get(), request, page);
        },
        ListSchedulesRequest(), &response);
    if (!status.ok() || options.json_output) return Print(status, response);
    std::cout << ScheduleTable(response);
    return 0;
  }
  if (verb != "get" && verb != "create" && verb != "delete") {
    return Fail("schedules list | get NAME | create NAME --kind=K (--cron=EXPR | --every=D) | "
                "delete NAME");
  }
  if (args.size() != 3) return Fail("schedules " + verb + " takes one NAME");
  if (verb == "get") {
    GetScheduleRequest request;
    request.set_name(args[2]);
    GetScheduleResponse response;
    return Print(stub->GetSchedule(ctl.Context().get(), request, &response), response);
  }
  if (verb == "create") {
    if (options.kind.empty()) return Fail("schedules create needs --kind");
    auto timing = ParseScheduleTiming(options.cron, options.every);
    if (!timing.ok()) return Fail(std::string(timing.status().message()));
    auto overlap = ParseOverlap(options.overlap);
    if (!overlap.ok()) return Fail(std::string(overlap.status().message()));
    CreateScheduleRequest request;
    Schedule* schedule = request.mutable_schedule();
    schedule->set_name(args[2]);
    schedule->set_kind(options.kind);
    schedule->set_payload_json(options.payload);
    schedule->set_cron(timing->cron);
    if (timing->every != absl::ZeroDuration()) {
      schedule->mutable_interval()->set_seconds(absl::ToInt64Seconds(timing->every));
    }
    schedule->set_overlap(*overlap);
    schedule->set_catch_up(options.catch_up);
    schedule->set_priority(options.priority);
    schedule->set_max_attempts(options.max_attempts);
    CreateScheduleResponse response;
    return Print(stub->CreateSchedule(ctl.Context().get(), request, &response), response);
  }
  DeleteScheduleRequest request;
  request.set_name(args[2]);
  DeleteScheduleResponse response;
  const grpc::Status status = stub->DeleteSchedule(ctl.Context().get(), request, &response);
  if (!status.ok() || options.json_output) return Print(status, response);
  std::cout << "schedule " << args[2] << " deleted\n";
  return 0;
}

}  // namespace quarry::ctl
