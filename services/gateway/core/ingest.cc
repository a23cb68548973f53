#include "services/gateway/core/ingest.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/model/index_documents_payload.h"
#include "services/common/model/job_kinds.h"
#include "services/common/status/macros.h"
#include "services/common/telemetry/trace_context.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {

absl::StatusOr<Ingest::Upserted> Ingest::Upsert(
    int64_t tenant_id, const quarry::gateway::v1::UpsertDocumentsRequest& request,
    absl::Time deadline) {
  QUARRY_RETURN_IF_ERROR(ValidateUpsert(request));
  std::vector<std::string> ids;
  ids.reserve(request.documents_size());
  for (const auto& doc : request.documents()) ids.push_back(doc.id());
  // The collection (locked), the documents and their indexing job commit
  // together or not at all.
  auto written = documents_.Upsert(
      tenant_id, request.collection(), request.documents(),
      [&](const store::CollectionRecord& collection) -> absl::StatusOr<jobqueue::JobSpec> {
        QUARRY_RETURN_IF_ERROR(ValidateUpsertVectors(request, collection.dimension));
        jobqueue::JobSpec spec;
        spec.tenant_id = tenant_id;
        spec.kind = std::string(model::kIndexDocuments);
        spec.payload_json = model::EncodeIndexDocumentsPayload({collection.id, ids});
        spec.traceparent = telemetry::CurrentTraceparent();
        return spec;
      });
  if (!written.ok()) return written.status();
  Upserted out;
  out.job = written->job;
  out.result = written->result;
  out.sequence = written->result.max_seq;
  if (!request.wait_for_indexed()) return out;

  QUARRY_RETURN_IF_ERROR(WaitForJob(tenant_id, written->job.id, deadline));
  QUARRY_ASSIGN_OR_RETURN(auto sequence, documents_.MaxSequence(written->collection.id, ids));
  QUARRY_RETURN_IF_ERROR(shards_.WaitForWatermark(sequence, deadline));
  out.sequence = sequence;
  auto finished = jobs_.Get(tenant_id, written->job.id);
  if (finished.ok()) out.job = *finished;
  return out;
}

absl::StatusOr<Ingest::Fetched> Ingest::Get(int64_t tenant_id, const std::string& collection,
                                            const std::vector<std::string>& ids) {
  QUARRY_ASSIGN_OR_RETURN(auto found, collections_.Find(tenant_id, collection));
  QUARRY_ASSIGN_OR_RETURN(auto docs, documents_.Get(found.id, ids));
  std::map<std::string, quarry::gateway::v1::Document*> by_id;
  for (auto& doc : docs) by_id[doc.id()] = &doc;
  Fetched out;
  for (const std::string& id : ids) {
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      out.missing_ids.push_back(id);
    } else {
      out.documents.push_back(*it->second);
    }
  }
  return out;
}

absl::StatusOr<store::DeleteResult> Ingest::Delete(int64_t tenant_id,
                                                   const std::string& collection,
                                                   const std::vector<std::string>& ids,
                                                   bool wait_for_indexed, absl::Time deadline) {
  QUARRY_ASSIGN_OR_RETURN(auto deleted, documents_.Delete(tenant_id, collection, ids));
  if (wait_for_indexed && deleted.max_seq > 0) {
    QUARRY_RETURN_IF_ERROR(shards_.WaitForWatermark(deleted.max_seq, deadline));
  }
  return deleted;
}

absl::Status Ingest::WaitForJob(int64_t tenant_id, int64_t job_id, absl::Time deadline) {
  while (true) {
    const uint64_t version = watcher_.Version(job_id);
    QUARRY_ASSIGN_OR_RETURN(auto job, jobs_.Get(tenant_id, job_id));
    if (job.state == jobqueue::JobState::kSucceeded) return absl::OkStatus();
    if (jobqueue::IsTerminal(job.state)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the write is durable but its indexing job ", job_id, " ended ",
          jobqueue::JobStateName(job.state), ": ", job.last_error));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the write is durable but not yet indexed (job ", job_id, " is ",
          jobqueue::JobStateName(job.state), ")"));
    }
    watcher_.Wait(job_id, version, std::min(absl::Milliseconds(250), deadline - absl::Now()));
  }
}

}  // namespace quarry::gateway
