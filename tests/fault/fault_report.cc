#include "tests/fault/fault_report.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"

namespace quarry::fault {
namespace {

std::string Counts(const std::map<std::string, int64_t>& counts) {
  return absl::StrCat(
      "{", absl::StrJoin(counts, ",", absl::PairFormatter(absl::AlphaNumFormatter(), ":",
                                                          absl::AlphaNumFormatter())),
      "}");
}

}  // namespace

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

bool RetryableDuringFault(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

absl::Status WarmUp(const std::shared_ptr<grpc::Channel>& channel, const std::string& key,
                    const std::string& collection, int consecutive, absl::Duration timeout) {
  namespace v1 = ::quarry::gateway::v1;
  const absl::Time end = absl::Now() + timeout;
  v1::UpsertDocumentsRequest upsert;
  upsert.set_collection(collection);
  upsert.set_wait_for_indexed(true);
  for (int i = 0; i < 16; ++i) {
    auto* doc = upsert.add_documents();
    doc->set_id(absl::StrCat("warmup-", i));
    doc->set_text(testing::Load::TextFor(doc->id()));
  }
  auto documents = v1::DocumentService::NewStub(channel);
  auto search = v1::SearchService::NewStub(channel);
  std::string last = "no call yet";
  bool upserted = false;
  int in_a_row = 0;
  while (absl::Now() < end) {
    if (!upserted) {
      v1::UpsertDocumentsResponse response;
      grpc::Status status = documents->UpsertDocuments(
          testing::Suite::Context(key, absl::Seconds(5)).get(), upsert, &response);
      upserted = status.ok();
      if (!upserted) last = absl::StrCat("upsert: ", status.error_message());
    } else {
      v1::SearchRequest request;
      request.set_collection(collection);
      request.set_text(testing::Load::TextFor("warmup-0"));
      request.set_require_all_shards(true);
      v1::SearchResponse response;
      grpc::Status status = search->Search(testing::Suite::Context(key, absl::Seconds(5)).get(),
                                           request, &response);
      if (status.ok() && !response.partial()) {
        if (++in_a_row >= consecutive) return absl::OkStatus();
        continue;
      }
      in_a_row = 0;
      last = absl::StrCat("search: ", status.error_message());
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat("warm-up of ", collection, ": ", last));
}

void Tally(const std::vector<testing::CallRecord>& records, FaultReport& report) {
  for (const testing::CallRecord& record : records) {
    const bool during = record.end >= report.fault_begin && record.start <= report.fault_end;
    ++report.calls;
    if (during) ++report.calls_during_fault;
    if (record.partial) ++report.partial_searches;
    if (record.code == grpc::StatusCode::OK) continue;
    ++report.errors[CodeName(record.code)];
    if (during) ++report.errors_during_fault[CodeName(record.code)];
  }
}

std::string SummaryLine(const FaultReport& report) {
  std::string line = absl::StrFormat(
      "fault=%s calls=%d during_fault=%d errors=%s errors_during_fault=%s partial=%d "
      "fault_s=%.2f recovery_s=%.2f",
      report.fault, report.calls, report.calls_during_fault, Counts(report.errors),
      Counts(report.errors_during_fault), report.partial_searches,
      absl::ToDoubleSeconds(report.fault_end - report.fault_begin), report.recovery_seconds);
  for (const auto& [name, value] : report.figures) {
    absl::StrAppendFormat(&line, " %s=%.6g", name, value);
  }
  return line;
}

void Publish(const FaultReport& report) {
  const std::string line = SummaryLine(report);
  std::printf("FAULT SUMMARY %s\n", line.c_str());
  std::fflush(stdout);
  nlohmann::json json;
  json["fault"] = report.fault;
  json["calls"] = report.calls;
  json["calls_during_fault"] = report.calls_during_fault;
  json["partial_searches"] = report.partial_searches;
  json["errors"] = report.errors;
  json["errors_during_fault"] = report.errors_during_fault;
  json["fault_seconds"] = absl::ToDoubleSeconds(report.fault_end - report.fault_begin);
  json["recovery_seconds"] = report.recovery_seconds;
  json["figures"] = report.figures;
  json["fault_begin_unix_ms"] = absl::ToUnixMillis(report.fault_begin);
  const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  std::ofstream out(absl::StrCat(dir != nullptr ? dir : "/tmp", "/fault_results.jsonl"),
                    std::ios::app);
  out << json.dump() << "\n";
}

}  // namespace quarry::fault
