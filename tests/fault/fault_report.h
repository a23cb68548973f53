#ifndef QUARRY_TESTS_FAULT_FAULT_REPORT_H_
#define QUARRY_TESTS_FAULT_FAULT_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/testing/suite.h"

namespace quarry::fault {

// What a fault test reports for one fault (tests/fault/README.md): the load's
// calls and errors, during the fault and over the whole run, and how long the
// suite took to give full service again once the fault ended.
struct FaultReport {
  std::string fault;
  absl::Time fault_begin;
  absl::Time fault_end;
  int64_t calls = 0;
  int64_t calls_during_fault = 0;  // started or ended in [fault_begin, fault_end]
  int64_t partial_searches = 0;    // answered OK but flagged partial
  std::map<std::string, int64_t> errors;              // code name -> count, whole run
  std::map<std::string, int64_t> errors_during_fault;
  // From fault_end until full service was seen again; < 0: never seen.
  double recovery_seconds = -1;
  // Further figures of a fault ("exit_seconds": 1.2, "acked_ids": 840, ...).
  std::map<std::string, double> figures;
};

// Counts `records` into `report` (calls, partial searches, errors by code,
// and those overlapping [fault_begin, fault_end]). Call after setting the window.
void Tally(const std::vector<testing::CallRecord>& records, FaultReport& report);

// "fault=<name> calls=N during=N errors={UNAVAILABLE:3} during_fault={...}
// partial=N recovery_s=1.23 <figure>=<value>...", one line.
std::string SummaryLine(const FaultReport& report);

// Prints SummaryLine to stdout (the test log) and appends the report as one
// JSON object per line to $TEST_UNDECLARED_OUTPUTS_DIR/fault_results.jsonl
// (the directory of /tmp when run outside Bazel).
void Publish(const FaultReport& report);

// Whether a client may see `code` during a fault: the call had no effect or
// may be retried as is (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED).
bool RetryableDuringFault(grpc::StatusCode code);

// Before a fault: upserts a few documents (so every shard has the collection:
// a shard that has seen no document of it answers NOT_FOUND and the search is
// partial) and waits until `consecutive` searches through `channel` in a row
// are answered by every shard. DEADLINE_EXCEEDED after `timeout`.
absl::Status WarmUp(const std::shared_ptr<grpc::Channel>& channel, const std::string& key,
                    const std::string& collection, int consecutive = 8,
                    absl::Duration timeout = absl::Seconds(20));

// "UNAVAILABLE" for grpc::StatusCode::UNAVAILABLE.
std::string CodeName(grpc::StatusCode code);

}  // namespace quarry::fault

#endif  // QUARRY_TESTS_FAULT_FAULT_REPORT_H_
