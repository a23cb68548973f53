#include "services/gateway/core/jobs.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "services/common/model/job_kinds.h"
#include "services/common/status/macros.h"
#include "services/common/telemetry/trace_context.h"
#include "services/gateway/limits.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {

absl::StatusOr<JobStore::NewJob> Jobs::Prepare(int64_t tenant_id, const Submission& submission,
                                               const std::string& prefix) {
  nlohmann::json payload = nlohmann::json::parse(
      submission.payload_json.empty() ? "{}" : submission.payload_json, nullptr, false);
  JobStore::NewJob job;
  // Collections are named by clients; jobs carry the tenant's collection id,
  // so a job can never reach another tenant's collection.
  if (submission.kind == model::kIndexDocuments || submission.kind == model::kReindexCollection) {
    if (!payload.contains("collection") || !payload["collection"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          prefix, "payload_json.collection: a collection name is required for this kind"));
    }
    job.collection = payload["collection"].get<std::string>();
    payload.erase("collection");
  } else if (payload.contains("collection_id")) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, "payload_json.collection_id: name the collection with \"collection\" instead"));
  }
  jobqueue::JobSpec& spec = job.spec;
  spec.tenant_id = tenant_id;
  spec.kind = submission.kind;
  if (submission.run_at.has_value()) spec.run_at = *submission.run_at;
  spec.idempotency_key = submission.idempotency_key;
  spec.payload_json = payload.dump();
  spec.cost = submission.cost == 0 ? 1 : submission.cost;
  // The run continues the submit's trace (the handler's server span).
  spec.traceparent = telemetry::CurrentTraceparent();
  for (size_t i = 0; i < submission.depends_on.size(); ++i) {
    int64_t id = 0;
    if (!absl::SimpleAtoi(submission.depends_on[i], &id)) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "depends_on[", i, "]: out of range"));
    }
    spec.depends_on.push_back(id);
  }
  job.depends_on_field = absl::StrCat(prefix, "depends_on");
  job.rule = [submission, prefix](const jobqueue::JobKind& kind,
                                  jobqueue::JobSpec& bound) -> absl::Status {
    bound.priority = submission.priority == 0 ? kind.priority : submission.priority;
    bound.max_attempts = submission.max_attempts == 0 ? kind.max_attempts : submission.max_attempts;
    if (kind.cost_per_minute > 0 && bound.cost > kind.cost_per_minute) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "cost: ", bound.cost, " is beyond kind \"", kind.name,
                       "\"'s budget of ", kind.cost_per_minute, " per minute"));
    }
    return absl::OkStatus();
  };
  job.bind = [payload](const store::CollectionRecord& collection, jobqueue::JobSpec& bound) {
    nlohmann::json with_id = payload;
    with_id["collection_id"] = collection.id;
    bound.payload_json = with_id.dump();
  };
  return job;
}

absl::StatusOr<jobqueue::pgjobs::EnqueueResult> Jobs::Submit(int64_t tenant_id,
                                                             const Submission& submission) {
  QUARRY_ASSIGN_OR_RETURN(JobStore::NewJob job, Prepare(tenant_id, submission, ""));
  QUARRY_ASSIGN_OR_RETURN(auto enqueued, jobs_.Enqueue({std::move(job)}));
  return std::move(enqueued.front());
}

absl::StatusOr<std::vector<jobqueue::pgjobs::EnqueueResult>> Jobs::SubmitBatch(
    int64_t tenant_id, const std::vector<BatchJob>& jobs) {
  const int n = static_cast<int>(jobs.size());
  absl::flat_hash_map<std::string, int> by_ref;
  for (int i = 0; i < n; ++i) {
    if (jobs[i].ref.empty()) continue;
    if (!by_ref.emplace(jobs[i].ref, i).second) {
      return absl::InvalidArgumentError(absl::StrCat("jobs[", i, "].ref: \"", jobs[i].ref,
                                                     "\" names another job of the batch too"));
    }
  }
  // Edges earlier -> later; Kahn's order puts every job after those it
  // waits for, and whatever is left over sits on a cycle.
  std::vector<std::vector<int>> after(n);
  std::vector<std::vector<int>> dependents(n);
  std::vector<int> unmet(n, 0);
  for (int i = 0; i < n; ++i) {
    for (const std::string& ref : jobs[i].after) {
      auto it = by_ref.find(ref);
      if (it == by_ref.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("jobs[", i, "].after: no job of the batch has ref \"", ref, "\""));
      }
      if (std::find(after[i].begin(), after[i].end(), it->second) != after[i].end()) continue;
      after[i].push_back(it->second);
      dependents[it->second].push_back(i);
      ++unmet[i];
    }
  }
  std::vector<int> order;
  for (int i = 0; i < n; ++i) {
    if (unmet[i] == 0) order.push_back(i);
  }
  for (size_t next = 0; next < order.size(); ++next) {
    for (int d : dependents[order[next]]) {
      if (--unmet[d] == 0) order.push_back(d);
    }
  }
  if (static_cast<int>(order.size()) < n) {
    std::vector<std::string> cycle;
    int first = -1;
    for (int i = 0; i < n; ++i) {
      if (unmet[i] == 0) continue;
      if (first < 0) first = i;
      cycle.push_back(absl::StrCat("\"", jobs[i].ref, "\""));
    }
    return absl::InvalidArgumentError(absl::StrCat("jobs[", first, "].after: a cycle among refs ",
                                                   absl::StrJoin(cycle, ", ")));
  }
  std::vector<int> position(n);
  std::vector<JobStore::NewJob> ordered;
  ordered.reserve(n);
  for (int i : order) {
    QUARRY_ASSIGN_OR_RETURN(
        JobStore::NewJob job,
        Prepare(tenant_id, jobs[i].submission, absl::StrCat("jobs[", i, "].job.")));
    for (int earlier : after[i]) job.after.push_back(position[earlier]);
    position[i] = static_cast<int>(ordered.size());
    ordered.push_back(std::move(job));
  }
  QUARRY_ASSIGN_OR_RETURN(auto enqueued, jobs_.Enqueue(std::move(ordered)));
  std::vector<jobqueue::pgjobs::EnqueueResult> out(n);
  for (int i = 0; i < n; ++i) out[i] = std::move(enqueued[position[i]]);
  return out;
}

