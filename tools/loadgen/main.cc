// loadgen: an asynchronous gRPC load generator for Quarry's RPCs, bounded by
// request count and duration. Prints queries/s, latency percentiles and
// errors by status code, as text and (with --json) as one JSON line.
//
//   loadgen --target=127.0.0.1:50050 --api_key=... --rpc=search
//           --concurrency=16 --requests=10000 --duration=30s
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "services/common/client/channel.h"
#include "tools/loadgen/driver.h"
#include "tools/loadgen/workload.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50050", "gRPC target (host:port or dns:///name:port).");
ABSL_FLAG(std::string, api_key, "", "API key for the gateway (sent as a Bearer token).");
ABSL_FLAG(std::string, rpc, "search",
          "Workload: search, search_batch, upsert, embed, shard_search, health, or a weighted "
          "mix such as search:8,upsert:2.");
ABSL_FLAG(int, concurrency, 8, "Calls in flight (closed loop).");
ABSL_FLAG(double, rate, 0, "Calls per second (open loop); 0 means closed loop.");
ABSL_FLAG(int64_t, requests, 1000, "Stop after this many calls (required bound).");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(30), "Stop after this long (required bound).");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(5), "Deadline of each call.");
ABSL_FLAG(std::string, collection, "loadgen", "Collection to search.");
ABSL_FLAG(std::string, upsert_collection, "",
          "Collection to upsert into. Default: a new one, <collection>-loadgen-<pid>-<time>, "
          "created at the start and deleted at the end, so the collection under test does not "
          "grow.");
