#ifndef QUARRY_SERVICES_VECTOR_SEARCH_GRAPH_CODEC_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_GRAPH_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/vector_search/quantizer.h"

namespace quarry::vector_search::internal {

// The snapshot's graph section. hnswlib 0.6.2 can only save to and load from
// a file path, and trusts what it loads; this codec copies its in-memory
// structures directly and checks every link on the way in.
//
// Layout: format, quantizer, hnswlib's structure parameters, the level-0
// block (links, stored point, label per node), upper-level links.

// hnswlib 0.6.2's members of one HierarchicalNSW<float> that the codec reads
// (encode) or fills (decode), by pointer. The codec sees them through this
// view rather than the class because hnswlib's headers define non-inline
// functions and globals, so only one translation unit (index_state.cc) may
// include them. Link lists are a u16 count (in a u32) then u32 node ids.
struct GraphLayout {
  size_t m = 0;                // M_
  size_t ef_construction = 0;  // ef_construction_
  size_t* count = nullptr;     // cur_element_count
  char* level0 = nullptr;      // data_level0_memory_
  size_t element_bytes = 0;    // size_data_per_element_
  size_t label_offset = 0;     // label_offset_
  size_t links0_offset = 0;    // offsetLevel0_
  size_t max_links0 = 0;       // maxM0_
  size_t max_links = 0;        // maxM_
  size_t upper_links_bytes = 0;  // size_links_per_element_
  std::vector<int>* levels = nullptr;  // element_levels_
  char** upper_links = nullptr;        // linkLists_
  int* max_level = nullptr;            // maxlevel_
  unsigned int* entry = nullptr;       // enterpoint_node_
  std::unordered_map<size_t, unsigned int>* label_lookup = nullptr;  // label_lookup_
};

std::string EncodeGraph(const GraphLayout& graph, const ScalarQuantizer* quantizer, size_t dim);

// Called by DecodeGraph once the section's header is read and valid: adopt
// `quantizer` (null for a float graph) and make a new, empty graph with
// these parameters and room for `count` nodes, owned by the caller.
using MakeGraph = absl::FunctionRef<absl::StatusOr<GraphLayout>(
    std::unique_ptr<ScalarQuantizer> quantizer, size_t m, size_t ef_construction, size_t count)>;

// Fills the graph from `blob`. DATA_LOSS "snapshot graph: ..." for anything
// inconsistent: a format or quantization other than expected, a node count
// other than `doc_count`, a link to a missing node or one not on that level.
// May throw std::bad_alloc (the caller converts hnswlib's exceptions).
absl::Status DecodeGraph(std::string_view blob, size_t doc_count, size_t dim, bool quantized,
                         MakeGraph make_graph);

}  // namespace quarry::vector_search::internal

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_GRAPH_CODEC_H_
