// quarryctl: the command-line client operators use against a Quarry gateway.
// Run `quarryctl --help` for the commands.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "quarry/gateway/v1/admin_service.grpc.pb.h"
#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "quarry/gateway/v1/stats_service.grpc.pb.h"
#include "services/common/pg/migrations.h"
#include "services/common/pg/pool.h"
#include "services/gateway/api_key.h"
#include "services/gateway/store.h"
#include "tools/quarryctl/ingest.h"

ABSL_FLAG(std::string, target, "", "Gateway address (default $QUARRY_TARGET or 127.0.0.1:50050).");
ABSL_FLAG(std::string, api_key, "", "API key (default $QUARRY_API_KEY).");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(30), "Deadline of each call.");
ABSL_FLAG(uint32_t, dimension, 0, "collections create: vector dimension (0: the model's).");
ABSL_FLAG(std::string, metric, "cosine", "collections create: cosine, dot or l2.");
ABSL_FLAG(std::string, model, "", "collections create: embedding model (empty: the default).");
ABSL_FLAG(std::string, collection, "", "Collection for ingest and search.");
ABSL_FLAG(int, batch, 100, "ingest: documents per upsert.");
ABSL_FLAG(std::string, format, "", "ingest: jsonl or csv (default: from the file name).");
ABSL_FLAG(bool, resume, true, "ingest: continue from the file's checkpoint.");
ABSL_FLAG(bool, wait, false, "ingest: wait until the last batch is searchable.");
ABSL_FLAG(uint32_t, top_k, 10, "search: hits to return.");
ABSL_FLAG(double, min_score, -1e30, "search: drop hits scoring below this.");
ABSL_FLAG(std::string, tags, "", "search: comma-separated tags that must all match.");
ABSL_FLAG(bool, exact, false, "search: brute-force search.");
ABSL_FLAG(std::string, state, "", "jobs list: queued, running, succeeded, dead or cancelled.");
ABSL_FLAG(std::string, kind, "", "jobs list: filter by kind.");
ABSL_FLAG(std::string, payload, "{}", "jobs submit: JSON payload.");
ABSL_FLAG(std::string, name, "", "keys create: label of the key.");
ABSL_FLAG(std::string, scopes, "read", "keys create: comma-separated read, write, admin.");
ABSL_FLAG(double, rate, 0, "keys create: requests per second (0: default).");
ABSL_FLAG(std::string, database_url, "",
          "admin bootstrap: PostgreSQL connection string (default $QUARRY_DATABASE_URL).");
ABSL_FLAG(std::string, tenant, "default", "admin bootstrap: tenant to create (or reuse).");

namespace {

using namespace quarry::gateway::v1;  // NOLINT: a CLI over one API package.

constexpr char kUsage[] = R"(quarryctl [flags] <command> [args]

Commands:
  collections create NAME      [--dimension --metric --model]
  collections get NAME | list | delete NAME
  ingest FILE --collection=C   JSONL or CSV, in batches, with a progress bar;
                               resumes from FILE.checkpoint [--batch --format --resume --wait]
  search --collection=C TEXT   [--top_k --min_score --tags --exact]
  jobs list [--state --kind] | get ID | watch ID | cancel ID | retry ID
  jobs submit KIND             [--payload]
  stats collection NAME | stats jobs
  keys create [--name --scopes --rate] | list | revoke ID
  admin bootstrap --database_url=... [--tenant --name]
                               creates the tenant (if new) and an admin key, talking to
                               PostgreSQL directly; prints the key once

Connection: --target (or $QUARRY_TARGET), --api_key (or $QUARRY_API_KEY).
Responses print as JSON; errors print the gRPC status code and message.)";

std::string EnvOr(const std::string& flag, const char* env, const char* fallback) {
  if (!flag.empty()) return flag;
  const char* value = std::getenv(env);
  return value != nullptr && *value != '\0' ? value : fallback;
}

