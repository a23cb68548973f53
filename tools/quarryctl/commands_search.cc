// search: one query, printed as a table of hits or as JSON.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "tools/quarryctl/commands.h"
#include "tools/quarryctl/common.h"

namespace quarry::ctl {

using namespace quarry::gateway::v1;  // NOLINT: a CLI over one API package.

namespace {

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

}  // namespace

int Search(const Ctl& ctl, const SearchOptions& options, const std::vector<std::string>& args) {
  if (args.size() < 2) return Fail("search needs a query TEXT");
  SearchRequest request;
  request.set_collection(options.collection);
  request.set_text(args[1]);
  request.set_top_k(options.top_k);
  if (options.min_score > -1e29) request.set_min_score(options.min_score);
  for (absl::string_view tag : absl::StrSplit(options.tags, ',', absl::SkipEmpty())) {
    request.mutable_filter()->add_all_tags(std::string(tag));
  }
  request.set_exact(options.exact);
  request.set_include_text(true);
  request.set_include_metadata(true);
  auto stub = SearchService::NewStub(ctl.channel());
  SearchResponse response;
  const grpc::Status status = stub->Search(ctl.Context().get(), request, &response);
  if (!status.ok() || options.json_output) return Print(status, response);
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

}  // namespace quarry::ctl
