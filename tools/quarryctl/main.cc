// quarryctl: the command-line client operators use against a Quarry gateway.
// Run `quarryctl --help` for the commands.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "quarry/gateway/v1/admin_service.grpc.pb.h"
#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "quarry/gateway/v1/stats_service.grpc.pb.h"
#include "services/common/model/metric.h"
#include "services/common/model/metric_proto.h"
#include "services/common/model/scopes.h"
#include "services/common/pg/migrations.h"
#include "services/common/pg/pool.h"
#include "services/gateway/api_key.h"
#include "services/gateway/store.h"
#include "tools/quarryctl/ingest.h"

ABSL_FLAG(std::string, target, "", "Gateway address (default $QUARRY_TARGET or 127.0.0.1:50050).");
ABSL_FLAG(std::string, api_key, "", "API key (default $QUARRY_API_KEY).");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(30), "Deadline of each call.");
ABSL_FLAG(std::string, output, "text",
          "ingest and search: text (a summary line, a table of hits) or json.");
ABSL_FLAG(uint32_t, dimension, 0, "Vector dimension (0: the model's).");
ABSL_FLAG(std::string, metric, "cosine", "Similarity: cosine, dot or l2.");
ABSL_FLAG(std::string, model, "", "Embedding model (empty: the server's default).");
ABSL_FLAG(std::string, collection, "", "Collection to ingest into or search.");
ABSL_FLAG(quarry::ctl::BatchSize, batch, quarry::ctl::BatchSize{},
          "Documents per UpsertDocuments call (at most the gateway's limit per request).");
ABSL_FLAG(std::string, format, "", "Input format, jsonl or csv (default: from the file name).");
ABSL_FLAG(bool, resume, true,
          "Continue from this file's checkpoint for this target and collection; false starts "
          "over.");
ABSL_FLAG(bool, wait, false, "Return only once the last batch is searchable.");
ABSL_FLAG(bool, skip_bad, false,
          "Skip input lines that cannot be parsed (each is reported and counted) instead of "
          "stopping at the first.");
ABSL_FLAG(bool, verbose, false, "Print a line per acknowledged batch.");
ABSL_FLAG(uint32_t, top_k, 10, "Hits to return.");
ABSL_FLAG(double, min_score, -1e30, "Drop hits scoring below this.");
ABSL_FLAG(std::string, tags, "", "Comma-separated tags that must all match.");
ABSL_FLAG(bool, exact, false, "Brute-force search instead of the index.");
ABSL_FLAG(std::string, state, "", "jobs list: queued, running, succeeded, dead or cancelled.");
ABSL_FLAG(std::string, kind, "", "jobs list: only jobs of this kind.");
ABSL_FLAG(std::string, payload, "{}", "jobs submit: the JSON payload.");
ABSL_FLAG(std::string, name, "", "Label of the key.");
ABSL_FLAG(std::string, scopes, "read", "keys create: comma-separated read, write, admin.");
ABSL_FLAG(double, rate, 0, "keys create: requests per second (0: the default).");
ABSL_FLAG(int32_t, burst, 0,
          "keys create: calls allowed at once above the rate (0: the default).");
ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL connection string (default $QUARRY_DATABASE_URL).");
ABSL_FLAG(std::string, tenant, "default", "Tenant to create (or reuse).");