class Ctl {
 public:
  Ctl() {
    channel_ = grpc::CreateChannel(
        EnvOr(absl::GetFlag(FLAGS_target), "QUARRY_TARGET", "127.0.0.1:50050"),
        grpc::InsecureChannelCredentials());
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

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::string api_key_;
};

int Fail(const std::string& message) {
  std::cerr << "quarryctl: " << message << "\n";
  return 2;
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
    if (metric == "cosine") {
      c->set_metric(quarry::common::v1::METRIC_COSINE);
    } else if (metric == "dot") {
      c->set_metric(quarry::common::v1::METRIC_DOT);
    } else if (metric == "l2") {
      c->set_metric(quarry::common::v1::METRIC_L2);
    } else {
      return Fail("--metric must be cosine, dot or l2");
    }
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

void DrawProgress(int64_t done_bytes, int64_t total_bytes, int64_t docs, absl::Time start) {
  const double fraction = total_bytes > 0 ? static_cast<double>(done_bytes) / total_bytes : 1;
  const int width = 30;
  const int filled = static_cast<int>(fraction * width);
  const double seconds = std::max(1e-3, absl::ToDoubleSeconds(absl::Now() - start));
  std::fprintf(stderr, "\r[%s%s] %5.1f%%  %lld docs  %.0f docs/s ", std::string(filled, '#').c_str(),
               std::string(width - filled, ' ').c_str(), fraction * 100,
               static_cast<long long>(docs), docs / seconds);
  std::fflush(stderr);
}

int Ingest(const Ctl& ctl, const std::vector<std::string>& args) {
  if (args.size() < 2) return Fail("ingest needs a FILE");
  const std::string path = args[1];
  const std::string collection = absl::GetFlag(FLAGS_collection);
  if (collection.empty()) return Fail("ingest needs --collection");
  auto reader = quarry::ctl::DocumentReader::Open(path, absl::GetFlag(FLAGS_format));
  if (!reader.ok()) return Fail(std::string(reader.status().message()));
  if (absl::GetFlag(FLAGS_resume)) {
    const int64_t offset = quarry::ctl::ReadCheckpoint(path);
    if (offset > 0) {
      if (auto status = (*reader)->Seek(offset); !status.ok()) {
        return Fail(std::string(status.message()));
      }
      std::cerr << "resuming " << path << " at byte " << offset << "\n";
    }
  }
  auto stub = DocumentService::NewStub(ctl.channel());
  const absl::Time start = absl::Now();
  int64_t docs = 0;
  bool done = false;
  UpsertDocumentsResponse last;
  while (!done) {
    UpsertDocumentsRequest request;
    request.set_collection(collection);
    while (request.documents_size() < absl::GetFlag(FLAGS_batch)) {
      auto next = (*reader)->Next();
      if (!next.ok()) return Fail(absl::StrCat(path, ": ", next.status().message()));
      if (!next->has_value()) {
        done = true;
        break;
      }
      Document* doc = request.add_documents();
      doc->set_id((*next)->id);
      doc->set_text((*next)->text);
      for (const auto& [key, value] : (*next)->metadata) (*doc->mutable_metadata())[key] = value;
      for (const auto& tag : (*next)->tags) doc->add_tags(tag);
    }
    if (request.documents_size() == 0) break;
    request.set_wait_for_indexed(done && absl::GetFlag(FLAGS_wait));
    // Retry transient failures so a long ingest survives a gateway restart.
    grpc::Status status;
    for (int attempt = 0; attempt < 8; ++attempt) {
      status = stub->UpsertDocuments(ctl.Context().get(), request, &last);
      const auto code = status.error_code();
      if (code != grpc::UNAVAILABLE && code != grpc::RESOURCE_EXHAUSTED) break;
      absl::SleepFor(absl::Milliseconds(200 << attempt));
    }
    if (!status.ok()) {
      std::cerr << "\n";
      return Print(status, last);
    }
    docs += request.documents_size();
    if (auto saved = quarry::ctl::WriteCheckpoint(path, (*reader)->offset()); !saved.ok()) {
      return Fail(std::string(saved.message()));
    }
    DrawProgress((*reader)->offset(), (*reader)->size_bytes(), docs, start);
  }
  std::cerr << "\ningested " << docs << " documents into " << collection << "\n";
  return docs > 0 ? Print(grpc::Status::OK, last) : 0;
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
  return Print(stub->Search(ctl.Context().get(), request, &response), response);
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
    record.scopes = {"read", "write", "admin"};
    quarry::gateway::store::InsertKey(txn, record, key.hash);
    return record.tenant_id;
  });
  if (!stored.ok()) return Fail(absl::StrCat("database: ", stored.status().ToString()));
  std::cerr << "tenant \"" << absl::GetFlag(FLAGS_tenant) << "\" (id " << *stored
            << "), admin key " << key.id << " created; the key is shown once:\n";
  std::cout << key.secret << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  if (args.empty()) {
    std::cerr << kUsage << "\n";
    return 2;
  }
  Ctl ctl;
  const std::string& command = args[0];
  if (command == "collections") return Collections(ctl, args);
  if (command == "ingest") return Ingest(ctl, args);
  if (command == "search") return Search(ctl, args);
  if (command == "jobs") return Jobs(ctl, args);
  if (command == "stats") return Stats(ctl, args);
  if (command == "keys") return Keys(ctl, args);
  if (command == "admin") return Admin(args);
  return Fail("unknown command \"" + command + "\"; see --help");
}
