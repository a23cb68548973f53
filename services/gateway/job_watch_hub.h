#ifndef QUARRY_SERVICES_GATEWAY_JOB_WATCH_HUB_H_
#define QUARRY_SERVICES_GATEWAY_JOB_WATCH_HUB_H_

#include <cstdint>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/gateway/core/stores.h"

namespace quarry::gateway {

// One LISTEN connection per gateway for 'job_changed' notifications, fanned
// out to every WatchJob stream waiting on that job: watchers do not each hold
// a database connection, and they wake at once instead of polling.
class JobWatchHub final : public JobWatcher {
 public:
  explicit JobWatchHub(std::string conninfo);
  ~JobWatchHub() override;

  // The job's change counter now.
  uint64_t Version(int64_t job_id) override;
  // Waits until the job's counter moves past `seen`, or `timeout`. Callers
  // re-read the job either way: a notification can be lost while the
  // listener reconnects, so a timeout is a prompt to look too.
  void Wait(int64_t job_id, uint64_t seen, absl::Duration timeout) override;

 private:
  void Loop();

  const std::string conninfo_;
  absl::Mutex mu_;
  absl::flat_hash_map<int64_t, uint64_t> versions_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_JOB_WATCH_HUB_H_
