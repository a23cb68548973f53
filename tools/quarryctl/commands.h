// The entry points of quarryctl's commands. Each takes the positional
// arguments (args[0] is the command itself) and the values of its flags, and
// returns the process exit code: 0 success, 1 a failed call, 2 a usage error.
// The flags themselves are defined, and read, in main.cc.
#ifndef TOOLS_QUARRYCTL_COMMANDS_H_
#define TOOLS_QUARRYCTL_COMMANDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "quarry/gateway/v1/job_kind_service.pb.h"
#include "tools/quarryctl/common.h"

namespace quarry::ctl {

struct CollectionOptions {
  uint32_t dimension = 0;
  std::string metric;
  std::string model;
};
int Collections(const Ctl& ctl, const CollectionOptions& options,
                const std::vector<std::string>& args);

int Stats(const Ctl& ctl, const std::vector<std::string>& args);

struct IngestOptions {
  std::string collection;
  int batch_size = 0;
  std::string format;
  bool resume = true;
  bool wait = false;
  bool skip_bad = false;
  bool verbose = false;
  bool json_output = false;
};
int Ingest(const Ctl& ctl, const IngestOptions& options, const std::vector<std::string>& args);

struct SearchOptions {
  std::string collection;
  uint32_t top_k = 10;
  double min_score = -1e30;
  std::string tags;
  bool exact = false;
  bool json_output = false;
};
int Search(const Ctl& ctl, const SearchOptions& options, const std::vector<std::string>& args);

struct JobOptions {
  std::string state;
  std::string kind;
  std::string payload;
  std::string api_key;  // the --api_key flag as given, for the deadline-free watch
  // The queue counts and the bulk retry and cancel: the most jobs listed per
  // state, whether to only say what would be done, and text or JSON output.
  int64_t limit = 10000;
  bool dry_run = false;
  bool json_output = false;
};
int Jobs(const Ctl& ctl, const JobOptions& options, const std::vector<std::string>& args);

// Settings of a kind; zero values are left unset (the API's defaults).
struct KindOptions {
  std::string description;
  int32_t max_attempts = 0;
  int32_t priority = 0;
  int32_t max_concurrency = 0;
  int32_t starts_per_minute = 0;
  int64_t cost_per_minute = 0;
  int32_t max_result_bytes = 0;
  absl::Duration attempt_timeout = absl::ZeroDuration();
  absl::Duration retention = absl::ZeroDuration();
  absl::Duration initial_backoff = absl::ZeroDuration();
  absl::Duration max_backoff = absl::ZeroDuration();
  bool json_output = false;
};
int Kinds(const Ctl& ctl, const KindOptions& options, const std::vector<std::string>& args);
// Every kind the tenant sees (its own and the system kinds), all pages.
grpc::Status ListAllJobKinds(const Ctl& ctl, gateway::v1::ListJobKindsResponse* all);

struct ScheduleOptions {
  std::string kind;
  std::string cron;
  absl::Duration every = absl::ZeroDuration();
  std::string payload;
  std::string overlap;
  bool catch_up = false;
  int32_t priority = 0;
  int32_t max_attempts = 0;
  bool json_output = false;
};
int Schedules(const Ctl& ctl, const ScheduleOptions& options,
              const std::vector<std::string>& args);

struct KeyOptions {
  std::string name;
  std::string scopes;
  double rate = 0;
  int32_t burst = 0;
};
int Keys(const Ctl& ctl, const KeyOptions& options, const std::vector<std::string>& args);

struct AdminOptions {
  std::string database_url;
  std::string tenant;
  std::string name;
};
int Admin(const AdminOptions& options, const std::vector<std::string>& args);

}  // namespace quarry::ctl

#endif  // TOOLS_QUARRYCTL_COMMANDS_H_
