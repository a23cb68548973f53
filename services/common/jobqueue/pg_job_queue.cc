#include "services/common/jobqueue/pg_job_queue.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/status/macros.h"

namespace quarry::jobqueue {
namespace {

absl::Status LeaseLost(const Job& claimed) {
  return absl::FailedPreconditionError(absl::StrCat("job ", claimed.id, " attempt ",
                                                    claimed.attempts, " is no longer leased to ",
                                                    claimed.lease_owner));
}

absl::StatusOr<Job> Found(std::optional<Job> job, int64_t id) {
  if (!job.has_value()) return absl::NotFoundError(absl::StrCat("job ", id, " not found"));
  return *std::move(job);
}

}  // namespace

PgJobQueue::PgJobQueue(pg::Pool& pool, std::string conninfo)
    : pool_(pool), conninfo_(std::move(conninfo)) {}

absl::StatusOr<std::vector<Job>> PgJobQueue::Claim(const std::string& owner,
                                                   absl::Span<const std::string> kinds,
                                                   int max_jobs, absl::Duration lease) {
  std::vector<std::string> kind_list(kinds.begin(), kinds.end());
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<std::vector<Job>> {
    return pgjobs::Claim(txn, owner, kind_list, max_jobs, lease);
  });
}

absl::StatusOr<bool> PgJobQueue::Heartbeat(const Job& claimed, absl::Duration lease) {
  QUARRY_ASSIGN_OR_RETURN(
      std::optional<bool> cancel,
      pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<std::optional<bool>> {
        return pgjobs::Heartbeat(txn, claimed, lease);
      }));
  if (!cancel.has_value()) return LeaseLost(claimed);
  return *cancel;
}

template <typename Update>
absl::Status PgJobQueue::Fenced(const Job& claimed, Update update) {
  QUARRY_ASSIGN_OR_RETURN(
      bool held,
      pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<bool> { return update(txn); }));
  return held ? absl::OkStatus() : LeaseLost(claimed);
}

absl::Status PgJobQueue::SetProgress(const Job& claimed, double fraction,
                                     const std::string& message) {
  const double clamped = std::clamp(fraction, 0.0, 1.0);
  return Fenced(claimed, [&](pqxx::work& txn) { return pgjobs::SetProgress(txn, claimed, clamped, message); });
}

absl::Status PgJobQueue::Complete(const Job& claimed, const std::string& result_json) {
  return Fenced(claimed, [&](pqxx::work& txn) { return pgjobs::Complete(txn, claimed, result_json); });
}

absl::StatusOr<std::vector<bool>> PgJobQueue::CompleteBatch(absl::Span<const Completion> done) {
  if (done.empty()) return std::vector<bool>();
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<std::vector<bool>> {
    return pgjobs::CompleteBatch(txn, done);
  });
}

absl::Status PgJobQueue::Fail(const Job& claimed, const std::string& error, bool permanent,
                              absl::Duration retry_delay) {
  return Fenced(claimed, [&](pqxx::work& txn) { return pgjobs::Fail(txn, claimed, error, permanent, retry_delay); });
}

absl::Status PgJobQueue::MarkCancelled(const Job& claimed) {
  return Fenced(claimed, [&](pqxx::work& txn) { return pgjobs::MarkCancelled(txn, claimed); });
}

absl::Status PgJobQueue::Release(const Job& claimed) {
  return Fenced(claimed, [&](pqxx::work& txn) { return pgjobs::Release(txn, claimed); });
}

absl::StatusOr<int> PgJobQueue::RecoverExpiredLeases() {
  return pool_.WithTransaction(
      [](pqxx::work& txn) -> absl::StatusOr<int> { return pgjobs::RecoverExpiredLeases(txn); });
}

void PgJobQueue::WaitForWork(absl::Duration timeout) {
  absl::MutexLock lock(&listener_mu_);
  if (listener_ == nullptr) {
    auto listener = pg::Listener::Create(conninfo_, {"jobs_new"});
    if (!listener.ok()) {
      // No LISTEN connection (database down): fall back to sleeping.
      absl::SleepFor(std::min(timeout, absl::Seconds(1)));
      return;
    }
    listener_ = std::move(*listener);
  }
  auto notifications = listener_->WaitForNotification(timeout);
  if (!notifications.ok()) absl::SleepFor(std::min(timeout, absl::Seconds(1)));
}

absl::StatusOr<pgjobs::EnqueueResult> PgJobQueue::Enqueue(const JobSpec& spec) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<pgjobs::EnqueueResult> {
    return pgjobs::Enqueue(txn, spec);
  });
}

absl::StatusOr<Job> PgJobQueue::Get(std::optional<int64_t> tenant_id, int64_t id) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<Job> {
    return Found(pgjobs::Get(txn, tenant_id, id), id);
  });
}

absl::StatusOr<Job> PgJobQueue::Cancel(std::optional<int64_t> tenant_id, int64_t id) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<Job> {
    return Found(pgjobs::Cancel(txn, tenant_id, id), id);
  });
}

absl::StatusOr<Job> PgJobQueue::Retry(std::optional<int64_t> tenant_id, int64_t id) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<Job> {
    return Found(pgjobs::Retry(txn, tenant_id, id), id);
  });
}

absl::StatusOr<std::vector<Job>> PgJobQueue::List(std::optional<int64_t> tenant_id,
                                                  const pgjobs::ListFilter& filter) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<std::vector<Job>> {
    return pgjobs::List(txn, tenant_id, filter);
  });
}

}  // namespace quarry::jobqueue