namespace {

using namespace quarry::gateway::v1;  // NOLINT: a CLI over one API package.

// The usage of one command: what `quarryctl help COMMAND` prints. Flag lines
// come from the flags' own help strings and defaults, so they cannot drift.
struct CommandUsage {
  const char* name;
  const char* synopsis;  // one or more lines, each starting with the command
  const char* details;   // may be empty
  std::vector<const char*> flags;
};

const std::vector<CommandUsage>& Commands() {
  static const auto* commands = new std::vector<CommandUsage>{
      {"collections",
       "collections create NAME\n"
       "collections get NAME | list | delete NAME",
       "", {"dimension", "metric", "model"}},
      {"ingest", "ingest FILE --collection=C",
       "Upserts the documents of a JSONL or CSV file in batches.\n"
       "JSONL: one object per line, {\"id\": string or integer, \"text\": string,\n"
       "  \"metadata\": {string: value}, \"tags\": [string], \"vector\": [number]};\n"
       "  only id and text are required; a vector is stored as given (its length\n"
       "  must be the collection's dimension) instead of embedding the text.\n"
       "CSV: a header naming id and text (and optionally tags, '|'-separated);\n"
       "  every other column becomes metadata.\n"
       "A checkpoint (FILE.<hash>.checkpoint, one per target and collection) is\n"
       "written after every acknowledged batch; a rerun continues after it unless\n"
       "the file changed since (then it starts over and says so).\n"
       "Prints one summary line (documents ingested, skipped, failed, seconds,\n"
       "docs/s), or JSON with --output=json; a progress line on a terminal.\n"
       "Exit status: 0 only when every line was ingested; 1 when any was not (a\n"
       "  bad line stops the run, or is skipped and counted with --skip_bad; a\n"
       "  batch the gateway rejects stops it) or a flag value is invalid (e.g.\n"
       "  --batch above the gateway's limit); 2 for other usage errors.",
       {"collection", "batch", "format", "resume", "wait", "skip_bad", "verbose", "output"}},
      {"search", "search --collection=C TEXT",
       "Prints a table (rank, score, id, text), or the response as JSON with --output=json.",
       {"collection", "top_k", "min_score", "tags", "exact", "output"}},
      {"jobs",
       "jobs list | get ID | watch ID | cancel ID | retry ID\n"
       "jobs submit KIND",
       "", {"state", "kind", "payload"}},
      {"stats", "stats collection NAME | stats jobs", "", {}},
      {"keys", "keys create | list | revoke ID", "", {"name", "scopes", "rate", "burst"}},
      {"admin", "admin bootstrap --database_url=URL",
       "Creates the tenant (if new) and an admin key, talking to PostgreSQL\n"
       "directly (the first key cannot come through the API); prints the key once.",
       {"database_url", "tenant", "name"}},
      {"help", "help [COMMAND]", "Prints the commands, or one command's usage and flags.", {}},
  };
  return *commands;
}

const CommandUsage* FindCommand(absl::string_view name) {
  for (const CommandUsage& command : Commands()) {
    if (name == command.name) return &command;
  }
  return nullptr;
}

constexpr const char* kConnectionFlags[] = {"target", "api_key", "deadline"};

std::string FlagLine(const char* name) {
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr) return absl::StrCat("  --", name, "\n");
  std::string left = absl::StrCat("  --", name, "=", flag->DefaultValue());
  if (left.size() < 24) left.resize(24, ' ');
  return absl::StrCat(left, "  ", flag->Help(), "\n");
}

std::string GeneralUsage() {
  std::string text = "Usage: quarryctl [flags] COMMAND [args]\n\nCommands:\n";
  for (const CommandUsage& command : Commands()) {
    for (absl::string_view line : absl::StrSplit(command.synopsis, '\n')) {
      absl::StrAppend(&text, "  ", line, "\n");
    }
  }
  absl::StrAppend(&text,
                  "\nRun `quarryctl help COMMAND` (or `quarryctl COMMAND --help`) for a "
                  "command's flags.\nResponses print as JSON unless a command says otherwise; "
                  "errors print the gRPC status\ncode and message.\n\nConnection flags:\n");
  for (const char* flag : kConnectionFlags) absl::StrAppend(&text, FlagLine(flag));
  return text;
}

std::string UsageOf(const CommandUsage& command) {
  std::string text;
  for (absl::string_view line : absl::StrSplit(command.synopsis, '\n')) {
    absl::StrAppend(&text, text.empty() ? "Usage: quarryctl " : "       quarryctl ", line,
                    " [flags]\n");
  }
  if (*command.details != '\0') absl::StrAppend(&text, "\n", command.details, "\n");
  if (!command.flags.empty()) {
    absl::StrAppend(&text, "\nFlags:\n");
    for (const char* flag : command.flags) absl::StrAppend(&text, FlagLine(flag));
  }
  absl::StrAppend(&text, "\nConnection flags:\n");
  for (const char* flag : kConnectionFlags) absl::StrAppend(&text, FlagLine(flag));
  return text;
}