ABSL_FLAG(int64_t, collection_id, 0, "Collection id for shard_search.");
ABSL_FLAG(int, top_k, 10, "top_k / k of searches.");
ABSL_FLAG(int, dimension, 384, "Vector dimension of vector queries.");
ABSL_FLAG(bool, vector_queries, false, "Search by random vector instead of text.");
ABSL_FLAG(int, batch, 10, "Documents per upsert, texts per embed, queries per search_batch.");
ABSL_FLAG(std::string, texts_file, "", "Texts to send, one per line (default: built-in).");
ABSL_FLAG(std::string, acked_ids_file, "", "Append ids of acknowledged upserts here.");
ABSL_FLAG(std::string, json, "", "Also write the summary as JSON to this file ('-': stdout).");
ABSL_FLAG(bool, balance, false,
          "Round-robin over every address the target resolves to (internal services); off "
          "for a single endpoint such as the load balancer.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Bounded asynchronous load generator for Quarry's gRPC APIs.");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_requests) <= 0 || absl::GetFlag(FLAGS_duration) <= absl::ZeroDuration()) {
    std::cerr << "loadgen: --requests and --duration must both be positive bounds\n";
    return 2;
  }

  quarry::client::ChannelOptions channel_options;
  channel_options.health_checked_round_robin = absl::GetFlag(FLAGS_balance);
  auto channel = quarry::client::NewInternalChannel(absl::GetFlag(FLAGS_target),
                                                    std::move(channel_options));
  auto context = [&] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() +
                    absl::ToChronoNanoseconds(std::max(absl::GetFlag(FLAGS_deadline),
                                                       absl::Seconds(30))));
    if (!absl::GetFlag(FLAGS_api_key).empty()) {
      c->AddMetadata("authorization", "Bearer " + absl::GetFlag(FLAGS_api_key));
    }
    return c;
  };
  quarry::loadgen::WorkloadOptions options;
  options.api_key = absl::GetFlag(FLAGS_api_key);
  options.collection = absl::GetFlag(FLAGS_collection);
  options.collection_id = absl::GetFlag(FLAGS_collection_id);
  options.top_k = absl::GetFlag(FLAGS_top_k);
  options.dimension = absl::GetFlag(FLAGS_dimension);
  options.vector_queries = absl::GetFlag(FLAGS_vector_queries);
  options.upsert_batch = absl::GetFlag(FLAGS_batch);
  options.deadline = absl::GetFlag(FLAGS_deadline);
  options.acked_ids_file = absl::GetFlag(FLAGS_acked_ids_file);
  options.run_id = absl::StrCat("lg", absl::ToUnixMillis(absl::Now()));
  if (const std::string path = absl::GetFlag(FLAGS_texts_file); !path.empty()) {
    std::ifstream in(path);
    if (!in) {
      std::cerr << "loadgen: cannot read --texts_file " << path << "\n";
      return 2;
    }
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) options.texts.push_back(line);
    }
  } else {
    options.texts = quarry::loadgen::DefaultTexts();
  }

  // A bad --rpc is a usage error found before anything is created.
  options.upsert_collection = absl::GetFlag(FLAGS_upsert_collection);
  if (options.upsert_collection.empty()) options.upsert_collection = "unused";
  if (auto checked = quarry::loadgen::MakeMix(absl::GetFlag(FLAGS_rpc), channel, options);
      !checked.ok()) {
    std::cerr << "loadgen: " << checked.status().message() << "\n";
    return 2;
  }
  std::string upsert_collection = absl::GetFlag(FLAGS_upsert_collection);
  std::string own_collection;  // created here, deleted at the end
  if (upsert_collection.empty() && quarry::loadgen::SpecUpserts(absl::GetFlag(FLAGS_rpc))) {
    own_collection = quarry::loadgen::OwnUpsertCollectionName(
        absl::GetFlag(FLAGS_collection), getpid(), absl::ToUnixSeconds(absl::Now()));
    quarry::gateway::v1::CreateCollectionRequest request;
    request.mutable_collection()->set_name(own_collection);
    request.mutable_collection()->set_metric(quarry::common::v1::METRIC_COSINE);
    quarry::gateway::v1::CreateCollectionResponse response;
    const grpc::Status status = quarry::gateway::v1::CollectionService::NewStub(channel)
                                    ->CreateCollection(context().get(), request, &response);
    if (!status.ok()) {
      std::cerr << "loadgen: cannot create collection " << own_collection
                << " for the upserts (or pass --upsert_collection): " << status.error_message()
                << "\n";
      return 1;
    }
    std::cerr << "loadgen: upserting into its own collection " << own_collection << "\n";
    upsert_collection = own_collection;
  }

  options.upsert_collection = upsert_collection;
  auto workload = quarry::loadgen::MakeMix(absl::GetFlag(FLAGS_rpc), channel, options);
  if (!workload.ok()) {
    std::cerr << "loadgen: " << workload.status().message() << "\n";
    return 2;
  }

  quarry::loadgen::DriveOptions drive;
  drive.concurrency = absl::GetFlag(FLAGS_concurrency);
  drive.rate = absl::GetFlag(FLAGS_rate);
  drive.max_requests = absl::GetFlag(FLAGS_requests);
  drive.max_duration = absl::GetFlag(FLAGS_duration);
  auto [summary, elapsed] = quarry::loadgen::Drive(**workload, drive);

  const std::string name = absl::GetFlag(FLAGS_rpc);
  std::cout << quarry::loadgen::FormatText(name, summary) << std::flush;
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    const std::string json = quarry::loadgen::FormatJson(name, summary);
    if (path == "-") {
      std::cout << json << "\n";
    } else {
      std::ofstream(path) << json << "\n";
    }
  }
  if (!own_collection.empty()) {
    quarry::gateway::v1::DeleteCollectionRequest request;
    request.set_name(own_collection);
    quarry::gateway::v1::DeleteCollectionResponse response;
    const grpc::Status status = quarry::gateway::v1::CollectionService::NewStub(channel)
                                    ->DeleteCollection(context().get(), request, &response);
    if (!status.ok()) {
      std::cerr << "loadgen: could not delete its collection " << own_collection << ": "
                << status.error_message() << "\n";
    }
  }
  return summary.ok > 0 ? 0 : 1;
}
