#ifndef QUARRY_TESTS_TESTING_SUBPROCESS_H_
#define QUARRY_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace quarry::testing {

// A child process for multi-process tests (workers, services, fault
// injection). Its stdout and stderr go to `log_path` (or are inherited).
// The destructor kills it (SIGKILL) if it is still running, so a failing
// test never leaves processes behind.
class Subprocess {
 public:
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const std::vector<std::string>& argv,
                                                           const std::string& log_path = "");
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // Sends `signal` (e.g. SIGTERM, SIGKILL).
  void Signal(int signal);
  // Waits up to `timeout` for the exit; returns the wait status, or
  // DEADLINE_EXCEEDED if it is still running.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  bool running();

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

// The path of a data dependency in the test's runfiles.
std::string RunfilePath(const std::string& workspace_relative);

}  // namespace quarry::testing

#endif  // QUARRY_TESTS_TESTING_SUBPROCESS_H_