absl::StatusOr<int64_t> Jobs::ParseId(const std::string& id) {
  QUARRY_RETURN_IF_ERROR(ValidateJobId("id", id));
  int64_t value;
  if (!absl::SimpleAtoi(id, &value)) return absl::InvalidArgumentError("id: out of range");
  return value;
}

absl::StatusOr<jobqueue::Job> Jobs::Get(int64_t tenant_id, int64_t id) {
  return jobs_.Get(tenant_id, id);
}

absl::StatusOr<Jobs::Page> Jobs::List(int64_t tenant_id, std::vector<jobqueue::JobState> states,
                                      const std::string& kind, int64_t before_id, int size) {
  jobqueue::pgjobs::ListFilter filter;
  filter.states = std::move(states);
  filter.kind = kind;
  filter.before_id = before_id;
  // One more than a page tells whether there is a next one.
  filter.limit = size + 1;
  QUARRY_ASSIGN_OR_RETURN(auto jobs, jobs_.List(tenant_id, filter));
  Page page;
  if (static_cast<int>(jobs.size()) > size) {
    jobs.resize(size);
    page.next_before = jobs.back().id;
  }
  page.jobs = std::move(jobs);
  return page;
}

absl::StatusOr<jobqueue::Job> Jobs::Cancel(int64_t tenant_id, int64_t id) {
  QUARRY_ASSIGN_OR_RETURN(auto before, jobs_.Get(tenant_id, id));
  if (jobqueue::IsTerminal(before.state)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", id, " already ended (", jobqueue::JobStateName(before.state), ")"));
  }
  return jobs_.Cancel(tenant_id, id);
}

absl::StatusOr<jobqueue::Job> Jobs::Retry(int64_t tenant_id, int64_t id) {
  QUARRY_ASSIGN_OR_RETURN(auto before, jobs_.Get(tenant_id, id));
  if (before.state != jobqueue::JobState::kDead) {
    return absl::FailedPreconditionError(
        absl::StrCat("only dead jobs can be re-driven; job ", id, " is ",
                     jobqueue::JobStateName(before.state)));
  }
  return jobs_.Retry(tenant_id, id);
}

absl::Status Jobs::Watch(int64_t tenant_id, int64_t id,
                         const std::function<bool(const jobqueue::Job&)>& send,
                         const std::function<bool()>& cancelled) {
  std::string last_sent;
  while (!cancelled()) {
    const uint64_t version = watcher_.Version(id);
    QUARRY_ASSIGN_OR_RETURN(auto job, jobs_.Get(tenant_id, id));
    // Send only changes: state, progress, message, cancellation.
    const std::string fingerprint =
        absl::StrCat(static_cast<int>(job.state), "/", job.progress, "/",
                     job.progress_message, "/", job.cancel_requested, "/", job.attempts);
    if (fingerprint != last_sent) {
      if (!send(job)) return absl::CancelledError("");
      last_sent = fingerprint;
    }
    if (jobqueue::IsTerminal(job.state)) return absl::OkStatus();
    watcher_.Wait(id, version, absl::Seconds(1));
  }
  return absl::CancelledError("watch cancelled by the client");
}

absl::StatusOr<std::vector<store::JobKindStatsRow>> Jobs::KindStats(int64_t tenant_id) {
  return jobs_.KindStats(tenant_id);
}

}  // namespace quarry::gateway
