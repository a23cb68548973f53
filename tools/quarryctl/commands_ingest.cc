// ingest: upserts the documents of a JSONL or CSV file in checkpointed batches.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "tools/quarryctl/commands.h"
#include "tools/quarryctl/common.h"
#include "tools/quarryctl/ingest.h"

namespace quarry::ctl {

using namespace quarry::gateway::v1;  // NOLINT: a CLI over one API package.

namespace {

// Progress of an ingest on stderr: a live line redrawn in place on a
// terminal; elsewhere (logs, CI) a plain line at most every kPlainEvery, so
// captured output holds no carriage returns.
class Progress {
 public:
  explicit Progress(std::string path) : path_(std::move(path)), tty_(isatty(STDERR_FILENO)) {}

  void Update(int64_t done_bytes, int64_t total_bytes, int64_t docs) {
    const absl::Time now = absl::Now();
    if (now - last_ < (tty_ ? absl::Milliseconds(100) : kPlainEvery)) return;
    last_ = now;
    const double fraction = total_bytes > 0 ? static_cast<double>(done_bytes) / total_bytes : 1;
    const double seconds = std::max(1e-3, absl::ToDoubleSeconds(now - start_));
    if (tty_) {
      const int width = 30;
      const int filled = std::clamp(static_cast<int>(fraction * width), 0, width);
      std::fprintf(stderr, "\r\033[K[%s%s] %5.1f%%  %lld docs  %.0f docs/s",
                   std::string(filled, '#').c_str(), std::string(width - filled, ' ').c_str(),
                   fraction * 100, static_cast<long long>(docs), docs / seconds);
      drawn_ = true;
    } else {
      std::fprintf(stderr, "progress: %s %.1f%%, %lld documents, %.0f docs/s\n", path_.c_str(),
                   fraction * 100, static_cast<long long>(docs), docs / seconds);
    }
    std::fflush(stderr);
  }