std::string EnvOr(const std::string& flag, const char* env, const char* fallback) {
  if (!flag.empty()) return flag;
  const char* value = std::getenv(env);
  return value != nullptr && *value != '\0' ? value : fallback;
}

class Ctl {
 public:
  Ctl() : target_(EnvOr(absl::GetFlag(FLAGS_target), "QUARRY_TARGET", "127.0.0.1:50050")) {
    channel_ = grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
    api_key_ = EnvOr(absl::GetFlag(FLAGS_api_key), "QUARRY_API_KEY", "");
  }

  std::unique_ptr<grpc::ClientContext> Context() const {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_deadline)));
    if (!api_key_.empty()) context->AddMetadata("authorization", "Bearer " + api_key_);
    return context;
  }

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  const std::string& target() const { return target_; }

 private:
  std::string target_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string api_key_;
};

int Fail(const std::string& message) {
  std::cerr << "quarryctl: " << message << "\n";
  return 2;
}

std::string StatusText(const grpc::Status& status) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                                 "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                                 "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  const int code = status.error_code();
  return absl::StrCat(code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN", ": ",
                      status.error_message());
}

// Prints the response as JSON, or the error as "CODE: message". Exit code 1 on error.
int Print(const grpc::Status& status, const google::protobuf::Message& response) {
  if (!status.ok()) {
    static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
                                   "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                                   "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                   "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                                   "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                   "UNAUTHENTICATED"};
    int code = status.error_code();
    std::cerr << (code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN") << ": "
              << status.error_message() << "\n";
    return 1;
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(response, &json, options);
  std::cout << json;
  return 0;
}

int Collections(const Ctl& ctl, const std::vector<std::string>& args) {
  auto stub = CollectionService::NewStub(ctl.channel());
  const std::string verb = args.size() > 1 ? args[1] : "";
  if (verb == "list") {
    ListCollectionsResponse response;
    return Print(stub->ListCollections(ctl.Context().get(), {}, &response), response);
  }
  if (args.size() < 3) return Fail("collections " + verb + " needs a NAME");
  if (verb == "create") {
    CreateCollectionRequest request;
    Collection* c = request.mutable_collection();
    c->set_name(args[2]);
    c->set_dimension(absl::GetFlag(FLAGS_dimension));
    c->set_model(absl::GetFlag(FLAGS_model));
    const std::string metric = absl::GetFlag(FLAGS_metric);
    const std::optional<quarry::model::Metric> parsed = quarry::model::ParseMetric(metric);
    if (!parsed.has_value()) return Fail("--metric must be cosine, dot or l2");
    c->set_metric(quarry::model::MetricToProto(*parsed));
    CreateCollectionResponse response;
    return Print(stub->CreateCollection(ctl.Context().get(), request, &response), response);
  }
  if (verb == "get") {
    GetCollectionRequest request;
    request.set_name(args[2]);
    GetCollectionResponse response;
    return Print(stub->GetCollection(ctl.Context().get(), request, &response), response);
  }
  if (verb == "delete") {
    DeleteCollectionRequest request;
    request.set_name(args[2]);
    DeleteCollectionResponse response;
    return Print(stub->DeleteCollection(ctl.Context().get(), request, &response), response);
  }
  return Fail("unknown: collections " + verb);
}

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

bool JsonOutput() { return absl::GetFlag(FLAGS_output) == "json"; }

// Bad lines reported one by one before the rest are only counted.
constexpr int kBadLinesShown = 10;

int Ingest(const Ctl& ctl, const std::vector<std::string>& args) {
  if (args.size() < 2) return Fail("ingest needs a FILE");
  const std::string path = args[1];
  const std::string collection = absl::GetFlag(FLAGS_collection);
  if (collection.empty()) return Fail("ingest needs --collection");
  auto reader = quarry::ctl::DocumentReader::Open(path, absl::GetFlag(FLAGS_format));
  if (!reader.ok()) return Fail(std::string(reader.status().message()));
  auto key = quarry::ctl::MakeCheckpointKey(ctl.target(), collection, path);
  if (!key.ok()) return Fail(std::string(key.status().message()));
  const std::string checkpoint = quarry::ctl::CheckpointPath(*key);
  Progress progress(path);
  int64_t resumed_from = 0;
  if (absl::GetFlag(FLAGS_resume)) {
    const quarry::ctl::CheckpointState state = quarry::ctl::ReadCheckpoint(*key);
    if (!state.message.empty()) progress.Say(state.message);
    if (state.offset > 0) {
      if (auto status = (*reader)->Seek(state.offset); !status.ok()) {
        return Fail(std::string(status.message()));
      }
      resumed_from = state.offset;
    }
  }
  const bool skip_bad = absl::GetFlag(FLAGS_skip_bad);
  const bool verbose = absl::GetFlag(FLAGS_verbose);
  const int batch_size = absl::GetFlag(FLAGS_batch).value;
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
      request.set_wait_for_indexed(done && absl::GetFlag(FLAGS_wait));
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
  if (JsonOutput()) {
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

// The text of a hit on one line, at most `max_bytes` (cut on a UTF-8
// character boundary), whitespace runs folded to one space.
std::string Snippet(absl::string_view text, size_t max_bytes) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  if (out.size() <= max_bytes) return out;
  size_t cut = max_bytes - 3;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  return out.substr(0, cut) + "...";
}

int Search(const Ctl& ctl, const std::vector<std::string>& args) {
  if (args.size() < 2) return Fail("search needs a query TEXT");
  SearchRequest request;
  request.set_collection(absl::GetFlag(FLAGS_collection));
  request.set_text(args[1]);
  request.set_top_k(absl::GetFlag(FLAGS_top_k));
  if (absl::GetFlag(FLAGS_min_score) > -1e29) request.set_min_score(absl::GetFlag(FLAGS_min_score));
  for (absl::string_view tag : absl::StrSplit(absl::GetFlag(FLAGS_tags), ',', absl::SkipEmpty())) {
    request.mutable_filter()->add_all_tags(std::string(tag));
  }
  request.set_exact(absl::GetFlag(FLAGS_exact));
  request.set_include_text(true);
  request.set_include_metadata(true);
  auto stub = SearchService::NewStub(ctl.channel());
  SearchResponse response;
  const grpc::Status status = stub->Search(ctl.Context().get(), request, &response);
  if (!status.ok() || JsonOutput()) return Print(status, response);
  if (response.partial()) {
    std::cerr << "warning: some shards did not answer; the hits may be incomplete\n";
  }
  if (response.hits_size() == 0) {
    std::cout << "no hits\n";
    return 0;
  }
  size_t id_width = 2;
  for (const auto& hit : response.hits()) id_width = std::max(id_width, hit.id().size());
  id_width = std::min<size_t>(id_width, 40);
  std::cout << absl::StrFormat("%4s  %-8s  %-*s  %s\n", "rank", "score", id_width, "id", "text");
  int rank = 0;
  for (const auto& hit : response.hits()) {
    std::cout << absl::StrFormat("%4d  %-8.4f  %-*s  %s\n", ++rank, hit.score(), id_width,
                                 hit.id(), Snippet(hit.text(), 72));
  }
  return 0;
}

int Jobs(const Ctl& ctl, const std::vector<std::string>& args) {
  auto stub = JobService::NewStub(ctl.channel());
  const std::string verb = args.size() > 1 ? args[1] : "";
  if (verb == "list") {
    ListJobsRequest request;
    if (const std::string state = absl::GetFlag(FLAGS_state); !state.empty()) {
      JobState value;
      if (!JobState_Parse("JOB_STATE_" + absl::AsciiStrToUpper(state), &value)) {
        return Fail("--state must be queued, running, succeeded, dead or cancelled");
      }
      request.add_states(value);
    }
    request.set_kind(absl::GetFlag(FLAGS_kind));
    ListJobsResponse response;
    return Print(stub->ListJobs(ctl.Context().get(), request, &response), response);
  }
  if (args.size() < 3) return Fail("jobs " + verb + " needs an argument");
  if (verb == "submit") {
    SubmitJobRequest request;
    request.set_kind(args[2]);
    request.set_payload_json(absl::GetFlag(FLAGS_payload));
    SubmitJobResponse response;
    return Print(stub->SubmitJob(ctl.Context().get(), request, &response), response);
  }
  if (verb == "get") {
    GetJobRequest request;
    request.set_id(args[2]);
    GetJobResponse response;
    return Print(stub->GetJob(ctl.Context().get(), request, &response), response);
  }
  if (verb == "cancel") {
    CancelJobRequest request;
    request.set_id(args[2]);
    CancelJobResponse response;
    return Print(stub->CancelJob(ctl.Context().get(), request, &response), response);
  }
  if (verb == "retry") {
    RetryJobRequest request;
    request.set_id(args[2]);
    RetryJobResponse response;
    return Print(stub->RetryJob(ctl.Context().get(), request, &response), response);
  }
  if (verb == "watch") {
    WatchJobRequest request;
    request.set_id(args[2]);
    grpc::ClientContext context;  // No deadline: a watch lasts as long as the job.
    if (const char* key = std::getenv("QUARRY_API_KEY"); absl::GetFlag(FLAGS_api_key).empty() && key) {
      context.AddMetadata("authorization", std::string("Bearer ") + key);
    } else if (!absl::GetFlag(FLAGS_api_key).empty()) {
      context.AddMetadata("authorization", "Bearer " + absl::GetFlag(FLAGS_api_key));
    }
    auto reader = stub->WatchJob(&context, request);
    WatchJobResponse update;
    while (reader->Read(&update)) {
      const Job& job = update.job();
      std::cout << JobState_Name(job.state()) << " " << static_cast<int>(job.progress() * 100)
                << "% " << job.progress_message() << std::endl;
    }
    return Print(reader->Finish(), update);
  }
  return Fail("unknown: jobs " + verb);
}

int Stats(const Ctl& ctl, const std::vector<std::string>& args) {
  auto stub = StatsService::NewStub(ctl.channel());
  const std::string what = args.size() > 1 ? args[1] : "";
  if (what == "jobs") {
    GetJobStatsResponse response;
    return Print(stub->GetJobStats(ctl.Context().get(), {}, &response), response);
  }
  if (what == "collection" && args.size() > 2) {
    GetCollectionStatsRequest request;
    request.set_collection(args[2]);
    GetCollectionStatsResponse response;
    return Print(stub->GetCollectionStats(ctl.Context().get(), request, &response), response);
  }
  return Fail("stats collection NAME | stats jobs");
}

int Keys(const Ctl& ctl, const std::vector<std::string>& args) {
  auto stub = AdminService::NewStub(ctl.channel());
  const std::string verb = args.size() > 1 ? args[1] : "";
  if (verb == "list") {
    ListApiKeysResponse response;
    return Print(stub->ListApiKeys(ctl.Context().get(), {}, &response), response);
  }
  if (verb == "create") {
    CreateApiKeyRequest request;
    request.mutable_key()->set_name(absl::GetFlag(FLAGS_name));
    request.mutable_key()->set_rate_limit_per_second(absl::GetFlag(FLAGS_rate));
    request.mutable_key()->set_burst(absl::GetFlag(FLAGS_burst));
    for (absl::string_view scope : absl::StrSplit(absl::GetFlag(FLAGS_scopes), ',')) {
      Scope value;
      if (!Scope_Parse("SCOPE_" + absl::AsciiStrToUpper(scope), &value)) {
        return Fail("--scopes takes read, write, admin");
      }
      request.mutable_key()->add_scopes(value);
    }
    CreateApiKeyResponse response;
    return Print(stub->CreateApiKey(ctl.Context().get(), request, &response), response);
  }
  if (verb == "revoke" && args.size() > 2) {
    RevokeApiKeyRequest request;
    request.set_id(args[2]);
    RevokeApiKeyResponse response;
    return Print(stub->RevokeApiKey(ctl.Context().get(), request, &response), response);
  }
  return Fail("keys create | list | revoke ID");
}

// The first tenant and key cannot come through the API (every call needs a
// key), so this talks to PostgreSQL directly, as an operator would.
int Admin(const std::vector<std::string>& args) {
  if (args.size() < 2 || args[1] != "bootstrap") return Fail("admin bootstrap");
  const std::string url =
      EnvOr(absl::GetFlag(FLAGS_database_url), "QUARRY_DATABASE_URL", "");
  if (url.empty()) return Fail("admin bootstrap needs --database_url");
  if (auto status = quarry::pg::Migrate(url); !status.ok()) {
    return Fail(absl::StrCat("database: ", status.ToString()));
  }
  quarry::pg::PoolOptions options;
  options.conninfo = url;
  options.size = 1;
  auto pool = quarry::pg::Pool::Create(options);
  if (!pool.ok()) return Fail(absl::StrCat("database: ", pool.status().ToString()));
  const quarry::gateway::NewApiKey key = quarry::gateway::GenerateApiKey();
  auto stored = (*pool)->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    quarry::gateway::store::KeyRecord record;
    record.id = key.id;
    record.tenant_id = quarry::gateway::store::EnsureTenant(txn, absl::GetFlag(FLAGS_tenant));
    record.name = absl::GetFlag(FLAGS_name).empty() ? "bootstrap admin" : absl::GetFlag(FLAGS_name);
    record.scopes =
        std::vector<std::string>(quarry::model::kScopes.begin(), quarry::model::kScopes.end());
    quarry::gateway::store::InsertKey(txn, record, key.hash);
    return record.tenant_id;
  });
  if (!stored.ok()) return Fail(absl::StrCat("database: ", stored.status().ToString()));
  std::cerr << "tenant \"" << absl::GetFlag(FLAGS_tenant) << "\" (id " << *stored
            << "), admin key " << key.id << " created; the key is shown once:\n";
  std::cout << key.secret << std::endl;
  return 0;
}

