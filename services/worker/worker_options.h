#ifndef QUARRY_SERVICES_WORKER_WORKER_OPTIONS_H_
#define QUARRY_SERVICES_WORKER_WORKER_OPTIONS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace quarry::worker {

// The worker's own settings, filled from its flags in main.cc and validated
// once before anything starts (the common server settings are
// server::ServerOptions).
struct WorkerOptions {
  // libpq connection string of PostgreSQL (no password: a pgpass file);
  // checked where it is opened (server::OpenDatabaseOrExit).
  std::string database_url;
  // The embedding service (dns:///name:port for every replica).
  std::string embedding_target = "127.0.0.1:50061";
  // Jobs run at once by this process, in [kMinThreads, kMaxThreads].
  int threads = 4;
  // How long a claimed job stays ours without a heartbeat; at least kMinLease.
  absl::Duration lease = absl::Seconds(30);
  // Tombstones younger than this are kept by purge_deleted; not negative.
  absl::Duration purge_retention = absl::Hours(1);
  // Whether this replica runs the periodic-job scheduler (every replica may:
  // they never fire a tick twice), and how often it looks for due schedules;
  // at least kMinSchedulerPoll.
  bool scheduler = true;
  absl::Duration scheduler_poll = absl::Seconds(5);

  static constexpr int kMinThreads = 1;
  static constexpr int kMaxThreads = 256;
  // Heartbeats come every lease / 4: below 2 s they would crowd PostgreSQL.
  static constexpr absl::Duration kMinLease = absl::Seconds(2);
  // Ticks are whole seconds; polling faster only loads PostgreSQL.
  static constexpr absl::Duration kMinSchedulerPoll = absl::Seconds(1);

  // INVALID_ARGUMENT naming the first bad field by its flag, e.g.
  // "--threads: must be in [1, 256], got 0".
  absl::Status Validate() const;
};

}  // namespace quarry::worker

#endif  // QUARRY_SERVICES_WORKER_WORKER_OPTIONS_H_
