#ifndef QUARRY_SERVICES_GATEWAY_CORE_WORKERS_H_
#define QUARRY_SERVICES_GATEWAY_CORE_WORKERS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/gateway/core/stores.h"

namespace quarry::gateway {

// Announcements that a job of some kind became queued (PostgreSQL's
// 'jobs_new', payload the kind name), so that a waiting claim retries at
// once instead of polling. A hint to look, never the data: the kind name is
// not the tenant's, and an announcement can be lost.
class JobArrivals {
 public:
  virtual ~JobArrivals() = default;
  // Where the announcements are now: taken before a claim, so that one
  // arriving between that claim and the Wait after it is not missed.
  virtual uint64_t Mark() = 0;
  // Until a job of one of `kinds` is announced after `mark` (or the
  // announcements since may have been lost), or `timeout`; whether woken.
  virtual bool Wait(const std::vector<std::string>& kinds, uint64_t mark,
                    absl::Duration timeout) = 0;
};

// A tenant's own workers, in any language: they claim jobs of the tenant's
// kinds, renew their leases and finish them. A worker is named by the
// calling key and the worker id it gives, so one key's workers never share
// a lease and no other key can act on it.
class Workers {
 public:
  Workers(JobKindStore& kinds, WorkerStore& store, JobArrivals& arrivals)
      : kinds_(kinds), store_(store), arrivals_(arrivals) {}

  // How often a waiting claim looks again without an announcement: jobs are
  // announced when they become queued, not when a delayed or backed-off one
  // falls due or a limited kind gets room, and announcements are lost while
  // the listener reconnects.
  static constexpr absl::Duration kUnannouncedPoll = absl::Seconds(1);

  // What identifies a held job in each call after Claim.
  struct Lease {
    std::string key_id;
    std::string worker_id;
    int64_t job_id = 0;
    int attempt = 0;
  };

  // Up to `max_jobs` jobs of the tenant's own `kinds`, waiting up to `wait`
  // for one (woken by `arrivals`, looking again at least every
  // kUnannouncedPoll, until then or until `cancelled`). PERMISSION_DENIED
  // for a system kind, NOT_FOUND for a kind the tenant does not have.
  absl::StatusOr<std::vector<jobqueue::Job>> Claim(int64_t tenant_id, const std::string& key_id,
                                                   const std::string& worker_id,
                                                   const std::vector<std::string>& kinds,
                                                   int max_jobs, absl::Duration wait,
                                                   const std::function<bool()>& cancelled);

  struct Beat {
    absl::Time lease_deadline;
    bool cancel_requested = false;
  };
  absl::StatusOr<Beat> Heartbeat(int64_t tenant_id, const Lease& lease, double progress,
                                 const std::string& message);
  // INVALID_ARGUMENT naming result_json when it is over the kind's limit.
  absl::Status Complete(int64_t tenant_id, const Lease& lease, const std::string& result_json);

  enum class Failure { kRetryable, kPermanent, kRateLimited };
  // `retry_after` zero: the kind's backoff (kRetryable); required for
  // kRateLimited, which pauses the kind for every worker instead of using
  // an attempt.
  absl::Status Fail(int64_t tenant_id, const Lease& lease, const std::string& error,
                    Failure failure, absl::Duration retry_after);
  absl::Status Release(int64_t tenant_id, const Lease& lease);
  absl::Status AcknowledgeCancel(int64_t tenant_id, const Lease& lease);

  // The lease owner stored for a worker of `key_id`.
  static std::string Owner(const std::string& key_id, const std::string& worker_id);

 private:
  // The held job and its kind.
  absl::StatusOr<std::pair<jobqueue::Job, jobqueue::JobKind>> HeldWithKind(int64_t tenant_id,
                                                                           const Lease& lease);

  JobKindStore& kinds_;
  WorkerStore& store_;
  JobArrivals& arrivals_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_CORE_WORKERS_H_
