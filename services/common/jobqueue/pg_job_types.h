#ifndef QUARRY_SERVICES_COMMON_JOBQUEUE_PG_JOB_TYPES_H_
#define QUARRY_SERVICES_COMMON_JOBQUEUE_PG_JOB_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "services/common/jobqueue/job.h"

namespace quarry::jobqueue::pgjobs {

// The plain values pgjobs' client operations (pg_job_store.h) take and
// return. They live apart from the SQL so that code which only passes them
// along (the gateway's domain core) does not depend on libpqxx.

struct EnqueueResult {
  Job job;
  bool created = false;  // false: an existing job with the same idempotency key
};

struct ListFilter {
  std::vector<JobState> states;  // empty: all
  std::string kind;              // empty: all
  int64_t before_id = 0;         // paging cursor: only ids below it; 0 = from the newest
  int limit = 50;
};

}  // namespace quarry::jobqueue::pgjobs

#endif  // QUARRY_SERVICES_COMMON_JOBQUEUE_PG_JOB_TYPES_H_
