// collections and stats: thin wrappers over CollectionService and StatsService.
#include <optional>
#include <string>
#include <vector>

#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "quarry/gateway/v1/stats_service.grpc.pb.h"
#include "services/common/model/metric.h"
#include "services/common/model/metric_proto.h"
#include "tools/quarryctl/commands.h"
#include "tools/quarryctl/common.h"

namespace quarry::ctl {

using namespace quarry::gateway::v1;  // NOLINT: a CLI over one API package.

int Collections(const Ctl& ctl, const CollectionOptions& options,
                const std::vector<std::string>& args) {
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
    c->set_dimension(options.dimension);
    c->set_model(options.model);
    const std::string metric = options.metric;
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

}  // namespace quarry::ctl
