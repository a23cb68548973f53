#include "services/gateway/testing/fakes.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/common/model/job_kinds.h"
#include "services/common/status/macros.h"

namespace quarry::gateway::testing {

// ---------------------------------------------------------------- collections

absl::StatusOr<store::CollectionRecord> FakeCollectionStore::Insert(
    const store::CollectionRecord& collection) {
  absl::MutexLock lock(&mu_);
  for (const auto& [id, live] : live_) {
    if (live.tenant_id == collection.tenant_id && live.name == collection.name) {
      return absl::AlreadyExistsError("duplicate key value");
    }
  }
  store::CollectionRecord stored = collection;
  stored.id = next_id_++;
  stored.created_at = absl::Now();
  live_[stored.id] = stored;
  return stored;
}

absl::StatusOr<store::CollectionRecord> FakeCollectionStore::Find(int64_t tenant_id,
                                                                  const std::string& name) {
  absl::MutexLock lock(&mu_);
  for (const auto& [id, live] : live_) {
    if (live.tenant_id == tenant_id && live.name == name) return live;
  }
  return CollectionNotFound(name);
}

absl::StatusOr<std::vector<store::CollectionRecord>> FakeCollectionStore::List(
    int64_t tenant_id, const std::string& after_name, int limit) {
  absl::MutexLock lock(&mu_);
  std::map<std::string, store::CollectionRecord> by_name;
  for (const auto& [id, live] : live_) {
    if (live.tenant_id == tenant_id && live.name > after_name) by_name[live.name] = live;
  }
  std::vector<store::CollectionRecord> out;
  for (const auto& [name, live] : by_name) {
    if (static_cast<int>(out.size()) == limit) break;
    out.push_back(live);
  }
  return out;
}

absl::StatusOr<std::vector<int64_t>> FakeCollectionStore::LiveIds(const std::vector<int64_t>& ids) {
  absl::MutexLock lock(&mu_);
  std::vector<int64_t> out;
  for (int64_t id : ids) {
    if (live_.contains(id)) out.push_back(id);
  }
  return out;
}

absl::StatusOr<DeletedCollection> FakeCollectionStore::Delete(int64_t tenant_id,
                                                              const std::string& name,
                                                              const jobqueue::JobSpec&) {
  auto found = Find(tenant_id, name);
  if (!found.ok()) return found.status();
  absl::MutexLock lock(&mu_);
  live_.erase(found->id);
  return DeletedCollection{*found, 1000 + found->id};
}

absl::StatusOr<store::CollectionStats> FakeCollectionStore::Stats(int64_t) {
  return store::CollectionStats{};
}

// ------------------------------------------------------------------ job kinds

FakeJobKindStore::FakeJobKindStore() {
  absl::MutexLock lock(&mu_);
  for (absl::string_view name : model::kJobKinds) {
    jobqueue::JobKind kind;
    kind.id = next_id_++;
    kind.name = std::string(name);
    kinds_[{0, kind.name}] = kind;
  }
}

absl::StatusOr<jobqueue::JobKind> FakeJobKindStore::Create(int64_t tenant_id,
                                                           const jobqueue::JobKind& kind) {
  absl::MutexLock lock(&mu_);
  if (kinds_.count({0, kind.name}) > 0 ||
      absl::StartsWith(kind.name, model::kSystemKindPrefix)) {
    return absl::InvalidArgumentError(absl::StrCat("kind.name: \"", kind.name,
                                                   "\" is reserved for Quarry's own kinds"));
  }
  if (kinds_.count({tenant_id, kind.name}) > 0) {
    return absl::AlreadyExistsError(absl::StrCat("job kind \"", kind.name, "\" already exists"));
  }
  jobqueue::JobKind stored = kind;
  stored.id = next_id_++;
  stored.tenant_id = tenant_id;
  kinds_[{tenant_id, kind.name}] = stored;
  return stored;
}

absl::StatusOr<jobqueue::JobKind> FakeJobKindStore::Get(int64_t tenant_id,
                                                        const std::string& name) {
  absl::MutexLock lock(&mu_);
  for (int64_t owner : {tenant_id, int64_t{0}}) {
    auto it = kinds_.find({owner, name});
    if (it != kinds_.end()) return it->second;
  }
  return absl::NotFoundError(absl::StrCat("job kind \"", name, "\" not found"));
}

absl::StatusOr<std::vector<jobqueue::JobKind>> FakeJobKindStore::List(
    int64_t tenant_id, const std::string& after_name, int limit) {
  absl::MutexLock lock(&mu_);
  std::map<std::string, jobqueue::JobKind> visible;
  for (const auto& [key, kind] : kinds_) {
    if ((key.first == 0 || key.first == tenant_id) && key.second > after_name) {
      visible[key.second] = kind;
    }
  }
  std::vector<jobqueue::JobKind> out;
  for (const auto& [name, kind] : visible) {
    if (static_cast<int>(out.size()) == limit) break;
    out.push_back(kind);
  }
  return out;
}

absl::StatusOr<jobqueue::JobKind> FakeJobKindStore::Update(int64_t tenant_id,
                                                           const jobqueue::JobKind& kind) {
  absl::MutexLock lock(&mu_);
  if (kinds_.count({0, kind.name}) > 0) {
    return absl::PermissionDeniedError("system kinds cannot be changed");
  }
  auto it = kinds_.find({tenant_id, kind.name});
  if (it == kinds_.end()) {
    return absl::NotFoundError(absl::StrCat("job kind \"", kind.name, "\" not found"));
  }
  jobqueue::JobKind stored = kind;
  stored.id = it->second.id;
  stored.tenant_id = tenant_id;
  it->second = stored;
  return stored;
}

absl::Status FakeJobKindStore::Delete(int64_t tenant_id, const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (kinds_.count({0, name}) > 0) {
    return absl::PermissionDeniedError("system kinds cannot be deleted");
  }
  if (kinds_.erase({tenant_id, name}) == 0) {
    return absl::NotFoundError(absl::StrCat("job kind \"", name, "\" not found"));
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------------ schedules

absl::StatusOr<jobqueue::StoredSchedule> FakeScheduleStore::Create(
    const jobqueue::ScheduleSpec& spec) {
  QUARRY_RETURN_IF_ERROR(jobqueue::ValidateScheduleSpec("schedule", spec));
  absl::MutexLock lock(&mu_);
  const std::pair<int64_t, std::string> key{spec.tenant_id.value_or(0), spec.name};
  if (schedules_.count(key) > 0) {
    return absl::AlreadyExistsError(absl::StrCat("schedule \"", spec.name, "\" already exists"));
  }
  jobqueue::StoredSchedule stored;
  stored.id = next_id_++;
  stored.spec = spec;
  stored.created_at = absl::Now();
  QUARRY_ASSIGN_OR_RETURN(jobqueue::Schedule timing, stored.Timing());
  stored.next_run_at = timing.NextTick(stored.created_at);
  schedules_[key] = stored;
  return stored;
}

absl::StatusOr<jobqueue::StoredSchedule> FakeScheduleStore::Get(int64_t tenant_id,
                                                                const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = schedules_.find({tenant_id, name});
  if (it == schedules_.end()) return ScheduleNotFound(name);
  return it->second;
}

absl::StatusOr<std::vector<jobqueue::StoredSchedule>> FakeScheduleStore::List(
    int64_t tenant_id, const std::string& after_name, int limit) {
  absl::MutexLock lock(&mu_);
  std::vector<jobqueue::StoredSchedule> out;
  for (auto it = schedules_.upper_bound({tenant_id, after_name});
       it != schedules_.end() && it->first.first == tenant_id &&
       static_cast<int>(out.size()) < limit;
       ++it) {
    out.push_back(it->second);
  }
  return out;
}

absl::Status FakeScheduleStore::Delete(int64_t tenant_id, const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (schedules_.erase({tenant_id, name}) == 0) return ScheduleNotFound(name);
  return absl::OkStatus();
}

// ----------------------------------------------------------------------- jobs

jobqueue::Job FakeJobStore::Insert(const jobqueue::JobSpec& spec) {
  jobqueue::Job job =
      jobqueue::NewQueuedJob(static_cast<int64_t>(jobs_.size()) + 1, spec, absl::Now());
  for (int64_t id : spec.depends_on) {
    if (jobs_[id - 1].state != jobqueue::JobState::kSucceeded) job.state = jobqueue::JobState::kWaiting;
  }
  jobs_.push_back(job);
  return job;
}

absl::StatusOr<std::vector<jobqueue::pgjobs::EnqueueResult>> FakeJobStore::Enqueue(
    std::vector<NewJob> jobs) {
  // Bind and check every job before storing any, so a refused one leaves
  // nothing behind.
  std::vector<jobqueue::JobSpec> bound;
  for (NewJob& job : jobs) {
    jobqueue::JobSpec spec = job.spec;
    auto kind = kinds_.Get(spec.tenant_id.value_or(0), spec.kind);
    if (!kind.ok()) return kind.status();
    if (absl::Status s = job.rule(*kind, spec); !s.ok()) return s;
    if (job.collection.has_value()) {
      auto found = collections_.Find(spec.tenant_id.value_or(0), *job.collection);
      if (!found.ok()) return found.status();
      job.bind(*found, spec);
    }
    bound.push_back(std::move(spec));
  }
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < jobs.size(); ++i) {
    for (int64_t id : bound[i].depends_on) {
      if (id < 1 || id > static_cast<int64_t>(jobs_.size()) ||
          jobs_[id - 1].tenant_id != bound[i].tenant_id) {
        return absl::NotFoundError(
            absl::StrCat(jobs[i].depends_on_field, ": job ", id, " not found"));
      }
      const jobqueue::JobState state = jobs_[id - 1].state;
      if (state == jobqueue::JobState::kDead || state == jobqueue::JobState::kCancelled) {
        return absl::FailedPreconditionError(absl::StrCat(jobs[i].depends_on_field, ": job ", id,
                                                          " already ended"));
      }
    }
  }
  std::vector<jobqueue::pgjobs::EnqueueResult> out;
  for (size_t i = 0; i < jobs.size(); ++i) {
    jobqueue::JobSpec& spec = bound[i];
    for (int earlier : jobs[i].after) spec.depends_on.push_back(out[earlier].job.id);
    std::optional<jobqueue::Job> existing;
    if (!spec.idempotency_key.empty()) {
      for (const jobqueue::Job& job : jobs_) {
        if (job.tenant_id == spec.tenant_id && job.idempotency_key == spec.idempotency_key) {
          existing = job;
        }
      }
    }
    if (existing.has_value()) {
      out.push_back({*existing, false});
    } else {
      out.push_back({Insert(spec), true});
    }
  }
  return out;
}

absl::StatusOr<jobqueue::Job> FakeJobStore::Get(int64_t tenant_id, int64_t id) {
  absl::MutexLock lock(&mu_);
  if (id < 1 || id > static_cast<int64_t>(jobs_.size()) ||
      jobs_[id - 1].tenant_id != tenant_id) {
    return absl::NotFoundError(absl::StrCat("job ", id, " not found"));
  }
  return jobs_[id - 1];
}

absl::StatusOr<std::vector<jobqueue::Job>> FakeJobStore::List(
    int64_t tenant_id, const jobqueue::pgjobs::ListFilter& filter) {
  absl::MutexLock lock(&mu_);
  std::vector<jobqueue::Job> out;
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
    if (static_cast<int>(out.size()) == filter.limit) break;
    if (it->tenant_id != tenant_id) continue;
    if (filter.before_id != 0 && it->id >= filter.before_id) continue;
    if (!filter.kind.empty() && it->kind != filter.kind) continue;
    out.push_back(*it);
  }
  return out;
}

absl::StatusOr<jobqueue::Job> FakeJobStore::Cancel(int64_t tenant_id, int64_t id) {
  auto job = Get(tenant_id, id);
  if (!job.ok()) return job.status();
  SetState(id, jobqueue::JobState::kCancelled);
  return Get(tenant_id, id);
}

absl::StatusOr<jobqueue::Job> FakeJobStore::Retry(int64_t tenant_id, int64_t id) {
  auto job = Get(tenant_id, id);
  if (!job.ok()) return job.status();
  SetState(id, jobqueue::JobState::kQueued);
  return Get(tenant_id, id);
}

absl::StatusOr<std::vector<store::JobKindStatsRow>> FakeJobStore::KindStats(int64_t) {
  return std::vector<store::JobKindStatsRow>{};
}

std::vector<jobqueue::Job> FakeJobStore::All() {
  absl::MutexLock lock(&mu_);
  return jobs_;
}

void FakeJobStore::SetState(int64_t id, jobqueue::JobState state) {
  absl::MutexLock lock(&mu_);
  jobs_.at(id - 1).state = state;
}

// ------------------------------------------------------------------ documents

absl::StatusOr<UpsertOutcome> FakeDocumentStore::Upsert(
    int64_t tenant_id, const std::string& collection,
    const google::protobuf::RepeatedPtrField<quarry::gateway::v1::Document>& documents,
    const JobFor& job_for) {
  UpsertOutcome out;
  auto found = collections_.Find(tenant_id, collection);
  if (!found.ok()) return found.status();
  out.collection = *found;
  auto spec = job_for(out.collection);
  if (!spec.ok()) return spec.status();
  // As the SQL does, the index job goes in without a kind check: the write
  // path names a system kind.
  JobStore::NewJob index;
  index.spec = *spec;
  index.rule = [](const jobqueue::JobKind&, jobqueue::JobSpec&) { return absl::OkStatus(); };
  auto job = jobs_.Enqueue({index});
  if (!job.ok()) return job.status();
  out.job = job->front().job;
  absl::MutexLock lock(&mu_);
  for (const auto& doc : documents) {
    auto key = std::make_pair(out.collection.id, doc.id());
    auto it = rows_.find(key);
    if (it != rows_.end() &&
        google::protobuf::util::MessageDifferencer::Equals(it->second.document, doc)) {
      ++out.result.unchanged;  // Left alone: no new seq, nothing to embed.
      continue;
    }
    ++(it == rows_.end() ? out.result.inserted : out.result.updated);
    rows_[key] = Row{doc, ++seq_};
    out.result.max_seq = seq_;
    if (!doc.has_vector()) out.result.pending_ids.push_back(doc.id());
  }
  return out;
}

absl::StatusOr<std::vector<quarry::gateway::v1::Document>> FakeDocumentStore::Get(
    int64_t collection_id, const std::vector<std::string>& ids) {
  absl::MutexLock lock(&mu_);
  std::vector<quarry::gateway::v1::Document> out;
  for (const std::string& id : ids) {
    auto it = rows_.find(std::make_pair(collection_id, id));
    if (it != rows_.end()) out.push_back(it->second.document);
  }
  return out;
}

absl::StatusOr<store::DeleteResult> FakeDocumentStore::Delete(
    int64_t tenant_id, const std::string& collection, const std::vector<std::string>& ids) {
  auto found = collections_.Find(tenant_id, collection);
  if (!found.ok()) return found.status();
  absl::MutexLock lock(&mu_);
  store::DeleteResult out;
  for (const std::string& id : ids) {
    if (rows_.erase(std::make_pair(found->id, id)) > 0) {
      ++out.deleted;
      out.max_seq = ++seq_;
    }
  }
  return out;
}

absl::StatusOr<int64_t> FakeDocumentStore::MaxSequence(int64_t collection_id,
                                                       const std::vector<std::string>& ids) {
  absl::MutexLock lock(&mu_);
  int64_t max = 0;
  for (const std::string& id : ids) {
    auto it = rows_.find(std::make_pair(collection_id, id));
    if (it != rows_.end()) max = std::max(max, it->second.seq);
  }
  return max;
}

// --------------------------------------------------------------------- shards

std::vector<ShardAnswer> FakeShards::Search(const quarry::search::v1::SearchShardRequest& request,
                                            absl::Time) {
  {
    absl::MutexLock lock(&mu_);
    requests_.push_back(request);
  }
  std::vector<ShardAnswer> answers;
  for (size_t i = 0; i < shards_.size(); ++i) {
    ShardAnswer answer;
    answer.shard = static_cast<uint32_t>(i);
    answer.status = shards_[i].status;
    if (answer.status.ok()) {
      answer.response.set_shard(answer.shard);
      for (const auto& [id, score] : shards_[i].hits) {
        auto* hit = answer.response.add_hits();
        hit->set_id(id);
        hit->set_score(score);
      }
    }
    answers.push_back(std::move(answer));
  }
  return answers;
}

std::vector<std::vector<ShardAnswer>> FakeShards::SearchBatch(
    const quarry::search::v1::SearchShardBatchRequest& request, absl::Time deadline) {
  std::vector<std::vector<ShardAnswer>> out;
  for (const auto& query : request.queries()) out.push_back(Search(query, deadline));
  return out;
}

std::vector<quarry::search::v1::SearchShardRequest> FakeShards::requests() {
  absl::MutexLock lock(&mu_);
  return requests_;
}

// ------------------------------------------------------------------ embedding

absl::StatusOr<std::vector<std::vector<float>>> FakeEmbedder::Embed(
    const std::string& model, int dimension, const std::vector<std::string>& texts,
    absl::Duration) {
  {
    absl::MutexLock lock(&mu_);
    ++calls_;
  }
  if (model != model_ || dimension != dimension_) {
    return absl::FailedPreconditionError(absl::StrCat("model ", model, " is not served"));
  }
  std::vector<std::vector<float>> out;
  for (const std::string& text : texts) {
    out.emplace_back(dimension_, static_cast<float>(text.size()));
  }
  return out;
}

}  // namespace quarry::gateway::testing