  // Erases the live line so the next message starts on a clean line.
  void Clear() {
    if (!drawn_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }

  // Prints a whole line to stderr without mixing it into the live line.
  void Say(const std::string& line) {
    Clear();
    std::cerr << line << "\n";
    last_ = absl::InfinitePast();  // redraw at once
  }

 private:
  static constexpr absl::Duration kPlainEvery = absl::Seconds(5);
  const std::string path_;
  const bool tty_;
  const absl::Time start_ = absl::Now();
  absl::Time last_ = absl::Now();
  bool drawn_ = false;
};

// Bad lines reported one by one before the rest are only counted.
constexpr int kBadLinesShown = 10;

}  // namespace

int Ingest(const Ctl& ctl, const IngestOptions& options, const std::vector<std::string>& args) {
  if (args.size() < 2) return Fail("ingest needs a FILE");
  const std::string path = args[1];
  const std::string collection = options.collection;
  if (collection.empty()) return Fail("ingest needs --collection");
  auto reader = quarry::ctl::DocumentReader::Open(path, options.format);
  if (!reader.ok()) return Fail(std::string(reader.status().message()));
  auto key = quarry::ctl::MakeCheckpointKey(ctl.target(), collection, path);
  if (!key.ok()) return Fail(std::string(key.status().message()));
  const std::string checkpoint = quarry::ctl::CheckpointPath(*key);
  Progress progress(path);
  int64_t resumed_from = 0;
  if (options.resume) {
    const quarry::ctl::CheckpointState state = quarry::ctl::ReadCheckpoint(*key);
    if (!state.message.empty()) progress.Say(state.message);
    if (state.offset > 0) {
      if (auto status = (*reader)->Seek(state.offset); !status.ok()) {
        return Fail(std::string(status.message()));
      }
      resumed_from = state.offset;
    }
  }
  const bool skip_bad = options.skip_bad;
  const bool verbose = options.verbose;
  const int batch_size = options.batch_size;
  auto stub = DocumentService::NewStub(ctl.channel());
  const absl::Time start = absl::Now();
  int64_t ingested = 0, skipped = 0, failed = 0, batches = 0;
  std::string stopped;  // why the run ended early; empty if it read the whole file
  bool done = false;
  while (!done) {
    UpsertDocumentsRequest request;
    request.set_collection(collection);
    // Where the checkpoint may point once this batch is acknowledged: past a
    // skipped line, but not past a bad line that stops the run.
    int64_t acknowledged_offset = (*reader)->offset();
    while (request.documents_size() < batch_size) {
      const int64_t before = (*reader)->offset();
      auto next = (*reader)->Next();
      if (!next.ok()) {
        const std::string message(next.status().message());
        if (!skip_bad) {
          ++failed;
          stopped = absl::StrCat(message, " (--skip_bad skips such lines)");
          acknowledged_offset = before;
          done = true;
          break;
        }
        if (++skipped <= kBadLinesShown) progress.Say("skipped " + message);
        if (skipped == kBadLinesShown) progress.Say("(further skipped lines are only counted)");
        acknowledged_offset = (*reader)->offset();
        continue;
      }
      if (!next->has_value()) {
        done = true;
        acknowledged_offset = (*reader)->offset();
        break;
      }
      const quarry::ctl::InputDocument& input = **next;
      Document* doc = request.add_documents();
      doc->set_id(input.id);
      doc->set_text(input.text);
      for (const auto& [k, v] : input.metadata) (*doc->mutable_metadata())[k] = v;
      for (const auto& tag : input.tags) doc->add_tags(tag);
      if (!input.vector.empty()) {
        doc->mutable_vector()->mutable_values()->Add(input.vector.begin(), input.vector.end());
      }
      acknowledged_offset = (*reader)->offset();
    }
    if (request.documents_size() > 0) {
      request.set_wait_for_indexed(done && options.wait);
      // Retry transient failures so a long ingest survives a gateway restart.
      const absl::Time sent = absl::Now();
      UpsertDocumentsResponse response;
      grpc::Status status;
      for (int attempt = 0; attempt < 8; ++attempt) {
        status = stub->UpsertDocuments(ctl.Context().get(), request, &response);
        const auto code = status.error_code();
        if (code != grpc::UNAVAILABLE && code != grpc::RESOURCE_EXHAUSTED) break;
        absl::SleepFor(absl::Milliseconds(200 << attempt));
      }
      if (!status.ok()) {
        // Later batches would leave a gap behind the checkpoint: stop here,
        // so a rerun retries from this batch.
        failed += request.documents_size();
        stopped = absl::StrCat("a batch of ", request.documents_size(), " documents (ids ",
                               request.documents(0).id(), " .. ",
                               request.documents(request.documents_size() - 1).id(),
                               ") failed: ", StatusText(status));
        break;
      }
      ++batches;
      ingested += request.documents_size();
      if (verbose) {
        progress.Say(absl::StrCat("batch ", batches, ": ", request.documents_size(),
                                  " documents acknowledged in ",
                                  absl::FormatDuration(absl::Trunc(absl::Now() - sent,
                                                                   absl::Milliseconds(1))),
                                  ", job ", response.job().id(), ", ", ingested, " so far"));
      }
    }
    if (acknowledged_offset > resumed_from || batches > 0) {
      if (auto saved = quarry::ctl::WriteCheckpoint(*key, acknowledged_offset); !saved.ok()) {
        progress.Clear();
        return Fail(std::string(saved.message()));
      }
    }
    progress.Update((*reader)->offset(), (*reader)->size_bytes(), ingested);
  }
  progress.Clear();
  if (!stopped.empty()) std::cerr << "quarryctl: stopped: " << stopped << "\n";
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double rate = seconds > 0 ? ingested / seconds : 0;
  if (options.json_output) {
    nlohmann::json summary = {{"file", path},
                              {"collection", collection},
                              {"target", ctl.target()},
                              {"ingested", ingested},
                              {"skipped", skipped},
                              {"failed", failed},
                              {"seconds", seconds},
                              {"docs_per_second", rate},
                              {"resumed_from_byte", resumed_from},
                              {"checkpoint", checkpoint},
                              {"complete", stopped.empty()}};
    if (!stopped.empty()) summary["error"] = stopped;
    std::cout << summary.dump() << std::endl;
  } else {
    std::cout << absl::StrFormat(
                     "%s -> %s: %d ingested, %d skipped, %d failed in %.1f s (%.0f docs/s)%s",
                     path, collection, ingested, skipped, failed, seconds, rate,
                     resumed_from > 0 ? absl::StrCat("; resumed at byte ", resumed_from) : "")
              << std::endl;
  }
  // Skipped lines were not ingested either: a script must not mistake a run
  // that dropped data for a complete one.
  return stopped.empty() && skipped == 0 ? 0 : 1;
}

}  // namespace quarry::ctl