// `--help` (and -h, --helpshort) anywhere on the command line: the usage of
// the command named there, else the general usage. Handled before absl's
// parser, whose --help lists only flags defined in main's file.
std::optional<std::string> HelpRequested(int argc, char** argv) {
  bool help = false;
  const CommandUsage* command = nullptr;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--help" || arg == "-help" || arg == "-h" || arg == "--helpshort" ||
        arg == "-helpshort") {
      help = true;
    } else if (command == nullptr && !absl::StartsWith(arg, "-")) {
      command = FindCommand(arg);
    }
  }
  if (!help) return std::nullopt;
  return command != nullptr && std::string(command->name) != "help" ? UsageOf(*command)
                                                                     : GeneralUsage();
}

}  // namespace

int main(int argc, char** argv) {
  if (auto help = HelpRequested(argc, argv)) {
    std::cout << *help;
    return 0;
  }
  absl::SetProgramUsageMessage("Run `quarryctl help` for the commands and their flags.");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  if (args.empty()) {
    std::cerr << GeneralUsage();
    return 2;
  }
  if (const std::string output = absl::GetFlag(FLAGS_output); output != "text" && output != "json") {
    return Fail("--output must be text or json, got \"" + output + "\"");
  }
  const std::string& command = args[0];
  if (command == "help") {
    if (args.size() < 2) {
      std::cout << GeneralUsage();
      return 0;
    }
    const CommandUsage* usage = FindCommand(args[1]);
    if (usage == nullptr) return Fail("unknown command \"" + args[1] + "\"; see quarryctl help");
    std::cout << UsageOf(*usage);
    return 0;
  }
  Ctl ctl;
  if (command == "collections") return Collections(ctl, args);
  if (command == "ingest") return Ingest(ctl, args);
  if (command == "search") return Search(ctl, args);
  if (command == "jobs") return Jobs(ctl, args);
  if (command == "stats") return Stats(ctl, args);
  if (command == "keys") return Keys(ctl, args);
  if (command == "admin") return Admin(args);
  return Fail("unknown command \"" + command + "\"; see quarryctl help");
}
